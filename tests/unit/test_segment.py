"""Segmentation rules on hand-made timed words (pure code: no models)."""

from __future__ import annotations

import pytest

from emolens.engine.segment import segment_words, window_segments, windows
from emolens.engine.types import Word
from emolens.errors import ConfigError


def make_words(spec: list[tuple[str, float, float, str]]) -> list[Word]:
    """Words from (text, begin, end, speaker), char offsets as if joined by single spaces."""
    out, pos = [], 0
    for text, b, e, spk in spec:
        out.append(Word(text, b, e, 0.8, pos, pos + len(text), spk, 0.9 if spk != "unknown" else None))
        pos += len(text) + 1
    return out


WORDS = make_words([
    ("Hello", 0.0, 0.4, "spk_0"), ("there.", 0.45, 0.9, "spk_0"), ("How", 1.0, 1.2, "spk_0"),
    ("are", 1.25, 1.4, "spk_0"), ("you?", 1.45, 1.8, "spk_0"),
    ("Fine", 3.0, 3.3, "spk_1"), ("thanks", 3.35, 3.8, "spk_1"), ("and", 4.6, 4.8, "spk_1"),
    ("you", 4.85, 5.1, "spk_1"), ("Great", 5.2, 5.6, "spk_0"),
])
TEXT = " ".join(w.text for w in WORDS)


def test_word():
    segs = segment_words(WORDS, "word")
    assert [s.text for s in segs] == [w.text for w in WORDS]
    assert segs[0].begin == 0.0 and segs[0].end == 0.4 and segs[0].confidence == 0.8


def test_sentence_by_punctuation_pause_and_speaker():
    segs = segment_words(WORDS, "sentence")
    assert [s.text for s in segs] == ["Hello there.", "How are you?", "Fine thanks and you", "Great"]
    for s in segs:
        assert TEXT[s.char_begin: s.char_end] == s.text


def test_utterance_by_pauses():
    segs = segment_words(WORDS, "utterance")
    # 0.8 s pause after "thanks" splits; punctuation alone does not.
    assert [s.text for s in segs] == ["Hello there. How are you?", "Fine thanks", "and you", "Great"]
    assert segs[1].speaker == "spk_1" and segs[1].speaker_confidence == 0.9
    assert (segs[0].begin, segs[0].end) == (0.0, 1.8)


def test_conversational_turn():
    segs = segment_words(WORDS, "conversational_turn")
    assert [s.speaker for s in segs] == ["spk_0", "spk_1", "spk_0"]
    assert segs[1].text == "Fine thanks and you"


def test_turn_survives_a_backchannel_and_turns_may_overlap():
    words = make_words([
        ("So", 0.0, 0.3, "spk_0"), ("the", 0.35, 0.5, "spk_0"), ("plan", 0.55, 0.9, "spk_0"),
        ("yeah", 0.8, 1.1, "spk_1"),  # overlapped interjection
        ("is", 1.2, 1.4, "spk_0"), ("to", 1.45, 1.6, "spk_0"), ("ship", 1.65, 2.0, "spk_0"),
        ("mhm", 2.3, 2.6, "spk_1"),  # in a gap
        ("today.", 2.8, 3.2, "spk_0"),
        ("Sounds", 3.6, 4.0, "spk_1"), ("good", 4.05, 4.4, "spk_1"), ("to", 4.45, 4.6, "spk_1"),
        ("me", 4.65, 4.9, "spk_1"),
    ])
    segs = segment_words(words, "conversational_turn")
    assert [(s.speaker, s.text) for s in segs] == [
        ("spk_0", "So the plan is to ship today."),
        ("spk_1", "yeah"),
        ("spk_1", "mhm"),
        ("spk_1", "Sounds good to me"),
    ]
    # the long turn overlaps the interjections in time
    assert segs[0].begin == 0.0 and segs[0].end == 3.2 and segs[1].begin < segs[0].end


def test_turn_ends_after_a_long_pause_or_a_real_reply():
    words = make_words([
        ("One", 0.0, 0.4, "spk_0"), ("two", 0.5, 0.9, "spk_0"),
        ("three", 3.5, 3.9, "spk_0"),  # 2.6 s pause: new turn, same speaker
        ("No", 4.0, 4.3, "spk_1"), ("that", 4.35, 4.6, "spk_1"), ("is", 4.65, 4.8, "spk_1"),
        ("wrong", 4.85, 5.3, "spk_1"),  # a reply longer than a backchannel
        ("four", 5.5, 5.9, "spk_0"),
    ])
    segs = segment_words(words, "conversational_turn")
    assert [s.text for s in segs] == ["One two", "three", "No that is wrong", "four"]


def test_long_utterance_is_cut_at_a_sentence_end():
    spec, t = [], 0.0
    for i in range(40):
        spec.append((f"w{i}." if i % 5 == 4 else f"w{i}", t, t + 0.4, "unknown"))
        t += 0.45
    segs = segment_words(make_words(spec), "utterance")
    assert len(segs) >= 2 and all(s.text.endswith(".") for s in segs[:-1])


def test_empty_and_bad_granularity():
    for g in ("word", "sentence", "utterance", "conversational_turn"):
        assert segment_words([], g) == []  # silence: no segments
    with pytest.raises(ConfigError, match="granularity"):
        segment_words(WORDS, "paragraph")


def test_windows_cover_whole_file():
    assert windows(5.0, 2.0, 1.5) == [(0.0, 2.0), (1.5, 3.5), (3.0, 5.0)]
    assert windows(4.0, 4.0, 1.0) == [(0.0, 4.0)]
    w = windows(10.3, 4.0, 1.0)
    assert w[0] == (0.0, 4.0) and w[-1][1] == 10.3 and all(b < e for b, e in w)
    gaps = windows(10.0, 0.5, 2.0)  # step > length: windows every 2 s, last one reaches into the end
    assert gaps[-1] == (8.0, 8.5)
    assert windows(0.0, 1.0, 1.0) == []
    with pytest.raises(ConfigError):
        windows(10.0, 0.2, 1.0)


def test_window_segments_text_or_null():
    segs = window_segments(WORDS, windows(7.0, 2.0, 2.0))
    assert [s.text for s in segs] == ["Hello there. How are you?", "Fine thanks", "and you Great", None]
    assert (segs[-1].begin, segs[-1].end) == (6.0, 7.0) and segs[-1].speaker == "unknown"
    assert segs[0].speaker == "spk_0"
