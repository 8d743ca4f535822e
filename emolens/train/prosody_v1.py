"""Train the prosody emotion model and print speaker-independent UAR + confusion matrices.

    python -m emolens.train.prosody_v1 [--datasets ../shared/datasets] [--out emolens/weights/prosody]

Data: RAVDESS speech (24 actors, 8 classes) and EmoDB (10 speakers, 7 classes), both 16 kHz FLAC under
``../shared/datasets``. Features are :mod:`emolens.engine.features` functionals over each clip with leading/
trailing silence trimmed (pipeline segments are word-bounded, so they carry little silence either).

Model: mean of a logistic regression's class probabilities and those of three 64-unit ReLU MLPs (seeds 0-2),
plus a ridge valence/arousal head. Training rows are weighted so that both corpora weigh the same and, within a
corpus, every class weighs the same (UAR is the target). Training folds are augmented with speed-perturbed copies
(x0.9 and x1.1 by resampling: pitch, formants and tempo move together, like a different speaker); test clips
are never perturbed.

Evaluation is always speaker-independent:
- RAVDESS leave-4-actors-out (6 folds; training = other RAVDESS actors + all of EmoDB), argmax over RAVDESS's 8.
- EmoDB leave-one-speaker-out (10 folds; training = other EmoDB speakers + all of RAVDESS), argmax over EmoDB's 7.
The shipped weights are then fitted on everything. No per-speaker normalisation (a user's file is not emotion
balanced, see the datasets README). Weights are a plain ``.npz`` (no pickle) read by :mod:`emolens.engine.prosody_v1`.
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
from emolens.engine.prosody_v1 import CLASS_AV, CLASSES, MODEL_FEATURES, WEIGHTS_DIR, WEIGHTS_FILE, ProsodyModel

RAVDESS_CLASSES = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
EMODB_MAP = {
    "anger": "angry",
    "boredom": "boredom",
    "disgust": "disgust",
    "fear": "fearful",
    "happiness": "happy",
    "sadness": "sad",
    "neutral": "neutral",
}
EMODB_CLASSES = ("neutral", "happy", "sad", "angry", "fearful", "disgust", "boredom")
C_REG = 0.3
RIDGE_ALPHA = 10.0
MLP_HIDDEN, MLP_ALPHA, MLP_SEEDS, MLP_EPOCHS = 64, 3.0, (0, 1, 2), 300
LR_WEIGHT = 0.5
SPEEDS = (0.9, 1.1)  # speed-perturbed training copies


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


def _features(files: list[Path], cache: Path, speeds: tuple[float, ...] = (1.0,) + SPEEDS) -> dict[float, np.ndarray]:
    """Functionals of every clip at each speed (1.0 = as recorded); cached in one ``.npz``."""
    import librosa
    from scipy.signal import resample_poly
    from tqdm import tqdm

    from emolens.engine.audio import decode

    key = f"{len(files)}:{F.FEATURE_VERSION}:{F.FEATURE_NAMES}:{speeds}"
    if cache.is_file():
        z = np.load(cache, allow_pickle=False)
        if str(z["key"]) == key:
            return {sp: z[f"X{i}"] for i, sp in enumerate(speeds)}
    rows: dict[float, list[np.ndarray]] = {sp: [] for sp in speeds}
    for p in tqdm(files, desc="features", unit="clip"):
        y = decode(p).samples
        y, _ = librosa.effects.trim(y, top_db=35, frame_length=400, hop_length=160)
        for sp in speeds:
            # Resampling by 1/speed and playing at 16 kHz changes tempo, pitch and formants together.
            z_ = y if sp == 1.0 else resample_poly(y, 20, int(round(20 * sp))).astype(np.float32)
            rows[sp].append(F.extract(z_))
    out = {sp: np.vstack(r) for sp, r in rows.items()}
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, key=np.array(key), **{f"X{i}": out[sp] for i, sp in enumerate(speeds)})
    return out


def _fit(X: np.ndarray, y: np.ndarray, av: np.ndarray, w: np.ndarray) -> ProsodyModel:
    """Fit the ensemble + AV head on rows ``X`` (MODEL_FEATURES columns) and return it as the runtime model."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.neural_network import MLPClassifier

    mean, scale = X.mean(0), X.std(0) + 1e-8
    Z = (X - mean) / scale
    lr = LogisticRegression(C=C_REG, max_iter=3000).fit(Z, y, sample_weight=w)
    order = [list(lr.classes_).index(c) for c in CLASSES]
    mlps = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in MLP_SEEDS:
            mlps.append(
                MLPClassifier((MLP_HIDDEN,), alpha=MLP_ALPHA, max_iter=MLP_EPOCHS, random_state=seed).fit(
                    Z, y, sample_weight=w
                )
            )
    assert all(list(m.classes_) == list(lr.classes_) for m in mlps)
    reg = Ridge(alpha=RIDGE_ALPHA).fit(Z, av, sample_weight=w)
    return ProsodyModel(
        {
            "feature_names": np.array(MODEL_FEATURES),
            "classes": np.array(CLASSES),
            "mean": mean,
            "scale": scale,
            "lr_coef": lr.coef_[order],
            "lr_intercept": lr.intercept_[order],
            "mlp_w1": np.stack([m.coefs_[0] for m in mlps]),
            "mlp_b1": np.stack([m.intercepts_[0] for m in mlps]),
            "mlp_w2": np.stack([m.coefs_[1][:, order] for m in mlps]),
            "mlp_b2": np.stack([m.intercepts_[1][order] for m in mlps]),
            "lr_weight": np.array(LR_WEIGHT),
            "av_coef": reg.coef_,
            "av_intercept": reg.intercept_,
        }
    )


