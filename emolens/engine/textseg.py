"""Segment raw text into words, sentences, utterances, conversational turns or one passage, with exact offsets.

Every segment satisfies ``text[seg.char_begin:seg.char_end] == seg.text`` (Python str indices, i.e. code points),
and segments never start or end with whitespace. Rules are deliberately simple and predictable:

- word: runs of non-space characters with leading/trailing punctuation trimmed (a run that is all punctuation or
  emoji is kept whole, so "🙂" is a word).
- sentence: ends after ``. ! ? …`` (plus closing quotes/brackets) when followed by space and not by a lower-case
  letter, and at every line break (chat lines rarely end with a full stop).
- utterance: a sentence further split at ``;``, dashes and ", but/and/so/because/..." clauses.
- conversational_turn: lines written as ``Name: text`` (a 1-4 word name) open a turn; following lines without a
  name continue it; consecutive turns of one speaker merge. Without such lines this raises ConfigError.
- passage: the whole text, trimmed (with identify_speakers: one passage per speaker turn).

With ``identify_speakers`` (implied by conversational_turn), segments take the speaker of the turn they lie in and
the ``Name:`` labels themselves are not measured; otherwise every speaker is "unknown" and the text is taken
literally.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import get_args

from emolens.engine.types import Segment
from emolens.errors import ConfigError
from emolens.schema import Granularity, StreamGranularity

GRANULARITIES: tuple[str, ...] = tuple(dict.fromkeys(get_args(Granularity) + get_args(StreamGranularity)))

_TURN_RE = re.compile(r"^[ \t]*([^\W\d_][\w.'’-]*(?:[ \t][\w.'’-]+){0,3})[ \t]*:[ \t]*", re.UNICODE)
_WORD_RE = re.compile(r"\S+")
_PUNCT = "\"'“”‘’`«»()[]{}<>.,;:!?¡¿…-–—*_/\\|"
_SENT_END_RE = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|\r\n|\n|\r")
_CLAUSE_RE = re.compile(
    r"\s*[;–—]\s*|\s+-\s+|,\s+(?=(?:but|and|so|or|yet|because|although|though|while|whereas)\b)", re.IGNORECASE
)
_ABBREV = {"mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "e.g", "i.e", "jr", "sr", "no", "fig", "inc", "ltd"}


@dataclass(frozen=True, slots=True)
class Turn:
    """A speaker's stretch of text: ``body`` span excludes the ``Name:`` label."""

    speaker: str
    begin: int
    end: int


def _trimmed(text: str, begin: int, end: int, speaker: str) -> Segment | None:
    while begin < end and text[begin].isspace():
        begin += 1
    while end > begin and text[end - 1].isspace():
        end -= 1
    if begin >= end:
        return None
    return Segment(text=text[begin:end], char_begin=begin, char_end=end, speaker=speaker)


def find_turns(text: str) -> list[Turn]:
    """Speaker turns of ``Name: text`` lines (empty when the text has none)."""
    turns: list[Turn] = []
    pos = 0
    any_label = False
    for line in text.splitlines(keepends=True):
        m = _TURN_RE.match(line)
        if m and len(m.group(1)) <= 40:
            any_label = True
            name = m.group(1).strip()
            body = pos + m.end()
            if turns and turns[-1].speaker == name:
                turns[-1] = Turn(name, turns[-1].begin, pos + len(line))
            else:
                turns.append(Turn(name, body, pos + len(line)))
        elif turns:
            turns[-1] = Turn(turns[-1].speaker, turns[-1].begin, pos + len(line))
        elif line.strip():
            turns.append(Turn("unknown", pos, pos + len(line)))  # text before the first label
        pos += len(line)
    return turns if any_label else []


def _regions(text: str, identify_speakers: bool) -> list[Turn]:
    if identify_speakers:
        turns = find_turns(text)
        if turns:
            return turns
    return [Turn("unknown", 0, len(text))]


def _words(text: str, r: Turn) -> list[Segment]:
    out = []
    for m in _WORD_RE.finditer(text, r.begin, r.end):
        b, e = m.start(), m.end()
        while b < e and text[b] in _PUNCT:
            b += 1
        while e > b and text[e - 1] in _PUNCT:
            e -= 1
        if b == e:  # all punctuation: keep the run whole
            b, e = m.start(), m.end()
        out.append(Segment(text=text[b:e], char_begin=b, char_end=e, speaker=r.speaker))
    return out


def _sentences(text: str, r: Turn) -> list[Segment]:
    out = []
    start = r.begin
    for m in _SENT_END_RE.finditer(text, r.begin, r.end):
        if m.group(0)[0] in ".!?…":
            nxt = text[m.end() : m.end() + 20].lstrip()
            word = text[start : m.start()].rsplit(None, 1)[-1].lower() if text[start : m.start()].strip() else ""
            if (nxt[:1].islower()) or (m.group(0).startswith(".") and word.lstrip(_PUNCT) in _ABBREV):
                continue
        seg = _trimmed(text, start, m.end(), r.speaker)
        if seg:
            out.append(seg)
        start = m.end()
    seg = _trimmed(text, start, r.end, r.speaker)
    if seg:
        out.append(seg)
    return out


def _utterances(text: str, r: Turn) -> list[Segment]:
    out = []
    for sent in _sentences(text, r):
        assert sent.char_begin is not None and sent.char_end is not None  # text segments always have offsets
        start = sent.char_begin
        for m in _CLAUSE_RE.finditer(text, sent.char_begin, sent.char_end):
            end = m.start() + (1 if m.group(0).lstrip().startswith(";") else 0)
            seg = _trimmed(text, start, end, r.speaker)
            if seg:
                out.append(seg)
            start = m.end()
        seg = _trimmed(text, start, sent.char_end, r.speaker)
        if seg:
            out.append(seg)
    return out


def segment_text(text: str, granularity: str, *, identify_speakers: bool = False) -> list[Segment]:
    """Split ``text`` into segments of ``granularity`` with exact character offsets.

    >>> [s.text for s in segment_text("Hi there. How are you?", "sentence")]
    ['Hi there.', 'How are you?']
    """
    if granularity not in GRANULARITIES:
        raise ConfigError(f"unknown text granularity {granularity!r}: use one of {', '.join(GRANULARITIES)}")
    if granularity == "conversational_turn":
        turns = find_turns(text)
        if not turns:
            raise ConfigError(
                "conversational_turn needs a dialogue: write each turn on its own line as `Name: text` "
                "(or choose granularity sentence, utterance or word)"
            )
        return [s for t in turns if (s := _trimmed(text, t.begin, t.end, t.speaker))]
    out: list[Segment] = []
    for r in _regions(text, identify_speakers):
        if granularity == "word":
            out.extend(_words(text, r))
        elif granularity == "sentence":
            out.extend(_sentences(text, r))
        elif granularity == "utterance":
            out.extend(_utterances(text, r))
        else:
            seg = _trimmed(text, r.begin, r.end, r.speaker)
            if seg:
                out.append(seg)
    return out
