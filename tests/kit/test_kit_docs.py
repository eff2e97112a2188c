"""docs/engine-authors.md cannot drift from the code: its marked code blocks are the example
package's files (whole, or exact excerpts of whole lines), and it documents every method of the
engine contract, the hook, every failure category and every kit fixture."""

import re
from pathlib import Path

import pytest

from proxx_core import CATEGORIES, Engine
from proxx_core.support.plugins import make_plugin_manager

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "engine-authors.md"
EXAMPLE = "examples/proxx-engine-imageseq"
BLOCK = re.compile(r"<!-- (file|excerpt): (\S+) -->\n```[a-z]*\n(.*?)```", re.S)


@pytest.fixture(scope="module")
def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def blocks(text):
    return [(kind, path, body) for kind, path, body in BLOCK.findall(text)]


def test_the_guide_has_marked_blocks(guide):
    assert len(blocks(guide)) >= 8
    # every fence right after a marker is captured: no marker without its block
    assert guide.count("<!-- file: ") + guide.count("<!-- excerpt: ") == len(blocks(guide))


_BLOCKS = blocks(GUIDE.read_text(encoding="utf-8")) if GUIDE.exists() else []


@pytest.mark.parametrize(
    "kind,path,body",
    _BLOCKS,
    ids=[f"{i}-{kind}-{path.rsplit('/', 1)[-1]}" for i, (kind, path, _) in enumerate(_BLOCKS)],
)
def test_code_block_matches_the_example_package(kind, path, body):
    assert path.startswith(EXAMPLE + "/"), f"{path}: guide examples come from {EXAMPLE}"
    source = (ROOT / path).read_text(encoding="utf-8")
    if kind == "file":
        assert body == source, f"the guide's copy of {path} differs from the file: update docs/engine-authors.md"
    else:
        assert body.strip(), f"empty excerpt of {path}"
        assert ("\n" + source).find("\n" + body) >= 0, (
            f"an excerpt of {path} in the guide is not in the file verbatim (whole lines): update the guide"
        )


def test_the_example_package_is_shown(guide):
    shown = {path for _, path, _ in blocks(guide)}
    for name in (
        "pyproject.toml",
        "proxx_engine_imageseq/plugin.py",
        "proxx_engine_imageseq/engine.py",
        "proxx_engine_imageseq/sequence.py",
        "tests/test_conformance.py",
    ):
        assert f"{EXAMPLE}/{name}" in shown, f"the guide does not show {name}"
    engine_code = "".join(body for _, path, body in blocks(guide) if path.endswith("/engine.py"))
    for method in sorted(Engine.__abstractmethods__):
        assert f"    def {method}(" in engine_code, f"the worked example in the guide does not show {method}()"


def test_every_contract_method_hook_and_category_is_documented(guide):
    for method in sorted(Engine.__abstractmethods__):
        assert f"| `{method}(" in guide, f"the contract table lacks {method}()"
    for name in ("proxx_register_engines", "proxx_clip_checks", "proxx_job_finished", "proxx_register_deliverables"):
        caller = getattr(make_plugin_manager().hook, name)
        signature = f"{name}({', '.join(caller.spec.argnames)})"
        assert f"`{signature}`" in guide, f"the guide does not document the hook {signature}"
    for category in CATEGORIES:
        assert f"`{category}`" in guide, f"failure category {category} is not documented"


def test_every_kit_fixture_is_documented(guide):
    for name in (
        "engine",
        "sample_sources",
        "unreadable_source",
        "plugin",
        "entry_point",
        "break_source",
        "require_available",
        "heavy_modules",
    ):
        assert f"`{name}" in guide, f"kit fixture/attribute {name} is not documented"
    assert 'pytest_plugins = ["proxx_core.testing.plugin"]' in guide
    assert "[project.entry-points.proxx]" in guide
