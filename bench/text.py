"""Benchmark the text engine: texts/second for language (emotions + sentiment + toxicity) and NER, cold start,
and the ratio to the sentence encoder's bare forward pass measured in the same run (runs of up to 16 texts of one
token length, never padded: the int8 encoder quantises each token row on its own, see
emolens.train.text_encoder.per_token), and checks that a text's embedding alone and inside a job of 64 are the
same bits.

    python bench/text.py [--n 1000] [--threads 2] [--e2e-n 5000] [--repeat 3] [--e2e-only]
        (under flock /tmp/emolens-bench.lock)

Texts are GoEmotions dev comments when ../shared/datasets is present (else built-in sentences repeated with
numbers so that none are duplicates: the engine deduplicates, which would flatter the figures).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT.parent / "shared" / "datasets"
SAMPLES = [
    "Thank you so much for your help, I really appreciate it!",
    "I can't believe they cancelled the show, what a disappointment.",
    "Barack Obama met Angela Merkel in Berlin on Tuesday.",
    "This is the worst service I have ever had, you idiots.",
    "I miss the summers we spent at grandma's house as kids.",
]

COLD = """
import time; t = time.perf_counter()
from emolens.engine.text import measure_text
measure_text(["I love this!"], {{"models": {{"language": {{"granularity": "sentence", "sentiment": {{}},
             "toxicity": {{}}}}{ner}}}}})
