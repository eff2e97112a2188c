"""``/metrics`` in the Prometheus text format, made from the current snapshot only (a scrape never
reads the watch folder)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from .model import ALIVE
from .snapshot import SnapshotKeeper

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class SnapshotCollector:
    def __init__(self, keeper: SnapshotKeeper):
        self.keeper = keeper

    def collect(self) -> Iterator[Metric]:
        view = self.keeper.view
        snap = view.snapshot
        clips = GaugeMetricFamily(
            "proxx_clips", "Clips of every known job (filed and running) by status", labels=["status"]
        )
        for status, n in sorted(snap.clips_by_status.items()):
            clips.add_metric([status], n)
        yield clips
        yield GaugeMetricFamily("proxx_running_clips", "Clips being encoded now", value=len(snap.slots))
        yield GaugeMetricFamily(
            "proxx_stalled_clips",
            "Running clips with no progress for the stall time",
            value=sum(1 for s in snap.slots if s.stalled),
        )
        jobs = GaugeMetricFamily(
            "proxx_jobs",
            "Jobs by state (pending, running, claimed, lost, or the filed result's status)",
            labels=["state"],
        )
        for state, n in sorted(snap.jobs_by_state.items()):
            jobs.add_metric([state], n)
        yield jobs
        up = GaugeMetricFamily(
            "proxx_node_up", "1 if the watch process is alive, 0 if lost or unknown", labels=["node", "owner"]
        )
        age = GaugeMetricFamily(
            "proxx_node_heartbeat_age_seconds", "Seconds since the process's last heartbeat", labels=["node", "owner"]
        )
        load = GaugeMetricFamily("proxx_node_load1", "The node's 1-minute load average", labels=["node", "owner"])
        for node in snap.nodes:
            up.add_metric([node.node, node.name], 1 if node.state == ALIVE else 0)
            if node.heartbeat_age is not None:
                age.add_metric([node.node, node.name], node.heartbeat_age)
            if node.load:
                load.add_metric([node.node, node.name], node.load[0])
        yield from (up, age, load)
        yield CounterMetricFamily(
            "proxx_dashboard_snapshot_refreshes",
            "Reads of the watch folder by this dashboard (at most one per second)",
            value=self.keeper.refreshes,
        )
        yield GaugeMetricFamily(
            "proxx_dashboard_snapshot_read_seconds", "How long the last read took", value=snap.read_seconds
        )


def exposition(keeper: SnapshotKeeper) -> Callable[[], bytes]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(keeper))  # type: ignore[arg-type]
    return lambda: generate_latest(registry)
