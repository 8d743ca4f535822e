"""Diarization error rate of the speaker stage, side by side with the first (resemblyzer) pipeline, in one run.

    python -m emolens.eval.diarization                       # every split below, both pipelines
    python -m emolens.eval.diarization --splits dev --no-baseline --json out.json

Data: ../shared/datasets/diarization (or $EMOLENS_DATASETS/diarization): pyannote's debug protocol, AMI-derived
30 s excerpts (development and train lists; the test list is never read) and sample/ (a 30 s two-speaker call).
Splits: ``dev``, ``train``, ``sample``, and ``dev_joined`` / ``train_joined``: the excerpts of one meeting
(:data:`MEETINGS`) joined end to end into one 1-2 minute file, whose speakers must be found again from one excerpt
to the next -- closer to a whole meeting than 30 s files are.
Scores: DER with a 0.25 s collar and without collar, overlapped speech counted (:func:`emolens.engine.diarize.der`),
per file and over each split (weighted by scored speech), plus speaker-count accuracy and the seconds each pipeline
took.

The baseline is today's resemblyzer + agglomerative clustering (:mod:`emolens.engine.diarize_resemblyzer`) on
Silero VAD speech regions, scored the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from emolens.engine.diarize import der, diarize, read_rttm, timeline

# ../shared/datasets beside the repository, or EMOLENS_DATASETS (e.g. from a git worktree elsewhere)
DATA = Path(os.environ.get("EMOLENS_DATASETS") or Path(__file__).resolve().parents[2].parent / "shared" / "datasets")
DATA = DATA / "diarization"
SPLITS = {"dev": "development", "train": "train"}  # the test split is withheld on purpose: never scored here
#: Excerpts of one meeting (the same AMI participant ids in their references), joined in this order by the
#: ``<split>_joined`` splits. trn06 and trn09 share one participant but not their meeting, so they stay apart.
MEETINGS = {"dev": (("dev00", "dev01"),), "train": (("trn00", "trn01", "trn02", "trn03"), ("trn07", "trn08"))}
ALL_SPLITS = ("dev", "train", "sample", "dev_joined", "train_joined")


@dataclass
class FileScore:
    split: str
    file: str
    pipeline: str
    der: float
    der_no_collar: float
    miss: float
    false_alarm: float
    confusion: float
    ref_speakers: int
    hyp_speakers: int
    seconds: float
    speech_s: float = 0.0  # scored reference speech with the collar (the split's weights)
    speech_no_collar_s: float = 0.0


def files(split: str, root: Path = DATA) -> list[tuple[Path, list[tuple[float, float, str]]]]:
    """``(audio path, reference turns)`` of a split: "dev", "train" or "sample" (the two-speaker call)."""
    if split == "sample":
        return [(root / "sample" / "sample.flac", read_rttm(root / "sample" / "sample.rttm")["sample"])]
    proto = root / "pyannote_debug"
    ref = read_rttm(proto / f"debug.{SPLITS[split]}.rttm")
    out = []
    for uri in (proto / f"debug.{SPLITS[split]}.lst").read_text(encoding="utf-8").split():
        # the RTTM spells the renamed file trñ00 in ASCII
        key = uri if uri in ref else _ascii(uri)
        out.append((proto / f"{uri}.flac", ref[key]))
    return out


def _silero_regions(samples) -> list[tuple[float, float]]:
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    ts = get_speech_timestamps(samples, VadOptions(min_silence_duration_ms=300, speech_pad_ms=100))
    return [(t["start"] / 16000, t["end"] / 16000) for t in ts]


def run_pipeline(name: str, samples) -> list[tuple[float, float, str]]:
    """Hypothesis turns of pipeline ``name`` ("cam++" = the speaker stage, "resemblyzer" = the baseline)."""
    if name == "cam++":
        return timeline(diarize(samples))
    from emolens.engine import diarize_resemblyzer as old

    regions = _silero_regions(samples)
    return old.frame_labels(old.diarize(samples, regions), regions, len(samples) / 16000)


def _ascii(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()


def items(split: str, root: Path = DATA) -> list[tuple[str, np.ndarray, float, list[tuple[float, float, str]]]]:
    """``(name, samples, duration, reference turns)`` of every file of ``split`` (see :data:`ALL_SPLITS`); a
    ``_joined`` split gives one item per meeting of :data:`MEETINGS`, its excerpts and references joined."""
    from emolens.engine.audio import decode

    if not split.endswith("_joined"):
        out = []
        for path, ref in files(split, root):
            audio = decode(path)
            out.append((path.stem, audio.samples, audio.duration, ref))
        return out
    base = {_ascii(n): (y, d, r) for n, y, d, r in items(split.removesuffix("_joined"), root)}
    joined = []
    for meeting in MEETINGS[split.removesuffix("_joined")]:
        ys, ref, off = [], [], 0.0
        for name in meeting:
            y, d, r = base[name]
            ys.append(y)
            ref += [(b + off, e + off, s) for b, e, s in r]
            off += d
        joined.append((f"{meeting[0]}-{meeting[-1][-2:]}", np.concatenate(ys), off, ref))
    return joined


def evaluate(splits: list[str], pipelines: list[str], out=sys.stdout) -> list[FileScore]:
    """Score every file of ``splits`` with every pipeline; prints a table to ``out`` and returns the rows."""
    from emolens.engine.audio import decode

    rows: list[FileScore] = []
    for pipe in pipelines:  # load models before timing
        run_pipeline(pipe, decode(files("sample")[0][0]).samples[: 16000 * 5])
    for split in splits:
        for name, samples, duration, ref in items(split):
            for pipe in pipelines:
                t0 = time.perf_counter()
                hyp = run_pipeline(pipe, samples)
                took = time.perf_counter() - t0
                uem = (0.0, duration)
                c, n = der(ref, hyp, uem, collar=0.25), der(ref, hyp, uem, collar=0.0)
                rows.append(
                    FileScore(
                        split, name, pipe, c["der"], n["der"], c["miss"], c["false_alarm"], c["confusion"],
                        len({s for *_, s in ref}), len({s for *_, s in hyp}), took, c["speech_s"], n["speech_s"],
                    )
                )  # fmt: skip
                r = rows[-1]
                print(
                    f"{split:12s} {r.file:11s} {pipe:12s} DER {r.der:.3f} (no collar {r.der_no_collar:.3f}; miss "
                    f"{r.miss:.3f} fa {r.false_alarm:.3f} conf {r.confusion:.3f})  speakers {r.hyp_speakers}/"
                    f"{r.ref_speakers}  {took:.1f}s",
                    file=out,
                    flush=True,
                )
    print(file=out)
    for split in splits:
        for pipe in pipelines:
            print(summary(rows, split, pipe), file=out)
    return rows


def summary(rows: list[FileScore], split: str, pipeline: str) -> str:
    """One line: overall DER of a split (files weighted by scored speech), count accuracy, time."""
    sel = [r for r in rows if r.split == split and r.pipeline == pipeline]
    if not sel:
        return f"{split}: no rows"
    w_c = sum(r.speech_s for r in sel)
    w_n = sum(r.speech_no_collar_s for r in sel)
    d_c = sum(r.der * r.speech_s for r in sel) / max(w_c, 1e-9)
    d_n = sum(r.der_no_collar * r.speech_no_collar_s for r in sel) / max(w_n, 1e-9)
    ok = sum(r.hyp_speakers == r.ref_speakers for r in sel)
    return (
        f"OVERALL {split:12s} {pipeline:12s} DER collar 0.25: {d_c:.3f}  no collar: {d_n:.3f}  "
        f"speaker count right {ok}/{len(sel)}  time {sum(r.seconds for r in sel):.1f}s"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m emolens.eval.diarization", description=__doc__.split("\n")[0])
    ap.add_argument("--splits", default=",".join(ALL_SPLITS), help=f"comma-separated: {', '.join(ALL_SPLITS)}")
    ap.add_argument("--no-baseline", action="store_true", help="skip the resemblyzer pipeline")
    ap.add_argument("--json", type=Path, help="also write the per-file rows as JSON here")
    args = ap.parse_args(argv)
    splits = [s.strip() for s in args.splits.split(",") if s.strip()]
    bad = [s for s in splits if s not in ALL_SPLITS]
    if bad:
        print(f"error: unknown split {bad[0]!r}: choose from {', '.join(ALL_SPLITS)}", file=sys.stderr)
        return 1
    if not (DATA / "sample" / "sample.flac").is_file():
        print(f"error: diarization data not found under {DATA}", file=sys.stderr)
        return 1
    pipelines = ["cam++"] + ([] if args.no_baseline else ["resemblyzer"])
    rows = evaluate(splits, pipelines)
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
