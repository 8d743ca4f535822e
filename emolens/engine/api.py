"""The engine's interface: samples or a path + options -> results, and texts + options -> results.

:func:`measure_audio` is the one place where the media pipeline's stages run, in this order::

    decode (path only) -> transcribe -> diarize (when a model wants speakers) -> segment
        -> prosody scorer / burst detector / language / ner

With the default diarizer, who-speaks-when needs only the samples, so it runs in a worker thread while Whisper
transcribes, at lower CPU priority (see :func:`_speaker_pool`); the words are labelled with its turns once both are
done. Language and ner need only the words: they run in a worker thread while prosody and bursts are measured.

Each stage is a plain function over arrays and dataclasses (see :class:`Stages`); pass ``stages=`` to swap one
(a new prosody scorer, burst detector or diarizer) without touching the rest. Nothing here knows HTTP, job
requests or Hume's JSON: :mod:`emolens.hume` adapts both ways.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from emolens.emotions import LANGUAGE_EMOTIONS, PROSODY_EMOTIONS
from emolens.engine.audio import SAMPLE_RATE, Audio, decode, md5sum
from emolens.engine.media import diarize_words, label_words, score_prosody, speaker_turns
from emolens.engine.options import (
    BurstOptions,
    LanguageOptions,
    MediaOptions,
    SpeakerOptions,
    TextOptions,
    TranscriptionOptions,
)
from emolens.engine.results import MeasureError, MediaResult, ModelOutput, ScoredSegment, TextResult
from emolens.engine.segment import segment_words, window_segments, windows
from emolens.engine.types import Segment, Transcript, Word
from emolens.errors import ConfigError, EmolensError, EngineError, MediaError
from emolens.media_types import content_type_for

if TYPE_CHECKING:
    from emolens.engine.text import Memo

#: ``progress(fraction, message)``: fraction in 0..1, a short message naming the stage.
Progress = Callable[[float, str], None]
#: Words -> the same words labelled with speakers.
Diarizer = Callable[[np.ndarray, list[Word], SpeakerOptions], list[Word]]
#: Samples, segments, duration -> scores (n, 48) in PROSODY_EMOTIONS order.
ProsodyScorer = Callable[[np.ndarray, list[Segment], float], np.ndarray]
#: Samples, words (speakers set when asked), options -> the ``burst`` output.
BurstDetector = Callable[[np.ndarray, list[Word], BurstOptions], ModelOutput]
#: Samples, options, progress(fraction) -> the transcript.
Transcriber = Callable[[np.ndarray, TranscriptionOptions, Callable[[float], None]], Transcript]


def transcribe_samples(
    samples: np.ndarray, options: TranscriptionOptions, progress: Callable[[float], None]
) -> Transcript:
    """Default transcriber stage: faster-whisper (see :mod:`emolens.engine.transcribe`)."""
    from emolens.engine.transcribe import transcribe

    return transcribe(
        samples,
        model=options.asr,
        language=options.language,
        confidence_threshold=options.confidence_threshold,
        progress=progress,
    )


def detect_bursts(samples: np.ndarray, words: list[Word], options: BurstOptions) -> ModelOutput:
    """Default burst stage: :func:`emolens.engine.burst.burst_output` (imported on first use)."""
    from emolens.engine.burst import burst_output

    return burst_output(samples, words, options)


@dataclass(frozen=True, slots=True)
class Stages:
    """The swappable stage functions of :func:`measure_audio` (``burst`` None: no detector, an error per file)."""

    transcribe: Transcriber = transcribe_samples
    diarize: Diarizer = diarize_words
    prosody: ProsodyScorer = score_prosody
    burst: BurstDetector | None = detect_bursts


DEFAULT_STAGES = Stages()

# Share of one input's work per stage, for the progress callback.
_SHARES = {"decode": 0.05, "transcribe": 0.55, "speakers": 0.15, "prosody": 0.1, "language": 0.1, "ner": 0.05}


#: How many nice levels below normal the speaker stage runs (see :func:`_speaker_pool`).
SPEAKER_NICE = 10


def _speaker_pool() -> ThreadPoolExecutor:
    """One worker thread per process, of lower CPU priority, for the speaker stage beside transcription.

    Whisper's decoder leaves the cores partly idle (beam search between batched matrix products), and the speaker
    networks run on one thread each; at normal priority they stalled Whisper's two worker threads (every matrix
    product waits for its slowest thread) and transcription in the pipeline took ~25 % longer than alone. At
    :data:`SPEAKER_NICE` levels below normal they take only the time Whisper leaves idle, and all of both cores
    once it is done (their span work goes to a pool of the same priority: :mod:`emolens.engine.spans_pool`).
    One worker (not one per call) keeps concurrent files from piling several speaker networks onto the cores.
    Recreated after a fork: a pool's thread does not survive into a child process.
    """
    from emolens.engine.spans_pool import shared_pool

    return shared_pool("emolens-speakers", 1, nice=SPEAKER_NICE)


def _text_pool() -> ThreadPoolExecutor:
    """One worker thread per process for language + ner, which run beside prosody and bursts (normal priority)."""
    from emolens.engine.spans_pool import shared_pool

    return shared_pool("emolens-text", 1)


def decode_path(path: str | Path) -> Audio:
    """Decode a media file to 16 kHz mono float32 (the one decoding function; see :mod:`emolens.engine.audio`)."""
    return decode(path)


def measure_audio(
    audio: np.ndarray | str | Path,
    options: MediaOptions,
    *,
    progress: Progress | None = None,
    filename: str | None = None,
    stages: Stages | None = None,
) -> MediaResult:
    """Measure one recording: 16 kHz mono float32 ``samples`` or a media file ``path``.

    A file that cannot be decoded or measured gives a result with ``failed`` set and the reason in ``errors``
    (a model that fails alone adds an error and the others still run); a bad configuration raises ConfigError.
    ``filename`` names the input in progress messages (default: the path's name, or "audio").

    >>> r = measure_audio("talk.wav", MediaOptions(prosody=ProsodyOptions()))  # doctest: +SKIP
    >>> r.models["prosody"].segments[0].scores.shape
    (48,)
    """
    st = stages or DEFAULT_STAGES
    options.check()
    report = progress or (lambda f, m: None)
    if isinstance(audio, np.ndarray):
        name = filename or "audio"
        result = MediaResult(name if filename else None, None, None, "audio", len(audio) / SAMPLE_RATE, None)
    else:
        path = Path(audio)
        name = filename or path.name
        try:
            md5 = md5sum(path)
        except OSError:
            md5 = ""
        result = MediaResult(name, content_type_for(path), md5, None, 0.0, None)
    done = 0.0
    turns: Future | None = None

    def step(stage: str, msg: str) -> None:
        nonlocal done
        done += _SHARES[stage]
        report(done, f"{name}: {msg}")

    try:
        if isinstance(audio, np.ndarray):
            samples = np.asarray(audio, dtype=np.float32)
        else:
            report(0.0, f"{name}: decoding")
            decoded = decode_path(audio)
            samples, result.file_type, result.duration = decoded.samples, decoded.file_type, decoded.duration
        want_speakers = any(options.speakers_for(m) for m in options.requested)
        if want_speakers and st.diarize is diarize_words:
            # the default diarizer's turns need no transcript: find them while Whisper transcribes
            turns = _speaker_pool().submit(speaker_turns, samples, options.speakers)
        step("decode", "transcribing")
        transcript = st.transcribe(
            samples,
            options.transcription,
            lambda f: report(done + _SHARES["transcribe"] * f, f"{name}: transcribing"),
        )
        result.transcript = transcript
        step("transcribe", "speakers")
        words = transcript.words
        spk_words = words
        if turns is not None and words:
            spk_words = label_words(words, turns.result())  # re-raises the speaker stage's error here
        elif words and want_speakers:
            spk_words = st.diarize(samples, words, options.speakers)
        step("speakers", "prosody")

        def pick(model: str) -> list[Word]:
            return spk_words if options.speakers_for(model) else words

        conf = float(np.mean([w.confidence for w in words])) if words else None
        meta = {"confidence": None if conf is None else round(conf, 4), "detected_language": transcript.language}

        def guarded(model: str, build: Callable[[], ModelOutput]) -> tuple[str, ModelOutput | MeasureError]:
            """``build()``'s output with the file's metadata, or the error that stopped it (named by model)."""
            try:
                out = build()
            except EngineError as e:
                return model, MeasureError(f"{model}: {e}")
            out.metadata = dict(meta)
            return model, out

        def add(model: str, got: ModelOutput | MeasureError) -> None:
            if isinstance(got, MeasureError):
                result.errors.append(got)
            else:
                result.models[model] = got

        def language_model(lang: LanguageOptions) -> ModelOutput:
            lw = pick("language")
            if not lw:
                return ModelOutput(LANGUAGE_EMOTIONS)
            from emolens.engine.text import language_output

            segs = segment_words(lw, lang.granularity)
            # word-level sentiment is the word's in its sentence (see text.sentence_contexts)
            ctx = segment_words(lw, "sentence") if lang.sentiment and lang.granularity == "word" else None
            return language_output(segs, sentiment=lang.sentiment, toxicity=lang.toxicity, contexts=ctx)

        def ner_model() -> ModelOutput:
            nw = pick("ner")
            if not nw:
                return ModelOutput(LANGUAGE_EMOTIONS)
            from emolens.engine.text import ner_outputs

            return ner_outputs([transcript.text], [nw])[0]

        def text_models() -> list[tuple[str, ModelOutput | MeasureError]]:
            """Language and entities of the transcript (each an output, or the error that stopped it)."""
            out = []
            if (lang := options.language) is not None:
                out.append(guarded("language", lambda: language_model(lang)))
            if options.ner is not None:
                out.append(guarded("ner", ner_model))
            return out

        # The text models need only the words: they run in the worker thread while prosody and bursts are
        # measured here (outputs and errors are added in the usual order afterwards).
        text: Future | None = None
        if options.language is not None or options.ner is not None:
            text = _text_pool().submit(text_models)
        if options.prosody is not None:
            win = options.prosody.window
            if win is not None:
                segs = window_segments(pick("prosody"), windows(result.duration, win.length, win.step))
            else:
                segs = segment_words(pick("prosody"), options.prosody.granularity)
            scores = st.prosody(samples, segs, result.duration) if segs else np.zeros((0, len(PROSODY_EMOTIONS)))
            result.models["prosody"] = ModelOutput(
                PROSODY_EMOTIONS, [ScoredSegment.of(s, row) for s, row in zip(segs, scores)], dict(meta)
            )
        if options.burst is not None:
            if st.burst is None:
                result.errors.append(MeasureError("burst: no vocal burst model is installed"))
            else:
                burst, burst_options = st.burst, options.burst
                add(*guarded("burst", lambda: burst(samples, pick("burst"), burst_options)))
        step("prosody", "language")
        for model, got in text.result() if text is not None else []:
            add(model, got)
        step("language", "entities")
        step("ner", "done")
        return result
    except ConfigError:
        raise  # a bad request is the caller's error for every input, not this input's
    except EmolensError as e:
        file_type = e.file_type if isinstance(e, MediaError) and e.file_type else None
        report(1.0, f"{name}: failed")
        return replace(result, models={}, errors=[MeasureError(str(e), file_type)], failed=True)
    finally:
        if turns is not None:
            turns.cancel()  # a failed transcription: drop the speaker work if it has not started


#: Texts per chunk of :func:`iter_measure_texts`.
TEXT_CHUNK = 512


def measure_texts(texts: Sequence[str], options: TextOptions, progress: Progress | None = None) -> list[TextResult]:
    """Measure raw texts: one result per text, in input order.

    A text that cannot be measured (too long, no ``Name:`` turns for conversational_turn) gets ``failed`` and its
    reason in ``errors``; the others are measured together (segment texts are deduplicated across texts).
    """
    return [r for _, chunk in iter_measure_texts(texts, options, progress) for r in chunk]


def iter_measure_texts(
    texts: Sequence[str], options: TextOptions, progress: Progress | None = None, *, chunk: int = TEXT_CHUNK
) -> Iterator[tuple[int, list[TextResult]]]:
    """:func:`measure_texts` in chunks of ``chunk`` texts, yielded in input order as (index of the chunk's first
    text, its results); the results are those of :func:`measure_texts` (a text's scores do not depend on the
    other texts; a segment text scored in an earlier chunk is not scored again).

    Pipelined: chunk k + 1 is queued on the encoder threads (and its TF-IDF and toxicity computed) before chunk k
    is finished and yielded, so the encoder keeps both cores busy while the caller turns chunk k into JSON.
    """
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    from emolens.engine.text import Memo

    report = progress or (lambda f, m: None)
    memo = Memo()
    pending: tuple[int, Callable[[], list[TextResult]]] | None = None
    report(0.0, "measuring")
    for begin in range(0, len(texts), max(1, chunk)):
        started = _texts_begin(texts[begin : begin + chunk], begin, options, memo)
        if pending is not None:
            yield pending[0], pending[1]()
            report(begin / len(texts), f"{begin}/{len(texts)} texts")
        pending = (begin, started)
    if pending is not None:
        yield pending[0], pending[1]()
    report(1.0, "done")


def _texts_begin(texts: list[str], offset: int, options: TextOptions, memo: Memo) -> Callable[[], list[TextResult]]:
    """Start measuring one chunk of texts (``offset``: its first text's index in the job, for error messages);
    the result finishes it (see :func:`emolens.engine.text.predict_begin`)."""
    from emolens.engine.text import check_text, ner_outputs, predict_begin, scored_segments, sentence_contexts
    from emolens.engine.textseg import segment_text

    lang, ner = options.language, options.ner
    results = [TextResult(t if isinstance(t, str) else str(t)) for t in texts]
    segs_all: list[list[Segment] | None] = []
    for i, text in enumerate(texts):
        try:
            text = check_text(text, offset + i)
            segs = None
            if lang is not None:
                segs = segment_text(text, lang.granularity, identify_speakers=lang.identify_speakers)
            segs_all.append(segs)
        except EmolensError as e:
            segs_all.append(None)
            results[i].errors.append(MeasureError(str(e)))
            results[i].failed = True
    finish_language: Callable[[], tuple[np.ndarray, np.ndarray | None, np.ndarray | None]] | None = None
    flat: list[tuple[int, Segment]] = []
    if lang is not None:
        flat = [(i, s) for i, segs in enumerate(segs_all) if segs for s in segs]
        contexts = None
        if lang.sentiment and lang.granularity == "word":  # word-level sentiment: the word in its sentence
            contexts = []
            for i, segs in enumerate(segs_all):
                if segs:
                    sents = segment_text(texts[i], "sentence", identify_speakers=lang.identify_speakers)
                    contexts += sentence_contexts(segs, sents)
        if flat:
            finish_language = predict_begin(
                [s.text or "" for _, s in flat],
                sentiment=lang.sentiment,
                toxicity=lang.toxicity,
                sentiment_texts=contexts,
                memo=memo,
            )

    def finish() -> list[TextResult]:
        if lang is not None:
            emo, sent, tox = finish_language() if finish_language is not None else (np.zeros((0, 53)), None, None)
            owner = [i for i, _ in flat]
            begin = 0
            for i, res in enumerate(results):
                end = begin
                while end < len(owner) and owner[end] == i:  # a text's segments are consecutive in flat
                    end += 1
                if not res.failed:
                    scored = scored_segments(
                        [s for _, s in flat[begin:end]],
                        emo[begin:end],
                        None if sent is None else sent[begin:end],
                        None if tox is None else tox[begin:end],
                    )
                    res.models["language"] = ModelOutput(LANGUAGE_EMOTIONS, scored)
                begin = end
        if ner is not None:
            ok = [i for i, res in enumerate(results) if not res.failed]
            for i, out in zip(ok, ner_outputs([texts[i] for i in ok], [None] * len(ok))):
                results[i].models["ner"] = out
        return results

    return finish
