"""`python -m emolens measure` end to end in a subprocess: real models, output validated by the schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from emolens.schema import parse_predictions
from emolens.store import Store

ROOT = Path(__file__).resolve().parents[2]
DIALOGUE = ROOT / "tests" / "data" / "dialogue_slt_rms.flac"


def measure(*args, data_dir, timeout=300):
    env = {**os.environ, "EMOLENS_DATA_DIR": str(data_dir), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "emolens", "measure", *args], capture_output=True, env=env,
                          timeout=timeout)


def test_texts_round_trip_in_input_order_and_store(tmp_path, data_dir):
    lines = tmp_path / "lines.txt"
    lines.write_text("I miss my grandmother's kitchen.\n\n   \nYou are a complete idiot.\n", encoding="utf-8")
    out = tmp_path / "out.json"
    r = measure("--text", "Thank you so much!", "--text-lines", str(lines), "--models", "language",
                "--granularity", "sentence", "--sentiment", "--toxicity", "--store", "--name", "cli texts",
                "-o", str(out), data_dir=data_dir)
    assert r.returncode == 0, r.stderr.decode()
    data = json.loads(out.read_text())
    parsed = parse_predictions(data)
    assert len(parsed) == 3  # blank lines of --text-lines are skipped
    texts = [s.results.predictions[0].models.language.grouped_predictions[0].predictions[0].text for s in parsed]
    assert texts == ["Thank you so much!", "I miss my grandmother's kitchen.", "You are a complete idiot."]
    assert [s.results.predictions[0].file for s in parsed] == ["0", "1", "2"]
    first = parsed[0].results.predictions[0].models
    assert first.ner is None  # only the requested model
    lang = first.language.grouped_predictions[0].predictions[0]
    assert len(lang.emotions) == 53 and len(lang.sentiment) == 9 and len(lang.toxicity) == 6
    insult = parsed[2].results.predictions[0].models.language.grouped_predictions[0].predictions[0]
    assert max(t.score for t in insult.toxicity if t.name == "insult") > 0.5
    rows = Store(data_dir).list_results()
    assert [r.name for r in rows] == ["cli texts"] and rows[0].origin == "measured"
    assert "stored as" in r.stderr.decode()


def test_media_with_window_and_all_models(tmp_path, data_dir):
    out = tmp_path / "media.json"
    r = measure(str(DIALOGUE), "--window", "2,1", "--asr", "tiny.en", "--no-progress", "-o", str(out),
                data_dir=data_dir)
    assert r.returncode == 0, r.stderr.decode()
    parsed = parse_predictions(json.loads(out.read_text()))
    src = parsed[0]
    assert src.source.type == "file" and src.source.filename == DIALOGUE.name and len(src.source.md5sum) == 32
    models = src.results.predictions[0].models
    # no --models: all run (Hume's rule), bursts included (the dialogue is plain speech: none or few)
    assert models.prosody and models.language and models.ner is not None and models.burst is not None
    windows = models.prosody.grouped_predictions[0].predictions
    assert windows[0].time.begin == 0.0 and windows[1].time.begin == 1.0
    assert all(len(p.emotions) == 48 for p in windows)


def test_media_bursts_only(tmp_path, data_dir):
    clip = ROOT / "tests" / "data" / "bursts" / "000010-28-3.opus"  # an EmoGator "Surprise (Positive)" burst
    out = tmp_path / "burst.json"
    r = measure(str(clip), "--models", "burst", "--asr", "tiny.en", "--no-progress", "-o", str(out),
                data_dir=data_dir)
    assert r.returncode == 0, r.stderr.decode()
    models = parse_predictions(json.loads(out.read_text()))[0].results.predictions[0].models
    assert models.prosody is None and models.language is None
    (pred,) = models.burst.grouped_predictions[0].predictions
    assert len(pred.emotions) == 48 and pred.descriptions == [] and pred.time.end <= 1.93


def test_bad_invocations_are_one_line_errors(tmp_path, data_dir):
    cases = [
        ((), "nothing to measure"),
        (("--text", "hi", "--models", "language,face"), "unknown model(s) face"),
        (("--text", "hi", "--granularity", "conversational_turn"), "requires identify_speakers"),
        ((str(tmp_path / "missing.wav"),), "no such file"),
        (("--text", "hi", "--window", "abc"), "--window takes LENGTH,STEP"),
        (("--text", "hi", "--confidence-threshold", "2"), "confidence_threshold"),
    ]
    for args, message in cases:
        r = measure(*args, data_dir=data_dir, timeout=120)
        err = r.stderr.decode()
        assert r.returncode == 1, (args, err)
        assert message in err and "Traceback" not in err, (args, err)
