"""``proxx dashboard``: a read-only live status page for a watch folder (docs/status-page.md).

- :mod:`.model` what a page shows: nodes, worker slots, jobs, history (plain frozen values).
- :mod:`.watchreader` reads a watch folder into a :class:`~.model.Snapshot` (the :class:`~.model.Reader`
  interface, so a fleet reader can stand beside it).
- :mod:`.snapshot` one background thread refreshes the snapshot at most once per second, whatever
  the number of open pages; pages and ``/metrics`` only read it.
- :mod:`.app` the Starlette application (pages, JSON, ``/metrics``), :mod:`.auth` the token,
  :mod:`.metrics` the Prometheus exposition, :mod:`.command` the ``proxx dashboard`` command.
"""
