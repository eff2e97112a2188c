#!/usr/bin/env bash
# "Install only what you need", checked the way a user installs Proxx: plain (not editable)
# `pip install ./<dir>` into fresh virtual environments, nothing from the dev venv.
#
#   (a) proxx-core + proxx-cli + proxx-engine-ffmpeg: `proxx engines` lists ffmpeg, a real job COMPLETES
#   (b) proxx-core + proxx-cli only: `proxx validate` exits 1 and names proxx-engine-ffmpeg
#   (c) + the example engine, installed from its own directory: its conformance-kit tests pass and
#       a job with an image sequence is routed to it
#   (d) + a plugin that raises on import: `proxx engines` still lists the others, reports the
#       failure with its reason, exits 0; jobs still run
#   (e) + proxx-deliver: a job listing deliverables gets its sidecars, listed in the result
#   (n) proxx-notify with core, cli and ffmpeg: a job naming an unreachable target completes, with a warning
#   (f) a fleet-only environment (core, cli, ffmpeg engine, fleet): a real redis-server on a free
#       loopback port, a real `proxx worker`, one clip submitted, `proxx wait` gives COMPLETED
#   (r) proxx-report with core, cli and ffmpeg: a job's report deliverable writes its HTML and PDF
#   (s) proxx-dashboard with core and cli only: `proxx dashboard` is found through its entry point,
#       refuses a non-loopback bind without a token, and serves /metrics for an empty watch folder
#
# usage: .ci/isolation.sh [REPO_ROOT]     (set PIP_CACHE_DIR to reuse downloaded wheels;
#        ISOLATION_ONLY=fleet runs part (f) alone)
set -euo pipefail

ROOT="$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}" && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/proxx-isolation.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-${TMPDIR:-/tmp}/proxx-pip-cache}"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
unset PROXX_LOAD_PLUGINS PROXX_STRICT_PLUGINS PROXX_FFMPEG PYTHONPATH VIRTUAL_ENV || true
PYTEST_PIN="$(grep -E '^pytest==' "$ROOT/constraints.txt" 2>/dev/null || echo 'pytest')"
T0=$SECONDS

say() { echo "isolation [$((SECONDS - T0))s]: $*" >&2; }
fail() { echo "isolation: FAIL: $*" >&2; exit 1; }

venv() { python3 -m venv "$WORK/$1"; }

# pip_in ENV ARGS... : run pip inside ENV from the repo root (so ./proxx_core means what a user means)
pip_in() {
    local env=$1; shift
    (cd "$ROOT" && "$WORK/$env/bin/pip" install --quiet --no-input "$@") >"$WORK/pip.log" 2>&1 \
        || { grep -v 'is ignored' "$WORK/pip.log" >&2; fail "pip install $* (in $env)"; }
}

# check ENV PYTHON_CODE [ARGS...] : an assertion script run by ENV's python, away from the repo
check() {
    local env=$1 code=$2; shift 2
    (cd "$WORK" && "$WORK/$env/bin/python" -c "$code" "$@") || fail "check failed in $env (see above)"
}

write_job() {  # write_job JOB_PATH OUT_DIR PROFILE SOURCE...
    local job=$1 out=$2 profile=$3; shift 3
    python3 - "$job" "$out" "$profile" "$@" <<'PY'
import json, sys
job, out, profile, *sources = sys.argv[1:]
codec, container = {"offline_prores_proxy_1920x1080": ("prores", "mov"),
                    "offline_h264_1280x720": ("h264", "mp4")}[profile]
json.dump({"jobspec_version": "1.0.0", "sources": sources, "output_dir": out,
           "output_name_template": "{index}_{source_name}", "proxy_profile": profile, "codec": codec,
           "container": container, "fps_mode": "preserve_source"}, open(job, "w"))
PY
}

ENGINES_ARE='
import json, sys
doc = json.load(open(sys.argv[1]))
names = [e["name"] for e in doc["engines"]]
want = sys.argv[2].split(",") if sys.argv[2] else []
assert names == want, f"proxx engines lists {names}, expected {want}"
for e in doc["engines"]:
    assert e["capabilities"]["available"], e
    assert e["distribution"].startswith("proxx-engine-"), e
