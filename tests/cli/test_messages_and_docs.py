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
    pages = sorted((ROOT / "docs").rglob("*.md"))
    assert topics() == sorted("-".join(p.relative_to(ROOT / "docs").with_suffix("").parts) for p in pages)
    for page in pages:  # the link itself (editable) or copies (a built wheel)
        rel = page.relative_to(ROOT / "docs")
        assert (shipped / rel).read_bytes() == page.read_bytes(), f"shipped {rel} differs from docs/"
    pyproject = (ROOT / "proxx_cli" / "pyproject.toml").read_text("utf-8")
    folders = sorted({p.parent.relative_to(ROOT / "docs").as_posix() for p in pages})
    globs = ", ".join('"docs/*.md"' if f == "." else f'"docs/{f}/*.md"' for f in folders)
    assert f"proxx_cli = [{globs}]" in pyproject


def test_every_page_is_reachable_and_nle_guides_answer_to_the_editor(proxx):
    """`proxx docs avid` used to say 'no such topic': the per-NLE relink guides were unreachable."""
    listing = proxx("docs").stdout
    for page in (ROOT / "docs").rglob("*.md"):
        topic = "-".join(page.relative_to(ROOT / "docs").with_suffix("").parts)
        assert topic in listing, topic
        assert proxx("docs", topic).stdout == page.read_text("utf-8"), topic
    for alias, page in (("avid", "nle/avid.md"), ("premiere", "nle/premiere.md"), ("fcp", "nle/fcp.md")):
        r = proxx("docs", alias)
        assert r.returncode == 0 and r.stdout == (ROOT / "docs" / page).read_text("utf-8"), alias
    assert proxx("docs", "resolve").stdout == (ROOT / "docs" / "resolve.md").read_text("utf-8")
    assert "nle-resolve" in listing


def test_install_hints_name_commands_that_work_from_a_clone():
    """No Proxx distribution is published on an index: a hint such as `pip install proxx-fleet` fails
    (and `pip install proxx` installs someone else's package). Every first-party hint names the
    folder of a clone, and that folder holds the distribution."""
    import tomllib

    from proxx_core.support.hints import REPOSITORY_FOLDERS, install_command, known_distributions

    assert set(known_distributions()) <= set(REPOSITORY_FOLDERS)
    for dist, folder in REPOSITORY_FOLDERS.items():
        meta = tomllib.loads((ROOT / folder / "pyproject.toml").read_text("utf-8"))
        assert meta["project"]["name"] == dist
        assert install_command(dist).startswith(f"pip install ./{folder} ")
    assert install_command("proxx-engine-thirdparty") == "pip install proxx-engine-thirdparty"
    shipped = {
        tomllib.loads(p.read_text("utf-8"))["project"]["name"]: p.parent.name
        for p in ROOT.glob("proxx_*/pyproject.toml")
    }
    assert set(shipped) == set(known_distributions()), "every distribution's version is recorded in results"
    assert shipped == REPOSITORY_FOLDERS
    root = (ROOT / "pyproject.toml").read_text("utf-8")
    assert all(f"{folder}/" in root for folder in shipped.values()), "the root pyproject names every distribution"
    for path in [*ROOT.glob("proxx_*/proxx_*/**/*.py"), *(ROOT / "docs").rglob("*.md"), ROOT / "README.md"]:
        text = path.read_text("utf-8")
        for dist in REPOSITORY_FOLDERS:
            assert f"pip install {dist}" not in text and f"pip install '{dist}" not in text, (path, dist)


def test_readme_lists_every_distribution_and_every_page():
    """The README is the front door: every distribution of the repository and every doc page is
    reachable from it."""
    import tomllib

    readme = (ROOT / "README.md").read_text("utf-8")
    for pyproject in ROOT.glob("proxx_*/pyproject.toml"):
        name = tomllib.loads(pyproject.read_text("utf-8"))["project"]["name"]
        assert f"`{pyproject.parent.name}/`" in readme and f"`{name}`" in readme, name
    for page in (ROOT / "docs").rglob("*.md"):
        assert f"(docs/{page.relative_to(ROOT / 'docs').as_posix()})" in readme, page


def test_readme_test_command_is_the_one_ci_runs():
    """`.ci/run` runs the README's test command verbatim, system tools included, so a fresh machine
    following the README skips no test for want of a server or tool."""
    readme = (ROOT / "README.md").read_text("utf-8")
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    command = next(line for line in readme.splitlines() if line.endswith("-m pytest") and "requirements-test" in line)
    assert command.startswith("bash .ci/system-packages && ")
    assert command in ci.splitlines()
