"""AppTest of Library, Explore and Compare: smoke, import via the uploader, explore, compare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from emolens.store import Store
from tests import synth

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60


def page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "app_pages" / f"{name}.py"), default_timeout=TIMEOUT)


def _store(data_dir: Path) -> Store:
    return Store(data_dir)


@pytest.fixture
def two_results(data_dir):
    store = _store(data_dir)
    a = store.add_result("meeting-words", synth.word_level_result(200, seed=1), origin="imported")
    b = store.add_result("awkward", synth.awkward_result(), origin="imported")
    return a, b


def _no_exceptions(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_library_empty_shows_hint():
    at = page("library").run()
    _no_exceptions(at)
    assert any("No results yet" in i.value for i in at.info)


def test_library_import_via_uploader(data_dir):
    at = page("library").run()
    payload = json.dumps(synth.awkward_result()).encode()
    at.file_uploader[0].set_value([("hume.json", payload, "application/json"),
                                   ("bad.json", b'[{"source": {"type"', "application/json")])
    at.button[0].click().run()  # the form's Import button
    _no_exceptions(at)
    assert any("Imported hume.json" in s.value for s in at.success)
    assert any("bad.json" in e.value and "truncated JSON" in e.value for e in at.error)
    rows = _store(data_dir).list_results()
    assert [r.name for r in rows] == ["hume"]
    assert rows[0].summary["models"] == ["prosody", "language", "ner", "burst", "face"]


def test_library_lists_renames_and_deletes(two_results, data_dir):
    at = page("library").run()
    _no_exceptions(at)
    assert "stored result(s)" in at.subheader[0].value
    names = at.dataframe[0].value["name"].tolist()
    assert set(names) == {"meeting-words", "awkward"}
    rid = at.dataframe[0].value["id"].tolist()[0]
    at.text_input(key=f"library_rename_{rid}").set_value("renamed").run()
    at.button(key=f"library_rename_btn_{rid}").click().run()
    _no_exceptions(at)
    assert _store(data_dir).get_result(rid).name == "renamed"
    at.checkbox(key=f"library_delete_sure_{rid}").check().run()
    at.button(key=f"library_delete_{rid}").click().run()
    _no_exceptions(at)
    assert rid not in [r.id for r in _store(data_dir).list_results()]


def _overview(at: AppTest) -> dict:
    """The data of Explore's overview (a components-v2 canvas chart)."""
    (el,) = [e for e in at.get("bidi_component") if e.proto.component_name == "emolens_overview"]
    return json.loads(el.proto.json)


def test_explore_language_result_draws_charts(two_results):
    a, _ = two_results
    at = page("explore")
    at.session_state["explore_result"] = a
    at.run()
    _no_exceptions(at)
    at.selectbox(key=f"pick_model_{a}_0").set_value("language").run()
    _no_exceptions(at)
    fkey = f"{a}_0_meeting.wav_language"
    # the overview is a canvas chart (no plotly): every emotion, the absolute 0-1 scale, first on the page
    overview = _overview(at)
    assert overview["title"].startswith("Overview: every emotion") and len(overview["rows"]) == 53
    assert len(overview["colors"]) == 256 and overview["colors"][0] == "#440154"  # Viridis from 0 up to 1
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert titles[0].startswith("Emotion timeline")
    emotions = at.multiselect(key=f"explore_emotions_{fkey}").value
    assert len(emotions) == 5
    assert at.slider(key=f"explore_smooth_{fkey}").value == 5  # word level: smoothing on by default
    assert any(m.value.startswith("<div data-testid='emolens-segment-card'>") for m in at.markdown)
    seen = set()
    for view in at.radio(key=f"explore_view_{fkey}").options:
        at.radio(key=f"explore_view_{fkey}").set_value(view).run()
        _no_exceptions(at)
        seen |= {json.loads(c.proto.spec)["layout"]["title"]["text"].split(" (")[0] for c in at.get("plotly_chart")}
    assert {"Expression map", "Sentiment per segment", "Toxicity", "Top emotions"} <= seen, seen
    assert at.query_params["model"] == ["language"] or at.query_params["model"] == "language"


def test_explore_first_run_is_light_then_whole(two_results):
    """A fresh session's first run sends the card and the canvas overview only (no plotly chart, so a fresh tab
    need not load plotly.js before its first chart); the overview asks for the rest once painted (any rerun)."""
    a, _ = two_results
    at = page("explore")
    at.query_params["result"] = a
    at.run()
    _no_exceptions(at)
    assert not at.get("plotly_chart") and _overview(at)["notify"] is True
    assert any(m.value.startswith("<div data-testid='emolens-segment-card'>") for m in at.markdown)
    assert "Drawing the timeline…" in [c.value for c in at.caption]
    at.run()  # the rerun the overview's "drawn" trigger starts
    _no_exceptions(at)
    assert _overview(at)["notify"] is False
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert titles and titles[0].startswith("Emotion timeline")


def test_explore_url_selection_is_restored(two_results):
    a, _ = two_results
    at = page("explore")
    at.query_params["result"] = a
    at.query_params["model"] = "language"
    at.query_params["emotions"] = "Joy,Anger"
    at.run()
    _no_exceptions(at)
    assert at.multiselect(key=f"explore_emotions_{a}_0_meeting.wav_language").value == ["Joy", "Anger"]


def test_explore_awkward_archive_every_model(two_results):
    _, b = two_results
    at = page("explore")
    at.session_state["explore_result"] = b
    at.run()
    _no_exceptions(at)
    files = at.selectbox(key=f"pick_file_{b}").options
    assert len(files) == 2  # the failed source has no file
    at.selectbox(key=f"pick_file_{b}").set_value(1).run()  # clip.mp4: face, burst, prosody
    for model in at.selectbox(key=f"pick_model_{b}_1").options:
        at.selectbox(key=f"pick_model_{b}_1").set_value(model).run()
        _no_exceptions(at)


