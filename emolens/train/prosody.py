"""Train the prosody emotion model and print speaker-independent UAR + confusion matrices.

    python -m emolens.train.prosody [--datasets ../shared/datasets] [--out emolens/weights/prosody]

Data: RAVDESS speech (24 actors, 8 classes) and EmoDB (10 speakers, 7 classes), both 16 kHz FLAC under
``../shared/datasets``. Features are :mod:`emolens.engine.features` functionals over each clip with leading/
trailing silence trimmed (pipeline segments are word-bounded, so they carry little silence either).

Evaluation is always speaker-independent:
- RAVDESS leave-4-actors-out (6 folds; training = other RAVDESS actors + all of EmoDB), argmax over RAVDESS's 8.
- EmoDB leave-one-speaker-out (10 folds; training = other EmoDB speakers + all of RAVDESS), argmax over EmoDB's 7.
The shipped weights are then fitted on everything. No per-speaker normalisation (a user's file is not emotion
balanced, see the datasets README). Weights are a plain ``.npz`` (no pickle) read by :mod:`emolens.engine.prosody`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from emolens.engine import features as F
from emolens.engine.prosody import CLASS_AV, CLASSES, MODEL_FEATURES, WEIGHTS_DIR

RAVDESS_CLASSES = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
EMODB_MAP = {"anger": "angry", "boredom": "boredom", "disgust": "disgust", "fear": "fearful", "happiness": "happy",
             "sadness": "sad", "neutral": "neutral"}
EMODB_CLASSES = ("neutral", "happy", "sad", "angry", "fearful", "disgust", "boredom")
C_REG = 0.3  # fixed a priori (not tuned on the reported folds)
RIDGE_ALPHA = 10.0


def _default_datasets() -> Path:
    return Path(__file__).resolve().parents[2].parent / "shared" / "datasets"


def _load(datasets: Path) -> tuple[list[Path], list[str], list[str], list[str]]:
    files, labels, speakers, corpus = [], [], [], []
    with open(datasets / "ravdess_speech" / "labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            files.append(datasets / "ravdess_speech" / row["file"])
            labels.append(row["emotion"])
            speakers.append(f"rav{int(row['actor']):02d}")
            corpus.append("ravdess")
    with open(datasets / "emodb" / "labels.csv", newline="") as f:
        for row in csv.DictReader(f):
            files.append(datasets / "emodb" / row["file"])
            labels.append(EMODB_MAP[row["emotion"]])
            speakers.append(f"emo{int(row['speaker']):02d}")
            corpus.append("emodb")
    return files, labels, speakers, corpus


def _features(files: list[Path], cache: Path) -> np.ndarray:
    import librosa
    from tqdm import tqdm

    from emolens.engine.audio import decode

    key = f"{len(files)}:{F.FEATURE_VERSION}:{F.FEATURE_NAMES}"
    if cache.is_file():
        z = np.load(cache, allow_pickle=False)
        if str(z["key"]) == key:
            return z["X"]
    rows = []
    for p in tqdm(files, desc="features", unit="clip"):
        y = decode(p).samples
        y, _ = librosa.effects.trim(y, top_db=35, frame_length=400, hop_length=160)
        rows.append(F.extract(y))
    X = np.vstack(rows)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, X=X, key=np.array(key))
    return X


def _fit(X: np.ndarray, y: np.ndarray, av: np.ndarray, w: np.ndarray):
    from sklearn.linear_model import LogisticRegression, Ridge

    mean, scale = X.mean(0), X.std(0) + 1e-8
    Z = (X - mean) / scale
    clf = LogisticRegression(C=C_REG, max_iter=3000)
    clf.fit(Z, y, sample_weight=w)
    reg = Ridge(alpha=RIDGE_ALPHA).fit(Z, av, sample_weight=w)
    return mean, scale, clf, reg


def _uar(y_true: list[str], y_pred: list[str], classes: tuple[str, ...]) -> tuple[float, np.ndarray]:
    cm = np.zeros((len(classes), len(classes)), int)
    idx = {c: i for i, c in enumerate(classes)}
    for t, p in zip(y_true, y_pred):
        cm[idx[t], idx[p]] += 1
    recalls = cm.diagonal() / np.maximum(cm.sum(1), 1)
    return float(recalls.mean()), cm


def _print_cm(title: str, cm: np.ndarray, classes: tuple[str, ...]) -> None:
    print(f"\n{title} (rows = true, columns = predicted)")
    print(" " * 10 + "".join(f"{c[:8]:>9}" for c in classes))
    for c, row in zip(classes, cm):
        print(f"{c[:10]:<10}" + "".join(f"{v:>9d}" for v in row))


def _weights(corpus: np.ndarray) -> np.ndarray:
    # Each corpus weighs the same in training, so the 1,440 RAVDESS clips do not drown EmoDB's 535.
    w = np.ones(len(corpus))
    for c in np.unique(corpus):
        w[corpus == c] = len(corpus) / (2 * (corpus == c).sum())
    return w


def _evaluate(X, y, av, spk, corpus, target: str, folds: list[list[str]], classes: tuple[str, ...]):
    y_true, y_pred, av_err = [], [], []
    class_idx = None
    for test_spk in folds:
        test = np.isin(spk, test_spk)
        train = ~test
        mean, scale, clf, reg = _fit(X[train], y[train], av[train], _weights(corpus[train]))
        Z = (X[test] - mean) / scale
        proba = clf.predict_proba(Z)
        class_idx = [list(clf.classes_).index(c) for c in classes]
        pred = np.array(classes)[proba[:, class_idx].argmax(1)]
        y_true += list(y[test])
        y_pred += list(pred)
        av_err.append(np.abs(reg.predict(Z) - av[test]))
    uar, cm = _uar(y_true, y_pred, classes)
    mae = np.vstack(av_err).mean(0)
    return uar, cm, mae


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", type=Path, default=_default_datasets())
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    ap.add_argument("--cache", type=Path, default=None, help="feature cache .npz (default: in EMOLENS cache dir)")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if not (args.datasets / "ravdess_speech").is_dir() or not (args.datasets / "emodb").is_dir():
        print(f"datasets not found under {args.datasets} (need ravdess_speech/ and emodb/)", file=sys.stderr)
        return 2
    from emolens.engine.transcribe import cache_dir

    files, labels, speakers, corpus = _load(args.datasets)
    t0 = time.time()
    X_all = _features(files, args.cache or cache_dir() / "prosody_train_features.npz")
    print(f"features: {X_all.shape} in {time.time() - t0:.0f}s")
    cols = [F.FEATURE_NAMES.index(n) for n in MODEL_FEATURES]
    X = X_all[:, cols]
    y, spk, corpus_arr = np.array(labels), np.array(speakers), np.array(corpus)
    av = np.array([CLASS_AV[c] for c in labels], dtype=np.float64)

    rav_actors = [f"rav{i:02d}" for i in range(1, 25)]
    rav_folds = [rav_actors[i:i + 4] for i in range(0, 24, 4)]
    emo_folds = [[s] for s in sorted(set(spk[corpus_arr == "emodb"]))]
    report = {}
    for name, folds, classes, keep in (
        ("RAVDESS leave-4-actors-out", rav_folds, RAVDESS_CLASSES, "ravdess"),
        ("EmoDB leave-one-speaker-out", emo_folds, EMODB_CLASSES, "emodb"),
    ):
        # Test folds only hold the target corpus; training adds the whole other corpus.
        uar, cm, mae = _evaluate(X, y, av, spk, corpus_arr, keep, folds, classes)
        chance = 1 / len(classes)
        print(f"\n{name}: UAR {uar:.3f} (chance {chance:.3f}); arousal MAE {mae[0]:.3f}, valence MAE {mae[1]:.3f}")
        _print_cm(name, cm, classes)
        report[name] = {"uar": round(uar, 4), "chance": round(chance, 4), "arousal_mae": round(float(mae[0]), 4),
                        "valence_mae": round(float(mae[1]), 4), "classes": list(classes), "confusion": cm.tolist()}

    mean, scale, clf, reg = _fit(X, y, av, _weights(corpus_arr))
    order = [list(clf.classes_).index(c) for c in CLASSES]
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez(
        args.out / "prosody_lr.npz",
        feature_names=np.array(MODEL_FEATURES), classes=np.array(CLASSES),
        mean=mean, scale=scale, coef=clf.coef_[order], intercept=clf.intercept_[order],
        av_coef=reg.coef_, av_intercept=reg.intercept_,
    )
    (args.out / "metrics.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nwrote {args.out / 'prosody_lr.npz'} and metrics.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
