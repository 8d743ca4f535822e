"""Pydantic v2 models of Hume's Expression Measurement v0 wire format (documented in docs/artifacts.md).

Everything here keeps unknown fields (``extra="allow"``) so that archives from the wild survive a round trip:
``[s.to_json_dict() for s in parse_predictions(data)] == data`` for any valid input, because dumps use ``exclude_unset``
(fields absent on input stay absent; explicit nulls stay null).

Job configuration rules (granularity values, window >= 0.5 s, conversational_turn needs identify_speakers,
request limits) raise :class:`emolens.errors.ConfigError` with a message that says what to change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

from emolens.errors import ConfigError
from emolens.literals import AsrModel, Granularity, StreamGranularity  # noqa: F401  (re-exported)

# ---------------------------------------------------------------------------------------------------------------
# Shared pieces


class Wire(BaseModel):
    """Base of every wire model: keeps unknown fields, dumps only what was set (round-trip safe)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_json_dict(self) -> dict[str, Any]:
        """Dump as JSON-ready dict, leaving out fields that were never set (so input shape is preserved)."""
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)


class Score(Wire):
    """One ``{name, score}`` pair: an emotion, a sentiment level ("1".."9") or a toxicity category."""

    name: str
    score: float


class TimeInterval(Wire):
    """A span of media in seconds."""

    begin: float
    end: float


class PositionInterval(Wire):
    """A span of text in characters, end exclusive."""

    begin: int
    end: int


class BoundingBox(Wire):
    x: float
    y: float
    w: float
    h: float


# ---------------------------------------------------------------------------------------------------------------
# Predictions per model


class ProsodyPrediction(Wire):
    text: str | None = None
    time: TimeInterval
    confidence: float | None = None
    speaker_confidence: float | None = None
    emotions: list[Score]


class LanguagePrediction(Wire):
    text: str
    position: PositionInterval
    time: TimeInterval | None = None
    confidence: float | None = None
    speaker_confidence: float | None = None
    emotions: list[Score]
    sentiment: list[Score] | None = None
    toxicity: list[Score] | None = None


class NerPrediction(Wire):
    entity: str
    position: PositionInterval
    entity_confidence: float | None = None
    support: float | None = None
    uri: str | None = None
    link_word: str | None = None
    time: TimeInterval | None = None
    confidence: float | None = None
    speaker_confidence: float | None = None
    emotions: list[Score]
    # emolens extension, after Hume's fields: the entity's spaCy label (PERSON, GPE...); Hume's results have none
    entity_type: str | None = None


class Description(Wire):
    name: str
    score: float


class BurstPrediction(Wire):
    time: TimeInterval
    emotions: list[Score]
    descriptions: list[Description] = Field(default_factory=list)


class FacsScore(Wire):
    name: str
    score: float


class FacePrediction(Wire):
    frame: int
    time: float | None = None
    prob: float | None = None
    box: BoundingBox | None = None
    emotions: list[Score]
    facs: list[FacsScore] | None = None
    descriptions: list[Description] | None = None


class FacemeshPrediction(Wire):
    emotions: list[Score]


class ModelMetadata(Wire):
    confidence: float | None = None
    detected_language: str | None = None


P = TypeVar("P")


class Group(Wire, Generic[P]):
    """Predictions of one speaker/face (``id``), or ``"unknown"`` when they are not identified."""

    id: str
    predictions: list[P]


class ModelResult(Wire, Generic[P]):
    """One model's result for one file: metadata and grouped predictions."""

    metadata: ModelMetadata | None = None
    grouped_predictions: list[Group[P]]


ProsodyResult = ModelResult[ProsodyPrediction]
LanguageResult = ModelResult[LanguagePrediction]
NerResult = ModelResult[NerPrediction]
BurstResult = ModelResult[BurstPrediction]
FaceResult = ModelResult[FacePrediction]
FacemeshResult = ModelResult[dict[str, Any]]


class ModelsPredictions(Wire):
    prosody: ProsodyResult | None = None
    language: LanguageResult | None = None
    ner: NerResult | None = None
    burst: BurstResult | None = None
    face: FaceResult | None = None
    facemesh: FacemeshResult | None = None


