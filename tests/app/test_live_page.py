"""AppTest of the Live page: smoke; typed text and a short clip streamed through the websocket fill timelines."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
CLIP = Path("/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav")
pytestmark = pytest.mark.timeout(300)


def live() -> AppTest:
    return AppTest.from_file(str(ROOT / "app_pages" / "live.py"), default_timeout=240)


def test_smoke(data_dir):
    at = live().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.button(key="live_send_text").disabled and at.button(key="live_stream_audio").disabled


def test_text_streams_into_timeline(data_dir):
    at = live().run()
    at.text_area(key="live_text").input("I love this!\nThis is terrible.\nWell, fine.").run()
    at.button(key="live_send_text").click().run()
    assert not at.exception, [e.value for e in at.exception]
    rows = at.session_state["live_language"]
    assert len(rows) == 3 and rows[0]["text"] == "I love this!" and "sentiment_9" in rows[0]
    assert len(at.get("plotly_chart")) >= 1
    lines = at.dataframe[-1].value  # each line's text, top-3 and sentiment (ticked by default)
    assert list(lines["text"]) == ["I love this!", "This is terrible.", "Well, fine."]
    assert "sentiment (1-9)" in lines.columns and lines["top 3"].str.count(",").eq(2).all()
    assert lines["sentiment (1-9)"].iloc[0] > lines["sentiment (1-9)"].iloc[1]
    at.button(key="live_save").click().run()
    assert not at.exception, [e.value for e in at.exception]
    from emolens.store import Store

    rid = at.session_state["explore_result"]
    row = Store(data_dir).get_result(rid)
    assert row.name.startswith("Live · ") and row.summary["predictions"] == 3 and row.summary["models"] == ["language"]
    from components.data import cache_path

    assert cache_path(str(data_dir), rid, "language.arrow").is_file()


def test_clip_streams_prosody(data_dir):
    if not CLIP.is_file():
        pytest.skip("pocketsphinx-testdata not installed")
    at = live().run()
    at.file_uploader(key="live_clip").set_value([(CLIP.name, CLIP.read_bytes(), "audio/wav")]).run()
    at.button(key="live_stream_audio").click().run()
    assert not at.exception, [e.value for e in at.exception]
    rows = at.session_state["live_prosody"]
    assert len(rows) == 1 and rows[0]["begin"] == 0.0 and rows[0]["end"] > 2.5
    assert len(rows[0]) > 40  # 48 emotion scores
