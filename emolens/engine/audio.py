"""Decoding: any media file PyAV (FFmpeg inside its wheel) can read -> 16 kHz mono float32.

wav, mp3, flac, ogg, m4a, webm and the audio track of mp4/webm/mkv videos all go through one path. Errors are
:class:`emolens.errors.MediaError` with ``file_type`` set so the caller can report Hume's ``"video_no_audio"``.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emolens.errors import MediaError
from emolens.media_types import content_type_for
from emolens.schema import MAX_MEDIA_SECONDS

SAMPLE_RATE = 16_000


@dataclass(frozen=True, slots=True)
class Audio:
    """Decoded audio: ``samples`` is float32 mono at ``sample_rate``; ``file_type`` is "audio" or "video"."""

    samples: np.ndarray
    sample_rate: int
    file_type: str
    content_type: str

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def md5sum(path: str | Path) -> str:
    """Hex MD5 of a file's bytes, read in chunks (Hume's ``source.md5sum``)."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _has_real_video(container) -> bool:
    # Cover art in mp3/m4a shows up as a video stream flagged attached_pic: that is still an audio file.
    import av

    for s in container.streams.video:
        if not (s.disposition & av.stream.Disposition.attached_pic):
            return True
    return False


def _duration_seconds(container, stream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000  # av.time_base is microseconds
    return None


def probe_duration(path: str | Path) -> float | None:
    """Duration in seconds from the container header (no decoding); None when unknown or not media."""
    import av

    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.audio:
                return None
            return _duration_seconds(container, container.streams.audio[0])
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError, OSError):
        return None


def decode(source: str | Path | bytes, *, max_seconds: float = MAX_MEDIA_SECONDS) -> Audio:
    """Decode the first audio track of a file (a path, or its bytes: streaming payloads) to 16 kHz mono float32.

    Raises MediaError for missing/empty/non-media files, videos without an audio track (``file_type=
    "video_no_audio"``) and media longer than ``max_seconds`` (checked from the header before decoding).

    >>> decode("tests/data/two_voices.wav").sample_rate  # doctest: +SKIP
    16000
    """
    import av

    if isinstance(source, bytes):
        name, content_type = "payload", "application/octet-stream"
        if not source:
            raise MediaError("the file is empty (0 bytes): upload the media file again", file=name)
        opened: str | io.BytesIO = io.BytesIO(source)
    else:
        path = Path(source)
        name, content_type = path.name, content_type_for(path)
        if not path.is_file():
            raise MediaError("file not found", file=name)
        if path.stat().st_size == 0:
            raise MediaError("the file is empty (0 bytes): upload the media file again", file=name)
        opened = str(path)
    try:
        container = av.open(opened, mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as e:
        raise MediaError(
            "not a readable audio or video file (supported: wav, mp3, mp4, flac, ogg, m4a, webm)", file=name
        ) from e
    try:
        video = _has_real_video(container)
        file_type = "video" if video else "audio"
        if not container.streams.audio:
            raise MediaError(
                "no audio track: prosody and transcription need sound" if video else "no audio stream found",
                file=name,
                file_type="video_no_audio" if video else "audio",
            )
        stream = container.streams.audio[0]
        dur = _duration_seconds(container, stream)
        if dur is not None and dur > max_seconds:
            raise MediaError(
                f"media is {dur / 60:.1f} minutes long; at most {max_seconds / 60:.0f} minutes are accepted: "
                "cut it into shorter parts",
                file=name,
                file_type=file_type,
            )
        resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        chunks: list[np.ndarray] = []
        total = 0
        limit = int((max_seconds + 1) * SAMPLE_RATE)
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    arr = out.to_ndarray().reshape(-1)
                    chunks.append(arr)
                    total += arr.size
                if total > limit:  # headers can lie (or be missing): stop early rather than decode hours
                    raise MediaError(
                        f"media is longer than {max_seconds / 60:.0f} minutes: cut it into shorter parts",
                        file=name,
                        file_type=file_type,
                    )
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
        except av.error.FFmpegError as e:
            if not chunks:
                raise MediaError(
                    f"the audio track cannot be decoded ({e.strerror or e})", file=name, file_type=file_type
                ) from e
            # A truncated tail is common (interrupted uploads): keep what decoded.
    finally:
        container.close()
    samples = np.concatenate(chunks).astype(np.float32, copy=False) if chunks else np.zeros(0, np.float32)
    if samples.size == 0:
        raise MediaError("the audio track is empty (no samples decoded)", file=name, file_type=file_type)
    np.clip(samples, -1.0, 1.0, out=samples)
    return Audio(samples=samples, sample_rate=SAMPLE_RATE, file_type=file_type, content_type=content_type)


def audio_chunks(path: str | Path, seconds: float = 5.0) -> list[tuple[float, bytes]]:
    """Cut a media file into WAV payloads of at most ``seconds`` (Hume's stream limit is 5 s per payload).

    Returns (start time in seconds, wav bytes) pairs. Raises MediaError when the file cannot be decoded.
    """
    import soundfile as sf

    audio = decode(path)
    step = max(1, int(min(seconds, 5.0) * audio.sample_rate))
    out = []
    for start in range(0, len(audio.samples), step):
        buf = io.BytesIO()
        sf.write(buf, audio.samples[start : start + step], audio.sample_rate, format="WAV", subtype="PCM_16")
        out.append((start / audio.sample_rate, buf.getvalue()))
    return out
