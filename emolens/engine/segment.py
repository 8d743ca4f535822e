"""Segmentation of a timed transcript into Hume's units: word, sentence, utterance, conversational turn, windows.

Rules (documented because Hume never published its own):

- ``word``: one segment per word.
- ``sentence``: ends after a word ending in ``. ! ?`` (or ``。！？``), at a pause of at least
  :data:`SENTENCE_PAUSE` seconds, or where the speaker changes.
- ``utterance`` (Hume's prosody default): continuous speech; ends at a pause of at least :data:`UTTERANCE_PAUSE`
  seconds or where the speaker changes. Very long stretches are cut at a sentence end after
  :data:`UTTERANCE_MAX` seconds so one prediction never averages a whole monologue.
- ``conversational_turn`` (needs speakers identified): a speaker's turn ends where another speaker takes the floor
  or after a pause of at least :data:`TURN_PAUSE` seconds. A short interjection by someone else (a backchannel
  such as "yeah", at most :data:`BACKCHANNEL_S` seconds, overlapped or in a gap) does not end the turn of the
  speaker who holds the floor when that speaker goes on within :data:`TURN_PAUSE` s: the interjection becomes a
  turn of its own that overlaps the longer one in time (so turns may overlap; they are ordered by start). The
  text of such a turn skips the interjection's words (its char_begin..char_end still spans them).
- windows: fixed ``length`` every ``step`` seconds from 0, covering the whole file (the last may be shorter).

Silence yields no word/sentence/utterance/turn segments: segments are built from words only.
"""

from __future__ import annotations

from collections import defaultdict
from typing import get_args

from emolens.engine.options import check_window
from emolens.engine.types import Segment, Word
from emolens.errors import ConfigError
from emolens.schema import Granularity

GRANULARITIES: tuple[str, ...] = get_args(Granularity)
SENTENCE_PAUSE = 1.0
UTTERANCE_PAUSE = 0.5
UTTERANCE_MAX = 15.0
TURN_PAUSE = 2.0
BACKCHANNEL_S = 1.0
_SENTENCE_END = (".", "!", "?", "。", "！", "？", "…")


def _ends_sentence(word: Word) -> bool:
    return word.text.rstrip("\"')»”’]").endswith(_SENTENCE_END)


def _majority_speaker(words: list[Word]) -> tuple[str, float | None]:
    spoken: dict[str, float] = defaultdict(float)
    for w in words:
        spoken[w.speaker] += max(w.end - w.begin, 1e-3)
    speaker = max(spoken, key=spoken.__getitem__)
    confs = [w.speaker_confidence for w in words if w.speaker == speaker and w.speaker_confidence is not None]
    return speaker, (round(sum(confs) / len(confs), 4) if confs else None)


def _join(words: list[Word]) -> str:
    # Rebuild the transcript slice: gaps between char offsets are the original separators (spaces).
    out = [words[0].text]
    for prev, w in zip(words, words[1:]):
        gap = w.char_begin - prev.char_end
        # a wide gap holds another speaker's interjection (conversational turns): one space stands for it
        out.append(" " * max(0, gap) if gap <= 2 else " ")
        out.append(w.text)
    return "".join(out)


def make_segment(words: list[Word]) -> Segment:
    """One Segment spanning ``words`` (text, chars, times, mean confidence, majority speaker)."""
    speaker, spk_conf = _majority_speaker(words)
    conf = sum(w.confidence for w in words) / len(words)
    return Segment(
        text=_join(words),
        char_begin=words[0].char_begin,
        char_end=words[-1].char_end,
        begin=words[0].begin,
        end=max(w.end for w in words),
        confidence=round(conf, 4),
        speaker=speaker,
        speaker_confidence=spk_conf,
    )


