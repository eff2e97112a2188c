"""A node's [allow] policy: a job that would make the worker read or write outside its allowed roots
is refused by that worker with the reason and recorded, never run (no encoder starts, nothing is
written); `proxx submit` warns when no live worker's policy admits a clip."""

from __future__ import annotations

import os

import pytest
from test_fleet import counting_ffmpeg, runs, submit

from proxx_core.contract.errors import ProxxError
from proxx_core.pipeline.pathmap import load_node_config
from proxxtest import job_doc

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def allowed(tmp_path):
    """(config, allowed media folder, allowed output folder, a folder outside both)."""
    media_dir, out_dir, outside = tmp_path / "raid", tmp_path / "proxies", tmp_path / "home"
    for d in (media_dir, out_dir, outside):
        d.mkdir()
    config = tmp_path / "node.toml"
    config.write_text(f'[allow]\nsources = ["{media_dir}"]\nlooks = []\noutputs = ["{out_dir}"]\n')
    return config, media_dir, out_dir, outside


def test_clips_outside_the_allowed_roots_are_refused_and_never_run(workers, fleet, media, tmp_path, write_job, allowed):
    config, media_dir, out_dir, outside = allowed
    wrapper, counter = counting_ffmpeg(tmp_path)
    workers.start("strict", config=config, env={"PROXX_FFMPEG": str(wrapper)})
    inside = media("in.mov")
    os.replace(inside, media_dir / "in.mov")
    secret = media("secret.mov")
    os.replace(secret, outside / "secret.mov")
    (media_dir / "link.mov").symlink_to(outside / "secret.mov")  # inside by name, outside in fact

    res = fleet("submit", write_job(job_doc([outside / "secret.mov"], out_dir, job_id="p-source")))
    assert res.returncode == 0 and "warning: clip 1" in res.stderr and "strict" in res.stderr, res.stderr
    res = fleet("wait", "p-source", "--timeout", "30")
    assert res.returncode == 2, res.stderr
    failure = res.json()["clips"][0]["failure"]
    assert failure["category"] == "validation"
    assert str(outside / "secret.mov") in failure["message"] and str(config) in failure["message"]
    assert "[allow] sources" in failure["message"] and "not run" in failure["message"]

    job_id = submit(fleet, write_job(job_doc([media_dir / "link.mov"], out_dir, job_id="p-link")))
    assert "is outside the sources" in fleet("wait", job_id, "--timeout", "30").json()["clips"][0]["failure"]["message"]

    res = fleet("submit", write_job(job_doc([media_dir / "in.mov"], outside, job_id="p-output")))
    assert "warning: clip 1" in res.stderr
    failure = fleet("wait", "p-output", "--timeout", "30").json()["clips"][0]["failure"]
    assert str(outside) in failure["message"] and "[allow] outputs" in failure["message"]

    assert runs(counter) == 0 and list(outside.iterdir()) == [outside / "secret.mov"]
    assert list(out_dir.iterdir()) == []

    res = fleet("submit", write_job(job_doc([media_dir / "in.mov"], out_dir, job_id="p-ok")))
    assert res.returncode == 0 and "warning" not in res.stderr, res.stderr
    res = fleet("wait", "p-ok", "--timeout", "60")
    assert res.returncode == 0, res.stderr
    assert runs(counter) == 1 and [p.name for p in out_dir.iterdir()] == ["in_proxy.mov"]
    assert fleet("workers").json()["workers"][0]["allow"] == {
        "sources": [str(media_dir)],
        "looks": [],
        "outputs": [str(out_dir)],
    }


def test_a_layout_that_writes_outside_the_allowed_outputs_is_refused_before_the_encode(
    workers, fleet, media, tmp_path, write_job, allowed
):
    """proxy_subfolder writes next to the source: the planned files are checked, not only output_dir."""
    config, media_dir, out_dir, _ = allowed
    wrapper, counter = counting_ffmpeg(tmp_path)
    workers.start("strict", config=config, env={"PROXX_FFMPEG": str(wrapper)})
    os.replace(media("a.mov"), media_dir / "a.mov")
    doc = job_doc([media_dir / "a.mov"], out_dir, jobspec_version="1.1.0", layout="proxy_subfolder", job_id="p-sub")
    del doc["output_dir"], doc["output_name_template"]
    job_id = submit(fleet, write_job(doc))
    res = fleet("wait", job_id, "--timeout", "30")
    assert res.returncode == 2, res.stderr
    failure = res.json()["clips"][0]["failure"]
    assert failure["category"] == "validation" and "[allow] outputs" in failure["message"]
    assert str(media_dir / "Proxy") in failure["message"]
    assert runs(counter) == 0 and not (media_dir / "Proxy").exists()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[allow]\nsource = ["/mnt"]\n', "unknown key(s) source"),
        ('[allow]\nsources = "/mnt"\n', "allow.sources must be a list"),
        ('[allow]\noutputs = ["proxies"]\n', "allow.outputs root 'proxies' is not an absolute path"),
        ("allow = 1\n", "[allow] must be a table"),
    ],
)
def test_a_bad_allow_table_names_the_file_and_the_key(tmp_path, text, says):
    config = tmp_path / "node.toml"
    config.write_text(text)
    with pytest.raises(ProxxError) as err:
        load_node_config(config)
    assert says in err.value.message and str(config) in err.value.message


def test_a_renditions_own_folder_is_checked_against_the_policy(allowed):
    """A rendition writing to its own output_dir (JobSpec 1.2) is checked there, on the node and at
    submission: the review rendition outside the allowed outputs is refused, the edit one is not."""
    from proxx_fleet.policy import clip_reads_and_writes, refusals

    config, media_dir, out_dir, outside = allowed
    doc = {
        "sources": [str(media_dir / "a.mov")],
        "output_dir": str(out_dir),
        "renditions": [
            {"name": "edit", "proxy_profile": "offline_prores_proxy_1920x1080"},
            {"name": "review", "proxy_profile": "offline_h264_1280x720", "output_dir": str(outside)},
        ],
    }
    node = load_node_config(config)
    assert refusals(clip_reads_and_writes(doc, 1), node) == []  # clip 1: the source's edit rendition
    (refused,) = refusals(clip_reads_and_writes(doc, 2), node)  # clip 2: its review rendition
    assert refused.startswith(f"{outside} is outside the outputs this node allows")