class InferencePrediction(Wire):
    """Predictions for one file (an archive member, an uploaded file, or a text index such as ``"0"``)."""

    file: str
    file_type: str | None = None
    models: ModelsPredictions


class InferenceError(Wire):
    message: str
    file: str | None = None


class InferenceResults(Wire):
    predictions: list[InferencePrediction] = Field(default_factory=list)
    errors: list[InferenceError] = Field(default_factory=list)


SourceType = Literal["url", "file", "text"]


class Source(Wire):
    """Where a result came from: ``{"type": "url", "url"}``, ``{"type": "file", filename?, content_type?, md5sum}``
    or ``{"type": "text"}``. Other types from newer archives are kept as-is."""

    type: str
    url: str | None = None
    filename: str | None = None
    content_type: str | None = None
    md5sum: str | None = None


class SourcePredictions(Wire):
    """One item of ``GET /v0/batch/jobs/{id}/predictions``."""

    source: Source
    results: InferenceResults | None = None
    error: str | None = None


PredictionsAdapter: TypeAdapter[list[SourcePredictions]] = TypeAdapter(list[SourcePredictions])


def parse_predictions(data: Any) -> list[SourcePredictions]:
    """Validate a predictions payload (a list, or a single source object) into models.

    Raises ``pydantic.ValidationError`` on shape errors; :mod:`emolens.archive` turns those into ArchiveError.
    """
    if isinstance(data, dict):
        data = [data]
    return PredictionsAdapter.validate_python(data)


# ---------------------------------------------------------------------------------------------------------------
# Job request

# Granularity (batch segment units), StreamGranularity (+ "passage") and AsrModel live in emolens.literals.

# ---------------------------------------------------------------------------------------------------------------
# Limits: the ONE table of what the service (and the CLI) refuses at the door. README "Limits and guarantees"
# lists the same rows; tests/unit/test_schema_limits.py checks that the two agree.

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limit:
    """One limit: ``name`` (stable, quoted in error messages), ``value`` in ``unit``, and what it applies to."""

    name: str
    value: int
    unit: str  # "bytes", "characters", "items", "levels", "seconds", "ms"
    applies_to: str
    minimum: int = 0

    def show(self, value: float | None = None) -> str:
        """``value`` (default: the limit itself) written in this limit's unit, the way a user set it."""
        v = self.value if value is None else value
        if self.unit == "bytes":
            return format_bytes(v)
        if self.unit == "seconds":
            return f"{v / 60:g} minutes" if v >= 120 else f"{v:g} s"
        return f"{int(v):,} {self.unit}"

    def message(self, what: str, seen: float | str, per: str = "") -> str:
        """ "WHAT: SEEN; at most LIMIT[ PER] (limit NAME)": names the limit and the value seen."""
        seen_s = seen if isinstance(seen, str) else self.show(seen)
        return f"{what}: {seen_s}; at most {self.show()}{' ' + per if per else ''} (limit {self.name})"


def format_bytes(n: float) -> str:
    """Bytes in MiB (or KiB / bytes when small), one decimal only when needed: "100 MiB", "105.9 MiB"."""
    for unit, size in (("GiB", 1024**3), ("MiB", MiB), ("KiB", 1024)):
        if n >= size:
            q = n / size
            return f"{q:.0f} {unit}" if abs(q - round(q)) < 0.05 else f"{q:.1f} {unit}"
    return f"{int(n):,} bytes"


