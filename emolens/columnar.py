"""Fast path of ``emolens frame --wide``: a predictions JSON file decoded straight into typed structs, the CSV
written from them.

Why: a one-hour word-level archive (30 MB, ~700,000 ``{name, score}`` objects) spent most of its time building
Python dicts (orjson), validating them (pydantic + :func:`emolens.archive._score_problem`), gathering the scores
back out of them, and formatting every float with ``repr``. Here msgspec decodes the bytes into ``Struct`` types
that mirror :mod:`emolens.schema` field for field (validation is complete: every source, every model, every
score, not only the model written; score lists are typed as the canonical names in order, so msgspec checks the
names while decoding), and the score cells are formatted in bulk by msgspec's C float writer
(the shortest round-trip digits, as ``repr``), with the few tokens it writes differently (exponents, ``null``)
rewritten to ``repr``'s text.

The structs are stricter than the pydantic schema (no coercions: ``"0.5"`` is not a float here, nor ``1.0`` an
int), and this path only takes archives whose shape it can write exactly as :func:`emolens.frames.wide_csv`
does: one model's wide CSV, every score list naming the canonical scores in order, no legacy shape, no extra keys
that the wide frame would read. Anything else returns ``None`` and the caller takes the general path
(:func:`emolens.archive.load_archive` + :func:`emolens.frames.wide_csv`), so errors, warnings and bytes stay the
same. Tests check the two paths give identical bytes.

No numpy, pandas or pydantic import: a fresh ``emolens frame`` process spends its time on the file.
"""

from __future__ import annotations

import csv
import gc
import re
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from msgspec import UNSET, Struct, UnsetType, defstruct

from emolens.emotions import (
    LANGUAGE_EMOTIONS,
    PROSODY_EMOTIONS,
    SENTIMENT_COLUMNS,
    SENTIMENT_LEVELS,
    TOXICITY_CATEGORIES,
    emotions_for,
)
from emolens.frame_columns import SEGMENT_COLUMNS, LineSink

#: Models whose wide CSV this path writes (the others read keys outside the schema, or NER's extra columns).
FAST_MODELS = ("language", "prosody")


class Score(Struct, gc=False):
    name: str
    score: float


def _canonical(names: tuple[str, ...]) -> Any:
    """The type of a score list naming exactly ``names`` in order: a tuple of one-name structs, so that msgspec
    checks every name (and the count and the order) while decoding, and allocates no name strings."""
    items = tuple(
        defstruct(f"Score_{i}", [("name", Literal[n]), ("score", float)], gc=False) for i, n in enumerate(names)
    )
    return tuple.__class_getitem__(items)  # tuple[Score_0, Score_1, ...]


if TYPE_CHECKING:
    LanguageScores = list[Score]
    ProsodyScores = list[Score]
    SentimentScores = list[Score]
    ToxicityScores = list[Score]
else:
    LanguageScores = _canonical(LANGUAGE_EMOTIONS)
    ProsodyScores = _canonical(PROSODY_EMOTIONS)
    SentimentScores = _canonical(SENTIMENT_LEVELS)
    ToxicityScores = _canonical(TOXICITY_CATEGORIES)


class TimeInterval(Struct, gc=False):
    begin: float
    end: float


class PositionInterval(Struct, gc=False):
    begin: int
    end: int


class BoundingBox(Struct, gc=False):
    x: float
    y: float
    w: float
    h: float


class LanguagePrediction(Struct, gc=False):
    text: str
    position: PositionInterval
    emotions: LanguageScores
    time: TimeInterval | None = None
    confidence: float | None | UnsetType = UNSET
    speaker_confidence: float | None = None
    sentiment: SentimentScores | None = None
    toxicity: ToxicityScores | None = None
    prob: Any = UNSET  # not in the schema; the wide frame reads it when confidence is absent


class ProsodyPrediction(Struct, gc=False):
    time: TimeInterval
    emotions: ProsodyScores
    text: str | None = None
    confidence: float | None | UnsetType = UNSET
    speaker_confidence: float | None = None
    prob: Any = UNSET
    position: Any = UNSET  # not in the schema; the wide frame reads it
    # archive._score_problem checks these keys on every prediction of every model, in or outside the schema
    sentiment: list[Score] | None | UnsetType = UNSET
    toxicity: list[Score] | None | UnsetType = UNSET


class NerPrediction(Struct, gc=False):
    entity: str
    position: PositionInterval
    emotions: LanguageScores
    entity_confidence: float | None = None
    support: float | None = None
    uri: str | None = None
    link_word: str | None = None
    time: TimeInterval | None = None
    confidence: float | None = None
    speaker_confidence: float | None = None
    # archive._score_problem checks these keys on every prediction of every model, in or outside the schema
    sentiment: list[Score] | None | UnsetType = UNSET
    toxicity: list[Score] | None | UnsetType = UNSET