'
RESULT_IS='
import json, sys
doc = json.load(open(sys.argv[1]))
engines = [c["engine"] for c in doc["clips"]]
assert doc["status"] == "COMPLETED", [c["failure"] for c in doc["clips"]]
assert engines == sys.argv[2].split(","), f"clips routed to {engines}, expected {sys.argv[2]}"
assert all(c["output"]["verification"]["ok"] for c in doc["clips"])
'

# ---------------------------------------------------------------------------------------------
fleet_part() {
    say "(f) fleet-only: proxx-core + proxx-cli + proxx-engine-ffmpeg + proxx-fleet, a real worker"
    command -v redis-server >/dev/null || fail "(f) redis-server is not installed (apt-get install -y redis-server)"
    venv f
    pip_in f -c constraints.txt ./proxx_core ./proxx_cli ./proxx_engine_ffmpeg ./proxx_fleet
    local F="$WORK/f/bin" port broker rc
    port="$("$F/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    broker="redis://127.0.0.1:$port/0"
    mkdir -p "$WORK/redis" "$WORK/media-f" "$WORK/out-f"
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK/redis" \
        >"$WORK/redis.log" 2>&1 &
    FLEET_RPID=$!
    (cd "$WORK" && exec "$F/proxx" worker --broker "$broker" --name isolation --heartbeat 0.5) >"$WORK/worker.log" 2>&1 &
    FLEET_WPID=$!
    trap 'kill "$FLEET_WPID" "$FLEET_RPID" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT
    check f '
import sys
from proxx_engine_ffmpeg.testmedia import make_source
make_source(sys.argv[1], size="64x36", rate="25/1", frames=5, timecode="01:00:00:00", audio=(2,))
' "$WORK/media-f/F001_C001.mov"
    write_job "$WORK/job-f.json" "$WORK/out-f" offline_prores_proxy_1920x1080 "$WORK/media-f/F001_C001.mov"
    for _ in $(seq 1 200); do  # until the worker has registered (or died)
        kill -0 "$FLEET_WPID" 2>/dev/null || { cat "$WORK/worker.log" >&2; fail "(f) proxx worker exited at start"; }
        (cd "$WORK" && "$F/proxx" workers --broker "$broker" 2>/dev/null) | grep -q '"isolation"' && break
        sleep 0.2
    done
    set +e
    (cd "$WORK" && "$F/proxx" submit "$WORK/job-f.json" --broker "$broker" >"$WORK/f-id.txt" 2>"$WORK/f-submit.err")
    rc=$?
    set -e
    [ "$rc" -eq 0 ] || { cat "$WORK/f-submit.err" "$WORK/worker.log" >&2; fail "(f) proxx submit exited $rc"; }
    set +e
    (cd "$WORK" && "$F/proxx" wait "$(cat "$WORK/f-id.txt")" --broker "$broker" --timeout 120 >"$WORK/f-result.json" \
        2>"$WORK/f-wait.err")
    rc=$?
    set -e
    [ "$rc" -eq 0 ] || { cat "$WORK/f-wait.err" "$WORK/worker.log" >&2; fail "(f) proxx wait exited $rc"; }
    check f "$RESULT_IS" "$WORK/f-result.json" ffmpeg
    grep -q 'finished' "$WORK/worker.log" || { cat "$WORK/worker.log" >&2; fail "(f) the worker logged no clip line"; }
    say "(f) ok: a fleet-only install runs a worker; one clip COMPLETED via redis-server on port $port"
}
if [ "${ISOLATION_ONLY:-}" = fleet ]; then
    fleet_part
    exit 0
fi