LIMITS: dict[str, Limit] = {
    lim.name: lim
    for lim in (
        Limit("json_body_bytes", 16 * MiB, "bytes", "a JSON body of POST /v0/batch/jobs, or its multipart 'json' part"),
        Limit("upload_body_bytes", 1024 * MiB, "bytes", "a multipart body of POST /v0/batch/jobs (all files)"),
        Limit("file_bytes", 100 * MiB, "bytes", "one uploaded file (Hume: 100 MB)"),
        Limit("files", 100, "items", "uploaded files per job"),
        Limit("urls", 100, "items", "urls per job"),
        Limit("texts", 100, "items", "texts per job"),
        Limit("text_chars", 1_000_000, "characters", "one text of a job"),
        Limit("text_total_chars", 2_000_000, "characters", "all texts of one job together"),
        Limit("url_chars", 8_192, "characters", "one url or callback_url"),
        Limit("filename_chars", 255, "characters", "the name of an uploaded file"),
        Limit("json_depth", 32, "levels", "nesting of any JSON the service reads (body, 'json' part, stream payload)"),
        Limit("media_seconds", 3600, "seconds", "one media file (Hume: 1 hour)"),
        Limit("list_limit", 500, "items", "GET /v0/batch/jobs ?limit=", minimum=1),
        # 2**53 - 1: the largest integer every JSON client keeps exactly; far beyond it SQLite's integers overflow.
        Limit("timestamp_ms", 2**53 - 1, "ms", "GET /v0/batch/jobs ?timestamp_ms= (since the epoch)"),
        Limit("stream_message_bytes", 16 * MiB, "bytes", "one websocket message"),
        Limit("stream_text_chars", 10_000, "characters", "raw text of one stream payload (Hume: 10,000)"),
        Limit("stream_audio_ms", 5_000, "ms", "audio of one stream payload (Hume: 5 s)"),
        Limit("stream_window_ms", 10_000, "ms", "stream_window_ms of a stream payload", minimum=500),
    )
}

