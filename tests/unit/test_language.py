"""Language model: encoder sanity, TF-IDF parity with sklearn, and emotion behaviour on clear real cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emolens.emotions import LANGUAGE_EMOTIONS
from emolens.engine import language
from emolens.engine.text import predict_arrays

DATASETS = Path(__file__).parents[2].parent / "shared" / "datasets"


def _top(text: str, k: int = 5) -> list[str]:
    emo = predict_arrays([text], sentiment=False, toxicity=False)[0][0]
    return [LANGUAGE_EMOTIONS[i] for i in np.argsort(-emo)[:k]]


def _score(text: str, name: str) -> float:
    return float(predict_arrays([text], sentiment=False, toxicity=False)[0][0, LANGUAGE_EMOTIONS.index(name)])


def test_encoder_is_normalised_and_semantic() -> None:
    e = language.encode(["I am very happy today", "Today I feel really glad", "The invoice is overdue", ""])
    assert e.shape == (4, 384) and np.allclose(np.linalg.norm(e[:3], axis=1), 1.0, atol=1e-4)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.3


def test_char_ngrams_match_sklearn_char_wb() -> None:
    from sklearn.feature_extraction.text import CountVectorizer

    text = "Héllo  wörld a 🙂 it's"
    ref = CountVectorizer(analyzer="char_wb", ngram_range=(2, 5)).build_analyzer()(text)
    assert sorted(language.char_ngrams(text)) == sorted(ref)


def test_scores_in_range_and_complete() -> None:
    emo, _, _ = predict_arrays(["", "🙂", "I love you", "x" * 3000], sentiment=False, toxicity=False)
    assert emo.shape == (4, 53) and ((emo >= 0) & (emo <= 1)).all()


def test_gratitude_tops_thanks() -> None:
    assert _top("Thank you so much!", 1) == ["Gratitude"]
    assert _score("Thank you so much!", "Gratitude") > 0.8


def test_nostalgia_in_top5_for_a_nostalgic_sentence() -> None:
    assert "Nostalgia" in _top("I miss the old days when we used to play in the park as kids.")


def test_sarcasm_near_top() -> None:
    assert "Sarcasm" in _top("Oh great, another Monday. Just what I needed.", 3)


def test_trained_labels_on_clear_cases() -> None:
    assert _top("I am terrified of the dark.", 1) == ["Fear"]
    assert "Amusement" in _top("Hahaha that is hilarious, I can't stop laughing", 3)
    assert "Anger" in _top("I am furious, this makes me so angry!", 3)
    assert _score("The meeting is at 3 pm.", "Joy") < 0.3


@pytest.mark.skipif(not (DATASETS / "goemotions").exists(), reason="needs ../shared/datasets/goemotions")
def test_goemotions_dev_sample_macro_f1() -> None:
    from emolens.train.text_emotions import f1_per_label, load_goemotions

    texts, y = load_goemotions("dev", DATASETS)
    texts, y = texts[:1500], y[:1500]
    m = language._emotion_model()
    p = language.goemotion_probs(texts, language.encode(texts))
    f1 = f1_per_label(y, (p >= m["thresholds"]).astype(np.int8))
    assert f1.mean() > 0.42  # full dev: see docs/models.md
