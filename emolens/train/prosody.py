"""Train prosody v2 (:mod:`emolens.engine.prosody`) on five corpora and write its weights.

    python -m emolens.train.prosody [--datasets ../shared/datasets] [--cache DIR] [--out emolens/weights/prosody]
        [--permissive]

Data (16 kHz, under ``../shared/datasets``): RAVDESS speech (24 actors, 8 classes), EmoDB (10 speakers, 7),
ASED (Amharic, 65 speakers, 5), EmoGator (vocal bursts, 303 speakers, 30 categories; its train split only for
the weights' temperature fit, see below) and BAVED (Arabic words, 60 speakers, 3 arousal levels: arousal head
only). ``--permissive`` trains the commercial-friendly variant on EmoDB (CC0) and EmoGator (Apache-2.0) alone.

Representation per clip (silence-trimmed): 114 functionals (the model keeps the noise-robust ones, :data:`ROBUST_R`)
++ 1024 Whisper-base statistics of encoder layer
:data:`~emolens.engine.embed.LAYER` (:func:`emolens.engine.embed.whisper_stats`), cached per corpus in ``--cache``
(``<corpus>/func.npz`` and ``<corpus>/wl<LAYER>.npz``, the Whisper statistics stored as float16; about an hour on
one core for all corpora and copies, computed once).

Fit (deterministic: L-BFGS from zeros in float64, no random state):
- masked multinomial logistic regression over :data:`~emolens.engine.prosody.CLASSES`: each clip's softmax runs
  over its corpus's classes only; RAVDESS "surprised" counts as either Surprise name (the loss is -log of their
  summed probability). Every corpus weighs :data:`CORPUS_WEIGHT` (RAVDESS and EmoDB twice a burst corpus, ASED a
  quarter of one), every class within a corpus the same; the speech corpora's clips come with a copy at 20 dB SNR
  white noise (:data:`AUGMENTED`, cached like the clean clips) that weighs :data:`AUG_WEIGHT` of its corpus; the
  classes that speech corpora name get a valence/arousal prior (their weights = NAME_AV coordinates x two shared
  maps + a class-specific part under the stronger penalty :data:`L2_SPEECH`, see there);
- ridge valence/arousal head (acted labels at their :data:`~emolens.engine.prosody_v1.NAME_AV` coordinates,
  BAVED low/neutral/high at arousal -0.5/0/0.6 with no valence target);
- temperature: one scalar minimising the masked log loss of dev clips (EmoGator dev, ASED dev, RAVDESS actors
  21-24, EmoDB speakers 15-16) under a model fitted without them; the shipped model is then refitted on all clips.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emolens.engine.features import FEATURE_NAMES
from emolens.engine.prosody import CLASSES, INPUT_NAMES, NEUTRAL, WEIGHTS_DIR, WEIGHTS_FILE, ProsodyModel
from emolens.engine.prosody_v1 import NAME_AV

#: Functionals used: all but absolute loudness (recording gain).
FUNC_COLS = [i for i, n in enumerate(FEATURE_NAMES) if n != "loud_mean_db"]
CORPORA = ("ravdess_speech", "emodb", "ased", "emogator", "baved")
SPEECH = ("ravdess_speech", "emodb", "ased")
PERMISSIVE = ("emodb", "emogator")

#: Each clip's label -> the learned class(es) it names (two names: either counts).
LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "ravdess_speech": {
        "neutral": (NEUTRAL,),
        "calm": ("Calmness",),
        "happy": ("Joy",),
        "sad": ("Sadness",),
        "angry": ("Anger",),
        "fearful": ("Fear",),
        "disgust": ("Disgust",),
        "surprised": ("Surprise (positive)", "Surprise (negative)"),
    },
    "emodb": {
        "neutral": (NEUTRAL,),
        "happiness": ("Joy",),
        "sadness": ("Sadness",),
        "anger": ("Anger",),
        "fear": ("Fear",),
        "disgust": ("Disgust",),
        "boredom": ("Boredom",),
    },
    "ased": {
        "neutral": (NEUTRAL,),
        "happy": ("Joy",),
        "sad": ("Sadness",),
        "angry": ("Anger",),
        "fearful": ("Fear",),
    },
}
EMOGATOR_RENAME = {
    "Elation": "Joy",
    "Serenity": "Calmness",
    "Romantic Love": "Romance",
    "Surprise (Negative)": "Surprise (negative)",
    "Surprise (Positive)": "Surprise (positive)",
}
BAVED_AROUSAL = {"low": -0.5, "neutral": 0.0, "high": 0.6}
NEUTRAL_AV = (0.0, 0.0)

#: Hyper-parameters (chosen by leave-one-corpus-out UAR, see docs/models.md).
FEATURES = "both"  # "func", "wbase" or "both"
NAP = 0  # speaker/corpus directions projected out (nuisance attribute projection), see fit()
PCS = 192  # the Whisper block is fitted in its first PCS principal components (folded back into the weights)
L2 = 0.01
#: Valence/arousal prior on the classes that speech corpora name (SPEECH_CLASSES): each such class's weights are
#: its (valence, arousal) coordinates (NAME_AV; Neutral = (0, 0)) times two learnt maps shared by every class, plus
#: a class-specific part penalised by L2_SPEECH instead of L2; the shared maps are penalised by L2_AV. So what one
#: corpus teaches about loud or bright or slow speech moves every class along the circumplex, and a class's own
#: deviation from it must earn its keep on several corpora. Burst-only classes keep L2 (and get the same shared
#: maps). The fitted model is the same plain linear model (coef = free part + coordinates x maps). 0 = off.
L2_SPEECH = 0.05
L2_AV = 0.01
#: Speech corpora weigh twice a burst corpus (they, not EmoGator's bursts, decide Anger, Joy, Sadness... on speech),
#: except ASED, which weighs an eighth of the other speech corpora (session 8): at full weight its 65 Amharic
#: speakers, who voice happiness much like the others' anger (trained without ASED, 203 of its 485 angry clips are
#: heard as happy), pull the shared directions towards Amharic expression, and the other two corpora, held out,
#: score 0.03-0.05 UAR lower (docs/models.md, "Corpus weights").
CORPUS_WEIGHT = {"ravdess_speech": 2.0, "emodb": 2.0, "ased": 0.25, "emogator": 1.0, "baved": 1.0}
#: Noise-robust functionals only (session 8): a functional is used only if, on every training speech corpus, its
#: values on the clips and on their 20 dB noisy copies (AUGMENTED) correlate at least this much (Pearson); the
#: Whisper statistics are always used. Loudness spread, spectral roll-off/centroid, pause and MFCC-spread
#: functionals move most under noise, and a model leaning on them lost 0.107 UAR on RAVDESS at 20 dB. 0 = all.
ROBUST_R = 0.8
#: Augmented copies of the speech corpora in training (white noise at 20 dB SNR, see augment()), which together
#: weigh AUG_WEIGHT of their corpus (the clean clips the rest).
AUGMENTED = ("noise20",)
AUG_WEIGHT = 0.3
RIDGE_ALPHA = 100.0
DEV = {"ravdess_speech": {"rav21", "rav22", "rav23", "rav24"}, "emodb": {"emo15", "emo16"}}


def _default_datasets() -> Path:
    env = os.environ.get("EMOLENS_DATASETS")
    return Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def _default_cache() -> Path:
    from emolens.engine.transcribe import cache_dir

    return cache_dir() / "prosody_v2"


@dataclass
class Corpus:
    """One corpus's cached representation: ids, labels, speakers, split and the two feature blocks."""

    name: str
    ids: np.ndarray
    labels: np.ndarray
    speakers: np.ndarray
    split: np.ndarray
    func: np.ndarray  # (n, 114)
    wbase: np.ndarray  # (n, 1024)
    variant: str = "clean"  # or an augmented copy (see augment())

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self) -> np.ndarray:
        """Full input rows (:data:`~emolens.engine.prosody.INPUT_NAMES`)."""
        return np.hstack([self.func, self.wbase]).astype(np.float64)

    def take(self, idx: np.ndarray) -> Corpus:
        """The clips at ``idx``."""
        return Corpus(self.name, *(a[idx] for a in (self.ids, self.labels, self.speakers, self.split)),
                      self.func[idx], self.wbase[idx], self.variant)  # fmt: skip

    def like(self, other: Corpus) -> Corpus:
        """This corpus's clips that ``other`` (a subset of the same corpus, e.g. a fold) holds, in its order."""
        pos = {k: i for i, k in enumerate(self.ids)}
        return self.take(np.array([pos[k] for k in other.ids], int))