#: Hume's request limits (aliases of the table above).
MAX_URLS = LIMITS["urls"].value
MAX_TEXTS = LIMITS["texts"].value
MAX_FILES = LIMITS["files"].value
MAX_FILE_BYTES = LIMITS["file_bytes"].value
MAX_MEDIA_SECONDS = float(LIMITS["media_seconds"].value)
MAX_TEXT_CHARS = LIMITS["text_chars"].value
MAX_STREAM_TEXT_CHARS = LIMITS["stream_text_chars"].value
MAX_STREAM_AUDIO_MS = LIMITS["stream_audio_ms"].value
MAX_JSON_DEPTH = LIMITS["json_depth"].value

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def json_depth(text: str | bytes) -> int:
    """How deeply a JSON text nests (``{}`` is 1, ``{"a": [1]}`` is 2), without parsing it (no recursion).

    Strings are cut out first, so brackets inside them do not count. Fast: two regex passes and a running sum.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    depth = best = 0
    if len(brackets) > 4096:  # big bodies: a vectorised running sum
        import numpy as np

        b = np.frombuffer(brackets.encode("ascii"), dtype=np.uint8)
        steps = np.where((b == ord("[")) | (b == ord("{")), 1, -1).astype(np.int64)
        return int(max(0, np.cumsum(steps).max()))
    for ch in brackets:
        depth += 1 if ch in "[{" else -1
        best = max(best, depth)
    return best


def loads_limited(text: str | bytes, what: str) -> Any:
    """``json.loads`` that refuses nesting deeper than the ``json_depth`` limit with a ConfigError.

    Raises ``json.JSONDecodeError`` / ``UnicodeDecodeError`` for text that is not JSON (callers word those).
    """
    import json

    depth = json_depth(text)
    lim = LIMITS["json_depth"]
    if depth > lim.value:
        raise ConfigError(lim.message(f"{what} nesting", f"{depth:,} levels"))
    try:
        return json.loads(text)
    except RecursionError:  # cannot happen below the depth limit; belt and braces
        raise ConfigError(lim.message(f"{what} nesting", "too deep")) from None


#: Shortest window length and step in seconds.
MIN_WINDOW_S = 0.5


class Window(Wire):
    """Sliding window over media: ``length`` and ``step`` in seconds, each at least 0.5."""

    length: float = 4.0
    step: float = 1.0

    @field_validator("length", "step")
    @classmethod
    def _at_least_half_second(cls, v: float) -> float:
        if v < MIN_WINDOW_S:
            raise ValueError(f"must be at least {MIN_WINDOW_S} seconds")
        return v


class ProsodyConfig(Wire):
    granularity: Granularity | None = None
    window: Window | None = None
    identify_speakers: bool = False

    @model_validator(mode="after")
    def _granularity_or_window(self) -> ProsodyConfig:
        if self.granularity is not None and self.window is not None:
            raise ValueError("set either granularity or window, not both")
        return self

    @property
    def effective_granularity(self) -> Granularity:
        """The granularity in force when no window is set (default utterance); a window takes precedence."""
        return self.granularity or "utterance"


class LanguageConfig(Wire):
    granularity: Granularity | None = None
    sentiment: dict[str, Any] | None = None
    toxicity: dict[str, Any] | None = None
    identify_speakers: bool = False

    @property
    def effective_granularity(self) -> Granularity:
        """The granularity in force (default word)."""
        return self.granularity or "word"


class NerConfig(Wire):
    identify_speakers: bool = False


class ModelsConfig(Wire):
    prosody: ProsodyConfig | None = None
    language: LanguageConfig | None = None
    ner: NerConfig | None = None
    burst: dict[str, Any] | None = None
    face: dict[str, Any] | None = None
    facemesh: dict[str, Any] | None = None


class Transcription(Wire):
    language: str | None = None
    identify_speakers: bool = False
    confidence_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    # Extension beyond Hume: fix (num_speakers) or bound (min/max_speakers) the number of speakers identified.
    num_speakers: int | None = Field(default=None, strict=True)
    min_speakers: int | None = Field(default=None, strict=True)
    max_speakers: int | None = Field(default=None, strict=True)

    @model_validator(mode="after")
    def _speaker_counts(self) -> Transcription:
        from emolens.engine.diarize import check_speaker_counts

        check_speaker_counts(self.num_speakers, self.min_speakers, self.max_speakers)
        return self

    @field_validator("language")
    @classmethod
    def _bcp47(cls, v: str | None) -> str | None:
        if v is None:
            return v
        parts = v.split("-")
        if not parts[0].isalpha() or not 2 <= len(parts[0]) <= 3 or any(not p.isalnum() for p in parts[1:]):
            raise ValueError(f"{v!r} is not a BCP-47 language tag such as 'en' or 'en-US' (use null to auto-detect)")
        return v


class FileInfo(Wire):
    filename: str | None = None
    content_type: str | None = None
    md5sum: str | None = None


class JobRequest(Wire):
    """Body of ``POST /v0/batch/jobs`` (and ``request`` in job details, where ``files`` is filled in)."""

    models: ModelsConfig | None = None
    transcription: Transcription | None = None
    urls: list[str] = Field(default_factory=list, max_length=MAX_URLS)
    text: list[str] = Field(default_factory=list, max_length=MAX_TEXTS)
    files: list[FileInfo] = Field(default_factory=list)
    callback_url: str | None = None
    notify: bool = False

    @model_validator(mode="after")
    def _rules(self) -> JobRequest:
        models = self.models
        tr = self.transcription
        tr_speakers = bool(tr and tr.identify_speakers)
        if models is not None:
            for name in ("prosody", "language"):
                cfg = getattr(models, name)
                if (
                    cfg is not None
                    and cfg.granularity == "conversational_turn"
                    and not (cfg.identify_speakers or tr_speakers)
                ):
                    raise ValueError(
                        f"models.{name}.granularity 'conversational_turn' requires identify_speakers: set "
                        f"models.{name}.identify_speakers (or transcription.identify_speakers) to true"
                    )
        return self

    def effective_models(self) -> ModelsConfig:
        """Models with Hume's defaults applied: no ``models`` means every model (prosody, burst, language, ner) runs."""
        if self.models is None or not self.models.model_fields_set:
            return ModelsConfig(prosody=ProsodyConfig(), language=LanguageConfig(), ner=NerConfig(), burst={})
        return self.models

    def speakers_for(self, model: str) -> bool:
        """Whether speakers are identified for ``model`` (its own flag or transcription.identify_speakers)."""
        cfg = getattr(self.effective_models(), model, None)
        own = bool(getattr(cfg, "identify_speakers", False)) if cfg is not None else False
        return own or bool(self.transcription and self.transcription.identify_speakers)


