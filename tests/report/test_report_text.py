"""The report's text is the result's text: any name or user metadata is shown as given and never
becomes markup; contact frames are chosen within the clip (property tests, no media)."""

from __future__ import annotations

from html.parser import HTMLParser

from hypothesis import example, given, settings
from hypothesis import strategies as st

from proxx_report.facts import clip_facts, job_facts
from proxx_report.render import report_html
from proxx_report.thumbnails import Thumbnails, contact_indices, poster_index

#: text a result can carry: any Unicode scalar but NUL and surrogates (JSON and file names cannot hold them)
#: (markup's own characters drawn often, or a search of 60 examples would rarely meet one)
TEXT = st.text(
    st.one_of(st.sampled_from("<>&\"'=;/ ab#"), st.characters(exclude_categories=("Cs",), exclude_characters="\x00")),
    min_size=1,
    max_size=40,
)


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def result(name: str, key: str, value: str) -> dict:
    return {
        "job_id": "day1",
        "status": "FAILED",
        "exit_code": 2,
        "user_metadata": {key: value},
        "timing": {"started_at": "t0", "finished_at": "t1", "seconds": 1.0},
        "clips": [
            {
                "index": 1,
                "status": "FAILED",
                "source": {"path": f"/cards/{name}.mov", "info": None},
                "output": None,
                "failure": {"category": "io_error", "message": value},
                "commands": [],
            }
        ],
    }


def page(doc: dict) -> Page:
    clips = [(clip_facts(c), Thumbnails(poster=None, sheet=(), note="no verified proxy")) for c in doc["clips"]]
    parsed = Page()
    parsed.feed(report_html(job_facts(doc), clips))
    return parsed


@settings(max_examples=60, deadline=None)
@given(name=TEXT.filter(lambda s: "/" not in s), key=TEXT, value=TEXT)
@example(name="A<b>x", key="<script>alert(1)</script>", value="a&amp;b <img src=x onerror=y>")
def test_any_name_and_metadata_is_shown_as_text_never_as_markup(name, key, value):
    plain = page(result("A001_C001", "show", "Night"))
    shown = page(result(name, key, value))
    assert shown.tags == plain.tags
    text = "".join(shown.text)
    for piece in (name, key, value):
        assert piece in text


@given(st.integers(min_value=0, max_value=10**7))
def test_contact_frames_lie_within_the_clip_from_first_to_last(frames):
    indices = contact_indices(frames)
    assert indices == sorted(set(indices))
    assert len(indices) == min(frames, 6)
    if frames:
        assert indices[0] == 0 and indices[-1] == frames - 1
        assert poster_index(frames) in indices