class BurstPrediction(Struct, gc=False):
    time: TimeInterval
    emotions: ProsodyScores
    descriptions: list[Score] = []
    # archive._score_problem checks these keys on every prediction of every model, in or outside the schema
    sentiment: list[Score] | None | UnsetType = UNSET
    toxicity: list[Score] | None | UnsetType = UNSET


class FacePrediction(Struct, gc=False):
    frame: int
    emotions: ProsodyScores
    time: float | None = None
    prob: float | None = None
    box: BoundingBox | None = None
    facs: list[Score] | None = None
    descriptions: list[Score] | None = None
    # archive._score_problem checks these keys on every prediction of every model, in or outside the schema
    sentiment: list[Score] | None | UnsetType = UNSET
    toxicity: list[Score] | None | UnsetType = UNSET


class ModelMetadata(Struct):
    confidence: float | None = None
    detected_language: str | None = None


class LanguageGroup(Struct):
    id: str
    predictions: list[LanguagePrediction]


class ProsodyGroup(Struct):
    id: str
    predictions: list[ProsodyPrediction]


class NerGroup(Struct):
    id: str
    predictions: list[NerPrediction]


class BurstGroup(Struct):
    id: str
    predictions: list[BurstPrediction]


class FaceGroup(Struct):
    id: str
    predictions: list[FacePrediction]


class FacemeshPrediction(Struct, gc=False):
    """Facemesh predictions are free-form objects; only their score lists are checked, as archive does."""

    emotions: list[Score] | UnsetType = UNSET
    sentiment: list[Score] | None | UnsetType = UNSET
    toxicity: list[Score] | None | UnsetType = UNSET


class FacemeshGroup(Struct):
    id: str
    predictions: list[FacemeshPrediction]


class LanguageResult(Struct):
    grouped_predictions: list[LanguageGroup]
    metadata: ModelMetadata | None = None


class ProsodyResult(Struct):
    grouped_predictions: list[ProsodyGroup]
    metadata: ModelMetadata | None = None


class NerResult(Struct):
    grouped_predictions: list[NerGroup]
    metadata: ModelMetadata | None = None


class BurstResult(Struct):
    grouped_predictions: list[BurstGroup]
    metadata: ModelMetadata | None = None


class FaceResult(Struct):
    grouped_predictions: list[FaceGroup]
    metadata: ModelMetadata | None = None


class FacemeshResult(Struct):
    grouped_predictions: list[FacemeshGroup]
    metadata: ModelMetadata | None = None


class ModelsPredictions(Struct):
    prosody: ProsodyResult | None = None
    language: LanguageResult | None = None
    ner: NerResult | None = None
    burst: BurstResult | None = None
    face: FaceResult | None = None
    facemesh: FacemeshResult | None = None


class InferencePrediction(Struct):
    file: str
    models: ModelsPredictions
    file_type: str | None = None


class InferenceError(Struct):
    message: str
    file: str | None = None


class InferenceResults(Struct):
    predictions: list[InferencePrediction] | UnsetType = UNSET
    errors: list[InferenceError] = []
    files: Any = UNSET  # the legacy shape: taken by the general path


class Source(Struct):
    type: str
    url: str | None = None
    filename: str | None = None
    content_type: str | None = None
    md5sum: str | None = None


class SourcePredictions(Struct):
    source: Source
    results: InferenceResults | None = None
    error: str | None = None
    files: Any = UNSET  # the legacy shape


_DECODER = msgspec.json.Decoder(list[SourcePredictions])
_ENCODER = msgspec.json.Encoder()


def wide_csv_bytes(data: bytes, model: str) -> bytes | None:
    """``emolens frame FILE --model MODEL --wide`` output for a predictions JSON file, or None when this path does
    not apply (see the module docstring; the caller then runs the general path)."""
    if model not in FAST_MODELS or data[:1] != b"[":  # one source object, BOM, CSV, zip, empty: general path
        return None
    enabled = gc.isenabled()
    gc.disable()  # ~700,000 small objects and no cycles: the collector would only rescan them
    try:
        return _wide_csv(data, model)
    finally:
        if enabled:
            gc.enable()


