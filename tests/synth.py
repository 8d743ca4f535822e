"""Synthetic Hume-format payloads for tests and benchmarks (format exercise only: the scores mean nothing).

Real results come from the engine (emolens.engine) or from archives; these exist so format code can be exercised
at any size (e.g. a one-hour word-level result) with the awkward parts real archives have: nulls, unknown extra
fields, several speakers, face and burst models, per-file errors.
"""

from __future__ import annotations

import random
from typing import Any

from emolens.emotions import LANGUAGE_EMOTIONS, PROSODY_EMOTIONS, SENTIMENT_LEVELS, TOXICITY_CATEGORIES

_WORDS = (
    "well I think that we should really go back there again because it was lovely and the food "
    "was great but honestly the service was slow"
).split()


def _scores(rng: random.Random, names: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"name": n, "score": round(rng.random() ** 3, 6)} for n in names]


def _dist(rng: random.Random, names: tuple[str, ...]) -> list[dict[str, Any]]:
    raw = [rng.random() for _ in names]
    total = sum(raw)
    return [{"name": n, "score": round(x / total, 6)} for n, x in zip(names, raw)]


def word_level_result(n_words: int = 10_000, seed: int = 0, speakers: int = 2) -> list[dict[str, Any]]:
    """One audio source with word-level language (sentiment + toxicity) and utterance-level prosody."""
    rng = random.Random(seed)
    t = 0.0
    pos = 0
    lang: dict[str, list[dict[str, Any]]] = {f"spk_{i}": [] for i in range(speakers)}
    prosody: dict[str, list[dict[str, Any]]] = {f"spk_{i}": [] for i in range(speakers)}
    spk = 0
    utt_start = 0.0
    utt_words: list[str] = []
    for i in range(n_words):
        w = _WORDS[i % len(_WORDS)]
        dur = 0.15 + rng.random() * 0.3
        lang[f"spk_{spk}"].append(
            {
                "text": w,
                "position": {"begin": pos, "end": pos + len(w)},
                "time": {"begin": round(t, 3), "end": round(t + dur, 3)},
                "confidence": round(0.6 + rng.random() * 0.4, 4),
                "speaker_confidence": round(rng.random(), 4),
                "emotions": _scores(rng, LANGUAGE_EMOTIONS),
                "sentiment": _dist(rng, SENTIMENT_LEVELS),
                "toxicity": _scores(rng, TOXICITY_CATEGORIES),
            }
        )
        utt_words.append(w)
        pos += len(w) + 1
        t += dur + 0.05
        if len(utt_words) >= 12 or i == n_words - 1:
            prosody[f"spk_{spk}"].append(
                {
                    "text": " ".join(utt_words),
                    "time": {"begin": round(utt_start, 3), "end": round(t, 3)},
                    "confidence": round(0.7 + rng.random() * 0.3, 4),
                    "speaker_confidence": round(rng.random(), 4),
                    "emotions": _scores(rng, PROSODY_EMOTIONS),
                }
            )
            t += 0.6
            utt_start = t
            utt_words = []
            spk = (spk + 1) % speakers
    models = {
        "prosody": {
            "metadata": {"confidence": 0.91, "detected_language": "en"},
            "grouped_predictions": [{"id": k, "predictions": v} for k, v in prosody.items()],
        },
        "language": {
            "metadata": {"confidence": 0.91, "detected_language": "en"},
            "grouped_predictions": [{"id": k, "predictions": v} for k, v in lang.items()],
        },
    }
    return [
        {
            "source": {"type": "file", "filename": "meeting.wav", "content_type": "audio/wav", "md5sum": "0" * 32},
            "results": {"predictions": [{"file": "meeting.wav", "file_type": "audio", "models": models}], "errors": []},
            "error": None,
        }
    ]


def awkward_result(seed: int = 1) -> list[dict[str, Any]]:
    """A small payload with every awkward part: text/url/file sources, nulls, extra fields, face, burst, errors."""
    rng = random.Random(seed)
    text_src = {
        "source": {"type": "text"},
        "results": {
            "predictions": [
                {
                    "file": "0",
                    "file_type": "text",
                    "models": {
                        "language": {
                            "metadata": None,
                            "grouped_predictions": [
                                {
                                    "id": "unknown",
                                    "predictions": [
                                        {
                                            "text": "I love this",
                                            "position": {"begin": 0, "end": 11},
                                            "time": None,
                                            "confidence": None,
                                            "speaker_confidence": None,
                                            "emotions": _scores(rng, LANGUAGE_EMOTIONS),
                                            "sentiment": None,
                                            "toxicity": None,
                                            "x_vendor_note": {"kept": True},
                                        },
                                    ],
                                }
                            ],
                        },
                        "ner": {
                            "metadata": None,
                            "grouped_predictions": [
                                {
                                    "id": "unknown",
                                    "predictions": [
                                        {
                                            "entity": "Paris",
                                            "position": {"begin": 5, "end": 10},
                                            "entity_confidence": 0.99,
                                            "support": 8.5,
                                            "uri": "https://www.wikidata.org/wiki/Q90",
                                            "link_word": "Paris",
                                            "time": None,
                                            "confidence": None,
                                            "speaker_confidence": None,
                                            "emotions": _scores(rng, LANGUAGE_EMOTIONS),
                                        },
                                    ],
                                }
                            ],
                        },
                    },
                }
            ],
            "errors": [],
        },
        "error": None,
    }
    video_src = {
        "source": {"type": "url", "url": "https://example.org/clip.mp4"},
        "results": {
            "predictions": [
                {
                    "file": "clip.mp4",
                    "file_type": "video",
                    "models": {
                        "face": {
                            "metadata": None,
                            "grouped_predictions": [
                                {
                                    "id": "face_0",
                                    "predictions": [
                                        {
                                            "frame": f,
                                            "time": f / 3,
                                            "prob": 0.998,
                                            "box": {"x": 10.5, "y": 20.0, "w": 64.0, "h": 80.25},
                                            "emotions": _scores(rng, PROSODY_EMOTIONS),
                                            "facs": None,
                                            "descriptions": None,
                                        }
                                        for f in range(3)
                                    ],
                                }
                            ],
                        },
                        "burst": {
                            "metadata": None,
                            "grouped_predictions": [
                                {
                                    "id": "unknown",
                                    "predictions": [
                                        {
                                            "time": {"begin": 1.2, "end": 1.9},
                                            "emotions": _scores(rng, PROSODY_EMOTIONS),
                                            "descriptions": [{"name": "Laugh", "score": 0.7}],
                                        }
                                    ],
                                }
                            ],
                        },
                        "prosody": {
                            "metadata": {"confidence": 0.88, "detected_language": "en", "x_extra": 1},
                            "grouped_predictions": [
                                {
                                    "id": "unknown",
                                    "predictions": [
                                        {
                                            "text": None,
                                            "time": {"begin": 0.0, "end": 2.5},
                                            "confidence": None,
                                            "speaker_confidence": None,
                                            "emotions": _scores(rng, PROSODY_EMOTIONS),
                                        }
                                    ],
                                }
                            ],
                        },
                    },
                }
            ],
            "errors": [{"message": "face model: no faces detected in frame range", "file": "clip.mp4"}],
        },
        "error": None,
    }
    failed_src = {
        "source": {"type": "file", "filename": "broken.mp3", "md5sum": "f" * 32},
        "results": None,
        "error": "Transcript confidence too low (0.12)",
    }
    return [text_src, video_src, failed_src]
