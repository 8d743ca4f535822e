"""Benchmark: a one-hour word-level result (10,000 words x 53 emotions + sentiment + toxicity, ~30 MB of JSON)
-> wide frame, against json.load + pandas.json_normalize measured in the same run.

Run: .venv/bin/python bench/archive.py [--words N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from emolens import synth  # noqa: E402
from emolens.archive import load_archive  # noqa: E402
from emolens.frames import long_frame, wide_frame  # noqa: E402


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--words", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    payload = synth.word_level_result(args.words, seed=0)
    path = Path(tempfile.mkdtemp()) / "hour.json"
    path.write_text(json.dumps(payload))
    size_mb = path.stat().st_size / 1e6

    def baseline():
        data = json.load(path.open())
        preds = data[0]["results"]["predictions"][0]["models"]["language"]["grouped_predictions"]
        return pd.json_normalize([p for g in preds for p in g["predictions"]])

    data = json.load(path.open())
    t_parse = best(lambda: json.load(path.open()), args.repeat)
    import orjson

    t_orjson = best(lambda: orjson.loads(path.read_bytes()), args.repeat)
    t_base = best(baseline, args.repeat)
    t_wide = best(lambda: wide_frame(data), args.repeat)
    t_file_to_wide = best(lambda: wide_frame(orjson.loads(path.read_bytes())), args.repeat)
    t_long = best(lambda: long_frame(wide_frame(data)), args.repeat)
    t_import = best(lambda: load_archive(path), 1)
    rows = len(wide_frame(data))
    print(f"machine: {platform.machine()} {os.cpu_count()} cpu(s), Python {platform.python_version()}, "
          f"pandas {pd.__version__}")
    print(f"input: {args.words} words ({rows} segments incl. prosody utterances), {size_mb:.1f} MB JSON")
    print(f"baseline json.load + pandas.json_normalize (language only): {t_base:.3f} s")
    print(f"json.load alone:                                            {t_parse:.3f} s")
    print(f"wide_frame from parsed JSON (all models):                   {t_wide:.3f} s")
    print(f"orjson.loads alone:                                         {t_orjson:.3f} s")
    print(f"orjson.loads + wide_frame (file -> wide frame):             {t_file_to_wide:.3f} s")
    print(f"long_frame (via wide):                                      {t_long:.3f} s")
    print(f"load_archive (read + validate every source with pydantic):  {t_import:.3f} s")
    print(f"ratio file->wide / baseline: {t_file_to_wide / t_base:.2f}x "
          f"(wide_frame alone / baseline: {t_wide / t_base:.2f}x)")


if __name__ == "__main__":
    main()