def listing(datasets: Path, corpus: str) -> list[tuple[str, str, str, str]]:
    """(file, label, speaker, split) of every clip in ``corpus``, byte-identical duplicates dropped."""
    out = []
    with open(datasets / corpus / "labels.csv", newline="") as f:
        for x in csv.DictReader(f):
            if x.get("duplicate_of"):
                continue
            if corpus == "ravdess_speech":
                lab, spk, split = x["emotion"], f"rav{int(x['actor']):02d}", ""
            elif corpus == "emodb":
                lab, spk, split = x["emotion"], f"emo{int(x['speaker']):02d}", ""
            elif corpus == "ased":
                lab, spk, split = x["emotion"], "ased" + x["speaker"], x["split"]
            elif corpus == "baved":
                lab, spk, split = x["level_name"], "baved" + x["speaker"], x["split"]
            else:
                lab, spk, split = x["category_name"], "eg" + x["speaker"], x["split"]
            out.append((x["file"], lab, spk, split))
    return out


def augment(y: np.ndarray, variant: str, key: str) -> np.ndarray:
    """``clean``, ``gain025`` (x0.25) or ``noise20`` (white noise at 20 dB SNR vs the active speech; seeded by key)."""
    from emolens.engine.embed import trim

    if variant == "clean":
        return y
    if variant == "gain025":
        return (y * 0.25).astype(np.float32)
    if variant == "noise20":
        p = float(np.mean(trim(y).astype(np.float64) ** 2)) + 1e-12
        rng = np.random.default_rng(zlib.crc32(key.encode()))
        return (y + rng.standard_normal(len(y)).astype(np.float32) * np.sqrt(p / 100.0)).astype(np.float32)
    raise ValueError(f"unknown variant {variant!r}")


