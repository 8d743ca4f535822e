"""CLI (foundation commands) in a real subprocess: exit codes and messages, no tracebacks."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pandas as pd

from tests import synth


def run(*args, data_dir):
    env = {**os.environ, "EMOLENS_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "emolens", *args], capture_output=True, env=env, timeout=120)


def test_import_list_export_frame(tmp_path, data_dir):
    good = tmp_path / "hume.json"
    good.write_text(json.dumps(synth.word_level_result(30)))
    bad = tmp_path / "bad.json"
    bad.write_text('[{"source":')
    r = run("import", str(good), str(bad), data_dir=data_dir)
    assert r.returncode == 0  # one of two imported: a warning for the other, exit 0 (README "Command line")
    rid = r.stdout.decode().strip()
    assert len(rid) == 12
    assert f"warning: {bad}: truncated JSON" in r.stderr.decode() and "Traceback" not in r.stderr.decode()
    r = run("import", str(bad), data_dir=data_dir)
    assert r.returncode == 1 and r.stderr.decode().startswith(f"error: {bad}: truncated JSON")
    listed = run("list", "--json", data_dir=data_dir)
    assert json.loads(listed.stdout)[0]["id"] == rid
    out = tmp_path / "x.zip"
    assert run("export", rid, "--format", "zip", "-o", str(out), data_dir=data_dir).returncode == 0
    assert run("import", str(out), data_dir=data_dir).returncode == 0
    frame = run("frame", str(good), "--model", "language", "--wide", data_dir=data_dir)
    df = pd.read_csv(io.BytesIO(frame.stdout))
    assert len(df) == 30 and "sentiment_9" in df.columns
    long_csv = tmp_path / "long.csv"
    assert run("frame", str(good), "--model", "prosody", "-o", str(long_csv), data_dir=data_dir).returncode == 0
    assert set(pd.read_csv(long_csv).columns) >= {"emotion", "score"}


def test_errors_are_one_line(tmp_path, data_dir):
    r = run("export", "nope", "-o", str(tmp_path / "x.json"), data_dir=data_dir)
    assert r.returncode == 1 and r.stderr.decode().startswith("error: no result with id 'nope'")
    r = run("frame", str(tmp_path / "missing.json"), "--model", "language", data_dir=data_dir)
    assert r.returncode == 1 and "cannot read file" in r.stderr.decode()
    r = run("import", data_dir=data_dir)
    assert r.returncode == 2  # argparse usage error


def test_global_options_work_after_the_sub_command(tmp_path, data_dir):
    good = tmp_path / "hume.json"
    good.write_text(json.dumps(synth.word_level_result(5)))
    other = tmp_path / "other-store"
    rid = run("import", str(good), "--data-dir", str(other), data_dir=data_dir).stdout.decode().strip()
    assert json.loads(run("--data-dir", str(other), "list", "--json", data_dir=data_dir).stdout)[0]["id"] == rid
    assert json.loads(run("list", "--json", "--data-dir", str(other), data_dir=data_dir).stdout)[0]["id"] == rid
    assert json.loads(run("list", "--json", data_dir=data_dir).stdout) == []  # the default store is untouched
