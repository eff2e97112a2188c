"""The Celery application, configured for at-most-once delivery (docs/fleet.md, measured in
reference/distributed.md): early acknowledgement (the message is gone once a worker takes it), no
prefetching (a busy worker never holds messages an idle one could run), no ``acks_late``, no
``task_reject_on_worker_lost``, no retries. A worker killed mid-clip therefore loses that message
instead of having it redelivered; Proxx's claim and heartbeat keys turn that into ``worker_lost``.
"""

from __future__ import annotations

TASK_NAME = "proxx.v1.render_clip"

AT_MOST_ONCE = {
    "task_acks_late": False,
    "task_reject_on_worker_lost": False,
    "worker_prefetch_multiplier": 1,
    "worker_disable_prefetch": True,  # Redis-only option (Celery >= 5.6)
    "task_default_queue": "proxx.v1.unrouted",  # nothing consumes it: a misrouted clip stays visible
}


#: how often an idle worker's event loop wakes up to see that a slot came free (seconds)
WAKE_SECONDS = 0.02


def _wake_step():
    """A consumer bootstep that wakes the event loop every WAKE_SECONDS. With prefetch disabled
    the Redis consumer stops reading while every slot is busy, and nothing wakes the loop when a
    thread-pool task finishes, so without this the next clip would wait up to one second."""
    from celery import bootsteps

    class WakeOften(bootsteps.StartStopStep):
        requires = {"celery.worker.consumer.tasks:Tasks"}

        def __init__(self, c, **kwargs):
            super().__init__(c, **kwargs)
            self.tref = None

        def start(self, c):
            if getattr(c, "hub", None) is not None:
                self.tref = c.hub.call_repeatedly(WAKE_SECONDS, lambda: None)

        def stop(self, c):
            if self.tref is not None:
                self.tref.cancel()
                self.tref = None

    return WakeOften


def make_app(broker: str):
    from celery import Celery

    app = Celery("proxx", broker=broker, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        # results live in Proxx's own keys (store.py), not in a Celery result backend
        result_backend=None,
        task_ignore_result=True,
        task_track_started=False,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        task_send_sent_event=False,
        # with early ack this only covers the instant between delivery and ack
        broker_transport_options={"visibility_timeout": 12 * 3600},
        **AT_MOST_ONCE,
    )
    app.steps["consumer"].add(_wake_step())
    return app