def _read(path: Path) -> np.ndarray:
    import soundfile as sf

    y, sr = sf.read(str(path), dtype="float32", always_2d=True)
    y = y.mean(1)
    if sr != 16_000:
        import librosa

        y = librosa.resample(y, orig_sr=sr, target_sr=16_000).astype(np.float32)
    return y


def whisper_file(cache: Path, corpus: str, variant: str = "clean") -> Path:
    """Where :func:`load_corpus` caches the Whisper statistics of ``corpus`` (named by the encoder layer)."""
    from emolens.engine.embed import LAYER

    return cache / corpus / f"wl{LAYER}{'' if variant == 'clean' else '_' + variant}.npz"


def load_corpus(datasets: Path, cache: Path, corpus: str, variant: str = "clean") -> Corpus:
    """The corpus's representation, computed once into ``cache`` (functionals and Whisper statistics cached apart,
    so a change of encoder layer recomputes only the latter). The Whisper statistics are cached as float16 and
    read back as float32, so training from a fresh cache and from a kept one gives the same weights."""
    from emolens.engine import features as F
    from emolens.engine.embed import trim, whisper_stats

    rows = listing(datasets, corpus)
    suf = "" if variant == "clean" else f"_{variant}"
    fpath, wpath = cache / corpus / f"func{suf}.npz", whisper_file(cache, corpus, variant)
    meta = {k: np.array([r[i] for r in rows]) for i, k in enumerate(("ids", "labels", "speakers", "split"))}
    for path, kind in ((fpath, "func"), (wpath, "whisper")):
        if path.is_file():
            continue
        from tqdm import tqdm

        xs = []
        for f, *_ in tqdm(rows, desc=f"{corpus} {variant} {kind}", unit="clip"):
            yt = trim(augment(_read(datasets / corpus / f), variant, f))
            xs.append(F.extract(yt) if kind == "func" else whisper_stats(yt, trimmed=True))
        X = np.vstack(xs).astype(np.float32 if kind == "func" else np.float16)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, X=X, **meta)
        tmp.rename(path)
    fz, wz = np.load(fpath, allow_pickle=False), np.load(wpath, allow_pickle=False)
    if len(fz["ids"]) != len(rows) or not (fz["ids"] == wz["ids"]).all():
        raise SystemExit(f"stale cache in {cache / corpus}: delete it")
    W = wz["X"].astype(np.float32)
    return Corpus(corpus, fz["ids"], fz["labels"], fz["speakers"], fz["split"], fz["X"], W, variant)