# ---------------------------------------------------------------------------------------------
say "(a) proxx-core + proxx-cli + proxx-engine-ffmpeg"
venv a
pip_in a ./proxx_core ./proxx_cli ./proxx_engine_ffmpeg
A="$WORK/a/bin"
(cd "$WORK" && "$A/proxx" engines --json >"$WORK/a-engines.json") || fail "(a) proxx engines exited non-zero"
check a "$ENGINES_ARE" "$WORK/a-engines.json" ffmpeg
check a 'import importlib.util as u; assert u.find_spec("proxx_engine_resolve") is None' # nothing extra came along
mkdir -p "$WORK/media" "$WORK/out-a"
check a '
import sys
from proxx_engine_ffmpeg.testmedia import make_source
make_source(sys.argv[1], size="64x36", rate="25/1", frames=5, timecode="01:00:00:00", audio=(2,))
' "$WORK/media/A001_C001.mov"
write_job "$WORK/job-a.json" "$WORK/out-a" offline_prores_proxy_1920x1080 "$WORK/media/A001_C001.mov"
(cd "$WORK" && "$A/proxx" run "$WORK/job-a.json" >"$WORK/a-result.json") || fail "(a) proxx run exited $?"
check a "$RESULT_IS" "$WORK/a-result.json" ffmpeg
say "(a) ok: ffmpeg listed, job COMPLETED"

# ---------------------------------------------------------------------------------------------
say "(b) proxx-core + proxx-cli only"
venv b
pip_in b ./proxx_core ./proxx_cli
B="$WORK/b/bin"
mkdir -p "$WORK/out-b"
write_job "$WORK/job-b.json" "$WORK/out-b" offline_prores_proxy_1920x1080 "$WORK/media/A001_C001.mov"
(cd "$WORK" && "$B/proxx" engines --json >"$WORK/b-engines.json") || fail "(b) proxx engines exited non-zero"
check b "$ENGINES_ARE" "$WORK/b-engines.json" ""
set +e
(cd "$WORK" && "$B/proxx" validate "$WORK/job-b.json" >"$WORK/b-validate.json" 2>"$WORK/b-validate.err")
rc=$?
set -e
[ "$rc" -eq 1 ] || { cat "$WORK/b-validate.err" >&2; fail "(b) proxx validate exited $rc, expected 1"; }
grep -q 'proxx-engine-ffmpeg' "$WORK/b-validate.err" \
    || { cat "$WORK/b-validate.err" >&2; fail "(b) the message does not name proxx-engine-ffmpeg"; }
say "(b) ok: validate exits 1 and says: $(grep -m1 -o 'Install proxx-engine-ffmpeg[^)]*)' "$WORK/b-validate.err" || true)"

# ---------------------------------------------------------------------------------------------
say "(c) + proxx-engine-imageseq, installed from its own directory, into (a)"
(cd "$ROOT/examples/proxx-engine-imageseq" && "$A/pip" install --quiet --no-input . >"$WORK/pip.log" 2>&1) \
    || { grep -v 'is ignored' "$WORK/pip.log" >&2; fail "(c) pip install examples/proxx-engine-imageseq"; }
pip_in a "$PYTEST_PIN"
(cd "$WORK" && "$A/proxx" engines --json >"$WORK/c-engines.json") || fail "(c) proxx engines exited non-zero"
check a "$ENGINES_ARE" "$WORK/c-engines.json" ffmpeg,imageseq
printf '[pytest]\n' >"$WORK/pytest.ini"
(cd "$WORK" && "$A/pytest" -q -p no:cacheprovider -c "$WORK/pytest.ini" --rootdir "$WORK" \
    "$ROOT/examples/proxx-engine-imageseq/tests") >"$WORK/c-pytest.log" 2>&1 \
    || { cat "$WORK/c-pytest.log" >&2; fail "(c) the conformance kit fails for the installed example engine"; }
say "(c) kit: $(tail -n 1 "$WORK/c-pytest.log")"
mkdir -p "$WORK/out-c"
check a '
import sys
from proxx_engine_imageseq.samples import make_sequence
make_sequence(sys.argv[1], prefix="plate_", first=86400, frames=5, ext="dpx", frame_rate="24000/1001")
' "$WORK/media/plates"
write_job "$WORK/job-c.json" "$WORK/out-c" offline_prores_proxy_1920x1080 \
    "$WORK/media/plates/plate_86400.dpx" "$WORK/media/A001_C001.mov"
