"""Decoding: every supported container to 16 kHz mono float32; clear MediaErrors for bad media."""

from __future__ import annotations

import hashlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from emolens.engine.audio import SAMPLE_RATE, content_type_for, decode, md5sum
from emolens.errors import MediaError

DATA = Path(__file__).parents[1] / "data"
DIALOGUE = DATA / "dialogue_slt_rms.flac"


def _encode(src: np.ndarray, path: Path, fmt: str, codec: str, rate: int, video: str | None = None,
            audio: bool = True, stereo: bool = False) -> Path:
    """Write ``src`` (16 kHz mono float) with PyAV into ``path`` (optionally with a video track)."""
    import av

    out = av.open(str(path), "w", format=fmt)
    vs = None
    if video:
        vs = out.add_stream(video, rate=10)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
    if audio:
        st = out.add_stream(codec, rate=rate)
        st.layout = "stereo" if stereo else "mono"
        samples = np.interp(np.arange(int(len(src) * rate / SAMPLE_RATE)) * SAMPLE_RATE / rate,
                            np.arange(len(src)), src).astype(np.float32)
        frame_size = st.codec_context.frame_size or 1024
        fmt_name = st.codec_context.format.name if st.codec_context.format else "fltp"
        pts = 0
        for i in range(0, len(samples), frame_size):
            chunk = samples[i: i + frame_size]
            if len(chunk) < frame_size and frame_size != 1024:
                chunk = np.pad(chunk, (0, frame_size - len(chunk)))
            chans = np.stack([chunk, chunk]) if stereo else chunk[None]
            frame = av.AudioFrame.from_ndarray(chans.astype(np.float32), format="fltp",
                                               layout="stereo" if stereo else "mono")
            frame.sample_rate = rate
            frame.pts = pts
            frame.time_base = Fraction(1, rate)
            pts += chans.shape[1]
            if fmt_name not in ("fltp",):
                frame = av.AudioResampler(format=fmt_name, layout=frame.layout.name, rate=rate).resample(frame)[0]
            for pkt in st.encode(frame):
                out.mux(pkt)
        for pkt in st.encode(None):
            out.mux(pkt)
    if vs is not None:
        for i in range(20):
            img = np.full((48, 64, 3), i * 10, np.uint8)
            for pkt in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in vs.encode(None):
            out.mux(pkt)
    out.close()
    return path


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return decode(DIALOGUE).samples[: 3 * SAMPLE_RATE]


def test_decode_flac_fixture():
    a = decode(DIALOGUE)
    assert a.sample_rate == 16_000 and a.samples.dtype == np.float32 and a.samples.ndim == 1
    assert a.file_type == "audio" and a.content_type == "audio/flac"
    assert 19.5 < a.duration < 20.5
    assert 0.05 < np.abs(a.samples).max() <= 1.0


@pytest.mark.parametrize(
    ("name", "fmt", "codec", "rate", "video", "file_type"),
    [
        ("a.wav", "wav", "pcm_s16le", 44100, None, "audio"),
        ("a.mp3", "mp3", "libmp3lame", 44100, None, "audio"),
        ("a.ogg", "ogg", "libopus", 48000, None, "audio"),
        ("a.m4a", "ipod", "aac", 22050, None, "audio"),
        ("a.flac", "flac", "flac", 8000, None, "audio"),
        ("a.webm", "webm", "libopus", 48000, "libvpx", "video"),
        ("a.mp4", "mp4", "aac", 44100, "mpeg4", "video"),
    ],
)
def test_decode_formats(tmp_path, speech, name, fmt, codec, rate, video, file_type):
    path = _encode(speech, tmp_path / name, fmt, codec, rate, video=video, stereo=name == "a.wav")
    a = decode(path)
    assert a.sample_rate == 16_000 and a.samples.dtype == np.float32
    assert a.file_type == file_type
    assert abs(a.duration - 3.0) < 0.15, a.duration
    # The decoded signal is the same speech: strong correlation with the source (after alignment by lag search).
    n = min(len(a.samples), len(speech)) - 2000
    best = max(abs(np.corrcoef(a.samples[lag: lag + n], speech[:n])[0, 1]) for lag in range(0, 1200, 4))
    assert best > 0.8 if codec not in ("libopus",) else best > 0.5


def test_video_without_audio(tmp_path):
    path = _encode(np.zeros(10), tmp_path / "silent.mp4", "mp4", "aac", 44100, video="mpeg4", audio=False)
    with pytest.raises(MediaError) as e:
        decode(path)
    assert e.value.file_type == "video_no_audio" and "no audio track" in str(e.value)
    assert e.value.file == "silent.mp4"


def test_empty_and_non_media(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(MediaError, match="empty"):
        decode(empty)
    text = tmp_path / "notes.mp3"
    text.write_text("this is not audio\n" * 50)
    with pytest.raises(MediaError, match="not a readable audio or video file"):
        decode(text)
    with pytest.raises(MediaError, match="not found"):
        decode(tmp_path / "missing.wav")


def test_too_long_is_refused_before_decoding(tmp_path, speech):
    path = _encode(speech, tmp_path / "long.wav", "wav", "pcm_s16le", 16000)
    with pytest.raises(MediaError, match="at most"):
        decode(path, max_seconds=2.0)
    assert decode(path, max_seconds=10).duration == pytest.approx(3.0, abs=0.01)


def test_content_type_and_md5(tmp_path):
    assert content_type_for("x.mp3") == "audio/mpeg"
    assert content_type_for("x.MP4") == "video/mp4"
    assert content_type_for("x.unknownext") == "application/octet-stream"
    p = tmp_path / "f.bin"
    p.write_bytes(b"abc" * 1000)
    assert md5sum(p) == hashlib.md5(b"abc" * 1000).hexdigest()