def targets(c: Corpus) -> tuple[np.ndarray, np.ndarray]:
    """(target membership (n, C), allowed-class mask (n, C)) for the clips of ``c`` (BAVED: all False)."""
    T = np.zeros((len(c), len(CLASSES)))
    M = np.zeros((len(c), len(CLASSES)), bool)
    if c.name == "baved":
        return T, M
    if c.name == "emogator":
        names = [(EMOGATOR_RENAME.get(lab, lab),) for lab in c.labels]
        allowed = sorted({CLASSES.index(n[0]) for n in names})
    else:
        names = [LABELS[c.name][lab] for lab in c.labels]
        allowed = sorted({CLASSES.index(n) for ns in LABELS[c.name].values() for n in ns})
    for i, ns in enumerate(names):
        T[i, [CLASSES.index(n) for n in ns]] = 1
    M[:, allowed] = True
    return T, M


def av_targets(c: Corpus) -> np.ndarray:
    """(valence, arousal) targets; nan where unknown (BAVED valence)."""
    if c.name == "baved":
        return np.array([(np.nan, BAVED_AROUSAL[lab]) for lab in c.labels])
    T, _ = targets(c)
    coords = np.array([NAME_AV.get(n, NEUTRAL_AV) for n in CLASSES])
    return (T @ coords) / T.sum(1, keepdims=True)


def _weights(parts: list[Corpus], corpus_weight: dict[str, float]) -> np.ndarray:
    """Every corpus weighs ``corpus_weight`` (default 1), every label within a corpus the same; a corpus with
    augmented copies in ``parts`` gives them :data:`AUG_WEIGHT` of its weight together (the clean clips the rest)."""
    augmented = {c.name for c in parts if c.variant != "clean"}
    n_aug = {n: sum(c.name == n and c.variant != "clean" for c in parts) for n in augmented}
    ws = []
    for c in parts:
        w = np.ones(len(c))
        for lab in np.unique(c.labels):
            m = c.labels == lab
            w[m] = 1.0 / m.sum()
        share = 1.0
        if c.name in augmented:
            share = AUG_WEIGHT / n_aug[c.name] if c.variant != "clean" else 1.0 - AUG_WEIGHT
        ws.append(w * share * corpus_weight.get(c.name, 1.0) / w.sum())
    return np.concatenate(ws)


def robust_functionals(parts: list[Corpus], min_r: float) -> list[int]:
    """The :data:`FUNC_COLS` whose values on clean clips and on their noisy copies in ``parts`` (same corpus, same
    clips) correlate at least ``min_r`` in every such corpus; all of them when ``parts`` holds no noisy copies."""
    r = np.ones(len(FEATURE_NAMES))
    for c in parts:
        if c.variant != "noise20":
            continue
        clean = next(p for p in parts if p.variant == "clean" and p.name == c.name)
        X, Y = clean.func.astype(np.float64), c.like(clean).func.astype(np.float64)
        for j in FUNC_COLS:
            sx, sy = X[:, j].std(), Y[:, j].std()
            if sx > 0 and sy > 0:
                r[j] = min(r[j], float(np.corrcoef(X[:, j], Y[:, j])[0, 1]))
    return [j for j in FUNC_COLS if r[j] >= min_r]


