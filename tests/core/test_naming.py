"""A source is never replaced: output paths are compared with sources by file identity, by the name a
case-insensitive or normalising volume would see, and once more right before publishing."""

from __future__ import annotations

import hashlib
import os
import unicodedata

import pytest

from proxx_core.pipeline import runner
from proxx_core.pipeline.check import check_document
from proxx_core.support.plugins import load_engines
from proxxtest import job_doc


@pytest.fixture(scope="module")
def engines():
    return load_engines()


def _messages(checked) -> list[str]:
    return [f"{p.path}: {p.message}" for p in checked.problems]


def _replaces_source(checked) -> bool:
    return checked.job is None and any("would replace source" in m for m in _messages(checked))


def _sha(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_output_dir_symlink_to_source_folder_is_refused(engines, media, tmp_path):
    src = media("A001.mov")
    link = tmp_path / "looks-elsewhere"
    link.symlink_to(src.parent, target_is_directory=True)
    doc = job_doc([src], link, output_name_template="{source_name}", overwrite=True)
    assert _replaces_source(check_document(doc, engines))


def test_output_dir_with_double_slash_is_refused(engines, media):
    src = media("A001.mov")
    doc = job_doc([src], "/" + str(src.parent), output_name_template="{source_name}", overwrite=True)
    assert doc["output_dir"].startswith("//")
    assert _replaces_source(check_document(doc, engines))


def test_output_differing_from_source_only_in_case_is_refused(engines, media):
    src = media("A001C002.MOV")  # the mov profile renders A001C002.mov next to it
    doc = job_doc([src], src.parent, output_name_template="{source_name}", overwrite=True)
    assert _replaces_source(check_document(doc, engines))


def test_output_differing_from_source_only_in_normalisation_is_refused(engines, media):
    nfd = unicodedata.normalize("NFD", "Café")
    src = media(f"{nfd}.mov")
    doc = job_doc([src], src.parent, output_name_template=unicodedata.normalize("NFC", "Café"), overwrite=True)
    assert _replaces_source(check_document(doc, engines))


def test_source_reached_through_a_symlink_is_still_protected(engines, media, tmp_path):
    src = media("A001.mov")
    links = tmp_path / "links"
    links.mkdir()
    (links / "A001.mov").symlink_to(src)
    doc = job_doc([links / "A001.mov"], src.parent, output_name_template="{source_name}", overwrite=True)
    assert _replaces_source(check_document(doc, engines))


def test_sharp_s_and_ss_are_different_names(engines, media, tmp_path):
    """No volume editors mount folds ß to ss (NTFS, APFS, SMB use simple case mapping)."""
    a = media("Straße.mov")
    other = tmp_path / "other"
    other.mkdir()
    b = other / "Strasse.mov"
    b.write_bytes(a.read_bytes())
    out = tmp_path / "proxies"
    out.mkdir()
    checked = check_document(job_doc([a, b], out), engines)
    assert checked.job is not None, _messages(checked)
    # and an output named ...ss next to a source named ...ß is not "replacing" it
    checked = check_document(job_doc([a], a.parent, output_name_template="Strasse"), engines)
    assert checked.job is not None, _messages(checked)


def test_existing_hard_link_of_a_source_is_never_replaced(engines, media, outdir):
    """Even a name that passes every check is not published over a file that *is* a source."""
    src = media("A001.mov")
    os.link(src, outdir / "A001_proxy.mov")
    doc = job_doc([src], outdir, overwrite=True)
    checked = check_document(doc, engines)
    assert _replaces_source(checked)


def test_publish_refuses_a_final_path_that_became_a_source(engines, media, outdir):
    """Between validation and publishing, a source appears under the final name (a hard link, or a
    volume that folds case): the clip fails and the source keeps its bytes."""
    src = media("A001.mov")
    before = _sha(src)
    checked = check_document(job_doc([src], outdir, overwrite=True), engines)
    assert checked.job is not None, _messages(checked)
    os.link(src, outdir / "A001_proxy.mov")
    result = runner.run_job(checked.job, engines)
    clip = result.clips[0]
    assert clip.status == "FAILED" and clip.failure.category == "output_exists", clip.failure
    assert "is a source" in clip.failure.message
    assert _sha(src) == before and _sha(outdir / "A001_proxy.mov") == before
    assert sorted(p.name for p in outdir.iterdir()) == ["A001_proxy.mov"]  # no temp left behind


PIECES = [
    "{source_name}",
    "{index}",
    "{source_ext}",
    "a",
    "A",
    "ß",
    "ss",
    "é",
    "e\u0301",
    ".",
    " ",
    ":",
    "_",
    "\u202e",
    "\u200b",
    "MOV",
    "mov",
    "CON",
    "/",
    "..",
    "\\\\",
]


@pytest.fixture(scope="module")
def card(tmp_path_factory):
    root = tmp_path_factory.mktemp("card")
    sources = []
    for name in ("A.mov", "a.MOV", "Aß.mov", "e\u0301.mov"):
        (root / name).write_bytes(b"not probed by static checks")
        sources.append(str(root / name))
    return root, sources


def test_no_accepted_template_names_a_source_or_leaves_output_dir(card):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from proxx_core.pipeline.check import static_problems
    from proxx_core.pipeline.document import derive_job_id
    from proxx_core.rules.naming import name_key, output_names, portability_problem

    root, sources = card
    source_keys = {name_key(os.path.basename(s)) for s in sources}

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join),
        st.sampled_from(["offline_prores_proxy_1920x1080", "offline_h264_1280x720"]),
    )
    def check(template, profile):
        doc = job_doc(sources, root, profile=profile, output_name_template=template, overwrite=True)
        spec, problems = static_problems(doc)
        if spec is None:
            assert problems
            return
        names, _ = output_names(spec.spec, derive_job_id(doc))
        for name in names:
            assert name_key(name) not in source_keys, name
            assert portability_problem(name) is None, name
            assert os.path.dirname(os.path.join(str(root), name)) == str(root), name

    check()
