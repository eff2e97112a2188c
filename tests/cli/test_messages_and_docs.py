"""Messages that say what to write, and documentation a pip-installed user can reach."""

from __future__ import annotations

import json
import os
from pathlib import Path

from proxxtest import job_doc

ROOT = Path(__file__).resolve().parents[2]


def _problems(r) -> dict[str, str]:
    return {p["path"]: p["message"] for p in json.loads(r.stdout)["problems"]}


def test_profile_typo_gets_did_you_mean(proxx, write_job, media, outdir):
    doc = job_doc([media("a.mov")], outdir)
    doc["proxy_profile"] = "offline_prores_proxy_1080"
    r = proxx("validate", write_job(doc))
    assert r.returncode == 1
    assert "did you mean 'offline_prores_proxy_1920x1080'?" in _problems(r)["/proxy_profile"]


def test_tilde_and_drive_paths_name_the_absolute_form(proxx, write_job, media, outdir):
    doc = job_doc([media("a.mov")], outdir)
    doc["sources"] = ["~/media/A001.mov", "D:\\Shoot\\A002.mov"]
    doc["output_dir"] = "~/proxies"
    r = proxx("validate", write_job(doc))
    assert r.returncode == 1
    problems = _problems(r)
    home = os.path.expanduser("~")
    assert repr(os.path.join(home, "media/A001.mov")) in problems["/sources/0"]
    assert "'/mnt/d/Shoot/A002.mov'" in problems["/sources/1"]
    assert repr(os.path.join(home, "proxies")) in problems["/output_dir"]


def test_help_points_at_proxx_docs_not_repository_paths(proxx):
    r = proxx("--help")
    assert r.returncode == 0 and "proxx docs" in r.stdout and "docs/" not in r.stdout
    for command in ("run", "validate", "plan", "watch", "demo", "docs", "worker", "submit"):
        assert "docs/" not in proxx(command, "--help").stdout, command


def test_proxx_docs_lists_and_prints_the_shipped_guides(proxx):
    listing = proxx("docs")
    assert listing.returncode == 0 and "operator-guide" in listing.stdout and "jobspec" in listing.stdout
    page = proxx("docs", "jobspec")
    assert page.returncode == 0
    assert page.stdout == (ROOT / "docs" / "jobspec.md").read_text("utf-8")
    bad = proxx("docs", "jobspc")
    assert bad.returncode == 1 and "did you mean 'jobspec'?" in bad.stderr


def test_shipped_docs_are_the_repository_docs():
    """One source of truth: proxx_cli/docs is docs/ itself (a link; real files in a built wheel),
    and the wheel's package data takes every guide."""
    from proxx_cli.docs_cmd import docs_root, topics

    shipped = Path(str(docs_root()))
    assert topics() == sorted(p.stem for p in (ROOT / "docs").glob("*.md"))
    for page in (ROOT / "docs").glob("*.md"):  # the link itself (editable) or copies (a built wheel)
        assert (shipped / page.name).read_bytes() == page.read_bytes(), f"shipped {page.name} differs from docs/"
    pyproject = (ROOT / "proxx_cli" / "pyproject.toml").read_text("utf-8")
    assert 'proxx_cli = ["docs/*.md"]' in pyproject
