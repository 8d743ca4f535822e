"""Pydantic v2 models of Hume's Expression Measurement v0 wire format (see HUME_FORMAT.md).

Everything here keeps unknown fields (``extra="allow"``) so that archives from the wild survive a round trip:
``dump_predictions(parse_predictions(data)) == data`` for any valid input, because dumps use ``exclude_unset``
(fields absent on input stay absent; explicit nulls stay null).

Job configuration rules (granularity values, window >= 0.5 s, conversational_turn needs identify_speakers,
request limits) raise :class:`emolens.errors.ConfigError` with a message that says what to change.
"""

from __future__ import annotations

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


def dump_predictions(predictions: list[SourcePredictions]) -> list[dict[str, Any]]:
    """Dump predictions as JSON-ready data, preserving the input shape (unset fields stay absent)."""
    return [p.to_json_dict() for p in predictions]


# ---------------------------------------------------------------------------------------------------------------
# Job request

Granularity = Literal["word", "sentence", "utterance", "conversational_turn"]
StreamGranularity = Literal["word", "sentence", "utterance", "passage"]
#: Whisper models emolens ships (``transcription.model``, an emolens extra): multilingual base, fast English tiny.
AsrModel = Literal["base", "tiny.en"]

#: Hume's request limits.
MAX_URLS = 100
MAX_TEXTS = 100
MAX_FILES = 100
MAX_FILE_BYTES = 100 * 1024 * 1024
MAX_MEDIA_SECONDS = 3600.0
MAX_STREAM_TEXT_CHARS = 10_000
MAX_STREAM_AUDIO_MS = 5_000


class Window(Wire):
    """Sliding window over media: ``length`` and ``step`` in seconds, each at least 0.5."""

    length: float = 4.0
    step: float = 1.0

    @field_validator("length", "step")
    @classmethod
    def _at_least_half_second(cls, v: float) -> float:
        if v < 0.5:
            raise ValueError("must be at least 0.5 seconds")
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
    def effective_granularity(self) -> str:
        """The granularity in force: ``window`` when a window is set, else the granularity (default utterance)."""
        if self.window is not None:
            return "window"
        return self.granularity or "utterance"


class LanguageConfig(Wire):
    granularity: Granularity | None = None
    sentiment: dict[str, Any] | None = None
    toxicity: dict[str, Any] | None = None
    identify_speakers: bool = False

    @property
    def effective_granularity(self) -> str:
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
        """Models with Hume's defaults applied: no ``models`` means every model (prosody, language, ner) runs."""
        if self.models is None or not self.models.model_fields_set:
            return ModelsConfig(prosody=ProsodyConfig(), language=LanguageConfig(), ner=NerConfig())
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
        if e.get("type") == "too_long":
            msg = f"too many items (at most {e.get('ctx', {}).get('max_length')})"
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
        return JobRequest.model_validate(data)
    except ValidationError as e:
        raise ConfigError(_format_validation_error(e, "job request")) from None


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


class JobDetails(Wire):
    type: str = "INFERENCE"
    job_id: str
    user_id: str | None = None
    request: JobRequest
    state: JobState


class JobId(Wire):
    job_id: str


class JobListQuery(Wire):
    """Filters of ``GET /v0/batch/jobs``."""

    limit: int = Field(default=50, ge=1, le=500)
    status: list[JobStatus] | None = None
    when: Literal["created_before", "created_after"] | None = None
    timestamp_ms: int | None = Field(default=None, ge=0)
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
    stream_window_ms: int | None = Field(default=None, ge=500, le=10_000)
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


class StreamWarning(Wire):
    warning: str
    code: str
    payload_id: str | None = None


__all__ = sorted(
    name
    for name, obj in list(globals().items())
    if not name.startswith("_") and (getattr(obj, "__module__", None) == __name__ or name.startswith("MAX_"))
)