def test_compare_two_results(two_results):
    a, b = two_results
    at = page("compare")
    at.session_state["compare_results"] = [a, a]
    at.run()
    _no_exceptions(at)
    at.selectbox(key=f"b_pick_model_{a}_0").set_value("language").run()
    _no_exceptions(at)
    # prosody (A) vs language (B): the 48 shared names are compared
    diff_titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert any("Difference of duration-weighted means" in t for t in diff_titles)
    assert any(t.startswith("A:") for t in diff_titles) and any(t.startswith("B:") for t in diff_titles)


def test_pages_handle_empty_store():
    for name in ("explore", "compare"):
        at = page(name).run()
        _no_exceptions(at)
        assert any("library is empty" in i.value for i in at.info)


def test_first_start_seeds_the_sample_results(monkeypatch):
    monkeypatch.setenv("EMOLENS_SEED_SAMPLES", "true")
    from emolens.settings import get_settings

    get_settings.cache_clear()
    at = page("library").run()
    _no_exceptions(at)
    names = set(at.dataframe[0].value["name"])
    assert {"Dialogue · utterance (sample)", "Team chat · text (sample)"} <= names
    at = page("explore").run()
    _no_exceptions(at)
    assert _overview(at)["rows"]  # the light first run: the overview of the newest sample
    at.run()
    _no_exceptions(at)
    assert at.get("plotly_chart")


def test_sample_results_are_valid_engine_output():
    from emolens.schema import parse_predictions

    samples = ROOT / "data" / "samples"
    manifest = json.loads((samples / "manifest.json").read_text())
    assert len(manifest) >= 4
    for fname, info in manifest.items():
        parse_predictions(json.loads((samples / fname).read_text()))
        assert info["origin"] == "measured"
        for rel in info["media"].values():
            assert (ROOT / "data" / rel).is_file()


def test_compare_defaults_to_two_results_of_the_same_file(data_dir):
    store = _store(data_dir)
    a = store.add_result("meeting utterance", synth.word_level_result(60, seed=1))
    store.add_result("something else", synth.awkward_result())
    b = store.add_result("meeting words", synth.word_level_result(60, seed=2))
    at = page("compare").run()
    _no_exceptions(at)
    assert at.selectbox(key="a_pick_result").value == a
    assert at.selectbox(key="b_pick_result").value == b


def test_library_selection_follows_the_result_not_the_row(two_results):
    """A ticked row, then an import (which moves rows): the result acted on is still the ticked one, by id."""
    from components.picker import selection_key

    a, b = two_results
    at = page("library").run()
    ids = list(at.dataframe[0].value["id"])
    assert ids == [b, a]  # newest first
    at.session_state[selection_key("library_table", ids)] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    _no_exceptions(at)
    assert at.subheader[1].value == "meeting-words" and at.query_params["result"] in (a, [a])
    at.file_uploader[0].set_value([("newer.json", json.dumps(synth.awkward_result(seed=4)).encode(),
                                    "application/json")])
    at.button[0].click().run()
    _no_exceptions(at)
    assert list(at.dataframe[0].value["name"])[0] == "newer"
    assert at.subheader[1].value == "meeting-words"  # not the row now at position 1
    assert at.text_input(key=f"library_rename_{a}").value == "meeting-words"


def test_library_shows_per_file_errors(two_results):
    _, b = two_results
    at = page("library")
    at.query_params["result"] = b
    at.run()
    _no_exceptions(at)
    assert any("could not be measured" in e.label for e in at.expander)
    assert any("no faces detected" in m.value for m in at.markdown)


def test_compare_pairs_by_content_shares_axes_and_aligns_in_time(data_dir):
    """Two granularities of one recording under different file names: paired by md5, one score axis, overlay and
    a B - A curve on a common grid, labelled by their settings, URL state kept."""
    store = _store(data_dir)
    words = synth.word_level_result(80, seed=1)
    other = synth.word_level_result(80, seed=2)
    other[0]["source"]["md5sum"] = "1" * 32  # another recording
    renamed = synth.word_level_result(80, seed=3)
    renamed[0]["source"]["filename"] = "copy.wav"
    renamed[0]["results"]["predictions"][0]["file"] = "copy.wav"
    a = store.add_result("words", words, config={"models": {"prosody": {"granularity": "word"}}})
    store.add_result("unrelated", other)
    b = store.add_result("utterances", renamed, config={"models": {"prosody": {"granularity": "utterance"}}})
    at = page("compare").run()
    _no_exceptions(at)
    assert at.selectbox(key="a_pick_result").value == a and at.selectbox(key="b_pick_result").value == b
    assert any("same input" in s.value for s in at.success)
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    ta, tb = specs[0]["layout"], specs[1]["layout"]
    assert ta["title"]["text"] == "A: words · prosody word"
    assert tb["title"]["text"] == "B: utterances · prosody utterance"
    assert ta["yaxis"]["range"] == tb["yaxis"]["range"]  # one score axis
    at.radio(key="compare_mode").set_value("Overlay").run()
    _no_exceptions(at)
    overlay = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert {t["line"]["dash"] for t in overlay["data"]} == {"solid", "dash"}
    at.radio(key="compare_mode").set_value("B - A over time").run()
    _no_exceptions(at)
    curve = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert curve["layout"]["title"]["text"].startswith("B - A over time")
    assert at.query_params["cmp_mode"] in ("B - A over time", ["B - A over time"])
    assert at.query_params["cmp_emotions"]
