"""Real components for the fleet tests: a redis-server on a free loopback port (one per session,
flushed per test) and `proxx worker` processes. No mocks of Redis or Celery."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from fleethelp import ACL_PASSWORD, ACL_RULES, ACL_USER, Workers, free_port


def _await_ping(client, proc, what: str) -> None:
    """Until the server answers (10 s at most); a server that exits or never answers fails the fixture."""
    import redis

    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return
        except redis.exceptions.ConnectionError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.05)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    exe = shutil.which("redis-server")
    if exe is None:
        pytest.skip(
            "SKIPPED LOUDLY: redis-server is not installed (apt-get install -y redis-server); "
            "the fleet tests need a real Redis"
        )
    pytest.importorskip("celery", reason="proxx-fleet's dependencies (celery[redis]) are not installed")
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    import redis

    _await_ping(redis.Redis(host="127.0.0.1", port=port), proc, "redis-server")
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(timeout=10)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def secure_redis(tmp_path_factory):
    """A redis-server with the ACL of docs/fleet.md, on a plain and a TLS port (a test CA made
    with openssl; clients need not present certificates): dict of URLs and the CA file."""
    exe = shutil.which("redis-server")
    if exe is None or shutil.which("openssl") is None:
        pytest.skip("SKIPPED LOUDLY: redis-server and openssl are needed for the transport security tests")
    pytest.importorskip("celery", reason="proxx-fleet's dependencies are not installed")
    d = tmp_path_factory.mktemp("secure-redis")
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=proxx test CA",
        cwd=d,
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
        cwd=d,
    )
    (d / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.cnf",
        cwd=d,
    )
    (d / "users.acl").write_text("\n".join(ACL_RULES) + "\n")
    port, tls_port = free_port(), free_port()
    proc = subprocess.Popen(
        [
            exe,
            "--port",
            str(port),
            "--tls-port",
            str(tls_port),
            "--bind",
            "127.0.0.1",
            "--tls-cert-file",
            "server.pem",
            "--tls-key-file",
            "server.key",
            "--tls-ca-cert-file",
            "ca.pem",
            "--tls-auth-clients",
            "no",
            "--aclfile",
            "users.acl",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(d),
        ],
        cwd=d,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    import redis

    auth = f"{ACL_USER}:{ACL_PASSWORD}@127.0.0.1"
    tls_query = f"?ssl_cert_reqs=required&ssl_ca_certs={d / 'ca.pem'}"
    urls = {
        "password": f"redis://{auth}:{port}/0",
        "tls": f"rediss://{auth}:{tls_port}/0{tls_query}",
        "wrong_password": f"redis://{ACL_USER}:not-the-password@127.0.0.1:{port}/0",
        "untrusted": f"rediss://{auth}:{tls_port}/0?ssl_cert_reqs=required",
        "ca": str(d / "ca.pem"),
    }
    _await_ping(redis.Redis.from_url(urls["password"]), proc, "redis-server (ACL, TLS)")
    yield urls
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def broker(redis_server):
    import redis

    redis.Redis.from_url(redis_server).flushall()
    return redis_server


@pytest.fixture
def workers(broker, tmp_path):
    w = Workers(broker, tmp_path)
    yield w
    w.stop_all()


@pytest.fixture
def fleet(broker, proxx):
    """fleet(*args) runs a `proxx` fleet command against the test broker."""

    def run(*args, timeout: float = 120, env_extra: dict | None = None):
        return proxx(*args, "--broker", broker, env_extra=env_extra, timeout=timeout)

    return run
