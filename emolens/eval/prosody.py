"""Evaluate prosody v2 against v1, side by side, on speaker-disjoint and corpus-disjoint splits.

    python -m emolens.eval.prosody [--datasets ../shared/datasets] [--cache DIR] [--json out.json] [--quick]

Every figure is read through the product's 48 Hume names (what a user sees), argmax restricted to the test
corpus's classes: a class scores the highest of its names (RAVDESS "surprised": either Surprise name) and
"neutral" scores the mass given to no emotion (v2: its internal Neutral = 1 - sum of the 30 learned names;
v1: its internal neutral class probability, which the product does not show).

- RAVDESS leave-4-actors-out (8 classes), EmoDB leave-one-speaker-out (7), ASED leave-13-speakers-out (5),
  EmoGator dev speakers (30 categories: top-1 UAR, top-5 accuracy): training = every other clip of every corpus;
- cross-corpus: train without the corpus, test on all of it (RAVDESS, EmoDB, ASED);
- robustness: the same models on the test clips scaled x0.25 and with white noise at 20 dB SNR.

v1 is its own recipe (:mod:`emolens.train.prosody_v1`: LR + 3 MLPs on the functionals, RAVDESS + EmoDB classes)
refitted on the same folds from the data it can use (no speed-perturbed copies: its shipped figures, with them,
are in weights/prosody/metrics_v1.json); its cross-corpus ASED and EmoGator figures are those of its shipped
training data (RAVDESS + EmoDB). ``--quick`` skips the in-corpus folds (cross-corpus and EmoGator only);
``--cached-only`` skips augmented copies whose representation is not cached yet (otherwise they are computed,
about 10 CPU-minutes per corpus).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from emolens.emotions import PROSODY_EMOTIONS
from emolens.engine.prosody import NEUTRAL
from emolens.train import prosody as T

VARIANTS = ("clean", "gain025", "noise20")


def _class_names(corpus: str, labels: np.ndarray) -> dict[str, tuple[str, ...]]:
    if corpus == "emogator":
        return {lab: (T.EMOGATOR_RENAME.get(lab, lab),) for lab in sorted(set(labels))}
    return dict(T.LABELS[corpus])


def _class_scores(scores48: np.ndarray, neutral: np.ndarray, names: dict[str, tuple[str, ...]]) -> np.ndarray:
    cols = []
    for ns in names.values():
        if ns == (NEUTRAL,):
            cols.append(neutral)
        else:
            cols.append(scores48[:, [PROSODY_EMOTIONS.index(n) for n in ns]].max(1))
    return np.stack(cols, 1)


def v2_class_scores(model, c: T.Corpus) -> np.ndarray:
    """(n, classes of c) scores through the product names."""
    X = c.rows()
    p, _ = model.class_probs_and_av(X)
    return _class_scores(model.scores(X), p[:, model.classes.index(NEUTRAL)], _class_names(c.name, c.labels))


V1_MAP = {
    "ravdess_speech": {k: k for k in ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")},
    "emodb": {"anger": "angry", "boredom": "boredom", "disgust": "disgust", "fear": "fearful",
              "happiness": "happy", "sadness": "sad", "neutral": "neutral"},
    "ased": {"neutral": "neutral", "fearful": "fearful", "happy": "happy", "sad": "sad", "angry": "angry"},
}  # fmt: skip


def _v1_rows(c: T.Corpus) -> np.ndarray:
    return c.func.astype(np.float64)


def v1_fit(parts: list[T.Corpus]):
    """v1's recipe on the clips of ``parts`` (RAVDESS/EmoDB/ASED labels as v1's classes)."""
    from emolens.engine.features import FEATURE_NAMES
    from emolens.engine.prosody_v1 import CLASS_AV, MODEL_FEATURES
    from emolens.train import prosody_v1 as V1

    cols = [FEATURE_NAMES.index(n) for n in MODEL_FEATURES]
    X = np.vstack([_v1_rows(c)[:, cols] for c in parts])
    y = np.concatenate([[V1_MAP[c.name][lab] for lab in c.labels] for c in parts])
    corpus = np.concatenate([[c.name] * len(c) for c in parts])
    av = np.array([CLASS_AV[k] for k in y])
    present = sorted(set(y))
    if len(present) == len(V1.CLASSES):
        return V1._fit(X, y, av, V1._weights(corpus, y))
    # Without one of v1's 9 classes (cross-corpus folds): fit v1's recipe on the classes present and give the
    # missing ones a probability of ~0, as v1 trained on that data would never output them.
    classes = V1.CLASSES
    V1.CLASSES = tuple(c for c in classes if c in present)
    try:
        m = V1._fit(X, y, av, V1._weights(corpus, y))
    finally:
        V1.CLASSES = classes
    idx = [V1.CLASSES.index(c) for c in m.classes]
    full = {
        "feature_names": np.array(m.feature_names),
        "classes": np.array(classes),
        "mean": m.mean,
        "scale": m.scale,
        "lr_weight": np.array(m.lr_weight),
        "av_coef": m.av_coef,
        "av_intercept": m.av_intercept,
    }
    coef = np.zeros((len(classes), m.lr_coef.shape[1]))
    coef[idx] = m.lr_coef
    icpt = np.full(len(classes), -30.0)
    icpt[idx] = m.lr_intercept
    w2 = np.zeros(m.mlp_w2.shape[:2] + (len(classes),))
    w2[:, :, idx] = m.mlp_w2
    b2 = np.full((m.mlp_b2.shape[0], len(classes)), -30.0)
    b2[:, idx] = m.mlp_b2
    full.update(lr_coef=coef, lr_intercept=icpt, mlp_w1=m.mlp_w1, mlp_b1=m.mlp_b1, mlp_w2=w2, mlp_b2=b2)
    return type(m)(full)


def v1_class_scores(model, c: T.Corpus) -> np.ndarray:
    X = _v1_rows(c)
    p, _ = model.class_probs_and_av(X)
    names = _class_names(c.name, c.labels)
    return _class_scores(model.scores(X), p[:, model.classes.index("neutral")], names)


def uar(labels: np.ndarray, S: np.ndarray, classes: list[str]) -> tuple[float, np.ndarray, float]:
    """UAR, confusion (rows true), top-5 accuracy of class scores ``S``."""
    idx = {k: i for i, k in enumerate(classes)}
    t = np.array([idx[lab] for lab in labels])
    pred = S.argmax(1)
    cm = np.zeros((len(classes), len(classes)), int)
    np.add.at(cm, (t, pred), 1)
    rec = cm.diagonal() / np.maximum(cm.sum(1), 1)
    top5 = float(np.mean([ti in np.argsort(-s)[:5] for ti, s in zip(t, S, strict=True)]))
    return float(rec[cm.sum(1) > 0].mean()), cm, top5


def _folds(c: T.Corpus, pairs: bool = False) -> list[np.ndarray]:
    spk = sorted(set(c.speakers))
    if c.name == "ravdess_speech":
        groups = [spk[i : i + 4] for i in range(0, 24, 4)]
    elif c.name == "emodb":
        groups = [[s] for s in spk] if pairs is False else [spk[i : i + 2] for i in range(0, len(spk), 2)]
    else:  # ased: 5 folds of 13 speakers
        groups = [spk[i::5] for i in range(5)]
    return [np.isin(c.speakers, g) for g in groups]


class Runner:
    """Collects (model, protocol, variant) -> figure and confusion tables."""

    def __init__(self, data: dict[str, dict[str, T.Corpus]]) -> None:
        self.data = data
        self.fig: dict[str, dict[str, float]] = {}
        self.cms: dict[str, dict] = {}
        self.lazy: Callable[[str, str], None] | None = (
            None  # (variant, corpus) -> load it into data when it has been cached meanwhile
        )
        self.oof: dict[str, tuple[list, list]] = {}  # protocol -> (ids, v2 48-name scores) of clean test clips
        # v2's training clips come with their augmented copies (T.AUGMENTED), as in python -m emolens.train.prosody
        self.augmented = {n: [data[v][n] for v in T.AUGMENTED if n in data.get(v, {})] for n in T.SPEECH}
        self.v1_skip = False  # v1's figures are copied from an earlier run instead (--v1-from)

    def _record(self, key: str, model: str, variant: str, parts: list[tuple[np.ndarray, ...]], classes):
        labels = np.concatenate([p[0] for p in parts])
        S = np.vstack([p[1] for p in parts])
        u, cm, top5 = uar(labels, S, classes)
        self.fig.setdefault(key, {})[f"{model} {variant}"] = round(u, 3)
        if key.startswith("ASED"):
            # Sentences 03-07 are emotion-specific texts: the two common sentences say how well it does on voice alone.
            ids = np.concatenate([p[2] for p in parts])
            common = np.array([Path(i).stem.split("-")[1] in ("01", "02") for i in ids])
            uc, _, _ = uar(labels[common], S[common], classes)
            self.fig.setdefault(key + " (common sentences)", {})[f"{model} {variant}"] = round(uc, 3)
        if key.startswith("EmoGator"):
            self.fig[key][f"{model} {variant} top5"] = round(top5, 3)
        if variant == "clean":
            self.cms[f"{key} / {model}"] = {"classes": classes, "confusion": cm.tolist()}

    def protocol(self, key: str, test: str, train_of, v1_train_of, masks: list[np.ndarray], perm_of=None) -> None:
        """Fit v2 on ``train_of(train_mask)``, v1 on ``v1_train_of(...)`` and the permissive variant on
        ``perm_of(...)`` (each optional but v2) for every fold mask; score the clean and augmented test clips."""
        clean = self.data["clean"][test]
        classes = list(_class_names(test, clean.labels))
        out: dict[tuple[str, str], list] = {}
        for m in masks:
            idx = np.flatnonzero(m)
            t0 = time.time()
            models = {"v2": (T.fit(T.with_augmented(train_of(~m), self.augmented)), v2_class_scores)}
            if v1_train_of is not None and not self.v1_skip:
                models["v1"] = (v1_fit(v1_train_of(~m)), v1_class_scores)
            if perm_of is not None:
                models["v2 permissive"] = (T.fit(T.with_augmented(perm_of(~m), self.augmented)), v2_class_scores)
            for name, (model, scorer) in models.items():
                for v in VARIANTS:
                    if test not in self.data.get(v, {}) and self.lazy is not None:
                        self.lazy(v, test)  # an augmented copy cached since the start (computed in the background)
                    if test not in self.data.get(v, {}):
                        continue
                    c = self.data[v][test].take(idx)
                    out.setdefault((name, v), []).append((c.labels, scorer(model, c), c.ids))
                    if name == "v2" and v == "clean":
                        ids, sc = self.oof.setdefault(key, ([], []))
                        ids.extend(c.ids)
                        sc.append(model.scores(c.rows()))
            print(f"  {key}: fold {len(out.get(('v2', 'clean'), []))}/{len(masks)} {time.time() - t0:.0f}s",
                  file=sys.stderr, flush=True)  # fmt: skip
        for (name, v), parts in sorted(out.items()):
            if len(parts) == len(masks):  # an augmented copy that arrived mid-way is not reported
                self._record(key, name, v, parts, classes)


def words_blind(ids: list[str], scores: np.ndarray) -> dict[str, float]:
    """RAVDESS: mean correlation of 48-name score vectors for pairs of clips of the same actor that share the
    sentence but not the emotion, and pairs that share the emotion (and intensity) but not the sentence.
    Scores that follow how it is said, not what is said, give the second clearly higher than the first."""
    meta = [Path(i).stem.split("-") for i in ids]  # 03-01-EE-II-SS-RR-AA
    S = scores - scores.mean(1, keepdims=True)
    S /= np.linalg.norm(S, axis=1, keepdims=True) + 1e-12
    same_sent, same_emo = [], []
    by_actor: dict[str, list[int]] = {}
    for i, m in enumerate(meta):
        by_actor.setdefault(m[6], []).append(i)
    for idx in by_actor.values():
        for a in idx:
            for b in idx:
                if a >= b or meta[a][5] != meta[b][5]:
                    continue
                ea, eb, sa, sb = meta[a][2], meta[b][2], meta[a][4], meta[b][4]
                r = float(S[a] @ S[b])
                if sa == sb and ea != eb:
                    same_sent.append(r)
                elif sa != sb and ea == eb and meta[a][3] == meta[b][3]:
                    same_emo.append(r)
    return {"same sentence, other emotion": round(float(np.mean(same_sent)), 3),
            "same emotion, other sentence": round(float(np.mean(same_emo)), 3)}  # fmt: skip


def report(out: dict) -> None:
    """Print the side-by-side table, the words-blind check and the confusion tables of an evaluation."""
    fig, blind, cms = out["figures"], out["words_blind"], out["confusion"]
    heads = [f"{m} {v}" for v in VARIANTS for m in ("v1", "v2", "v2 permissive")]
    short = {"clean": "", "gain025": " x0.25", "noise20": " 20dB"}
    labels = [m.replace("v2 permissive", "v2p") + short[v] for v in VARIANTS for m in ("v1", "v2", "v2 permissive")]
    print(f"\n{'figure (UAR unless stated)':<44}" + "".join(f"{h:>10}" for h in labels))
    for key, f in fig.items():
        print(f"{key:<44}" + "".join(f"{f[h]:>10.3f}" if h in f else f"{'-':>10}" for h in heads))
        if key.startswith("EmoGator"):
            top5 = [f.get(f"{m} clean top5") for m in ("v1", "v2", "v2 permissive")]
            print(f"{'  top-5 accuracy':<44}" + "".join(f"{x:>10.3f}" if x is not None else f"{'-':>10}" for x in top5))
    for key, b in blind.items():
        print(f"\nwords-blind check, {key} (v2, correlation of 48-name score vectors): {b}")
    print("\nconfusion tables (rows = true, columns = predicted)")
    for key, cm in cms.items():
        if key.startswith("EmoGator"):
            continue
        print(f"\n{key}\n" + " " * 10 + "".join(f"{c[:8]:>9}" for c in cm["classes"]))
        for c, row in zip(cm["classes"], cm["confusion"], strict=True):
            print(f"{c[:10]:<10}" + "".join(f"{v:>9d}" for v in row))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", type=Path, default=T._default_datasets())
    ap.add_argument("--cache", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--cached-only", action="store_true", help="skip augmented copies not in the cache yet")
    ap.add_argument("--protocols", default="cross,emogator,ravdess,emodb,ased", help="comma-separated subset")
    ap.add_argument("--cross", default="emodb,ravdess_speech,ased", help="corpora of the cross-corpus protocol")
    ap.add_argument("--emodb-pairs", action="store_true", help="EmoDB in 5 folds of 2 speakers (faster than 10)")
    ap.add_argument("--merge", type=Path, nargs="+", help="only merge and print these --json outputs")
    ap.add_argument("--v1-from", type=Path, default=None,
                    help="skip v1's refits and copy its figures from this earlier --json output (v1's recipe and "
                    "functionals do not depend on v2's representation, so they are the same)")  # fmt: skip
    args = ap.parse_args(argv)
    if args.merge:
        merged: dict = {"figures": {}, "words_blind": {}, "confusion": {}}
        for f in args.merge:
            part = json.loads(f.read_text())
            for k in merged:
                merged[k].update(part[k])
        report(merged)
        if args.json:
            args.json.write_text(json.dumps(merged, indent=1) + "\n")
        return 0
    todo = {"cross", "emogator"} if args.quick else set(args.protocols.split(","))
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    cache = args.cache or T._default_cache()
    data: dict[str, dict[str, T.Corpus]] = {"clean": {n: T.load_corpus(args.datasets, cache, n) for n in T.CORPORA}}
    for v in VARIANTS[1:]:
        have = [n for n in T.SPEECH if T.whisper_file(cache, n, v).is_file()] if args.cached_only else T.SPEECH
        data[v] = {n: T.load_corpus(args.datasets, cache, n, v) for n in have}
        if len(have) < len(T.SPEECH):
            print(f"{v}: no cached representation for {sorted(set(T.SPEECH) - set(have))}; skipped", file=sys.stderr)
    clean = data["clean"]
    r = Runner(data)

    def lazy(v: str, n: str) -> None:
        if T.whisper_file(cache, n, v).is_file():
            data[v][n] = T.load_corpus(args.datasets, cache, n, v)

    r.lazy = lazy if args.cached_only else None
    v1_corpora = ("ravdess_speech", "emodb")
    if args.v1_from:
        r.v1_skip = True

    def everything_but(test: str):
        return lambda keep: [clean[n] if n != test else clean[n].take(np.flatnonzero(keep)) for n in T.CORPORA]

    def v1_but(test: str):
        others = [clean[n] for n in v1_corpora if n != test]
        return lambda keep: others + [clean[test].take(np.flatnonzero(keep))]

    none = lambda c: [np.ones(len(clean[c]), bool)]  # noqa: E731
    for test in args.cross.split(",") if "cross" in todo else ():
        name = {"ravdess_speech": "RAVDESS", "emodb": "EmoDB", "ased": "ASED"}[test]
        others = [n for n in T.CORPORA if n != test]
        v1o = [n for n in v1_corpora if n != test]
        po = [n for n in T.PERMISSIVE if n != test]
        r.protocol(f"{name} cross-corpus", test, lambda keep, o=others: [clean[n] for n in o],
                   lambda keep, o=v1o: [clean[n] for n in o], none(test),
                   lambda keep, o=po: [clean[n] for n in o])  # fmt: skip
    eg = clean["emogator"]
    devmask = eg.split == "dev"
    if "emogator" in todo:
        r.protocol("EmoGator dev 30-class", "emogator", everything_but("emogator"),
               lambda keep: [clean[n] for n in v1_corpora], [devmask],
               lambda keep: [clean["emodb"], eg.take(np.flatnonzero(keep))])  # fmt: skip
    if "ravdess" in todo:
        r.protocol("RAVDESS leave-4-actors-out", "ravdess_speech", everything_but("ravdess_speech"),
                   v1_but("ravdess_speech"), _folds(clean["ravdess_speech"]))  # fmt: skip
    if "emodb" in todo:
        key = "EmoDB leave-2-speakers-out" if args.emodb_pairs else "EmoDB leave-one-speaker-out"
        r.protocol(key, "emodb", everything_but("emodb"), v1_but("emodb"), _folds(clean["emodb"], args.emodb_pairs))
    if "ased" in todo:
        r.protocol("ASED leave-13-speakers-out", "ased", everything_but("ased"),
                   lambda keep: [clean[n] for n in v1_corpora] + [clean["ased"].take(np.flatnonzero(keep))],
                   _folds(clean["ased"]))  # fmt: skip
    blind = {}
    for key, (ids, sc) in r.oof.items():
        if key.startswith("RAVDESS"):
            blind[key] = words_blind(ids, np.vstack(sc))
    if args.v1_from:
        old = json.loads(args.v1_from.read_text())
        for key, f in r.fig.items():
            f.update({k: v for k, v in old["figures"].get(key, {}).items() if k.startswith("v1 ")})
        r.cms.update({k: v for k, v in old["confusion"].items() if k.endswith(" / v1") and k.split(" / ")[0] in r.fig})
    out = {"figures": r.fig, "words_blind": blind, "confusion": r.cms}
    report(out)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
