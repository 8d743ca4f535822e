"""Train the burst model: ``python -m emolens.train.burst`` -> ``emolens/weights/burst/burst_model.npz``.

Reproducible (fixed seeds; features cached by :mod:`emolens.train.burst_data`). Uses EmoGator *train* only for
fitting; a speaker-disjoint 20 % of the train speakers ("tune") picks the ensemble weight, the calibration
temperature and the detector threshold, then everything is refit on all train speakers. EmoGator dev is never
used here: :mod:`emolens.eval.burst` reports it.

- Input: hand features (all but ``loud_mean_db``, which depends on recording gain) ++ Whisper-base embedding,
  standardised; the classifier works on the first 256 principal components.
- Classifier: multinomial logistic regression + 3 ReLU MLPs (256 hidden, different seeds), probabilities averaged.
- Detector: logistic regression, EmoGator bursts vs. plain speech excerpts (EmoDB, ASED, BAVED).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from emolens.engine.burst import CATEGORIES, WEIGHTS_DIR, WEIGHTS_FILE, BurstModel
from emolens.engine.burst_features import hand_feature_names
from emolens.train.burst_data import emogator, speech_negatives

SEED = 0
PCA_K = 256
MLP_HIDDEN = 256
MLP_SEEDS = (0, 1, 2)
TUNE_FRACTION = 0.2
DET_RECALL = 0.985  # detector threshold: this share of held-out bursts pass
PRE_RECALL = 0.995  # hand-feature pre-detector (skips the embedding for clear speech): this share pass


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _uar(y: np.ndarray, pred: np.ndarray, n: int = len(CATEGORIES)) -> float:
    return float(np.mean([np.mean(pred[y == c] == c) for c in range(n) if np.any(y == c)]))


def _fit_classifier(z: np.ndarray, y: np.ndarray, c_lr: float, alpha: float) -> dict[str, np.ndarray]:
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    pca = PCA(n_components=min(PCA_K, z.shape[1]), random_state=SEED).fit(z)
    k = pca.transform(z)
    lr = LogisticRegression(C=c_lr, max_iter=2000).fit(k, y)
    w1, b1, w2, b2 = [], [], [], []
    for s in MLP_SEEDS:
        m = MLPClassifier(
            hidden_layer_sizes=(MLP_HIDDEN,),
            alpha=alpha,
            max_iter=200,
            early_stopping=True,
            validation_fraction=0.1,
            n_iter_no_change=15,
            random_state=s,
        ).fit(k, y)
        w1.append(m.coefs_[0])
        b1.append(m.intercepts_[0])
        w2.append(m.coefs_[1])
        b2.append(m.intercepts_[1])
    return {
        "pca": pca.components_.T.astype(np.float32),
        "pca_mean": pca.mean_.astype(np.float32),
        "lr_coef": lr.coef_.astype(np.float32),
        "lr_intercept": lr.intercept_.astype(np.float32),
        "mlp_w1": np.stack(w1).astype(np.float32),
        "mlp_b1": np.stack(b1).astype(np.float32),
        "mlp_w2": np.stack(w2).astype(np.float32),
        "mlp_b2": np.stack(b2).astype(np.float32),
    }


def _fit_detector(zp: np.ndarray, zn: np.ndarray, c: float) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([zp, zn])
    t = np.r_[np.ones(len(zp)), np.zeros(len(zn))]
    # Balanced: bursts outnumber speech excerpts; the threshold is set on held-out bursts afterwards anyway.
    m = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(x, t)
    return m.coef_[0].astype(np.float64), float(m.intercept_[0])


def _nll(logp: np.ndarray, y: np.ndarray, temp: float) -> float:
    z = logp / temp
    z = z - z.max(1, keepdims=True)
    lse = np.log(np.exp(z).sum(1))
    return float(np.mean(lse - z[np.arange(len(y)), y]))


def _data(hand_only: bool) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    if not hand_only:
        return emogator("train"), speech_negatives()
    from emolens.train.burst_data import CACHE

    h = dict(np.load(CACHE / "emogator_train_hand.npz"))
    import csv

    from emolens.train.burst_data import DATASETS

    with open(DATASETS / "emogator" / "labels.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == "train"]
    h["y"] = np.array([int(r["category"]) - 1 for r in rows])
    h["speaker"] = np.array([r["speaker"] for r in rows])
    return h, dict(np.load(CACHE / "speech_neg_hand.npz"))


def build(
    c_lr: float = 0.01, alpha: float = 1.0, c_det: float = 0.01, hand_only: bool = False, c_lr_emb: float = 0.003
) -> tuple[dict[str, np.ndarray], dict]:
    """Fit the model (tune split for weights/temperature/threshold, then refit on all train); arrays + report."""
    t0 = time.time()
    tr, neg = _data(hand_only)
    names = hand_feature_names()
    hand_cols = np.array([i for i, n in enumerate(names) if n != "loud_mean_db"])
    if hand_only:
        x_b = tr["hand"][:, hand_cols].astype(np.float64)
        x_n = neg["hand"][:, hand_cols].astype(np.float64)
    else:
        x_b = np.hstack([tr["hand"][:, hand_cols], tr["emb"]]).astype(np.float64)
        x_n = np.hstack([neg["hand"][:, hand_cols], neg["emb"]]).astype(np.float64)
    y = tr["y"].astype(int)
    mean = np.vstack([x_b, x_n]).mean(0)
    scale = np.vstack([x_b, x_n]).std(0) + 1e-6
    z_b = np.clip((x_b - mean) / scale, -8.0, 8.0)
    z_n = np.clip((x_n - mean) / scale, -8.0, 8.0)

    rng = np.random.default_rng(SEED)
    spk = np.unique(tr["speaker"])
    tune_spk = set(rng.permutation(spk)[: int(len(spk) * TUNE_FRACTION)])
    tune = np.array([s in tune_spk for s in tr["speaker"]])
    groups = np.unique(neg["group"])
    tune_g = set(rng.permutation(groups)[: int(len(groups) * TUNE_FRACTION)])
    tune_n = np.array([g in tune_g for g in neg["group"]])

    n_hand = len(hand_cols)
    arrays = {
        "mean": mean,
        "scale": scale,
        "hand_cols": hand_cols,
        "emb_dim": 0 if hand_only else tr["emb"].shape[1],
        "det_threshold": 0.5,
        "temperature": 1.0,
        "lr_weight": 0.5,
        "head_weight": 1.0,
    }

    def fit_heads(rows: np.ndarray) -> dict[str, np.ndarray]:
        heads = {"h_" + k: v for k, v in _fit_classifier(z_b[rows, :n_hand], y[rows], c_lr, alpha).items()}
        if not hand_only:
            e = _fit_classifier(z_b[rows, n_hand:], y[rows], c_lr_emb, alpha)
            heads.update({"e_" + k: v for k, v in e.items()})
        return heads

    # 1. tune: fit on 80 % of the train speakers, evaluate on the rest
    det_w, det_b = _fit_detector(z_b[~tune], z_n[~tune_n], c_det)
    probe = BurstModel({**arrays, **fit_heads(~tune), "det_coef": det_w, "det_intercept": det_b})
    report: dict = {"tune_speakers": len(tune_spk)}
    best = (-1.0, 0.5, 1.0)
    for w in (0.0, 0.5, 1.0):
        for hw in (1.0,) if hand_only else (0.3, 0.4, 0.5, 0.6, 0.7, 1.0, 0.0):
            probe.lr_weight, probe.head_weight = w, hw
            uar = _uar(y[tune], probe.logits(z_b[tune]).argmax(1))
            report[f"tune_uar_lr{w}_hand{hw}"] = round(uar, 4)
            best = max(best, (uar, w, hw))
    probe.lr_weight, probe.head_weight = best[1], best[2]
    logp = probe.logits(z_b[tune])
    temps = np.exp(np.linspace(np.log(0.3), np.log(3.0), 41))
    temp = float(temps[np.argmin([_nll(logp, y[tune], t) for t in temps])])
    p_tune = probe.detect_proba(z_b[tune])
    thr = float(np.quantile(p_tune, 1 - DET_RECALL))
    # pre-detector on hand features only: lets 99.5 % of held-out bursts through to the full detector
    pre_w, pre_b = _fit_detector(z_b[~tune, :n_hand], z_n[~tune_n, :n_hand], c_det)
    p_pre = 1.0 / (1.0 + np.exp(-(z_b[tune, :n_hand] @ pre_w + pre_b)))
    pre_thr = float(np.quantile(p_pre, 1 - PRE_RECALL))
    pre_pass_speech = float(np.mean(1.0 / (1.0 + np.exp(-(z_n[tune_n, :n_hand] @ pre_w + pre_b))) >= pre_thr))
    report.update(pre_threshold=round(pre_thr, 4), tune_speech_passing_pre=round(pre_pass_speech, 4))
    fa = float(np.mean(probe.detect_proba(z_n[tune_n]) >= thr))
    report.update(
        lr_weight=best[1],
        head_weight=best[2],
        tune_uar=round(best[0], 4),
        temperature=round(temp, 3),
        det_threshold=round(thr, 4),
        tune_speech_excerpts_flagged=round(fa, 4),
        tune_s=round(time.time() - t0),
    )
    _log(json.dumps(report))
    # 2. refit on all train speakers with the tuned settings
    det_w, det_b = _fit_detector(z_b, z_n, c_det)
    pre_w, pre_b = _fit_detector(z_b[:, :n_hand], z_n[:, :n_hand], c_det)
    arrays.update(pre_coef=pre_w, pre_intercept=np.float64(pre_b), pre_threshold=np.float64(pre_thr))
    arrays.update(fit_heads(np.ones(len(y), dtype=bool)))
    arrays.update(
        lr_weight=np.float64(best[1]),
        head_weight=np.float64(best[2]),
        temperature=np.float64(temp),
        det_coef=det_w,
        det_intercept=np.float64(det_b),
        det_threshold=np.float64(thr),
    )
    report["total_s"] = round(time.time() - t0)
    return {k: np.asarray(v) for k, v in arrays.items()}, report


def main() -> None:
    """Train and write the weights plus a small JSON report of the tuning figures."""
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    ap.add_argument("--c-lr", type=float, default=0.01)
    ap.add_argument("--alpha", type=float, default=1.0)
    ap.add_argument("--c-det", type=float, default=0.01)
    ap.add_argument("--c-lr-emb", type=float, default=0.003)
    ap.add_argument("--hand-only", action="store_true", help="no Whisper embedding (faster, less accurate)")
    args = ap.parse_args()
    arrays, report = build(args.c_lr, args.alpha, args.c_det, args.hand_only, args.c_lr_emb)
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out / WEIGHTS_FILE, **arrays)
    (args.out / "train_report.json").write_text(json.dumps(report, indent=1) + "\n")
    _log(f"wrote {args.out / WEIGHTS_FILE}")


if __name__ == "__main__":
    main()
