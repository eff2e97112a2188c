"""The front door: point Proxx at a camera card with a facility preset, read progress with an overall
ETA and a summary table on a terminal; a pipe still gets only the result JSON."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from proxx_core.contract.progress import DONE, PROGRESS, JobEta, ProgressEvent
from proxxtest import drain_pty, run_cli


def _card(root, media, frames=48):
    """A Sony XAVC card: two real clips in PRIVATE/M4ROOT/CLIP with the camera's clutter beside them."""
    clip = root / "PRIVATE" / "M4ROOT" / "CLIP"
    clip.mkdir(parents=True)
    for name in ("C0001", "C0002"):
        made = media(f"{name}.MP4", size="640x360", frames=frames, video="h264", audio=(2,))
        os.replace(made, clip / f"{name}.MP4")
        (clip / f"{name}M01.XML").write_text("<NonRealTimeMeta/>")
    (root / "PRIVATE" / "M4ROOT" / "THMBNL").mkdir()
    (root / "PRIVATE" / "M4ROOT" / "THMBNL" / "C0001T01.JPG").write_bytes(b"\xff\xd8")
    (root / "._C0001.MP4").write_bytes(b"\x00")
    return root


def _config(tmp_path, outdir):
    path = tmp_path / "node.toml"
    path.write_text(
        f'[presets.dailies]\nproxy_profile = "offline_h264_1280x720"\noutput_dir = "{outdir}"\n'
        f'existing_outputs = "skip_verified"\n',
        "utf-8",
    )
    return path


def _on_pty(argv, env):
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "proxx_cli", *map(str, argv)],
        stdout=follower,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, COLUMNS="160", LINES="40", **env),
    )
    os.close(follower)
    shown = drain_pty(leader)
    proc.wait(timeout=240)
    os.close(leader)
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode("utf-8", "replace")).replace("\r", "\n")
    return proc.returncode, text


def test_a_card_with_a_preset_on_a_terminal_and_through_a_pipe(tmp_path, media, outdir):
    card = _card(tmp_path / "A001", media, frames=96)
    env = {"PROXX_CONFIG": str(_config(tmp_path, outdir))}
    code, screen = _on_pty(["run", "--preset", "dailies", card], env)
    assert code == 0, screen[-3000:]
    assert "Sony XAVC / NXCAM card" in screen and "2 clip(s) found" in screen
    assert "clip metadata (XML)" in screen and "AppleDouble" in screen
    assert re.search(r"\d/2 +\d+:\d\d of \d+:\d\d media +ETA \d+:\d\d", screen), screen[-3000:]
    for column in ("clip", "status", "duration", "speed", "output", "why"):
        assert column in screen
    assert re.search(r"1 C0001\.MP4 .*COMPLETED .*C0001\.mp4", screen), screen[-2000:]
    assert "2 COMPLETED;" in screen and "real time" in screen
    (written,) = re.findall(r"result: (\S+\.proxx-result\.json)", screen)
    result = json.loads(open(written, encoding="utf-8").read())
    assert result["status"] == "COMPLETED" and os.path.dirname(written) == str(outdir)
    assert [os.path.basename(c["source"]["path"]) for c in result["clips"]] == ["C0001.MP4", "C0002.MP4"]
    assert result["jobspec"]["codec"] == "h264" and result["jobspec"]["container"] == "mp4"
    # through a pipe: only the result JSON on stdout (the preset's skip_verified keeps both proxies)
    piped = run_cli("run", "--preset", "dailies", card, env_extra=env)
    assert piped.returncode == 0, piped.stderr
    again = piped.json()
    assert again["job_id"] == result["job_id"] and [c["status"] for c in again["clips"]] == ["SKIPPED"] * 2
    assert "clip metadata (XML)" in piped.stderr


def test_proxx_job_writes_the_job_that_run_would_run(tmp_path, media, outdir):
    card = _card(tmp_path / "B001", media, frames=6)
    job = tmp_path / "job.json"
    made = run_cli("job", "--profile", "offline_prores_proxy_1920x1080", "--layout", "proxy_subfolder", card, "-o", job)
    assert made.returncode == 0, made.stderr
    doc = json.loads(job.read_text("utf-8"))
    assert doc["jobspec_version"] == "1.1.0" and doc["layout"] == "proxy_subfolder"
    assert [os.path.relpath(s, card) for s in doc["sources"]] == [
        "PRIVATE/M4ROOT/CLIP/C0001.MP4",
        "PRIVATE/M4ROOT/CLIP/C0002.MP4",
    ]
    assert (doc["codec"], doc["container"]) == ("prores", "mov")
    assert run_cli("job", "--profile", "offline_prores_proxy_1920x1080", card, "-o", job).returncode == 1
    checked = run_cli("validate", job)
    built = run_cli("validate", "--profile", "offline_prores_proxy_1920x1080", "--layout", "proxy_subfolder", card)
    assert checked.returncode == built.returncode == 0, (checked.stderr, built.stderr)
    assert checked.json()["job_id"] == built.json()["job_id"]


