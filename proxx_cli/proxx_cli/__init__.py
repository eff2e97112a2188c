"""The ``proxx`` command line."""
