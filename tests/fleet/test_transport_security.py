"""Redis with an ACL user (password) and with TLS, as docs/fleet.md configures it: jobs run over
both; a wrong password or an untrusted certificate is exit 4 with the reason, at once, and no
message ever shows the password."""

from __future__ import annotations

import pytest
import redis
from fleethelp import ACL_PASSWORD, Workers

from proxxtest import job_doc

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def secure(secure_redis):
    """The ACL user may not FLUSHDB (a @dangerous command): tests use distinct job ids and names."""
    with pytest.raises(redis.exceptions.NoPermissionError):
        redis.Redis.from_url(secure_redis["password"]).flushdb()
    return secure_redis


@pytest.mark.parametrize("transport", ["password", "tls"])
def test_a_job_runs_with_a_password_and_over_tls(transport, secure, proxx, media, tmp_path, write_job):
    url = secure[transport]
    workers = Workers(url, tmp_path)
    try:
        workers.start("secure-node")
        (tmp_path / "out").mkdir()
        job = write_job(job_doc([media("a.mov")], tmp_path / "out", job_id=f"secure-{transport}"))
        res = proxx("submit", job, "--broker", url, timeout=60)
        assert res.returncode == 0, res.stderr
        res = proxx("wait", f"secure-{transport}", "--broker", url, "--timeout", "60", timeout=90)
        assert res.returncode == 0, res.stderr + workers.log("secure-node")
        assert res.json()["status"] == "COMPLETED"
        assert ACL_PASSWORD not in res.stdout  # the finisher's argv (its --broker) is in timing.argv, masked
        assert any("**@127.0.0.1" in a for a in res.json()["timing"]["argv"])
    finally:
        workers.stop_all()


@pytest.mark.parametrize(
    ("url_key", "reason"),
    [("wrong_password", "invalid username-password pair"), ("untrusted", "CERTIFICATE_VERIFY_FAILED")],
)
def test_a_wrong_password_or_untrusted_certificate_is_exit_4_with_the_reason(
    url_key, reason, secure, proxx, media, tmp_path, write_job
):
    url = secure[url_key]
    job = write_job(job_doc([media("a.mov")], tmp_path, job_id="refused"))
    for argv in (("worker", "--heartbeat", "0.3"), ("submit", job), ("workers",), ("status", "x"), ("wait", "x")):
        res = proxx(*argv, "--broker", url, timeout=30)  # never a hang: the subprocess timeout would fail it
        assert res.returncode == 4, (argv, res.stderr)
        assert reason in res.stderr and "cannot talk to the broker" in res.stderr, (argv, res.stderr)
        assert ACL_PASSWORD not in res.stderr and "not-the-password" not in res.stderr, (argv, res.stderr)
        assert "**@127.0.0.1" in res.stderr
