"""Vocal bursts (Hume's ``burst`` model): find laughs, sighs, gasps, cries, "oh!"s in audio and score 48 emotions.

Detection rule (measured by ``python -m emolens.eval.burst``; see docs/models.md):

1. Voice activity: :func:`emolens.engine.burst_features.activity` (10 ms RMS, thresholds relative to the file's
   loud frames and noise floor, stretches closer than 0.25 s merged).
2. Not words: each active stretch minus the transcript's words (each widened by 0.1 s). Interjections
   (:data:`INTERJECTIONS`: "oh", "ha", "hmm", "ugh", "wow" ..., also with letters stretched: "aaah", "eeeh"; and
   one- or two-letter tokens of non-Latin scripts, e.g. 아) and words Whisper itself doubts
   (confidence < :data:`WORD_CONFIDENCE`) do not count as words. Pieces of at least :data:`MIN_BURST` s remain;
   longer than :data:`MAX_BURST` s are cut into equal parts.
3. Burst or speech: a logistic classifier on the piece's features (hand features + Whisper-encoder embedding,
   trained on EmoGator bursts vs. plain speech of EmoDB/ASED/BAVED) keeps pieces with p(burst) >= its threshold;
   kept pieces less than :data:`BURST_GAP` s apart are joined (up to MAX_BURST) and scored again as one burst.

A single 0.4-2 s burst clip therefore yields one prediction; silence yields none (no activity), plain speech none
or very few (its voiced stretches are words). Laughter between words is found; laughter spoken through words is
not. Without a transcript (``words=None``) step 2 is skipped and only the acoustic classifier decides.

Scores: an ensemble (logistic regression + small MLPs) over EmoGator's 30 categories, temperature-calibrated on
speaker-grouped cross-validation of the training split, mapped to Hume's 48 names by :data:`DERIVED`.
Shipped as a plain ``.npz`` (``emolens/weights/burst``; reproduce with ``python -m emolens.train.burst``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from emolens.emotions import PROSODY_EMOTIONS
from emolens.engine.options import BurstOptions
from emolens.engine.results import ModelOutput, ScoredSegment
from emolens.engine.types import Word
from emolens.errors import EngineError

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights" / "burst"
WEIGHTS_FILE = "burst_model.npz"

#: EmoGator's 30 categories, in its index order (category id = index + 1).
CATEGORIES: tuple[str, ...] = (
    "Adoration",
    "Amusement",
    "Anger",
    "Awe",
    "Confusion",
    "Contempt",
    "Contentment",
    "Desire",
    "Disappointment",
    "Disgust",
    "Distress",
    "Ecstasy",
    "Elation",
    "Embarrassment",
    "Fear",
    "Guilt",
    "Interest",
    "Neutral",
    "Pain",
    "Pride",
    "Realization",
    "Relief",
    "Romantic Love",
    "Sadness",
    "Serenity",
    "Shame",
    "Surprise (Negative)",
    "Surprise (Positive)",
    "Sympathy",
    "Triumph",
)

#: Hume name -> {EmoGator category: weight}; a name's score is the weighted sum of category probabilities (<= 1).
#: Categories that are Hume names map to themselves; Romantic Love -> Romance, Elation -> Joy and Excitement,
#: Serenity -> Calmness. Names without data borrow from their nearest categories in Cowen et al.'s (2019) vocal
#: burst map; Neutral maps to no name, so a neutral burst lowers every score.
DERIVED: dict[str, dict[str, float]] = {
    **{c: {c: 1.0} for c in CATEGORIES if c in PROSODY_EMOTIONS},
    "Surprise (negative)": {"Surprise (Negative)": 1.0},
    "Surprise (positive)": {"Surprise (Positive)": 1.0},
    "Romance": {"Romantic Love": 1.0},
    "Joy": {"Elation": 1.0, "Amusement": 0.2, "Ecstasy": 0.2},
    "Excitement": {"Elation": 1.0, "Triumph": 0.3, "Ecstasy": 0.3},
    "Calmness": {"Serenity": 1.0, "Contentment": 0.2, "Relief": 0.2},
    # names without EmoGator data
    "Admiration": {"Awe": 0.5, "Adoration": 0.3},
    "Aesthetic Appreciation": {"Awe": 0.5, "Contentment": 0.3},
    "Anxiety": {"Fear": 0.5, "Distress": 0.4},
    "Awkwardness": {"Embarrassment": 0.7, "Shame": 0.1},
    "Boredom": {"Disappointment": 0.3, "Neutral": 0.3},
    "Concentration": {"Interest": 0.4, "Neutral": 0.2},
    "Contemplation": {"Interest": 0.4, "Confusion": 0.3},
    "Craving": {"Desire": 0.7},
    "Determination": {"Triumph": 0.5, "Anger": 0.2},
    "Doubt": {"Confusion": 0.6, "Contempt": 0.2},
    "Empathic Pain": {"Sympathy": 0.5, "Pain": 0.3},
    "Entrancement": {"Awe": 0.5, "Serenity": 0.3},
    "Envy": {"Disappointment": 0.4, "Contempt": 0.3},
    "Horror": {"Fear": 0.5, "Disgust": 0.3, "Surprise (Negative)": 0.2},
    "Love": {"Adoration": 0.5, "Romantic Love": 0.5},
    "Nostalgia": {"Contentment": 0.3, "Sadness": 0.3, "Adoration": 0.2},
    "Satisfaction": {"Contentment": 0.5, "Relief": 0.3},
    "Tiredness": {"Disappointment": 0.3, "Serenity": 0.2, "Neutral": 0.2},
}

#: Transcribed tokens that are vocal bursts, not words (compared lower-case without punctuation).
INTERJECTIONS: frozenset[str] = frozenset(
    "ah aah aha ahh aw aww awww eh er ew eww ha haha hahaha hah heh hehe hm hmm hmmm huh mm mmm mhm mm-hmm oh ohh "
    "ooh oof oops ouch ow oww phew psst sh shh tsk ugh uh uh-huh uh-oh um umm whoa wow woah wo woo yay yeah-yeah "
    "yuck yum yikes argh aargh grr hmph pfft ahem ho hoo ya yah".split()
)
WORD_CONFIDENCE = 0.5
WORD_PAD = 0.1
MIN_BURST = 0.2
MAX_BURST = 2.5
BURST_GAP = 0.6

#: Hume's ``descriptions`` for bursts: EmoGator has no vocal-type labels (laugh, sigh, ...), so none are given.
DESCRIPTIONS: tuple[str, ...] = ()

_MATRIX = np.zeros((len(CATEGORIES), len(PROSODY_EMOTIONS)))
for _name, _ws in DERIVED.items():
    for _cat, _w in _ws.items():
        _MATRIX[CATEGORIES.index(_cat), PROSODY_EMOTIONS.index(_name)] = _w
assert set(DERIVED) == set(PROSODY_EMOTIONS), sorted(set(PROSODY_EMOTIONS) - set(DERIVED))


@dataclass(frozen=True, slots=True)
class Burst:
    """One detected burst: time span (s), detector probability, 30 category probabilities and 48 Hume scores."""

    begin: float
    end: float
    probability: float
    categories: np.ndarray  # (30,) aligned with CATEGORIES, sums to 1
    scores: np.ndarray  # (48,) aligned with PROSODY_EMOTIONS, each in 0..1


def hume_scores(probs: np.ndarray) -> np.ndarray:
    """Map (n, 30) category probabilities to (n, 48) Hume scores with :data:`DERIVED`."""
    return np.clip(np.atleast_2d(probs) @ _MATRIX, 0.0, 1.0)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


class BurstModel:
    """The shipped weights: a burst-vs-speech detector and a 30-category classifier (numpy only).

    ``arrays``: mean, scale (standardisation of [hand features ++ embedding]); det_coef (d,), det_intercept,
    det_threshold; per head (prefix ``h_`` on the hand block, ``e_`` on the embedding block): pca (d, k),
    pca_mean (d,), lr_coef (C, k), lr_intercept (C,), mlp_w1 (S, k, h), mlp_b1 (S, h), mlp_w2 (S, h, C),
    mlp_b2 (S, C); lr_weight, head_weight (hand head's share), temperature, hand_cols, emb_dim.
    """

    def __init__(self, arrays) -> None:
        self.a = {k: np.asarray(arrays[k]) for k in arrays.files} if hasattr(arrays, "files") else dict(arrays)
        self.threshold = float(self.a["det_threshold"])
        self.temperature = float(self.a["temperature"])
        self.lr_weight = float(self.a["lr_weight"])
        self.hand_cols = self.a["hand_cols"].astype(int)
        self.emb_dim = int(self.a.get("emb_dim", 0))  # 0: the model uses hand features only
        self.head_weight = float(self.a.get("head_weight", 1.0))  # weight of the hand-feature head
        self.pre_threshold = float(self.a.get("pre_threshold", 0.0))

    @classmethod
    def load(cls, path: Path) -> BurstModel:
        """Read weights from a plain ``.npz`` (no pickles)."""
        try:
            with np.load(path, allow_pickle=False) as z:
                return cls({k: z[k] for k in z.files})
        except (OSError, ValueError, KeyError) as e:
            raise EngineError(f"burst model weights unreadable at {path}: {e}") from e

    def design(self, hand: np.ndarray, emb: np.ndarray | None) -> np.ndarray:
        """Standardised model input from hand features (n, 163) and embeddings (n, 1024; unused if emb_dim=0)."""
        parts = [np.atleast_2d(hand)[:, self.hand_cols]]
        if self.emb_dim:
            if emb is None:
                raise EngineError("the burst model needs embeddings (emb_dim > 0) but none were given")
            parts.append(np.atleast_2d(emb)[:, : self.emb_dim])
        x = np.hstack(parts).astype(np.float64)
        return np.clip((x - self.a["mean"]) / self.a["scale"], -8.0, 8.0)

    def pre_proba(self, hand: np.ndarray) -> np.ndarray:
        """p(burst) from hand features alone (the pre-detector; 1 where the weights have none)."""
        if "pre_coef" not in self.a:
            return np.ones(len(hand))
        z = np.clip(
            (np.atleast_2d(hand)[:, self.hand_cols] - self.a["mean"][: len(self.hand_cols)])
            / self.a["scale"][: len(self.hand_cols)],
            -8.0,
            8.0,
        )
        return 1.0 / (1.0 + np.exp(-(z @ self.a["pre_coef"] + float(self.a["pre_intercept"]))))

    def detect_proba(self, z: np.ndarray) -> np.ndarray:
        """p(burst) of standardised rows ``z``."""
        return 1.0 / (1.0 + np.exp(-(z @ self.a["det_coef"] + float(self.a["det_intercept"]))))

    def head(self, z: np.ndarray, pre: str) -> np.ndarray:
        """Class probabilities of one head (``h_``: hand features, ``e_``: embedding) on its block of ``z``."""
        a = self.a
        k = (z - a[pre + "pca_mean"]) @ a[pre + "pca"]
        p_lr = _softmax(k @ a[pre + "lr_coef"].T + a[pre + "lr_intercept"])
        p_mlp = np.zeros_like(p_lr)
        w1 = a[pre + "mlp_w1"]
        for s in range(w1.shape[0]):
            h = np.maximum(k @ w1[s] + a[pre + "mlp_b1"][s], 0.0)
            p_mlp += _softmax(h @ a[pre + "mlp_w2"][s] + a[pre + "mlp_b2"][s])
        p_mlp /= w1.shape[0]
        return self.lr_weight * p_lr + (1 - self.lr_weight) * p_mlp

    def logits(self, z: np.ndarray) -> np.ndarray:
        """Uncalibrated ensemble log-probabilities over the 30 categories (the heads' probabilities averaged)."""
        n_hand = len(self.hand_cols)
        p = self.head(z[:, :n_hand], "h_")
        if self.emb_dim:
            p = self.head_weight * p + (1 - self.head_weight) * self.head(z[:, n_hand:], "e_")
        return np.log(p + 1e-9)

    def categories(self, z: np.ndarray) -> np.ndarray:
        """Calibrated (n, 30) category probabilities."""
        return _softmax(self.logits(z) / self.temperature)


@lru_cache(maxsize=1)
def get_model() -> BurstModel:
    """The shipped burst model, loaded once per process."""
    path = WEIGHTS_DIR / WEIGHTS_FILE
    if not path.is_file():
        raise EngineError(f"burst model weights missing at {path}: run python -m emolens.train.burst")
    return BurstModel.load(path)


def _interjection(token: str) -> bool:
    """An interjection: listed once letter runs are collapsed ("aaah" -> "ah", "hmmm" -> "hm"), or one or two
    letters of a non-Latin script (Whisper writes a Korean "ah" as 아)."""
    if token in INTERJECTIONS:
        return True
    collapsed = "".join(ch for i, ch in enumerate(token) if i == 0 or ch != token[i - 1])
    if collapsed in INTERJECTIONS:
        return True
    return len(token) <= 2 and not any("a" <= ch <= "z" for ch in token)


def _is_word(w: Word) -> bool:
    token = "".join(ch for ch in w.text.lower() if ch.isalpha() or ch == "-").strip("-")
    return bool(token) and not _interjection(token) and w.confidence >= WORD_CONFIDENCE


def candidates(samples: np.ndarray, words: list[Word] | None) -> list[tuple[float, float]]:
    """Active stretches that are not words (steps 1-2 of the rule), cut to at most MAX_BURST s."""
    from emolens.engine.burst_features import activity

    spans = activity(samples)
    blocks = sorted((w.begin - WORD_PAD, w.end + WORD_PAD) for w in (words or []) if _is_word(w))
    out: list[tuple[float, float]] = []
    for b, e in spans:
        pieces = [(b, e)]
        for wb, we in blocks:
            if we <= b or wb >= e:
                continue
            nxt = []
            for pb, pe in pieces:
                if we <= pb or wb >= pe:
                    nxt.append((pb, pe))
                    continue
                if wb > pb:
                    nxt.append((pb, wb))
                if we < pe:
                    nxt.append((we, pe))
            pieces = nxt
        for pb, pe in pieces:
            if pe - pb < MIN_BURST:
                continue
            n = int(np.ceil((pe - pb) / MAX_BURST))
            edges = np.linspace(pb, pe, n + 1)
            out += [(float(edges[i]), float(edges[i + 1])) for i in range(n)]
    return out


def score_spans(samples: np.ndarray, spans: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Detector probabilities (n,) and calibrated category probabilities (n, 30) of ``spans`` of ``samples``.

    Pieces the hand-feature pre-detector rejects get p(burst) 0 and uniform categories (they are not bursts).
    """
    from emolens.engine.burst_features import embed, excerpt, hand_features

    if not spans:
        return np.zeros(0), np.zeros((0, len(CATEGORIES)))
    model = get_model()
    ex = [excerpt(samples, b, e) for b, e in spans]
    hand = np.vstack([hand_features(x) for x in ex])
    p_det = np.zeros(len(spans))
    cats = np.full((len(spans), len(CATEGORIES)), 1.0 / len(CATEGORIES))
    # The hand-feature pre-detector (cheap) drops clear speech before the Whisper embedding (the costly part).
    todo = np.nonzero(model.pre_proba(hand) >= model.pre_threshold)[0]
    if todo.size:
        z = model.design(hand[todo], embed([ex[i] for i in todo]) if model.emb_dim else None)
        p_det[todo], cats[todo] = model.detect_proba(z), model.categories(z)
    return p_det, cats


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Join kept pieces less than BURST_GAP s apart (one laugh with breaths between pulses is one burst)."""
    out: list[list[float]] = []
    for b, e in sorted(spans):
        if out and b - out[-1][1] < BURST_GAP and e - out[-1][0] <= MAX_BURST:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([b, e])
    return [(b, e) for b, e in out]


def detect(samples: np.ndarray, words: list[Word] | None = None) -> list[Burst]:
    """Vocal bursts in 16 kHz mono ``samples``; ``words`` is the transcript (None: acoustic classifier only)."""
    samples = np.asarray(samples, dtype=np.float32)
    spans = candidates(samples, words)
    if not spans:
        return []
    model = get_model()
    p_det, cats = score_spans(samples, spans)
    kept = [spans[i] for i in range(len(spans)) if p_det[i] >= model.threshold]
    merged = _merge(kept)
    if merged != kept:  # joined pieces are scored again as one span
        p_det, cats = score_spans(samples, merged)
    else:
        keep = p_det >= model.threshold
        p_det, cats = p_det[keep], cats[keep]
    scores = hume_scores(cats) if merged else np.zeros((0, len(PROSODY_EMOTIONS)))
    return [Burst(round(b, 3), round(e, 3), float(p_det[i]), cats[i], scores[i]) for i, (b, e) in enumerate(merged)]


def _speaker_near(words: list[Word], begin: float, end: float) -> tuple[str, float | None]:
    """The speaker of the word nearest the burst (bursts have no words of their own)."""
    labelled = [w for w in words if w.speaker != "unknown"]
    if not labelled:
        return "unknown", None
    mid = (begin + end) / 2
    w = min(labelled, key=lambda w: abs((w.begin + w.end) / 2 - mid))
    return w.speaker, w.speaker_confidence


def burst_output(samples: np.ndarray, words: list[Word], options: BurstOptions) -> ModelOutput:
    """The pipeline's burst stage: :func:`detect` on the file, one scored segment per burst.

    ``words`` carry speakers when ``options.identify_speakers``; a burst takes the speaker of its nearest word.
    """
    bursts = detect(samples, words)
    segments = []
    for b in bursts:
        speaker, conf = _speaker_near(words, b.begin, b.end) if options.identify_speakers else ("unknown", None)
        segments.append(
            ScoredSegment(
                text=None,
                begin=b.begin,
                end=b.end,
                char_begin=None,
                char_end=None,
                confidence=None,
                speaker=speaker,
                speaker_confidence=conf,
                scores=b.scores,
                descriptions=[],  # no burst types are supported (see DESCRIPTIONS)
            )
        )
    return ModelOutput(PROSODY_EMOTIONS, segments)
