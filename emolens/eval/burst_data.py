"""Evaluation sets for the burst model and a disk cache of their transcripts (Whisper base, as in the pipeline).

Transcribing is the slow part of the detection figures, so words are cached per (set, file, variant) under
``$EMOLENS_BURST_CACHE/words``; the acoustic stage is recomputed every run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import zlib
from pathlib import Path

import numpy as np

from emolens.engine.types import Word
from emolens.train.burst_data import CACHE, DATASETS, read_audio

LIBRIVOX = Path("/usr/share/pocketsphinx/test/data/librivox")
RAVDESS_ACTORS = (1, 13)  # a fixed subset (one male, one female actor): 120 utterances, ~7 min of acted speech
DEV_SESSIONS = 30  # transcribed dev sessions (every k-th of 135: 300 clips of 45 speakers; CPU-bound)
ROBUST_SESSIONS = 8
MEETINGS = 8


def variant(x: np.ndarray, name: str, key: str) -> np.ndarray:
    """``clean``, ``gain025`` (x0.25) or ``noise20`` (white noise 20 dB below the clip's active power)."""
    if name == "clean":
        return x
    if name == "gain025":
        return (x * 0.25).astype(np.float32)
    if name == "noise20":
        from emolens.engine.burst_features import activity

        regs = activity(x)
        act = np.concatenate([x[int(b * 16000) : int(e * 16000)] for b, e in regs]) if regs else x
        p = float(np.mean(act.astype(np.float64) ** 2)) + 1e-12
        rng = np.random.default_rng(zlib.crc32(key.encode()))
        return (x + rng.standard_normal(len(x)).astype(np.float32) * np.sqrt(p / 100.0)).astype(np.float32)
    raise ValueError(name)


GROUP = 10  # EmoGator dev clips per composite file (one speaker's session): one transcription per 10 clips
GAP_S = 1.0


def emogator_dev() -> list[tuple[str, Path, int, str]]:
    """(file, path, category index, speaker) of every EmoGator dev clip."""
    root = DATASETS / "emogator"
    with open(root / "labels.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "dev"]
    return [(r["file"], root / r["file"], int(r["category"]) - 1, r["speaker"]) for r in rows]


def dev_sessions(limit: int | None = DEV_SESSIONS) -> list[tuple[str, list[tuple[str, Path, int]]]]:
    """Dev clips grouped by speaker into composites of GROUP clips (fixed order), named ``speaker-k``.

    ``limit`` keeps every k-th session (all 135 when None)."""
    by: dict[str, list[tuple[str, Path, int]]] = {}
    for f, p, y, spk in emogator_dev():
        by.setdefault(spk, []).append((f, p, y))
    out = []
    for spk in sorted(by):
        clips = by[spk]
        for k in range(0, len(clips), GROUP):
            out.append((f"{spk}-{k // GROUP}", clips[k : k + GROUP]))
    if limit:
        out = out[:: max(1, len(out) // limit)][:limit]
    return out


def compose(clips: list[np.ndarray], gap: float = GAP_S) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Clips joined with ``gap`` s of the first clip's own quietest background between them; their (begin, end)."""
    parts, spans, t = [], [], gap
    x0 = clips[0]
    q = np.argsort(np.abs(x0))[: max(1, len(x0) // 10)]
    floor = float(np.sqrt(np.mean(x0[q].astype(np.float64) ** 2))) + 1e-5
    rng = np.random.default_rng(0)
    n_gap = int(gap * 16000)
    parts.append((rng.standard_normal(n_gap) * floor).astype(np.float32))
    for x in clips:
        parts.append(x.astype(np.float32))
        spans.append((t, t + len(x) / 16000))
        t += len(x) / 16000 + gap
        parts.append((rng.standard_normal(n_gap) * floor).astype(np.float32))
    return np.concatenate(parts), spans


def plain_speech() -> dict[str, list[tuple[str, list[Path]]]]:
    """Held-out plain speech (never trained on), as named files of one or more joined recordings.

    LibriVox read speech (5 clips), a RAVDESS subset (6 actors, 8 utterances joined per file) and the AMI meeting
    excerpts (which contain some real laughter: reported separately).
    """
    rav = DATASETS / "ravdess_speech"
    with open(rav / "labels.csv", newline="") as f:
        rrows = [r for r in csv.DictReader(f) if int(r["actor"]) in RAVDESS_ACTORS]
    by: dict[str, list[Path]] = {}
    for r in rrows:
        by.setdefault(r["actor"], []).append(rav / r["file"])
    ravdess = [(f"rav{a}-{k // 8}", ps[k : k + 8]) for a, ps in sorted(by.items()) for k in range(0, len(ps), 8)]
    diar = DATASETS / "diarization"
    meetings = (sorted((diar / "pyannote_debug").glob("*.flac")) + [diar / "sample" / "sample.flac"])[:MEETINGS]
    return {
        "librivox": [(p.stem, [p]) for p in sorted(LIBRIVOX.glob("*.wav"))],
        "ravdess": ravdess,
        "meetings": [(p.stem, [p]) for p in meetings],
    }


def load_joined(paths: list[Path], gap: float = 0.5) -> np.ndarray:
    """Recordings joined with ``gap`` s of silence-level noise between them."""
    if len(paths) == 1:
        return read_audio(paths[0])
    return compose([read_audio(p) for p in paths], gap)[0]


def words(path: Path, x: np.ndarray, var: str = "clean") -> list[Word]:
    """Transcript words of ``x`` (from ``path`` with variant ``var``), cached on disk."""
    key = hashlib.sha1(f"{path}|{var}".encode()).hexdigest()[:16]
    cpath = CACHE / "words" / f"{key}.json"
    if cpath.is_file():
        return [Word(**w) for w in json.loads(cpath.read_text())]
    from emolens.engine.transcribe import transcribe

    ws = transcribe(x, model="base").words
    cpath.parent.mkdir(parents=True, exist_ok=True)
    tmp = cpath.with_suffix(".tmp")
    tmp.write_text(
        json.dumps(
            [
                {
                    "text": w.text,
                    "begin": w.begin,
                    "end": w.end,
                    "confidence": w.confidence,
                    "char_begin": w.char_begin,
                    "char_end": w.char_end,
                }
                for w in ws
            ]
        )
    )
    tmp.replace(cpath)
    return ws


def warm(variants: tuple[str, ...] = ("gain025", "noise20"), robust_sessions: int = ROBUST_SESSIONS) -> None:
    """Transcribe every evaluation file once (fills the cache)."""
    import sys
    import time

    t0 = time.time()
    sessions = dev_sessions()
    for i, (name, clips) in enumerate(sessions):
        x, _ = compose([read_audio(p) for _, p, _ in clips])
        words(Path(f"emogator-dev/{name}"), x)
        if i % 10 == 0:
            print(f"dev {i}/{len(sessions)} {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    for name, files in plain_speech().items():
        for fname, paths in files:
            words(Path(f"{name}/{fname}"), load_joined(paths))
        print(f"{name} done {time.time() - t0:.0f}s", file=sys.stderr, flush=True)
    for var in variants:
        for name, clips in sessions[:: max(1, len(sessions) // robust_sessions)][:robust_sessions]:
            x, _ = compose([read_audio(p) for _, p, _ in clips])
            words(Path(f"emogator-dev/{name}"), variant(x, var, name), var)
        print(f"{var} done {time.time() - t0:.0f}s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    warm()