def _columns(features: str) -> np.ndarray:
    nf = len(FEATURE_NAMES)
    wcols = list(range(nf, len(INPUT_NAMES)))
    return np.array({"func": FUNC_COLS, "wbase": wcols, "both": FUNC_COLS + wcols}[features])


#: Classes that a speech corpus's labels name (they get the valence/arousal prior, see L2_SPEECH).
SPEECH_CLASSES = tuple(c for c in CLASSES if any(c in ns for lab in LABELS.values() for ns in lab.values()))


def _masked_lr(
    Z: np.ndarray,
    T: np.ndarray,
    M: np.ndarray,
    w: np.ndarray,
    l2: float | np.ndarray,
    A: np.ndarray | None = None,
    l2_av: float = 0.0,
) -> tuple[np.ndarray, ...]:
    """Masked multinomial LR; ``l2`` is one value or one per class (k,). With ``A`` (k, q), the weights are
    W + A @ U with U (q, d) learnt too (penalty ``l2_av``); returns the folded (k, d) weights and the intercepts."""
    from scipy.optimize import minimize

    n, d = Z.shape
    k = T.shape[1]
    q = 0 if A is None else A.shape[1]
    w = w / w.sum()
    neg = np.where(M, 0.0, -1e9)
    per_class = np.ndim(l2) > 0
    lam = np.asarray(l2, float)[:, None] if per_class else float(l2)  # type: ignore[arg-type]

    def f(theta: np.ndarray) -> tuple[float, np.ndarray]:
        W, b = theta[: k * d].reshape(k, d), theta[k * d : k * d + k]
        We = W if A is None else W + A @ theta[k * d + k :].reshape(q, d)
        L = Z @ We.T + b + neg
        L -= L.max(1, keepdims=True)
        E = np.exp(L)
        P = E / E.sum(1, keepdims=True)
        pt = (P * T).sum(1)
        if per_class:
            loss = -(w * np.log(pt + 1e-300)).sum() + 0.5 * (lam * W * W).sum()
        else:
            loss = -(w * np.log(pt + 1e-300)).sum() + 0.5 * lam * (W * W).sum()
        G = (P - P * T / pt[:, None]) * w[:, None]
        GW = G.T @ Z
        grads = [(GW + lam * W).ravel(), G.sum(0)]
        if A is not None:
            U = theta[k * d + k :].reshape(q, d)
            loss += 0.5 * l2_av * (U * U).sum()
            grads.append((A.T @ GW + l2_av * U).ravel())
        return loss, np.concatenate(grads)

    r = minimize(f, np.zeros(k * d + k + q * d), jac=True, method="L-BFGS-B", options={"maxiter": 300})
    W = r.x[: k * d].reshape(k, d)
    if A is not None:
        W = W + A @ r.x[k * d + k :].reshape(q, d)
    return W, r.x[k * d : k * d + k]