(cd "$WORK" && "$A/proxx" run "$WORK/job-c.json" >"$WORK/c-result.json") || fail "(c) proxx run exited $?"
check a "$RESULT_IS" "$WORK/c-result.json" imageseq,ffmpeg
check a '
import json, sys
clip = json.load(open(sys.argv[1]))["clips"][0]
info = clip["source"]["info"]
assert (info["video"]["frame_count"], info["video"]["frame_rate"], info["start_timecode"]) == (5, "24000/1001", "01:00:00:00"), info
' "$WORK/c-result.json"
say "(c) ok: kit passes; the sequence is routed to imageseq, the movie to ffmpeg, both verified"

# ---------------------------------------------------------------------------------------------
say "(d) + a plugin that raises on import"
pip_in a ./tests/kit/data/broken-plugin
(cd "$WORK" && "$A/proxx" engines --json >"$WORK/d-engines.json") || fail "(d) proxx engines --json exited non-zero"
check a "$ENGINES_ARE" "$WORK/d-engines.json" ffmpeg,imageseq
check a '
import json, sys
(f,) = json.load(open(sys.argv[1]))["failed_to_load"]
assert f["plugin"] == "broken" and f["distribution"] == "proxx-engine-broken 0.0.1", f
assert "libbroken.so.1 not found" in f["reason"], f
' "$WORK/d-engines.json"
(cd "$WORK" && COLUMNS=200 "$A/proxx" engines >"$WORK/d-engines.txt" 2>&1) || fail "(d) proxx engines exited non-zero"
grep -q 'failed to load' "$WORK/d-engines.txt" && grep -q 'libbroken.so.1 not found' "$WORK/d-engines.txt" \
    || { cat "$WORK/d-engines.txt" >&2; fail "(d) proxx engines does not show the failure and its reason"; }
rm -rf "$WORK/out-c" && mkdir "$WORK/out-c"
(cd "$WORK" && "$A/proxx" run "$WORK/job-c.json" >"$WORK/d-result.json") || fail "(d) proxx run exited $?"
check a "$RESULT_IS" "$WORK/d-result.json" imageseq,ffmpeg
say "(d) ok: the broken plugin is reported ($(grep -m1 -o 'failed to load.*' "$WORK/d-engines.txt" | cut -c1-90)...), the rest works"

# ---------------------------------------------------------------------------------------------
say "(e) + proxx-deliver into (a): a job's deliverables are written by its entry-point sinks"
pip_in a -c constraints.txt ./proxx_deliver
mkdir -p "$WORK/out-e"
write_job "$WORK/job-e.json" "$WORK/out-e" offline_prores_proxy_1920x1080 "$WORK/media/A001_C001.mov"
check a 'import json, sys; d = json.load(open(sys.argv[1])); d.update(jobspec_version="1.1.0", job_id="e", deliverables=["ale", "fcpxml", "otio"]); json.dump(d, open(sys.argv[1], "w"))' "$WORK/job-e.json"
(cd "$WORK" && "$A/proxx" run "$WORK/job-e.json" >"$WORK/e-result.json") || fail "(e) proxx run exited $?"
check a '
import json, sys
got = json.load(open(sys.argv[1]))["deliverables"]
assert [(d["name"], d["path"].rsplit("/", 1)[-1]) for d in got] == [("ale", "e.ale"), ("fcpxml", "e.fcpxml"), ("otio", "e.otio")], got
assert all(d["sha256"] and d["error"] is None for d in got), got
' "$WORK/e-result.json"
say "(e) ok: ale, fcpxml, otio written and listed"