def _format_validation_error(err: ValidationError, what: str) -> str:
    parts = []
    for e in err.errors()[:5]:
        loc = ".".join(str(x) for x in e.get("loc", ()) if x != "__root__")
        msg = e.get("msg", "invalid").removeprefix("Value error, ")
        kind = e.get("type")
        seen = e.get("input")
        if kind == "too_long":
            n = len(seen) if isinstance(seen, (list, str, dict)) else "more"
            msg = f"too many items: {n} (at most {e.get('ctx', {}).get('max_length')})"
        elif kind in ("less_than_equal", "greater_than_equal", "less_than", "greater_than"):
            shown = seen[:40] if isinstance(seen, str) else repr(seen)
            msg = f"{msg} (got {shown})"
        parts.append(f"{loc}: {msg}" if loc else msg)
    more = f" (and {len(err.errors()) - 5} more)" if len(err.errors()) > 5 else ""
    return f"invalid {what}: " + "; ".join(parts) + more


def parse_job_request(data: Any) -> JobRequest:
    """Validate a job request; raise ConfigError with a message that says what to change.

    >>> parse_job_request({"models": {"language": {"granularity": "sentence"}}}).models.language.granularity
    'sentence'
    """
    if not isinstance(data, dict):
        raise ConfigError("invalid job request: expected a JSON object")
    try:
        request = JobRequest.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_validation_error(e, "job request")) from None
    check_request_limits(request)
    return request


def check_request_limits(request: JobRequest) -> None:
    """The size limits of a job request (text length per item and in total, url length); ConfigError naming the
    limit and the value seen. Counts are checked by the model itself (``max_length``)."""
    per, total = LIMITS["text_chars"], LIMITS["text_total_chars"]
    for i, text in enumerate(request.text):
        if len(text) > per.value:
            raise ConfigError(per.message(f"text[{i}]", len(text), "per text: split it into several texts"))
    n = sum(len(t) for t in request.text)
    if n > total.value:
        raise ConfigError(total.message("all texts together", n, "per job: submit several jobs"))
    url = LIMITS["url_chars"]
    for i, u in enumerate(request.urls):
        if len(u) > url.value:
            raise ConfigError(url.message(f"urls[{i}]", len(u)))
    if request.callback_url and len(request.callback_url) > url.value:
        raise ConfigError(url.message("callback_url", len(request.callback_url)))


# ---------------------------------------------------------------------------------------------------------------
# Job details and listing

JobStatus = Literal["QUEUED", "IN_PROGRESS", "COMPLETED", "FAILED"]


class StateQueued(Wire):
    status: Literal["QUEUED"] = "QUEUED"
    created_timestamp_ms: int


class StateInProgress(Wire):
    status: Literal["IN_PROGRESS"] = "IN_PROGRESS"
    created_timestamp_ms: int
    started_timestamp_ms: int


class StateCompleted(Wire):
    status: Literal["COMPLETED"] = "COMPLETED"
    created_timestamp_ms: int
    started_timestamp_ms: int
    ended_timestamp_ms: int
    num_predictions: int
    num_errors: int


class StateFailed(Wire):
    status: Literal["FAILED"] = "FAILED"
    created_timestamp_ms: int
    started_timestamp_ms: int
    ended_timestamp_ms: int
    message: str


JobState = Annotated[StateQueued | StateInProgress | StateCompleted | StateFailed, Field(discriminator="status")]


class JobProgress(Wire):
    """emolens extra on a running job's details (Hume clients ignore it): share done and what runs now."""

    fraction: float = 0.0
    message: str = ""


class JobDetails(Wire):
    type: str = "INFERENCE"
    job_id: str
    user_id: str | None = None
    request: JobRequest
    state: JobState
    #: emolens extra, present while the job is QUEUED or IN_PROGRESS.
    progress: JobProgress | None = None

    @property
    def done(self) -> bool:
        """Whether the job reached COMPLETED or FAILED."""
        return self.state.status in ("COMPLETED", "FAILED")

    @property
    def fraction(self) -> float:
        """Share of the job done: 1 once it ended, else its progress (0 when the service reports none)."""
        return 1.0 if self.done else float(self.progress.fraction if self.progress else 0.0)