def _split(words: list[Word], granularity: str) -> list[list[Word]]:
    groups: list[list[Word]] = []
    cur: list[Word] = []
    for w in words:
        if cur:
            prev = cur[-1]
            pause = w.begin - prev.end
            new_speaker = w.speaker != prev.speaker
            if granularity == "sentence":
                cut = new_speaker or pause >= SENTENCE_PAUSE or _ends_sentence(prev)
            elif granularity == "utterance":
                too_long = prev.end - cur[0].begin >= UTTERANCE_MAX and _ends_sentence(prev)
                cut = new_speaker or pause >= UTTERANCE_PAUSE or too_long
            else:  # conversational_turn: runs of one speaker here, joined across backchannels by _turns
                cut = new_speaker or pause >= TURN_PAUSE
            if cut:
                groups.append(cur)
                cur = []
        cur.append(w)
    if cur:
        groups.append(cur)
    return groups


def _short(run: list[Word]) -> bool:
    return max(w.end for w in run) - run[0].begin <= BACKCHANNEL_S


def _turns(runs: list[list[Word]]) -> list[list[Word]]:
    """Join runs of the speaker holding the floor across other speakers' short interjections (see module doc)."""
    turns: list[list[Word]] = []
    floor: int | None = None  # index in turns of the turn holding the floor
    for run in runs:
        if floor is not None:
            held = turns[floor]
            gap = run[0].begin - max(w.end for w in held)
            if run[0].speaker == held[0].speaker and gap < TURN_PAUSE and all(_short(t) for t in turns[floor + 1 :]):
                held.extend(run)
                continue
        turns.append(run)
        if floor is None or not _short(run) or run[0].begin - max(w.end for w in turns[floor]) >= TURN_PAUSE:
            floor = len(turns) - 1
    return turns


def segment_words(words: list[Word], granularity: str) -> list[Segment]:
    """Group timed ``words`` into Segments of ``granularity`` (word, sentence, utterance, conversational_turn).

    >>> ws = [Word("Hi.", 0.0, 0.3, 0.9, 0, 3), Word("Bye", 1.5, 1.8, 0.8, 4, 7)]
    >>> [s.text for s in segment_words(ws, "utterance")]
    ['Hi.', 'Bye']
    """
    if granularity not in GRANULARITIES:
        raise ConfigError(f"unknown granularity {granularity!r}: choose one of {', '.join(GRANULARITIES)}")
    words = sorted(words, key=lambda w: (w.begin, w.char_begin))
    if not words:
        return []
    if granularity == "word":
        return [make_segment([w]) for w in words]
    groups = _split(words, granularity)
    if granularity == "conversational_turn":
        groups = _turns(groups)
    return [make_segment(g) for g in groups]


def windows(duration: float, length: float, step: float) -> list[tuple[float, float]]:
    """Sliding windows ``(begin, end)`` over ``[0, duration]``: every ``step`` s, ``length`` s long.

    The windows cover the whole file: the last one ends at ``duration`` (and may be shorter).

    >>> windows(5.0, 2.0, 1.5)
    [(0.0, 2.0), (1.5, 3.5), (3.0, 5.0)]
    """
    check_window(length, step)
    out: list[tuple[float, float]] = []
    k = 0
    while True:
        begin = round(k * step, 6)
        if begin >= duration:
            break
        end = round(min(begin + length, duration), 6)
        out.append((begin, end))
        if end >= duration:
            break
        k += 1
    return out


def window_segments(words: list[Word], spans: list[tuple[float, float]]) -> list[Segment]:
    """One Segment per window: text of the words whose midpoint lies inside it, or None when there are none."""
    out: list[Segment] = []
    for begin, end in spans:
        inside = [
            w
            for w in words
            if begin <= (w.begin + w.end) / 2 < end or (end == spans[-1][1] and (w.begin + w.end) / 2 == end)
        ]
        if inside:
            seg = make_segment(inside)
            out.append(
                Segment(
                    seg.text,
                    seg.char_begin,
                    seg.char_end,
                    begin,
                    end,
                    seg.confidence,
                    seg.speaker,
                    seg.speaker_confidence,
                )
            )
        else:
            out.append(Segment(None, None, None, begin, end, None, "unknown", None))
    return out
