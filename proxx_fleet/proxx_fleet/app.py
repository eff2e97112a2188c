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


def make_app(broker: str):
    from celery import Celery

    app = Celery("proxx", broker=broker, set_as_current=False)
    app.conf.update(
        task_serializer="json", accept_content=["json"],
        # results live in Proxx's own keys (store.py), not in a Celery result backend
        result_backend=None, task_ignore_result=True, task_track_started=False,
        broker_connection_retry_on_startup=True, worker_hijack_root_logger=False,
        worker_send_task_events=False, task_send_sent_event=False,
        # with early ack this only covers the instant between delivery and ack
        broker_transport_options={"visibility_timeout": 12 * 3600},
        **AT_MOST_ONCE,
    )
    return app
