"""proxx-notify: a finished job tells a real JSON webhook and a real SMTP server on loopback what a
person needs (job, counts, failures with reasons, elapsed time); a dead target is a warning and never
changes the result or the exit code; a JobSpec names targets, never URLs."""

from __future__ import annotations

import json
import socket

import pytest

from proxxtest import job_doc, run_cli

pytest.importorskip("proxx_notify", reason="install ./proxx_notify")
aiosmtpd = pytest.importorskip("aiosmtpd.controller")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    """A real SMTP server (aiosmtpd) on loopback; yields (Apprise URL, list of received messages)."""
    received: list[bytes] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
            received.append(envelope.content)
            return "250 OK"

    port = _free_port()
    controller = aiosmtpd.Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield (
        (f"mailto://127.0.0.1:{port}?smtp=127.0.0.1&mode=insecure&from=proxx@example.com&to=ops@example.com"),
        received,
    )
    controller.stop()


def _config(tmp_path, targets: dict[str, str], always=()):
    path = tmp_path / "node.toml"
    lines = ["[notify]", f"always = {json.dumps(list(always))}", "[notify.targets]"]
    lines += [f'{name} = "{url}"' for name, url in targets.items()]
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return {"PROXX_CONFIG": str(path)}


def test_a_finished_job_tells_a_webhook_and_an_email_address(tmp_path, media, outdir, write_job, webhook, smtp):
    good = media("A001C001.mov")
    bad = media("A001C002.mov")
    bad.write_bytes(bad.read_bytes()[:600])  # cut: its probe fails, the clip is refused (fail_clip)
    env = _config(tmp_path, {"ops": webhook[0], "post": smtp[0]}, always=["ops"])
    doc = job_doc([good, bad], outdir, jobspec_version="1.2.0", notify=["post"], unsupported_sources="fail_clip")
    r = run_cli("run", write_job(doc), env_extra=env)
    assert r.returncode == 3, r.stderr  # PARTIAL
    job = r.json()["job_id"]
    (payload,) = webhook[1]
    assert payload["title"] == f"Proxx job {job}: PARTIAL"
    assert "1 COMPLETED, 1 FAILED" in payload["message"]
    assert "clip 2 A001C002.mov: " in payload["message"] and "unsupported_source" in payload["message"]
    (mail,) = smtp[1]
    text = mail.decode("utf-8", "replace")
    assert f"Proxx job {job}: PARTIAL" in text and "ops@example.com" in text
    assert "webhook" not in json.dumps(r.json()["jobspec"])  # the JobSpec holds names only


def test_a_dead_target_is_a_warning_and_never_changes_the_result(tmp_path, media, outdir, write_job, webhook):
    dead = f"json://127.0.0.1:{_free_port()}/nobody"
    env = _config(tmp_path, {"dead": dead, "ops": webhook[0]}, always=["dead", "ops"])
    r = run_cli("run", write_job(job_doc([media("a.mov")], outdir)), env_extra=env)
    assert r.returncode == 0 and r.json()["status"] == "COMPLETED"
    assert "proxx-notify: warning: target 'dead' (json://…) was not told" in r.stderr
    assert "the job's result is unchanged" in r.stderr and "/nobody" not in r.stderr  # no URL echoed
    assert len(webhook[1]) == 1  # the next target is still told


def test_validate_refuses_unknown_targets_by_name(tmp_path, media, outdir, write_job, webhook):
    env = _config(tmp_path, {"ops": webhook[0]})
    doc = job_doc([media("a.mov")], outdir, jobspec_version="1.2.0", notify=["ops", "producer"])
    r = run_cli("validate", write_job(doc), env_extra=env)
    assert r.returncode == 1
    (problem,) = r.json()["problems"]
    assert problem["path"] == "/notify/1" and "no notification target 'producer'" in problem["message"]
    assert "targets: ops" in problem["message"]
    url = job_doc([media("b.mov")], outdir, jobspec_version="1.2.0", notify=["json://evil/x"])
    assert run_cli("validate", write_job(url), env_extra=env).returncode == 1  # a URL is not a name
    old = job_doc([media("c.mov")], outdir, notify=["ops"])  # 1.0.0 spec
    assert 'set jobspec_version to "1.2.0"' in run_cli("validate", write_job(old), env_extra=env).stderr