# ---------------------------------------------------------------------------------------------
say "(n) proxx-notify alone beside (a)'s three: a job's named target that is down is a warning, never a failure"
venv n
pip_in n -c constraints.txt ./proxx_core ./proxx_cli ./proxx_engine_ffmpeg ./proxx_notify
mkdir -p "$WORK/out-n"
write_job "$WORK/job-n.json" "$WORK/out-n" offline_prores_proxy_1920x1080 "$WORK/media/A001_C001.mov"
check n 'import json, sys; d = json.load(open(sys.argv[1])); d.update(jobspec_version="1.2.0", notify=["ops"]); json.dump(d, open(sys.argv[1], "w"))' "$WORK/job-n.json"
printf '[notify.targets]\nops = "json://127.0.0.1:9/nobody"\n' >"$WORK/node-n.toml"
(cd "$WORK" && PROXX_CONFIG="$WORK/node-n.toml" "$WORK/n/bin/proxx" run "$WORK/job-n.json" >"$WORK/n-result.json" 2>"$WORK/n-run.err") \
    || { cat "$WORK/n-run.err" >&2; fail "(n) proxx run exited $?"; }
check n "$RESULT_IS" "$WORK/n-result.json" ffmpeg
grep -q "proxx-notify: warning: target 'ops'" "$WORK/n-run.err" || { cat "$WORK/n-run.err" >&2; fail "(n) no warning"; }
say "(n) ok: COMPLETED, and the unreachable target is a warning"
fleet_part

# ---------------------------------------------------------------------------------------------
say "(s) proxx-dashboard beside core and cli only: found by the CLI, token rule, /metrics served"
venv s
pip_in s -c constraints.txt ./proxx_core ./proxx_cli ./proxx_dashboard
mkdir -p "$WORK/watch-s"
"$WORK/s/bin/proxx" dashboard --help >/dev/null || fail "(s) proxx dashboard --help"
if "$WORK/s/bin/proxx" dashboard "$WORK/watch-s" --host 0.0.0.0 2>"$WORK/s.err"; then fail "(s) started without a token"; fi
grep -q -- "--token" "$WORK/s.err" || { cat "$WORK/s.err" >&2; fail "(s) the refusal does not name --token"; }
check s '
import socket, subprocess, sys, time, urllib.request
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
proc = subprocess.Popen([sys.argv[1], "dashboard", sys.argv[2], "--port", str(port)], stdin=subprocess.DEVNULL)
try:
    for _ in range(200):
        try:
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
            break
        except OSError:
            time.sleep(0.1)
    else:
        sys.exit("the dashboard did not answer")
    assert "proxx_jobs{state=\"pending\"} 0.0" in body, body
finally:
    proc.terminate(); proc.wait(timeout=10)
' "$WORK/s/bin/proxx" "$WORK/watch-s"
say "(s) ok"

# ---------------------------------------------------------------------------------------------
say "(r) proxx-report beside (a)'s three: a job's report deliverable writes its HTML and PDF, listed"
venv r
pip_in r -c constraints.txt ./proxx_core ./proxx_cli ./proxx_engine_ffmpeg ./proxx_report
mkdir -p "$WORK/out-r"
write_job "$WORK/job-r.json" "$WORK/out-r" offline_prores_proxy_1920x1080 "$WORK/media/A001_C001.mov"
check r 'import json, sys; d = json.load(open(sys.argv[1])); d.update(jobspec_version="1.1.0", job_id="r", deliverables=["report"]); json.dump(d, open(sys.argv[1], "w"))' "$WORK/job-r.json"
(cd "$WORK" && "$WORK/r/bin/proxx" run "$WORK/job-r.json" >"$WORK/r-result.json" 2>"$WORK/r-run.err") \
    || { cat "$WORK/r-run.err" >&2; fail "(r) proxx run exited $?"; }
check r '
import json, sys
got = json.load(open(sys.argv[1]))["deliverables"]
assert [(d["name"], d["path"].rsplit("/", 1)[-1]) for d in got] == [("report", "r.report.html"), ("report", "r.report.pdf")], got
assert all(d["sha256"] and d["error"] is None for d in got), got
assert open(got[1]["path"], "rb").read(5) == b"%PDF-", "not a PDF"
' "$WORK/r-result.json"
say "(r) ok: report HTML and PDF written and listed"

say "all isolation checks passed in $((SECONDS - T0)) s"
