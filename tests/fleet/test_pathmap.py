"""Node path maps: prefixes between the submitter's view and a node's, from a TOML node config."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxx_core.contract.errors import ProxxError
from proxx_core.pipeline.pathmap import PathMap, load_node_config, map_document


def test_longest_prefix_on_component_boundaries_and_target_separators():
    m = PathMap.from_mapping(
        {"/Volumes/RAID": "R:\\", "/Volumes/RAID/proxies": "/mnt/proxies", "/mnt/raid": "/srv/raid"}
    )
    assert m.apply("/Volumes/RAID/day1/A001.mov") == "R:\\day1\\A001.mov"
    assert m.apply("/Volumes/RAID/proxies/x.mov") == "/mnt/proxies/x.mov"
    assert m.apply("/Volumes/RAIDER/x.mov") == "/Volumes/RAIDER/x.mov"  # not a component boundary
    assert m.apply("/Volumes/RAID") == "R:\\"
    assert m.apply("/mnt/raid/a/b.mov") == "/srv/raid/a/b.mov"
    win = PathMap.from_mapping({"R:\\": "/mnt/raid"})
    assert win.apply("R:\\day1\\A001.mov") == "/mnt/raid/day1/A001.mov"


_component = st.text(alphabet="abcXYZ019_-. ", min_size=1, max_size=8).filter(lambda c: c not in (".", ".."))


@given(st.lists(_component, min_size=1, max_size=5))
def test_mapped_paths_keep_every_component(parts):
    m = PathMap.from_mapping({"/Volumes/RAID": "/mnt/raid"})
    assert m.apply("/Volumes/RAID/" + "/".join(parts)) == "/mnt/raid/" + "/".join(parts)
    assert m.apply("/elsewhere/" + "/".join(parts)) == "/elsewhere/" + "/".join(parts)


def test_map_document_keeps_the_submitters_job_id():
    doc = {"sources": ["/Volumes/RAID/a.mov"], "output_dir": "/Volumes/RAID/out"}
    mapped, record = map_document(doc, PathMap.from_mapping({"/Volumes/RAID": "/mnt/raid"}))
    assert mapped["sources"] == ["/mnt/raid/a.mov"] and mapped["output_dir"] == "/mnt/raid/out"
    from proxx_core.pipeline.document import derive_job_id

    assert mapped["job_id"] == derive_job_id(doc)
    assert record["sources"] == [{"submitted": "/Volumes/RAID/a.mov", "mapped": "/mnt/raid/a.mov"}]


@pytest.mark.parametrize(
    "text,fragment",
    [
        ('[paths]\n"/Volumes/RAID" = "R:\\"\n', "not valid TOML"),
        ('[paths]\n"relative" = "/mnt/raid"\n', "not an absolute path prefix"),
        ('[paths]\n"/Volumes/RAID" = "raid"\n', "not an absolute path on this node"),
        ('[path]\n"/a" = "/b"\n', "unknown key"),
    ],
)
def test_bad_node_configs_name_the_file_and_the_fix(tmp_path, text, fragment):
    path = tmp_path / "node.toml"
    path.write_text(text)
    with pytest.raises(ProxxError) as err:
        load_node_config(path)
    assert str(path) in err.value.message and fragment in err.value.message


def test_config_from_environment(tmp_path, monkeypatch):
    path = tmp_path / "node.toml"
    path.write_text("[paths]\n'/Volumes/RAID' = '/mnt/raid'\n")
    monkeypatch.setenv("PROXX_CONFIG", str(path))
    assert load_node_config().path_map.apply("/Volumes/RAID/x") == "/mnt/raid/x"
    monkeypatch.delenv("PROXX_CONFIG")
    assert not load_node_config().path_map


def test_map_document_maps_a_renditions_own_folder():
    """A rendition's own output_dir (JobSpec 1.2) is written by the node: it is mapped like output_dir."""
    doc = {
        "sources": ["/Volumes/RAID/a.mov"],
        "output_dir": "/Volumes/RAID/out",
        "renditions": [
            {"name": "avid", "proxy_profile": "offline_dnxhr_lb_1920x1080", "layout": "avid_mxf"},
            {"name": "review", "proxy_profile": "offline_h264_1280x720", "output_dir": "/Volumes/RAID/out/review"},
        ],
    }
    mapped, _ = map_document(doc, PathMap.from_mapping({"/Volumes/RAID": "/mnt/raid"}))
    assert mapped["renditions"][0] == doc["renditions"][0]
    assert mapped["renditions"][1] == {**doc["renditions"][1], "output_dir": "/mnt/raid/out/review"}
    assert doc["renditions"][1]["output_dir"] == "/Volumes/RAID/out/review"  # the submitted document is kept