def fit(
    parts: list[Corpus],
    *,
    features: str = FEATURES,
    l2: float = L2,
    corpus_weight: dict[str, float] | None = None,
    temperature: float = 1.0,
    pcs: int = PCS,
    nap: int = NAP,
    l2_speech: float = L2_SPEECH,
    l2_av: float = L2_AV,
) -> ProsodyModel:
    """Fit the classifier and AV head on ``parts`` (clips of any corpora) and return the runtime model."""
    cols = _columns(features)
    if ROBUST_R and features != "wbase":
        fragile = set(FUNC_COLS) - set(robust_functionals(parts, ROBUST_R))
        cols = np.array([j for j in cols if j not in fragile])
    X = np.vstack([c.rows() for c in parts])[:, cols]
    mean, scale = X.mean(0), X.std(0) + 1e-8
    Zfull = (X - mean) / scale
    # Nuisance attribute projection: the directions along which speakers' (emotion-balanced) mean vectors differ
    # most -- voice, language, corpus, channel -- are projected out of every input. A fixed linear map learnt at
    # training time, so nothing depends on the file or speaker being scored.
    nap_map = np.eye(len(cols))
    if nap:
        spk = np.concatenate([np.char.add(c.name + ":", c.speakers.astype(str)) for c in parts])
        uniq, inv = np.unique(spk, return_inverse=True)
        means = np.zeros((len(uniq), len(cols)))
        np.add.at(means, inv, Zfull)
        means /= np.bincount(inv)[:, None]
        means -= means.mean(0)
        _, _, vt = np.linalg.svd(means, full_matrices=False)
        u = vt[:nap].T
        nap_map -= u @ u.T
        Zfull = Zfull @ nap_map
    # Whisper columns enter through their top principal components (a 9x smaller fit); the linear maps are folded
    # back into per-column weights, so the runtime model is the same plain linear model either way.
    isw = np.array([INPUT_NAMES[i].startswith("wb_") for i in cols])
    proj = np.eye(len(cols))
    if isw.any() and pcs and pcs < isw.sum():
        Zw = Zfull[:, isw]
        _, vecs = np.linalg.eigh(Zw.T @ Zw)
        pw = vecs[:, ::-1][:, :pcs]
        proj = np.zeros((len(cols), (~isw).sum() + pcs))
        proj[np.flatnonzero(~isw), np.arange((~isw).sum())] = 1.0
        proj[np.ix_(np.flatnonzero(isw), np.arange((~isw).sum(), proj.shape[1]))] = pw
    Z = Zfull @ proj
    proj = nap_map @ proj
    TM = [targets(c) for c in parts]
    T, M = np.vstack([t for t, _ in TM]), np.vstack([m for _, m in TM])
    w = _weights(parts, corpus_weight or CORPUS_WEIGHT)
    cls = M.any(1)
    l2v: float | np.ndarray = l2
    A = None
    if l2_speech:  # the valence/arousal prior (see L2_SPEECH)
        l2v = np.full(len(CLASSES), l2)
        l2v[[CLASSES.index(c) for c in SPEECH_CLASSES]] = l2_speech
        A = np.array([NAME_AV.get(c, NEUTRAL_AV) for c in CLASSES])
    coef, intercept = _masked_lr(Z[cls], T[cls], M[cls], w[cls], l2v, A, l2_av)
    # Classes no training clip names (e.g. Boredom without EmoDB) must not win by default: push them down.
    unseen = ~M[cls].any(0)
    intercept[unseen] = -30.0
    av = np.vstack([av_targets(c) for c in parts])
    av_coef, av_int = np.zeros((2, Z.shape[1])), np.zeros(2)
    for j in range(2):
        ok = ~np.isnan(av[:, j])
        av_coef[j], av_int[j] = _ridge(Z[ok], av[ok, j], w[ok] / w[ok].sum())
    return ProsodyModel(
        {
            "input_names": np.array([INPUT_NAMES[i] for i in cols]),
            "classes": np.array(CLASSES),
            "mean": mean,
            "scale": scale,
            "coef": coef @ proj.T,
            "intercept": intercept,
            "temperature": np.array(temperature),
            "av_coef": av_coef @ proj.T,
            "av_intercept": av_int,
        }
    )


