"""Regenerate data/samples/*.json with the emolens engine from the sample media and texts in data/.

Run: .venv/bin/python scripts/make_samples.py   (a few minutes on 2 cores)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emolens.hume import measure_media, measure_text
from emolens.schema import parse_job_request, parse_predictions

ROOT = Path(__file__).resolve().parents[1]

DATA = ROOT / "data"
OUT = DATA / "samples"

LANG = {"sentiment": {}, "toxicity": {}}
SAMPLES = [
    # (file name, result name, kind, inputs, request)
    ("dialogue_utterance.json", "Dialogue · utterance (sample)", "media", ["media/dialogue_flite.wav"],
     {"models": {"prosody": {"granularity": "utterance", "identify_speakers": True},
                 "language": {"granularity": "sentence", "identify_speakers": True, **LANG},
                 "ner": {"identify_speakers": True}},
      "transcription": {"identify_speakers": True}}),
    ("dialogue_word.json", "Dialogue · word (sample)", "media", ["media/dialogue_flite.wav"],
     {"models": {"prosody": {"granularity": "word", "identify_speakers": True},
                 "language": {"granularity": "word", "identify_speakers": True, **LANG}},
      "transcription": {"identify_speakers": True}}),
    ("austen_sentence.json", "Sense and Sensibility · LibriVox (sample)", "media", ["media/austen_librivox.flac"],
     {"models": {"prosody": {"granularity": "sentence"}, "language": {"granularity": "word", **LANG}, "ner": {}}}),
    ("texts_sentence.json", "Team chat · text (sample)", "text", ["samples_texts.txt"],
     {"models": {"language": {"granularity": "sentence", "identify_speakers": True, **LANG}, "ner": {}}}),
]


def measure_sample(kind: str, inputs: list[str], request: dict[str, Any]) -> str:
    """The sample's predictions JSON, exactly as written to data/samples (compact, UTF-8)."""
    req = parse_job_request(request)
    if kind == "media":
        preds = measure_media([DATA / p for p in inputs], req, asr="base")
    else:
        preds = measure_text([(DATA / inputs[0]).read_text()], req)
    parse_predictions(preds)
    return json.dumps(preds, ensure_ascii=False, separators=(",", ":"))


def main() -> None:
    OUT.mkdir(exist_ok=True)
    manifest = {}
    for fname, name, kind, inputs, request in SAMPLES:
        print(f"==> {fname}", flush=True)
        media = {Path(p).name: p for p in inputs} if kind == "media" else {}
        (OUT / fname).write_text(measure_sample(kind, inputs, request))
        manifest[fname] = {"name": name, "origin": "measured", "config": request, "media": media}
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    main()