print(time.perf_counter() - t)
"""


def texts(n: int) -> list[str]:
    if (DATASETS / "goemotions" / "dev.tsv").exists():
        lines = (DATASETS / "goemotions" / "dev.tsv").read_text(encoding="utf-8").splitlines()
        out = list(dict.fromkeys(line.split("\t")[0] for line in lines))
        return out[:n]
    return [f"{SAMPLES[i % len(SAMPLES)]} ({i})" for i in range(n)]


def cold_start(ner: bool) -> float:
    code = COLD.format(ner=', "ner": {}' if ner else "")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return float(res.stdout.strip().splitlines()[-1])


def rate(fn, items: list[str]) -> float:
    t = time.perf_counter()
    fn(items)
    return len(items) / (time.perf_counter() - t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--e2e-n", type=int, default=5000, help="texts for the end-to-end CLI vs in-process comparison")
    ap.add_argument("--repeat", type=int, default=3, help="end-to-end rounds (in-process and CLI alternate)")
    ap.add_argument("--e2e-only", action="store_true", help="only the end-to-end comparison")
    args = ap.parse_args()
    os.environ["EMOLENS_THREADS"] = str(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    sys.path.insert(0, str(ROOT))
    from emolens.engine import language, text

    items = texts(args.n)
    cpu = (
        next(
            (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    print(f"machine: {cpu}; {os.cpu_count()} cpus visible; {args.threads} threads; python {platform.python_version()}")
    print("load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"texts: {len(items)} (mean {sum(map(len, items)) / len(items):.0f} chars)")
    if args.e2e_only:
        text.predict_arrays(items[:64], sentiment=True, toxicity=True)  # warm up every model
        end_to_end(args.e2e_n, args.threads, args.repeat)
        return
    print(f"cold start, language (emotions+sentiment+toxicity), fresh process: {cold_start(False):.2f} s")
    print(f"cold start, language + ner, fresh process: {cold_start(True):.2f} s")

    text.predict_arrays(items[:64], sentiment=True, toxicity=True)  # warm up every model
    text.ner_outputs(items[:8], [None] * 8)
    base = rate(language.encode, items)
    import numpy as np

    drift = float(np.abs(language.encode(items[:64])[:1] - language.encode(items[:1])).max())
    lang = rate(lambda x: text.predict_arrays(x, sentiment=True, toxicity=True), items)
    emo_only = rate(lambda x: text.predict_arrays(x, sentiment=False, toxicity=False), items)
    ner = rate(lambda x: text.ner_outputs(x, [None] * len(x)), items)
    print(f"baseline: MiniLM int8 ONNX bare encoder, equal-length runs (tokenize+encode+pool): {base:.0f} texts/s")
    print(f"  a text's embedding alone vs in a job of 64 differs by {drift:.1e}")
    print(f"language emotions only: {emo_only:.0f} texts/s (ratio to baseline {emo_only / base:.2f})")
    print(f"language emotions+sentiment+toxicity: {lang:.0f} texts/s (ratio to baseline {lang / base:.2f})")
    print(f"ner (entities + beam confidence + sentence emotions): {ner:.0f} texts/s (ratio {ner / base:.2f})")
    end_to_end(args.e2e_n, args.threads, args.repeat)


def end_to_end(n: int, threads: int, repeat: int) -> None:
    """``emolens measure --text-lines`` (whole process: start-up, models, validation, JSON written) vs the
    in-process engine doing the same job on the same texts: language with emotions + sentiment + toxicity,
    sentence granularity (each text split into sentences, each sentence scored).

    Like for like: the baseline is ``engine.measure_texts`` with the CLI's options (models warm, results as
    engine objects, no JSON); the bare encoder over the same job's sentences is the ceiling both share (with two
    cores and the encoder's runs of equal-length texts, nothing else can be faster). The old whole-text figure
    (``text.predict_arrays`` scores each whole text once, one encoder row per text instead of one per sentence)
    is printed too. In-process and CLI runs alternate ``repeat`` times; figures are medians, ratios the median of
    each round's ratio (the engine and the CLI run back to back in a round: load on a shared machine drifts).
    """
    import resource
    import statistics
    import tempfile

    from emolens import hume
    from emolens.engine import language, measure_texts, text
    from emolens.engine.options import LanguageOptions, TextOptions
    from emolens.engine.textseg import segment_text

    items = [t.replace("\n", " ") for t in texts(n) if t.strip()]
    tmp = Path(tempfile.mkdtemp())
    (tmp / "texts.txt").write_text("\n".join(items) + "\n", encoding="utf-8")
    request = {"models": {"language": {"granularity": "sentence", "sentiment": {}, "toxicity": {}}}}
    options = TextOptions(language=LanguageOptions(granularity="sentence", sentiment=True, toxicity=True))
    sentences = list(dict.fromkeys(s.text or "" for t in items for s in segment_text(t, "sentence")))
    cmd = [
        sys.executable,
        "-m",
        "emolens",
        "measure",
        "--text-lines",
        str(tmp / "texts.txt"),
        "--models",
        "language",
        "--granularity",
        "sentence",
        "--sentiment",
        "--toxicity",
        "--no-progress",
        "-o",
        str(tmp / "out.json"),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EMOLENS_THREADS": str(threads)}
    figures: dict[str, list[float]] = {}

    def note(name: str, value: float) -> None:
        figures.setdefault(name, []).append(value)

    for _ in range(repeat):
        # the engine and the CLI back to back, so that each round's ratio sees the same machine load
        note("engine", rate(lambda x: measure_texts(x, options), items))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, check=True, cwd=ROOT, env=env)
        note("cli", len(items) / (time.perf_counter() - t))
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        note("cli_cpu", after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        note("ratio_engine", figures["cli"][-1] / figures["engine"][-1])
        t = time.perf_counter()
        language.encode(sentences)
        note("bare_job", len(items) / (time.perf_counter() - t))
        note("ratio_bare", figures["cli"][-1] / figures["bare_job"][-1])
        note("hume", rate(lambda x: hume.measure_text(x, request), items))
        note("bare_whole", rate(language.encode, items))
        note("whole", rate(lambda x: text.predict_arrays(x, sentiment=True, toxicity=True), items))
    f = {k: statistics.median(v) for k, v in figures.items()}
    r = {k: f"{min(v):.2f}-{max(v):.2f}" for k, v in figures.items() if k.startswith("ratio")}
    spread = {k: f"{min(v):.0f}-{max(v):.0f}" for k, v in figures.items()}
    print(
        f"end to end, {len(items)} texts ({len(sentences)} distinct sentences), sentence granularity, "
        f"emotions+sentiment+toxicity, median of {repeat} (range):"
    )
    print(f"  bare encoder over the job's sentences (the ceiling): {f['bare_job']:.0f} texts/s ({spread['bare_job']})")
    print(
        f"  in-process engine, the same job (engine.measure_texts, models warm): {f['engine']:.0f} texts/s "
        f"({spread['engine']})"
    )
    print(f"  in-process hume.measure_text (engine + Hume JSON dicts): {f['hume']:.0f} texts/s ({spread['hume']})")
    print(
        f"  emolens measure --text-lines, whole process (start-up, validation, JSON file): {f['cli']:.0f} texts/s "
        f"({spread['cli']})"
    )
    cpu = f["cli_cpu"]
    print(f"  CLI process CPU: {cpu:.1f} s = {1e3 * cpu / len(items):.2f} ms per text (all threads)")
    print(
        f"  ratio CLI / in-process engine, same job (median of the rounds' ratios): {f['ratio_engine']:.2f}x "
        f"({r['ratio_engine']}; goal >= 0.8x and >= 500 texts/s)"
    )
    print(f"  ratio CLI / bare encoder over the same sentences: {f['ratio_bare']:.2f}x ({r['ratio_bare']})")
    print(f"  ratio CLI / in-process hume.measure_text: {f['cli'] / f['hume']:.2f}x")
    # the figure this bench printed before: the engine scoring each whole text once (one encoder row per text),
    # while the CLI's job encodes every sentence; not the same job, kept for comparison with older notes
    print(
        f"  whole-text engine (text.predict_arrays, whole texts): {f['whole']:.0f} texts/s; bare encoder on whole "
        f"texts {f['bare_whole']:.0f} texts/s; ratio CLI / whole-text engine {f['cli'] / f['whole']:.2f}x"
    )


if __name__ == "__main__":
    main()
