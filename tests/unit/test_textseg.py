"""Text segmentation: exact offsets on any text (hypothesis), and the rules of each granularity."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emolens.engine.textseg import GRANULARITIES, find_turns, segment_text
from emolens.errors import ConfigError

# Text made of words, punctuation, emoji, other scripts, CRLF and speaker labels, plus fully random unicode.
_pieces = st.sampled_from(
    ["Hello", "world", "Mr.", "Smith", ".", "!", "?", "…", ",", ";", " - ", "—", " ", "  ", "\n", "\r\n", "\t",
     "🙂", "👩‍👩‍👧", "日本語です。", "Привет", "مرحبا", "e.g.", "and", "but", "Alice:", "Bob Smith:", "\x00", '"', "'"]
)
texts = st.one_of(st.lists(_pieces, max_size=40).map("".join), st.text(max_size=200))


@settings(max_examples=300, deadline=None)
@given(text=texts, granularity=st.sampled_from(GRANULARITIES), speakers=st.booleans())
def test_offsets_are_exact(text: str, granularity: str, speakers: bool) -> None:
    try:
        segs = segment_text(text, granularity, identify_speakers=speakers)
    except ConfigError:
        assert granularity == "conversational_turn" and not find_turns(text)
        return
    last = -1
    for s in segs:
        assert s.text and text[s.char_begin : s.char_end] == s.text
        assert not s.text[0].isspace() and not s.text[-1].isspace()
        assert s.char_begin >= last  # in order, not overlapping
        last = s.char_end
        assert s.begin is None and s.end is None


def test_sentences_keep_abbreviations_and_split_lines() -> None:
    text = "Hi Mr. Smith! How are you?\r\nFine thanks"
    assert [s.text for s in segment_text(text, "sentence")] == ["Hi Mr. Smith!", "How are you?", "Fine thanks"]


def test_words_trim_punctuation_but_keep_emoji() -> None:
    assert [s.text for s in segment_text('"Great," she said 🙂 ...', "word")] == ["Great", "she", "said", "🙂", "..."]


def test_utterances_split_clauses() -> None:
    got = [s.text for s in segment_text("I like it, but it is expensive; maybe later.", "utterance")]
    assert got == ["I like it", "but it is expensive;", "maybe later."]


def test_conversational_turns_and_speakers() -> None:
    text = "Alice: Hi Bob.\nBob: Hello!\nHow are you?\r\nAlice: Good 🙂"
    turns = segment_text(text, "conversational_turn")
    assert [(s.speaker, s.text) for s in turns] == [
        ("Alice", "Hi Bob."), ("Bob", "Hello!\nHow are you?"), ("Alice", "Good 🙂")]
    sents = segment_text(text, "sentence", identify_speakers=True)
    expected = [("Alice", "Hi Bob."), ("Bob", "Hello!"), ("Bob", "How are you?")]
    assert [(s.speaker, s.text) for s in sents][:3] == expected
    assert {s.speaker for s in segment_text(text, "sentence")} == {"unknown"}


def test_conversational_turn_without_names_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Name: text"):
        segment_text("just a sentence. another one.", "conversational_turn")


def test_passage_and_empty_inputs() -> None:
    assert [s.text for s in segment_text("  one. two.  ", "passage")] == ["one. two."]
    for g in ("word", "sentence", "utterance", "passage"):
        assert segment_text("", g) == [] and segment_text(" \n\t ", g) == []
    with pytest.raises(ConfigError, match="unknown text granularity"):
        segment_text("x", "paragraph")