def test_refusals_of_the_front_door_name_the_fix(tmp_path, media, outdir):
    card = _card(tmp_path / "C001", media, frames=6)
    no_profile = run_cli("validate", card)
    assert no_profile.returncode == 1
    assert (
        "is a directory; to make proxies of the media in it, give --profile PROFILE or --preset NAME"
        in no_profile.stderr
    )
    env = {"PROXX_CONFIG": str(_config(tmp_path, outdir))}
    unknown = run_cli("run", "--preset", "daily", card, env_extra=env)
    assert unknown.returncode == 1 and "no preset 'daily'" in unknown.stderr and "presets: dailies" in unknown.stderr
    no_dir = run_cli("validate", "--profile", "offline_h264_1280x720", card)
    assert no_dir.returncode == 1 and "--output-dir" in no_dir.stderr
    p2 = tmp_path / "P2"
    for rel in ("CONTENTS/VIDEO/0001AB.MXF", "CONTENTS/AUDIO/0001AB00.MXF"):
        (p2 / rel).parent.mkdir(parents=True, exist_ok=True)
        (p2 / rel).write_bytes(b"x")
    refused = run_cli("run", "--profile", "offline_h264_1280x720", "--output-dir", outdir, p2, card)
    assert refused.returncode == 1 and "Panasonic P2" in refused.stderr
    assert refused.json()["status"] == "FAILED" and not os.listdir(outdir)


def test_validate_reports_existing_outputs_and_proposes_the_policy(tmp_path, media, outdir):
    card = _card(tmp_path / "D001", media, frames=6)
    args = ("--profile", "offline_h264_1280x720", "--output-dir", outdir, card)
    assert run_cli("run", *args).returncode == 0
    again = run_cli("validate", *args)
    assert again.returncode == 0
    (warning,) = [w for w in again.json()["warnings"] if w["path"] == "/existing_outputs"]
    assert "2 of 2 output file(s) already exist" in warning["message"]
    assert '"existing_outputs": "skip_verified"' in warning["message"]
    rerun = run_cli("validate", *args, "--existing-outputs", "skip_verified")
    assert not [w for w in rerun.json()["warnings"] if w["path"] == "/existing_outputs"]


def test_job_eta_weighs_clips_by_source_duration():
    now = [0.0]
    eta = JobEta({1: 600.0, 2: 60.0, 3: None}, clock=lambda: now[0])
    assert eta.total == 600 + 60 + 330 and eta.eta_seconds is None
    now[0] = 10.0
    eta.update(ProgressEvent(event=DONE, index=2, source="b", output="b"))
    assert eta.media_done == 60 and eta.eta_seconds == (990 - 60) * 10 / 60
    eta.update(ProgressEvent(event=PROGRESS, index=1, source="a", output="a", percent=50.0))
    assert eta.media_done == 360


def test_the_operator_guides_presets_are_a_valid_node_config(tmp_path):
    """docs/operator-guide.md starts from a card; its preset example must be what the config reader
    accepts, and each preset must build a JobSpec whose keys are all JobSpec keys."""
    import tomllib
    from pathlib import Path

    from proxx_core.pipeline.document import document_problems
    from proxx_core.pipeline.jobbuild import build_document
    from proxx_core.pipeline.pathmap import load_node_config

    guide = (Path(__file__).resolve().parents[2] / "docs" / "operator-guide.md").read_text("utf-8")
    assert guide.index("## From a camera card to proxies") < guide.index("## Install only what you need")
    example = guide.split("```toml\n", 1)[1].split("```", 1)[0]
    config = tmp_path / "node.toml"
    config.write_text(example, "utf-8")
    node = load_node_config(config)
    assert sorted(node.presets) == sorted(tomllib.loads(example)["presets"])
    for name in node.presets:
        doc = build_document(["/media/A001C001.MOV"], preset=node.preset(name))
        assert doc["jobspec_version"] == "1.1.0" and doc["codec"] and doc["container"], doc
        assert document_problems(doc) == [], (name, document_problems(doc))
    bad = tmp_path / "bad.toml"
    bad.write_text('[presets.x]\nsources = ["/a.mov"]\n', "utf-8")
    import pytest

    from proxx_core.contract.errors import ProxxError

    with pytest.raises(ProxxError, match="presets.x.sources comes from the command line"):
        load_node_config(bad)


def test_a_rerun_onto_existing_proxies_proposes_keeping_what_verifies(tmp_path, media, outdir, write_job):
    """`run` used to fail every clip as output_exists and suggest only "overwrite": true."""
    from proxxtest import job_doc

    job = write_job(job_doc([media("a.mov")], outdir))
    assert run_cli("run", job).returncode == 0
    again = run_cli("run", job)
    assert again.returncode == 2
    message = again.json()["clips"][0]["failure"]["message"]
    assert (
        '"jobspec_version": "1.1.0", "existing_outputs": "skip_verified" keeps the files that still verify' in message
        and '"overwrite": true replaces them' in message
    )
    eleven = write_job(job_doc([media("b.mov")], outdir, jobspec_version="1.1.0", existing_outputs="fail"))
    assert run_cli("run", eleven).returncode == 0
    message = run_cli("run", eleven).json()["clips"][0]["failure"]["message"]
    assert 'set "existing_outputs": "skip_verified" keeps' in message and '"overwrite": true' not in message


def test_files_the_command_line_writes_go_through_the_write_gate(tmp_path, media, outdir):
    """`proxx job -o FILE --force` used to replace FILE even when FILE was one of the job's own camera
    files; the result file beside the outputs is gated the same way."""
    import hashlib

    card = _card(tmp_path / "E001", media, frames=6)
    clip = card / "PRIVATE" / "M4ROOT" / "CLIP" / "C0001.MP4"
    before = hashlib.sha256(clip.read_bytes()).hexdigest()
    r = run_cli("job", "--profile", "offline_h264_1280x720", "--output-dir", outdir, card, "-o", clip, "--force")
    assert r.returncode == 1 and "was not written" in r.stderr and "choose another name" in r.stderr, r.stderr
    assert hashlib.sha256(clip.read_bytes()).hexdigest() == before
    fine = run_cli("job", "--profile", "offline_h264_1280x720", "--output-dir", outdir, card, "-o", tmp_path / "j.json")
    assert fine.returncode == 0 and json.loads((tmp_path / "j.json").read_text("utf-8"))["sources"]