class JobListQuery(Wire):
    """Filters of ``GET /v0/batch/jobs``."""

    limit: int = Field(default=50, ge=LIMITS["list_limit"].minimum, le=LIMITS["list_limit"].value)
    status: list[JobStatus] | None = None
    when: Literal["created_before", "created_after"] | None = None
    timestamp_ms: int | None = Field(default=None, ge=0, le=LIMITS["timestamp_ms"].value)
    sort_by: Literal["created", "started", "ended"] = "created"
    direction: Literal["asc", "desc"] = "desc"

    @model_validator(mode="after")
    def _when_needs_timestamp(self) -> JobListQuery:
        if self.when is not None and self.timestamp_ms is None:
            raise ValueError("'when' needs 'timestamp_ms' (milliseconds since the epoch)")
        return self


def parse_job_list_query(data: dict[str, Any]) -> JobListQuery:
    """Validate job list filters; raise ConfigError with a clear message."""
    try:
        return JobListQuery.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_validation_error(e, "job list query")) from None


# ---------------------------------------------------------------------------------------------------------------
# Streaming


class StreamLanguageConfig(Wire):
    granularity: StreamGranularity | None = None
    sentiment: dict[str, Any] | None = None
    toxicity: dict[str, Any] | None = None


class StreamModelsConfig(Wire):
    prosody: dict[str, Any] | None = None
    language: StreamLanguageConfig | None = None
    ner: dict[str, Any] | None = None
    burst: dict[str, Any] | None = None
    face: dict[str, Any] | None = None
    facemesh: dict[str, Any] | None = None


class StreamPayload(Wire):
    data: str | None = None
    raw_text: bool = False
    models: StreamModelsConfig | None = None
    stream_window_ms: int | None = Field(
        default=None, ge=LIMITS["stream_window_ms"].minimum, le=LIMITS["stream_window_ms"].value
    )
    reset_stream: bool = False
    job_details: bool = False
    payload_id: str | None = None


def parse_stream_payload(data: Any) -> StreamPayload:
    """Validate a streaming payload; raise ConfigError with a clear message."""
    if not isinstance(data, dict):
        raise ConfigError("invalid stream payload: expected a JSON object")
    try:
        return StreamPayload.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_validation_error(e, "stream payload")) from None


class StreamProsodyPrediction(Wire):
    time: TimeInterval
    emotions: list[Score]


class StreamLanguagePrediction(Wire):
    text: str
    position: PositionInterval
    emotions: list[Score]
    sentiment: list[Score] | None = None
    toxicity: list[Score] | None = None


class StreamNerPrediction(Wire):
    entity: str
    position: PositionInterval
    entity_confidence: float | None = None
    support: float | None = None
    uri: str | None = None
    link_word: str | None = None
    emotions: list[Score]


class StreamProsody(Wire):
    predictions: list[StreamProsodyPrediction] = Field(default_factory=list)


class StreamLanguage(Wire):
    predictions: list[StreamLanguagePrediction] = Field(default_factory=list)


class StreamNer(Wire):
    predictions: list[StreamNerPrediction] = Field(default_factory=list)


class StreamJobDetails(Wire):
    job_id: str


class StreamResponse(Wire):
    payload_id: str | None = None
    job_details: StreamJobDetails | None = None
    prosody: StreamProsody | None = None
    language: StreamLanguage | None = None
    ner: StreamNer | None = None
    burst: dict[str, Any] | None = None
    face: dict[str, Any] | None = None


class StreamError(Wire):
    error: str
    code: str
    payload_id: str | None = None


__all__ = sorted(
    name
    for name, obj in list(globals().items())
    if not name.startswith("_") and (getattr(obj, "__module__", None) == __name__ or name.startswith("MAX_"))
)