def _wide_csv(data: bytes, model: str) -> bytes | None:
    if not data.isascii():
        try:  # msgspec does not check the UTF-8 of what it skips (unknown keys): archive's error for bad bytes
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    try:
        sources = _DECODER.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if not sources:
        return None
    for src in sources:
        if src.files is not UNSET or src.results is None:
            return None
        if src.results.files is not UNSET or src.results.predictions is UNSET:
            return None
    language = model == "language"
    heads: list[str] = []  # per row: the CSV text of its group's constant cells (source .. speaker)
    texts: list[tuple[int, str | None]] = []  # segment, text: through the csv writer (quoting)
    nums: list[list[Any]] = []  # begin .. speaker_confidence: written in bulk with the scores
    emos: list[list[Score]] = []
    sents: list[list[Score] | None] = []
    toxs: list[list[Score] | None] = []
    head_sink = LineSink()
    head_writer = csv.writer(head_sink, lineterminator="")
    for si, src in enumerate(sources):
        for pred in src.results.predictions:  # type: ignore[union-attr]
            res = getattr(pred.models, model)
            if res is None:
                continue
            file, file_type = pred.file, pred.file_type
            seg = 0
            for group in res.grouped_predictions:
                if not group.predictions:
                    continue
                head_writer.writerow([si, file, file_type, model, group.id, ""])
                head = head_sink.lines.pop()
                for p in group.predictions:
                    if p.prob is not UNSET:
                        return None
                    if language:
                        pos = p.position
                        pb, pe = pos.begin, pos.end
                        sents.append(p.sentiment)
                        toxs.append(p.toxicity)
                    elif p.position is not UNSET or p.sentiment is not UNSET or p.toxicity is not UNSET:
                        return None
                    else:
                        pb = pe = None
                    t = p.time
                    conf = p.confidence
                    heads.append(head)
                    texts.append((seg, p.text))
                    nums.append(
                        [
                            None if t is None else t.begin,
                            None if t is None else t.end,
                            pb,
                            pe,
                            None if conf is UNSET else conf,
                            p.speaker_confidence,
                        ]
                    )
                    emos.append(p.emotions)
                    seg += 1
    if not heads:
        return None
    names = list(emotions_for(model))
    tail: list[str] = []
    blocks: list[list[list[Score]]] = [emos]
    expected = list(names)
    for family, levels, columns in ((sents, SENTIMENT_LEVELS, SENTIMENT_COLUMNS), (toxs, TOXICITY_CATEGORIES, None)):
        if not any(x is not None for x in family):
            continue  # the wide frame has no columns for a family that no prediction carries
        missing = [Score(name, None) for name in levels]  # type: ignore[arg-type]  # empty cells
        blocks.append([missing if x is None else x for x in family])
        expected += levels
        tail += columns or levels
    # One flat pass over every score of every row: the names must be the canonical ones in order (anything else:
    # the general path), and the scores become the rows' cells.
    # The decode already checked every list's names, count and order (the canonical types): gather the scores.
    n, k = len(heads), len(expected)
    flat = list(map(_score_of, chain.from_iterable(chain.from_iterable(zip(*blocks)))))
    # floats as repr writes them, ints (positions) as str does, None empty: what the general path writes
    rows = repr_floats([num + flat[i : i + k] for num, i in zip(nums, range(0, n * k, k), strict=True)])
    sink = LineSink()
    csv.writer(sink, lineterminator="\n").writerow([*SEGMENT_COLUMNS, *names, *tail])
    header = sink.lines[0].encode()
    sink.lines.clear()
    csv.writer(sink, lineterminator="").writerows(texts)
    lines = [f"{h}{t}," for h, t in zip(heads, sink.lines, strict=True)]
    return header + b"".join(p.encode() + r + b"\n" for p, r in zip(lines, rows, strict=True))


_score_of = attrgetter("score")
_EXP = re.compile(rb"e(-?)([0-9]+)")
_SMALL = re.compile(rb"0\.0000([0-9]+)")


def _small(m: re.Match[bytes]) -> bytes:
    """msgspec's "0.000056" -> repr's "5.6e-05" (1e-5 <= |v| < 1e-4), unless inside a longer number."""
    start = m.start()
    if start and m.string[start - 1] not in b",[-":
        return m.group(0)
    d = m.group(1)
    return d[:1] + (b"." + d[1:] if len(d) > 1 else b"") + b"e-05"


def _exponent(m: re.Match[bytes]) -> bytes:
    """msgspec's exponent -> repr's: "e-7" -> "e-07", "e16" -> "e+16" (a callable: templates expand in Python)."""
    sign, digits = m.groups()
    if sign:
        return m.group(0) if len(digits) > 1 else b"e-0" + digits
    return b"e+" + digits


def repr_floats(rows: list[list[Any]]) -> list[bytes]:
    """Each row of floats (None: an empty cell) as CSV cells, the text ``",".join(map(repr, row))`` gives.

    msgspec's C writer gives the same shortest round-trip digits as ``repr`` but its own layout in two cases,
    rewritten here in bulk passes over the whole text: plain decimals for 1e-5 <= |v| < 1e-4 ("0.000056" ->
    "5.6e-05") and exponents without a sign or padding ("1e-7" -> "1e-07", "1e16" -> "1e+16"). Missing cells
    are msgspec's ``null``, written empty, as pandas writes NaN.
    """
    text = _SMALL.sub(_small, _ENCODER.encode(rows))
    if b"e" in text:
        text = _EXP.sub(_exponent, text)
    if b"null" in text:
        text = text.replace(b"null", b"")
    return text[2:-2].split(b"],[") if rows else []
