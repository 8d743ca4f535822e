"""Speed of the media pipeline vs faster-whisper transcription alone, measured in the same run; DER evaluation.

    python bench/audio.py [--asr base tiny.en] [--minutes 7] [--repeat N]  # RTF: transcription alone, whole pipeline
    python bench/audio.py --der                                             # DER on ../shared/datasets/diarization

The speech is real: the AMI-derived 30 s meeting excerpts of ../shared/datasets/diarization joined end to end.
The pipeline runs prosody, language with sentiment + toxicity, ner with speakers identified (the speaker issue's
figure), and then again with the burst model too: every media model (the prosody issue's figure); the burst stage
(detection + scoring) is also timed alone on the same audio and words and reported as a share of the pipeline.
Models are warmed up on a 10 s clip first so load time is not counted. Peak memory is the process's max RSS.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DIAR = Path(os.environ.get("EMOLENS_DATASETS") or ROOT.parent / "shared" / "datasets") / "diarization"


def speech_files() -> list[Path]:
    # train and development excerpts only: the test split is withheld for independent evaluation
    files = sorted(f for f in (DIAR / "pyannote_debug").glob("*.flac") if not f.name.startswith("tst"))
    files.append(DIAR / "sample" / "sample.flac")
    return [f for f in files if f.is_file()]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.machine()}"
    return f"{system}, {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _median(rounds: list[dict[str, float]], key: str) -> float:
    return float(np.median([x[key] for x in rounds]))


def _median_ratio(rounds: list[dict[str, float]], a: str, b: str) -> float:
    """The median of the rounds' own ratios (each round's two figures saw the same machine load)."""
    return float(np.median([x[a] / x[b] for x in rounds]))


def bench_speed(asr_models: list[str], minutes: float, repeat: int = 1) -> None:
    import soundfile as sf

    from emolens.engine.audio import decode
    from emolens.engine.burst import candidates, detect
    from emolens.engine.media import measure_media
    from emolens.engine.speaker_onnx import runtime
    from emolens.engine.transcribe import transcribe

    files = speech_files()
    if not files:
        sys.exit(f"no diarization data under {DIAR}")
    parts, total = [], 0
    while total < minutes * 60 * 16000:
        for f in files:
            parts.append(decode(f).samples)
            total += len(parts[-1])
    audio = np.concatenate(parts)[: int(minutes * 60 * 16000)]
    dur = len(audio) / 16000
    cfg = {"models": {"prosody": {"identify_speakers": True},
                      "language": {"sentiment": {}, "toxicity": {}, "identify_speakers": True},
                      "ner": {"identify_speakers": True}}}
    cfg_all = {"models": {**cfg["models"], "burst": {}}}
    print(f"machine: {machine()}; threads: EMOLENS_THREADS={os.environ.get('EMOLENS_THREADS', 'default')}")
    print(f"speech: {len(files)} AMI-derived excerpts joined, {dur / 60:.1f} min")
    pipeline_peak = 0.0  # max RSS before the burst stage's models first load (RSS peaks only ever grow)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "speech.wav"
        sf.write(path, audio, 16000)
        warm = Path(d) / "warm.wav"
        sf.write(warm, audio[: 10 * 16000], 16000)
        for asr in asr_models:
            warm_words = transcribe(audio[: 10 * 16000], model=asr).words
            measure_media([warm], cfg, asr=asr)
            rounds: list[dict[str, float]] = []
            for r in range(repeat):
                # transcription alone, the pipeline, the burst stage: back to back in each round (load drifts)
                t, c = time.perf_counter(), time.process_time()
                tr = transcribe(audio, model=asr, confidence_threshold=0.5)
                t_asr, c_asr = time.perf_counter() - t, time.process_time() - c
                t, c = time.perf_counter(), time.process_time()
                (res,) = measure_media([path], cfg, asr=asr)
                t_all, c_all = time.perf_counter() - t, time.process_time() - c
                if not pipeline_peak:
                    pipeline_peak = peak_mb()
                if r == 0:
                    measure_media([warm], cfg_all, asr=asr)  # warm: loads the burst model and its encoder layers
                t, c = time.perf_counter(), time.process_time()
                measure_media([path], cfg_all, asr=asr)
                t_every, c_every = time.perf_counter() - t, time.process_time() - c
                if r == 0:
                    detect(audio[: 10 * 16000], warm_words)  # warm: loads the burst weights and Whisper base encoder
                # the burst stage (detection + scoring) on the same audio and words, vs the pipeline without it
                t = time.perf_counter()
                bursts = detect(audio, tr.words)
                t_burst = time.perf_counter() - t
                rounds.append({"asr": t_asr, "all": t_all, "c_asr": c_asr, "c_all": c_all, "burst": t_burst,
                               "every": t_every, "c_every": c_every})
                if repeat > 1:
                    print(f"  round {r + 1}: transcription {t_asr:.1f} s, pipeline {t_all:.1f} s = "
                          f"{t_all / t_asr:.2f}x (CPU {c_all / c_asr:.2f}x), with bursts {t_every:.1f} s = "
                          f"{t_every / t_asr:.2f}x (CPU {c_every / c_asr:.2f}x), burst stage alone "
                          f"{100 * t_burst / t_all:.1f} %")
            errors = res["results"]["errors"]
            models = res["results"]["predictions"][0]["models"] if res["results"]["predictions"] else {}
            n_spk = len(models.get("prosody", {}).get("grouped_predictions", []))
            m = {k: _median(rounds, k) for k in rounds[0]}
            label = "" if repeat == 1 else f" (median of {repeat} rounds)"
            print(f"\n[{asr}] {len(tr.words)} words, {n_spk} speakers (speaker networks: {runtime()}), errors: "
                  f"{errors or 'none'}{label}")
            print(f"  transcription alone: {m['asr']:7.1f} s  RTF {m['asr'] / dur:.3f}")
            print(f"  whole pipeline     : {m['all']:7.1f} s  RTF {m['all'] / dur:.3f}")
            print(f"  ratio pipeline / transcription: {_median_ratio(rounds, 'all', 'asr'):.2f}x")
            print(f"  every media model (+ bursts): {m['every']:7.1f} s  RTF {m['every'] / dur:.3f} = "
                  f"{_median_ratio(rounds, 'every', 'asr'):.2f}x of transcription (CPU "
                  f"{_median_ratio(rounds, 'c_every', 'c_asr'):.2f}x)")
            # CPU seconds of all the process's threads: steadier than wall time on a shared machine, but blind to
            # the stages that overlap transcription (the speaker stage runs beside Whisper)
            print(f"  CPU seconds: transcription {m['c_asr']:.1f}, pipeline {m['c_all']:.1f} = "
                  f"{_median_ratio(rounds, 'c_all', 'c_asr'):.2f}x; load average {os.getloadavg()[0]:.1f}")
            print(f"  burst stage        : {m['burst']:7.1f} s  ({len(bursts)} bursts of "
                  f"{len(candidates(audio, tr.words))} candidates) = "
                  f"{100 * _median_ratio(rounds, 'burst', 'all'):.1f} % of the pipeline without it")
    print(f"\npeak memory (max RSS): pipeline ({asr_models[0]}) {pipeline_peak:.0f} MB; with the burst stage and "
          f"every ASR model {peak_mb():.0f} MB")


def bench_der() -> None:
    """DER of the speaker stage and of the resemblyzer baseline: see ``python -m emolens.eval.diarization``."""
    from emolens.eval.diarization import main as eval_main

    eval_main(["--splits", "train,dev,sample"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--asr", nargs="+", default=["base", "tiny.en"])
    ap.add_argument("--minutes", type=float, default=7.0)
    ap.add_argument("--repeat", type=int, default=1, help="rounds per ASR model; figures are then medians")
    ap.add_argument("--der", action="store_true", help="evaluate diarization error rate instead of speed")
    args = ap.parse_args()
    if args.der:
        bench_der()
    else:
        bench_speed(args.asr, args.minutes, max(1, args.repeat))


if __name__ == "__main__":
    main()
