"""Vocal bursts (Hume's ``burst`` model): find laughs, sighs, gasps, cries, "oh!"s in audio and score 48 emotions.

Detection rule (measured by ``python -m emolens.eval.burst``; see docs/models.md):

1. Voice activity: :func:`emolens.engine.burst_features.activity` (10 ms RMS, thresholds relative to the file's
   loud frames and noise floor, stretches closer than 0.25 s merged).
2. Not words: each active stretch minus the transcript's words (each widened by 0.1 s). Interjections
   (:data:`INTERJECTIONS`: "oh", "ha", "hmm", "ugh", "wow" ..., also with letters stretched: "aaah", "eeeh"; and
   one- or two-letter tokens of non-Latin scripts, e.g. 아) and words Whisper itself doubts
   (confidence < :data:`WORD_CONFIDENCE`) do not count as words. Pieces of at least :data:`MIN_BURST` s remain;
   an unbroken piece longer than :data:`MAX_STRETCH` s (four times EmoGator's longest burst, no pause of 0.25 s)
   is speech the transcript missed, not a burst, and is dropped; pieces longer than :data:`MAX_BURST` s are cut
   into equal parts.
3. Burst or speech, cheapest test first: a logistic pre-detector on statistics of the piece's Whisper log-mel drops
   clear speech before any encoder work; a logistic detector on those statistics ++ the Whisper-encoder mean/std
   (both trained on EmoGator bursts vs. plain speech of EmoDB/ASED/BAVED) keeps pieces with p(burst) >= its
   threshold; kept pieces less than :data:`BURST_GAP` s apart are joined (up to MAX_BURST) and scored again as one
   burst. Hand features are computed only for kept pieces (the classifier needs them).

A single 0.4-2 s burst clip therefore yields one prediction; silence yields none (no activity), plain speech none
or very few (its voiced stretches are words). Laughter between words is found; laughter spoken through words is
not. Without a transcript (``words=None``) step 2 is skipped and only the acoustic classifier decides.

Scores: an ensemble over EmoGator's 30 categories (logistic regressions on the hand features and on the mean/std
of intermediate Whisper encoder layers, and MLPs on both), temperature-calibrated on a speaker-disjoint part of the
training split, mapped to Hume's 48 names by :data:`DERIVED`. The layers come from a float32 copy of the
encoder (:mod:`emolens.engine.whisper_layers`) run only on kept pieces and only as deep as needed.
Shipped as a plain ``.npz`` (``emolens/weights/burst``; reproduce with ``python -m emolens.train.burst``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from emolens.emotions import PROSODY_EMOTIONS
from emolens.engine.npz import read_npz
from emolens.engine.options import BurstOptions
from emolens.engine.results import ModelOutput, ScoredSegment
from emolens.engine.types import Word

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
MAX_STRETCH = 8.0
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
    """The shipped weights: a pre-detector, a burst-vs-speech detector and a 30-category classifier (numpy only).

    ``arrays``: pre_mean, pre_scale, pre_w1, pre_b1, pre_w2, pre_b2, pre_threshold (MLP pre-detector on the
    :func:`~emolens.engine.burst_features.mel_stats`); det_mean, det_scale, det_coef, det_intercept, det_threshold
    (logistic detector on mel stats ++ encoder mean/std); mean, scale (standardisation of the classifier input,
    [hand features ++ pooled intermediate encoder layers]); e_pca (G, d, k), e_pca_mean (G, d) (principal
    components of each of the embedding block's G equal groups, one per encoder layer); h_lr_coef/h_lr_intercept,
    e_lr_coef (G, C, k)/e_lr_intercept (G, C) (logistic regressions on the hand block and on each group's
    components, the groups' probabilities averaged); j_scale, mlp_w1 (S, n_hand + G k, h), mlp_b1 (S, h), mlp_w2
    (S, h, C), mlp_b2 (S, C) (S MLPs on hand block ++ j_scale x every group's components); lr_weight,
    head_weight, temperature, hand_cols, emb_dim, layers (the Whisper encoder layers whose mean/std form the
    embedding block, :func:`~emolens.engine.burst_features.layer_pool`); optional geometric (1: the regressions and
    the MLPs are pooled log-linearly, weighted by lr_weight; absent or 0: averaged).
    """

    def __init__(self, arrays) -> None:
        self.a = {k: np.asarray(arrays[k]) for k in arrays.files} if hasattr(arrays, "files") else dict(arrays)
        self.threshold = float(self.a["det_threshold"])
        self.pre_threshold = float(self.a["pre_threshold"])
        self.temperature = float(self.a["temperature"])
        self.lr_weight = float(self.a["lr_weight"])
        self.hand_cols = self.a["hand_cols"].astype(int)
        self.emb_dim = int(self.a["emb_dim"])
        self.head_weight = float(self.a["head_weight"])  # weight of the hand-feature head
        self.layers = tuple(int(v) for v in self.a["layers"])
        # how the regressions and the MLPs are pooled: 1 = geometric (log-linear), 0 = arithmetic (older weights)
        self.geometric = bool(int(self.a["geometric"])) if "geometric" in self.a else False

    @classmethod
    def load(cls, path: Path) -> BurstModel:
        """Read weights from a plain ``.npz`` (no pickles)."""
        return cls(read_npz(path, "burst model", "run python -m emolens.train.burst"))

    def _logistic(self, pre: str, x: np.ndarray) -> np.ndarray:
        a = self.a
        z = np.clip((np.atleast_2d(x) - a[pre + "mean"]) / a[pre + "scale"], -8.0, 8.0)
        return 1.0 / (1.0 + np.exp(-(z @ a[pre + "coef"] + float(a[pre + "intercept"]))))

    def pre_proba(self, mel_stats: np.ndarray) -> np.ndarray:
        """p(burst) of the cheap pre-detector (a 64-unit ReLU MLP) from mel statistics (n, 241)."""
        a = self.a
        z = np.clip((np.atleast_2d(mel_stats) - a["pre_mean"]) / a["pre_scale"], -8.0, 8.0)
        h = np.maximum(z @ a["pre_w1"] + a["pre_b1"], 0.0)
        return 1.0 / (1.0 + np.exp(-(h @ a["pre_w2"] + float(a["pre_b2"]))))

    def detect_proba(self, mel_stats: np.ndarray, meanstd: np.ndarray) -> np.ndarray:
        """p(burst) from mel statistics (n, 241) ++ encoder mean/std (n, 1024)."""
        return self._logistic("det_", np.hstack([np.atleast_2d(mel_stats), np.atleast_2d(meanstd)]))

    def design(self, hand: np.ndarray, emb: np.ndarray) -> np.ndarray:
        """Standardised classifier input from hand features (n, 163) and pooled encoder layers (n, emb_dim)."""
        x = np.hstack([np.atleast_2d(hand)[:, self.hand_cols], np.atleast_2d(emb)[:, : self.emb_dim]])
        return np.clip((x.astype(np.float64) - self.a["mean"]) / self.a["scale"], -8.0, 8.0)

    def logits(self, z: np.ndarray) -> np.ndarray:
        """Uncalibrated ensemble log-probabilities over the 30 categories.

        Two logistic regressions (on the hand block, and on the embedding block's principal components) mixed by
        ``head_weight``, and MLPs on both blocks together (the hand block ++ the scaled components), pooled with
        the regressions by ``lr_weight`` (geometrically or arithmetically, see ``geometric``)."""
        a = self.a
        n_hand = len(self.hand_cols)
        zh = z[:, :n_hand]
        pca, coef, icpt = a["e_pca"], a["e_lr_coef"], a["e_lr_intercept"]
        groups = z[:, n_hand:].reshape(len(z), len(pca), -1)
        k = [(groups[:, g] - a["e_pca_mean"][g]) @ pca[g] for g in range(len(pca))]
        p_e = np.mean([_softmax(k[g] @ coef[g].T + icpt[g]) for g in range(len(pca))], axis=0)
        p_lr = self.head_weight * _softmax(zh @ a["h_lr_coef"].T + a["h_lr_intercept"]) + (1 - self.head_weight) * p_e
        j = np.hstack([zh, *(kg * float(a["j_scale"]) for kg in k)])
        w1 = a["mlp_w1"]
        p_mlp = np.zeros_like(p_lr)
        for s in range(w1.shape[0]):
            h = np.maximum(j @ w1[s] + a["mlp_b1"][s], 0.0)
            p_mlp += _softmax(h @ a["mlp_w2"][s] + a["mlp_b2"][s])
        if self.geometric:
            # log-linear pooling (a product of experts): a category ranks high only where both the regressions and
            # the MLPs give it mass; on 5 speaker-disjoint train folds it beat the plain average on top-1 and top-5
            p_mlp /= max(1, w1.shape[0])
            return self.lr_weight * np.log(p_lr + 1e-9) + (1 - self.lr_weight) * np.log(p_mlp + 1e-9)
        p = self.lr_weight * p_lr + (1 - self.lr_weight) * p_mlp / max(1, w1.shape[0])
        return np.log(p + 1e-9)

    def categories(self, z: np.ndarray) -> np.ndarray:
        """Calibrated (n, 30) category probabilities."""
        return _softmax(self.logits(z) / self.temperature)


@lru_cache(maxsize=1)
def get_model() -> BurstModel:
    """The shipped burst model, loaded once per process (with the encoder layers its classifier reads, so the
    first burst found does not pay for loading them)."""
    from emolens.engine import whisper_layers

    model = BurstModel.load(WEIGHTS_DIR / WEIGHTS_FILE)
    whisper_layers.load(max(int(v) for v in model.layers))
    return model


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
            if pe - pb < MIN_BURST or pe - pb > MAX_STRETCH:
                continue
            n = int(np.ceil((pe - pb) / MAX_BURST))
            edges = np.linspace(pb, pe, n + 1)
            out += [(float(edges[i]), float(edges[i + 1])) for i in range(n)]
    return out


def score_spans(
    samples: np.ndarray, spans: list[tuple[float, float]], *, classify_all: bool = False, classify: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Detector probabilities (n,) and calibrated category probabilities (n, 30) of ``spans`` of ``samples``.

    Work is spent in order of cost and only where needed: mel statistics for every span (the pre-detector), the
    Whisper encoder for spans the pre-detector passes (the detector), hand features and intermediate encoder layers
    for spans the detector keeps (the classifier). Spans rejected early get p(burst) 0 (pre-detector) or the
    detector's, and uniform categories (they are not bursts). ``classify_all`` scores every span whatever the
    detectors say (evaluation); ``classify=False`` runs the detectors only (all categories uniform)."""
    from threadpoolctl import threadpool_limits

    n = len(spans)
    cats = np.full((n, len(CATEGORIES)), 1.0 / len(CATEGORIES))
    if not spans:
        return np.zeros(0), cats
    # One BLAS thread: the products here are tiny (an 80 x 201 mel filterbank per piece), and threaded BLAS on a
    # busy machine made the log-mel 6x slower; the training tables were computed on one thread as well.
    with threadpool_limits(limits=1, user_api="blas"):
        return _score(samples, spans, classify_all, classify, cats)


def classify_spans(samples: np.ndarray, spans: list[tuple[float, float]]) -> np.ndarray:
    """Calibrated category probabilities (n, 30) of ``spans`` taken as bursts (no detector): exactly what
    :func:`score_spans` gives a kept span."""
    from threadpoolctl import threadpool_limits

    from emolens.engine.burst_features import excerpt, whisper_mel

    if not spans:
        return np.zeros((0, len(CATEGORIES)))
    with threadpool_limits(limits=1, user_api="blas"):
        ex = [excerpt(samples, b, e) for b, e in spans]
        return _classify(ex, [whisper_mel(x) for x in ex])


def _classify(ex: list[np.ndarray], mels: list[np.ndarray]) -> np.ndarray:
    from emolens.engine import spans_pool
    from emolens.engine.burst_features import hand_features, layer_pool

    model = get_model()
    hand = np.vstack([hand_features(x) for x in ex])
    # one numpy encoder pass per burst, spread over the cores (bit-identical: each on one BLAS thread)
    emb = np.vstack(spans_pool.pmap(lambda m: layer_pool(m, model.layers), mels))
    return model.categories(model.design(hand, emb))


def _score(
    samples: np.ndarray, spans: list[tuple[float, float]], classify_all: bool, classify: bool, cats: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    from emolens.engine.burst_features import encode, excerpt, mel_stats, pool, whisper_mel

    n = len(spans)
    model = get_model()
    ex = [excerpt(samples, b, e) for b, e in spans]
    mels = [whisper_mel(x) for x in ex]
    stats = np.vstack([mel_stats(m) for m in mels])
    p_det = model.pre_proba(stats)
    todo = np.arange(n) if classify_all else np.nonzero(p_det >= model.pre_threshold)[0]
    if not todo.size:
        return np.zeros(n), cats
    states = [encode(mels[i]) for i in todo]
    p_det[todo] = model.detect_proba(stats[todo], np.vstack([pool(h) for h in states]))
    p_det[np.setdiff1d(np.arange(n), todo)] = 0.0
    rows = [i for i in todo if classify_all or (classify and p_det[i] >= model.threshold)]
    if rows:
        cats[rows] = _classify([ex[i] for i in rows], [mels[i] for i in rows])
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
    model = get_model()  # loaded (once) even when nothing is found, so a warm-up call always warms the stage
    spans = candidates(samples, words)
    if not spans:
        return []
    # Detectors first, on every piece; the classifier (hand features + encoder layers, the costly part) then runs
    # once per reported burst: on pieces that stay alone and on joined spans, not on pieces that are joined.
    p_det, _ = score_spans(samples, spans, classify=False)
    det = {spans[i]: float(p_det[i]) for i in range(len(spans)) if p_det[i] >= model.threshold}
    merged = _merge(list(det))
    singles = [sp for sp in merged if sp in det]
    kept = {sp: (det[sp], c) for sp, c in zip(singles, classify_spans(samples, singles), strict=True)}
    joined = [sp for sp in merged if sp not in det]  # only spans made of several pieces are scored again
    if joined:
        p2, c2 = score_spans(samples, joined)
        for i, (b, e) in enumerate(joined):
            if p2[i] >= model.threshold:
                kept[(b, e)] = (float(p2[i]), c2[i])
            else:  # the joined span alone is less burst-like than its pieces: keep what the pieces said
                parts = [sp for sp in det if sp[0] >= b and sp[1] <= e]
                kept[(b, e)] = (max(det[sp] for sp in parts), np.mean(classify_spans(samples, parts), axis=0))
    out = []
    for b, e in merged:
        p, c = kept[(b, e)]
        out.append(Burst(round(b, 3), round(e, 3), p, c, hume_scores(c)[0]))
    return out


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
