"""Emotion, sentiment and toxicity names: the one source of truth (as in Hume's API documentation)."""

from __future__ import annotations

from typing import Final

#: The 48 names shared by prosody, vocal burst and face, in Hume's documented (alphabetical) order.
PROSODY_EMOTIONS: Final[tuple[str, ...]] = (
    "Admiration",
    "Adoration",
    "Aesthetic Appreciation",
    "Amusement",
    "Anger",
    "Anxiety",
    "Awe",
    "Awkwardness",
    "Boredom",
    "Calmness",
    "Concentration",
    "Confusion",
    "Contemplation",
    "Contempt",
    "Contentment",
    "Craving",
    "Desire",
    "Determination",
    "Disappointment",
    "Disgust",
    "Distress",
    "Doubt",
    "Ecstasy",
    "Embarrassment",
    "Empathic Pain",
    "Entrancement",
    "Envy",
    "Excitement",
    "Fear",
    "Guilt",
    "Horror",
    "Interest",
    "Joy",
    "Love",
    "Nostalgia",
    "Pain",
    "Pride",
    "Realization",
    "Relief",
    "Romance",
    "Sadness",
    "Satisfaction",
    "Shame",
    "Surprise (negative)",
    "Surprise (positive)",
    "Sympathy",
    "Tiredness",
    "Triumph",
)

#: Names only the language model has.
LANGUAGE_ONLY_EMOTIONS: Final[tuple[str, ...]] = (
    "Annoyance",
    "Disapproval",
    "Enthusiasm",
    "Gratitude",
    "Sarcasm",
)

#: The 53 language names (48 + 5), sorted alphabetically as Hume lists them.
LANGUAGE_EMOTIONS: Final[tuple[str, ...]] = tuple(sorted(PROSODY_EMOTIONS + LANGUAGE_ONLY_EMOTIONS))

#: Vocal burst and face use the same 48 names as prosody.
BURST_EMOTIONS: Final[tuple[str, ...]] = PROSODY_EMOTIONS
FACE_EMOTIONS: Final[tuple[str, ...]] = PROSODY_EMOTIONS

#: Sentiment levels: "1" most negative .. "9" most positive; a probability distribution.
SENTIMENT_LEVELS: Final[tuple[str, ...]] = tuple(str(i) for i in range(1, 10))

#: The six Jigsaw toxicity categories.
TOXICITY_CATEGORIES: Final[tuple[str, ...]] = (
    "toxic",
    "severe_toxic",
    "obscene",
    "threat",
    "insult",
    "identity_hate",
)

#: Model name -> the emotion names every prediction of that model carries.
MODEL_EMOTIONS: Final[dict[str, tuple[str, ...]]] = {
    "prosody": PROSODY_EMOTIONS,
    "language": LANGUAGE_EMOTIONS,
    "ner": LANGUAGE_EMOTIONS,
    "burst": BURST_EMOTIONS,
    "face": FACE_EMOTIONS,
}

#: Every model key that may appear under ``models`` in a prediction.
MODEL_NAMES: Final[tuple[str, ...]] = ("prosody", "language", "ner", "burst", "face", "facemesh")

#: Column names used in wide frames for the sentiment distribution.
SENTIMENT_COLUMNS: Final[tuple[str, ...]] = tuple(f"sentiment_{lvl}" for lvl in SENTIMENT_LEVELS)


def emotions_for(model: str) -> tuple[str, ...]:
    """Return the emotion names a model's predictions carry (empty for facemesh and unknown models)."""
    return MODEL_EMOTIONS.get(model, ())


def sentiment_expected_value(scores: dict[str, float] | list[float]) -> float:
    """Expected level 1..9 of a sentiment distribution (renormalised; 5.0 when the mass is zero).

    >>> sentiment_expected_value({"1": 0.0, "9": 1.0})
    9.0
    """
    if isinstance(scores, dict):
        probs = [float(scores.get(lvl, 0.0) or 0.0) for lvl in SENTIMENT_LEVELS]
    else:
        probs = [float(x) for x in scores]
    total = sum(probs)
    if total <= 0:
        return 5.0
    return sum((i + 1) * p for i, p in enumerate(probs)) / total
