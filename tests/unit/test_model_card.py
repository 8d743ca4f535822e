"""The model card exists and covers every shipped weight file, its data and license."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_model_card_covers_every_weight_and_license():
    card = (ROOT / "docs" / "models.md").read_text()
    weights = [p for p in (ROOT / "emolens" / "weights").rglob("*") if p.suffix in (".npz", ".onnx")]
    assert weights
    for w in weights:
        assert w.name in card, f"{w.name} is not described in docs/models.md"
    for needle in ("GoEmotions", "CC BY 4.0", "SST", "Jigsaw", "VADER", "MiniLM", "spaCy", "tox-block",
                   "RAVDESS", "CC BY-NC-SA 4.0", "non-commercial", "EmoDB", "Whisper", "resemblyzer",
                   "macro-F1", "UAR", "DER", "WER", "Spearman", "AUC"):
        assert needle in card, f"docs/models.md does not mention {needle}"