def _save(model: ProsodyModel, path: Path) -> None:
    np.savez(
        path,
        feature_names=np.array(model.feature_names),
        classes=np.array(model.classes),
        mean=model.mean,
        scale=model.scale,
        lr_coef=model.lr_coef,
        lr_intercept=model.lr_intercept,
        mlp_w1=model.mlp_w1,
        mlp_b1=model.mlp_b1,
        mlp_w2=model.mlp_w2,
        mlp_b2=model.mlp_b2,
        lr_weight=np.array(model.lr_weight),
        av_coef=model.av_coef,
        av_intercept=model.av_intercept,
    )


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


def _weights(corpus: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each corpus weighs half; within a corpus every class weighs the same (RAVDESS neutral has half the clips)."""
    w = np.ones(len(corpus))
    for c in np.unique(corpus):
        mc = corpus == c
        classes = np.unique(y[mc])
        for k in classes:
            m = mc & (y == k)
            w[m] = mc.sum() / len(classes) / m.sum()
        w[mc] *= len(corpus) / 2 / w[mc].sum()
    return w


def _augmented(Xs: dict[float, np.ndarray], rows: np.ndarray, *arrays: np.ndarray) -> list[np.ndarray]:
    """Stack the rows ``rows`` of every speed copy, repeating ``arrays`` (labels, weights...) alongside."""
    n = len(Xs)
    return [np.vstack([X[rows] for X in Xs.values()])] + [np.concatenate([a[rows]] * n) for a in arrays]


def _evaluate(Xs, y, av, spk, corpus, folds: list[list[str]], classes: tuple[str, ...]):
    y_true, y_pred, av_err = [], [], []
    X0 = Xs[1.0]
    for test_spk in folds:
        test = np.isin(spk, test_spk)
        train = np.flatnonzero(~test)
        Xtr, ytr, avtr = _augmented(Xs, train, y, av)
        model = _fit(Xtr, ytr, avtr, np.concatenate([_weights(corpus[train], y[train])] * len(Xs)))
        full = np.zeros((test.sum(), len(F.FEATURE_NAMES)))
        full[:, [F.FEATURE_NAMES.index(n) for n in MODEL_FEATURES]] = X0[test]
        proba, av_hat = model.class_probs_and_av(full)
        idx = [CLASSES.index(c) for c in classes]
        y_true += list(y[test])
        y_pred += list(np.array(classes)[proba[:, idx].argmax(1)])
        av_err.append(np.abs(av_hat - av[test]))
    uar, cm = _uar(y_true, y_pred, classes)
    return uar, cm, np.vstack(av_err).mean(0)


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
    print(f"features: {X_all[1.0].shape} x {len(X_all)} speeds in {time.time() - t0:.0f}s")
    cols = [F.FEATURE_NAMES.index(n) for n in MODEL_FEATURES]
    Xs = {sp: X[:, cols] for sp, X in X_all.items()}
    y, spk, corpus_arr = np.array(labels), np.array(speakers), np.array(corpus)
    av = np.array([CLASS_AV[c] for c in labels], dtype=np.float64)

    rav_actors = [f"rav{i:02d}" for i in range(1, 25)]
    rav_folds = [rav_actors[i : i + 4] for i in range(0, 24, 4)]
    emo_folds = [[s] for s in sorted(set(spk[corpus_arr == "emodb"]))]
    report = {}
    for name, folds, classes in (
        ("RAVDESS leave-4-actors-out", rav_folds, RAVDESS_CLASSES),
        ("EmoDB leave-one-speaker-out", emo_folds, EMODB_CLASSES),
    ):
        # Test folds only hold the target corpus; training adds the whole other corpus.
        uar, cm, mae = _evaluate(Xs, y, av, spk, corpus_arr, folds, classes)
        chance = 1 / len(classes)
        # av columns are (valence, arousal), as in CLASS_AV
        print(f"\n{name}: UAR {uar:.3f} (chance {chance:.3f}); valence MAE {mae[0]:.3f}, arousal MAE {mae[1]:.3f}")
        _print_cm(name, cm, classes)
        report[name] = {
            "uar": round(uar, 4),
            "chance": round(chance, 4),
            "valence_mae": round(float(mae[0]), 4),
            "arousal_mae": round(float(mae[1]), 4),
            "classes": list(classes),
            "confusion": cm.tolist(),
        }

    everything = np.arange(len(y))
    Xtr, ytr, avtr = _augmented(Xs, everything, y, av)
    model = _fit(Xtr, ytr, avtr, np.concatenate([_weights(corpus_arr, y)] * len(Xs)))
    args.out.mkdir(parents=True, exist_ok=True)
    _save(model, args.out / WEIGHTS_FILE)
    (args.out / "metrics_v1.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nwrote {args.out / WEIGHTS_FILE} and metrics.json")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