def _ridge(Z: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    """Weighted ridge (intercept not penalised), closed form; ``w`` sums to 1 and alpha is per unit weight."""
    mz, my = w @ Z, float(w @ y)
    Zc, yc = Z - mz, y - my
    A = (Zc * w[:, None]).T @ Zc + (RIDGE_ALPHA / len(y)) * np.eye(Z.shape[1])
    beta = np.linalg.solve(A, (Zc * w[:, None]).T @ yc)
    return beta, my - float(mz @ beta)


def fit_temperature(model: ProsodyModel, dev: list[Corpus]) -> float:
    """The temperature minimising the masked log loss of ``dev`` clips (grid 0.5..3, step 0.05)."""
    Zs = [(model._z(c.rows()), *targets(c)) for c in dev if c.name != "baved"]
    best = (np.inf, 1.0)
    for t in np.round(np.arange(0.5, 3.0001, 0.05), 2):
        loss = 0.0
        for Z, T, M in Zs:
            L = (Z @ model.coef.T + model.intercept) / t + np.where(M, 0.0, -1e9)
            L -= L.max(1, keepdims=True)
            P = np.exp(L) / np.exp(L).sum(1, keepdims=True)
            loss += -np.log((P * T).sum(1) + 1e-12).mean()
        best = min(best, (loss, float(t)))
    return best[1]


def split_dev(c: Corpus) -> tuple[Corpus, Corpus]:
    """(train, dev) clips of ``c``: the corpus's own dev split, or the :data:`DEV` speakers."""
    dev = np.isin(c.speakers, list(DEV[c.name])) if c.name in DEV else c.split == "dev"
    return c.take(np.flatnonzero(~dev)), c.take(np.flatnonzero(dev))


def with_augmented(parts: list[Corpus], augmented: dict[str, list[Corpus]]) -> list[Corpus]:
    """``parts`` plus, for each clean part, the same clips of each augmented copy in ``augmented[corpus name]``."""
    out = list(parts)
    for c in parts:
        if c.variant == "clean":
            out += [a.like(c) for a in augmented.get(c.name, [])]
    return out


def train(corpora: list[Corpus], augmented: dict[str, list[Corpus]] | None = None, **kw) -> ProsodyModel:
    """Temperature on clean dev clips, then the same recipe refitted on every clip (the shipped model); training
    clips come with their :data:`AUGMENTED` copies."""
    aug = augmented or {}
    tr, dv = zip(*(split_dev(c) for c in corpora), strict=True)
    t = fit_temperature(fit(with_augmented(list(tr), aug), **kw), list(dv))
    return fit(with_augmented(corpora, aug), temperature=t, **kw)


def save(model: ProsodyModel, path: Path) -> None:
    """Write the weights as a plain ``.npz``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **model.arrays())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", type=Path, default=_default_datasets())
    ap.add_argument("--cache", type=Path, default=None, help="representation cache (default: EMOLENS cache dir)")
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    ap.add_argument("--permissive", action="store_true", help="EmoDB + EmoGator only (CC0 / Apache-2.0)")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    names = PERMISSIVE if args.permissive else CORPORA
    missing = [n for n in names if not (args.datasets / n / "labels.csv").is_file()]
    if missing:
        print(f"datasets not found under {args.datasets}: {', '.join(missing)}", file=sys.stderr)
        return 2
    cache = args.cache or _default_cache()
    t0 = time.time()
    corpora = [load_corpus(args.datasets, cache, n) for n in names]
    augmented = {n: [load_corpus(args.datasets, cache, n, v) for v in AUGMENTED] for n in names if n in SPEECH}
    n_aug = sum(len(a) for v in augmented.values() for a in v)
    print(f"representations: {sum(len(c) for c in corpora)} clips + {n_aug} augmented in {time.time() - t0:.0f}s")
    model = train(corpora, augmented)
    out = args.out / (("permissive_" if args.permissive else "") + WEIGHTS_FILE)
    save(model, out)
    info = {
        "corpora": list(names),
        "augmented": {n: list(AUGMENTED) for n in augmented},
        "temperature": model.temperature,
        "clips": sum(len(c) for c in corpora),
        "augmented clips": n_aug,
    }
    (out.with_suffix(".json")).write_text(json.dumps(info, indent=1) + "\n")
    print(f"temperature {model.temperature}; wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
