"""Benchmark: a one-hour word-level result (10,000 words x 53 emotions + sentiment + toxicity, ~30 MB of JSON)
-> wide CSV, whole processes: ``emolens frame --wide`` (its typed fast path, emolens.columnar) against a fresh
process doing the naive json.load + pandas.json_normalize (no CSV written), measured in the same run; then the
in-process stages.

Run: .venv/bin/python bench/archive.py [--words N] [--repeat R]   (under flock /tmp/emolens-bench.lock)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import synth  # noqa: E402

NAIVE = """
import json, sys
import pandas as pd
data = json.load(open(sys.argv[1]))
preds = data[0]["results"]["predictions"][0]["models"]["language"]["grouped_predictions"]
pd.json_normalize([p for g in preds for p in g["predictions"]])
"""
NAIVE_CSV = NAIVE + "pd.json_normalize([p for g in preds for p in g['predictions']]).to_csv(sys.argv[2])\n"


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


CPU: dict[str, float] = {}  # best CPU seconds (user + system) of each timed process, by its arguments


def process(args: list[str]) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, *args], check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    key = " ".join(args)
    CPU[key] = min(CPU.get(key, cpu), cpu)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--words", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    import orjson
    import pandas as pd

    from emolens.archive import load_archive
    from emolens.columnar import wide_csv_bytes
    from emolens.frames import long_frame, wide_csv, wide_frame

    payload = synth.word_level_result(args.words, seed=0)
    tmp = Path(tempfile.mkdtemp())
    path = tmp / "hour.json"
    path.write_text(json.dumps(payload))
    out = tmp / "wide.csv"
    size_mb = path.stat().st_size / 1e6
    load = os.getloadavg()

    t_naive = best(lambda: process(["-c", NAIVE, str(path)]), args.repeat)
    t_naive_csv = best(lambda: process(["-c", NAIVE_CSV, str(path), str(tmp / "naive.csv")]), args.repeat)
    t_cli = best(
        lambda: process(["-m", "emolens", "frame", str(path), "--model", "language", "--wide", "-o", str(out)]),
        args.repeat,
    )
    t_cli_long = best(
        lambda: process(["-m", "emolens", "frame", str(path), "--model", "language", "-o", str(tmp / "long.csv")]),
        args.repeat,
    )
    t_bare = best(lambda: process(["-c", "import numpy"]), args.repeat)

    data = orjson.loads(path.read_bytes())
    t_orjson = best(lambda: orjson.loads(path.read_bytes()), args.repeat)
    raw = path.read_bytes()
    fast = wide_csv_bytes(raw, "language")
    t_fast = best(lambda: wide_csv_bytes(raw, "language"), args.repeat)
    t_load = best(lambda: load_archive(path), args.repeat)
    t_wide = best(lambda: wide_frame(data, model="language"), args.repeat)
    t_csv = best(lambda: wide_csv(data, model="language"), args.repeat)
    t_pandas_csv = best(lambda: wide_frame(data, model="language").to_csv(index=False), 1)
    t_long = best(lambda: long_frame(wide_frame(data)), 1)
    rows = len(wide_frame(data, model="language"))
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpu(s), Python {platform.python_version()}, "
        f"pandas {pd.__version__}; load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    print(f"input: {args.words} words ({rows} language segments), {size_mb:.1f} MB JSON; best of {args.repeat}")
    print("whole processes (wall):")
    print(f"  baseline: json.load + pandas.json_normalize, fresh process (no CSV): {t_naive:.3f} s")
    print(f"  same + to_csv of the normalized frame (reference):                  {t_naive_csv:.3f} s")
    print(f"  emolens frame --model language --wide -o FILE (validated):           {t_cli:.3f} s")
    print(f"  emolens frame --model language -o FILE (long, 530k rows, validated):  {t_cli_long:.3f} s")
    print(f"  bare interpreter + numpy import (floor):                             {t_bare:.3f} s")
    print(f"ratio emolens frame / baseline: {t_cli / t_naive:.3f}x (goal <= 0.33x)")
    cpu_naive = CPU[" ".join(["-c", NAIVE, str(path)])]
    cpu_cli = CPU[" ".join(["-m", "emolens", "frame", str(path), "--model", "language", "--wide", "-o", str(out)])]
    print(
        f"CPU seconds (user + system, best of {args.repeat}; steadier than wall time on a busy machine): "
        f"baseline {cpu_naive:.2f} s, emolens frame --wide {cpu_cli:.2f} s, ratio {cpu_cli / cpu_naive:.2f}x"
    )
    print("in-process stages:")
    print(f"  orjson.loads alone:                                {t_orjson:.3f} s")
    print(
        f"  columnar.wide_csv_bytes (typed decode, validation, CSV; the frame --wide fast path): {t_fast:.3f} s"
        f" ({'taken' if fast is not None else 'NOT taken: general path'})"
    )
    print(f"  load_archive (read + parse + complete validation): {t_load:.3f} s")
    print(f"  wide_frame (pandas DataFrame, language):           {t_wide:.3f} s")
    print(f"  wide_csv (pandas-free CSV bytes, language):        {t_csv:.3f} s")
    print(f"  wide_frame(...).to_csv (pandas CSV, reference):    {t_pandas_csv:.3f} s")
    print(f"  long_frame (all models, via wide):                 {t_long:.3f} s")


if __name__ == "__main__":
    main()
