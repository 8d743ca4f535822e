"""Train the burst model: ``python -m emolens.train.burst`` -> ``emolens/weights/burst/burst_model.npz``.

Reproducible (fixed seeds; features cached by :mod:`emolens.train.burst_data`). Uses EmoGator *train* only for
fitting; a speaker-disjoint 20 % of the train speakers ("tune") picks the ensemble weights, the calibration
temperature and the detector thresholds, then everything is refit on all train speakers. EmoGator dev is never
used here: :mod:`emolens.eval.burst` reports it.

- Pre-detector: a 64-unit MLP on Whisper log-mel statistics (241 values, no encoder work), EmoGator bursts vs.
  plain speech excerpts (EmoDB, ASED, BAVED); threshold: :data:`PRE_RECALL` of held-out bursts pass.
- Detector: logistic regression on mel statistics ++ Whisper-encoder mean/std; threshold: :data:`DET_RECALL`.
- Classifier on hand features (all but ``loud_mean_db``, which depends on recording gain) ++ the mean/std of
  Whisper encoder layers :data:`LAYERS` (float32 numpy encoder, :func:`~emolens.train.burst_data.layer_table`),
  standardised; the embedding block is projected on its first :data:`PCA_K` principal components. Two
  multinomial logistic regressions (hand block; components) and an ensemble of ReLU MLPs on both (torch, dropout,
  label smoothing, class-balanced cross-entropy; exported as numpy arrays), probabilities pooled geometrically
  (:data:`GEOMETRIC`) with weights chosen on the tune speakers. The classifier is fitted on the clean clips plus
  :data:`AUG_COPIES` augmented copies of them (:func:`~emolens.train.burst_data.augmented_table`; standardised with
  the clean clips' statistics); the detectors on the clean clips only.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from emolens.engine.burst import CATEGORIES, WEIGHTS_DIR, WEIGHTS_FILE, BurstModel
from emolens.engine.burst_features import hand_feature_names
from emolens.train.burst_data import augmented_table, emogator, encoder_table, layer_table

SEED = 0
LAYERS = (1, 2, 3)  # Whisper base encoder layers of the embedding block (0 = conv stem, 6 = final): train folds
PCA_K = 256
C_LR_HAND = 0.01
C_LR_EMB = 0.003
J_SCALE = 1 / 3  # the components' scale in the MLPs' input (the hand block has unit variance per feature)
MLP_HIDDEN = 256
MLP_SEEDS = (0, 1, 2, 3, 4, 5)
#: augmented copies of the train clips (:func:`~emolens.train.burst_data.augment`: speed, room, noise, gain) added to
#: the classifier's fit; chosen on 5 speaker-disjoint train folds (docs/models.md)
AUG_COPIES: tuple[int, ...] = (0,)
#: pool the regressions and the MLPs log-linearly instead of averaging them: on 5 speaker-disjoint train folds
#: top-1 UAR 0.3077 vs 0.3063 and top-5 0.6641 vs 0.6620 (4 of 5 folds better or equal), NLL 2.450 vs 2.452
GEOMETRIC = True
MLP_EPOCHS = 40
TUNE_FRACTION = 0.2
DET_RECALL = 0.985  # detector threshold: this share of held-out bursts pass
PRE_RECALL = 0.995  # pre-detector (skips the encoder for clear speech): this share pass


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _uar(y: np.ndarray, pred: np.ndarray, n: int = len(CATEGORIES)) -> float:
    return float(np.mean([np.mean(pred[y == c] == c) for c in range(n) if np.any(y == c)]))


def _top5(y: np.ndarray, p: np.ndarray) -> float:
    top = np.argsort(-p, axis=1)[:, :5]
    return float(np.mean([y[i] in top[i] for i in range(len(y))]))


def _mlps(k: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """ReLU MLPs (one hidden layer, dropout, label smoothing, class-balanced loss), one per seed, as arrays."""
    import torch

    torch.set_num_threads(1)
    counts = np.bincount(y, minlength=len(CATEGORIES)).astype(np.float64)
    weight = torch.tensor(len(y) / (len(CATEGORIES) * np.maximum(counts, 1.0)), dtype=torch.float32)
    xt, yt = torch.tensor(k, dtype=torch.float32), torch.tensor(y)
    w1, b1, w2, b2 = [], [], [], []
    for s in MLP_SEEDS:
        torch.manual_seed(s)
        lin1, lin2 = torch.nn.Linear(k.shape[1], MLP_HIDDEN), torch.nn.Linear(MLP_HIDDEN, len(CATEGORIES))
        net = torch.nn.Sequential(torch.nn.Dropout(0.3), lin1, torch.nn.ReLU(), torch.nn.Dropout(0.5), lin2)
        opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=0.05)
        steps = (len(y) + 255) // 256
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=MLP_EPOCHS * steps)
        loss = torch.nn.CrossEntropyLoss(weight=weight, label_smoothing=0.1)
        gen = torch.Generator().manual_seed(s)
        for _ in range(MLP_EPOCHS):
            net.train()
            idx = torch.randperm(len(y), generator=gen)
            for i in range(0, len(y), 256):
                b = idx[i : i + 256]
                opt.zero_grad()
                loss(net(xt[b]), yt[b]).backward()
                opt.step()
                sched.step()
        w1.append(lin1.weight.detach().numpy().T)
        b1.append(lin1.bias.detach().numpy())
        w2.append(lin2.weight.detach().numpy().T)
        b2.append(lin2.bias.detach().numpy())
    return {
        "mlp_w1": np.stack(w1).astype(np.float32),
        "mlp_b1": np.stack(b1).astype(np.float32),
        "mlp_w2": np.stack(w2).astype(np.float32),
        "mlp_b2": np.stack(b2).astype(np.float32),
    }


def _fit_classifier(z: np.ndarray, y: np.ndarray, n_hand: int) -> dict[str, np.ndarray]:
    """The classifier's arrays (see :class:`~emolens.engine.burst.BurstModel`) fitted on standardised rows z
    (clean rows, then any augmented copies)."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression

    zh = z[:, :n_hand]
    groups = z[:, n_hand:].reshape(len(z), len(LAYERS), -1)  # one group per encoder layer
    pcas = [PCA(n_components=PCA_K, random_state=SEED).fit(groups[:, g]) for g in range(len(LAYERS))]
    k = [p.transform(groups[:, g]) for g, p in enumerate(pcas)]
    h_lr = LogisticRegression(C=C_LR_HAND, max_iter=2000).fit(zh, y)
    e_lrs = [LogisticRegression(C=C_LR_EMB, max_iter=2000).fit(kg, y) for kg in k]
    return {
        "e_pca": np.stack([p.components_.T for p in pcas]).astype(np.float32),
        "e_pca_mean": np.stack([p.mean_ for p in pcas]).astype(np.float32),
        "h_lr_coef": h_lr.coef_.astype(np.float32),
        "h_lr_intercept": h_lr.intercept_.astype(np.float32),
        "e_lr_coef": np.stack([m.coef_ for m in e_lrs]).astype(np.float32),
        "e_lr_intercept": np.stack([m.intercept_ for m in e_lrs]).astype(np.float32),
        "j_scale": np.float64(J_SCALE),
        **_mlps(np.hstack([zh, *(kg * J_SCALE for kg in k)]), y),
    }


def _fit_logistic(xp: np.ndarray, xn: np.ndarray, c: float) -> dict[str, np.ndarray]:
    """Standardisation + balanced logistic regression, bursts (xp) vs speech (xn)."""
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([xp, xn])
    mean, scale = x.mean(0), x.std(0) + 1e-6
    z = np.clip((x - mean) / scale, -8.0, 8.0)
    t = np.r_[np.ones(len(xp)), np.zeros(len(xn))]
    m = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(z, t)
    return {"mean": mean, "scale": scale, "coef": m.coef_[0].astype(np.float64), "intercept": float(m.intercept_[0])}


def _fit_pre(xp: np.ndarray, xn: np.ndarray) -> dict[str, np.ndarray]:
    """Standardisation + a 64-unit ReLU MLP, bursts (xp) vs speech (xn): the pre-detector."""
    from sklearn.neural_network import MLPClassifier

    x = np.vstack([xp, xn])
    mean, scale = x.mean(0), x.std(0) + 1e-6
    z = np.clip((x - mean) / scale, -8.0, 8.0)
    t = np.r_[np.ones(len(xp)), np.zeros(len(xn))]
    m = MLPClassifier(hidden_layer_sizes=(64,), alpha=1.0, max_iter=300, random_state=SEED).fit(z, t)
    return {
        "mean": mean,
        "scale": scale,
        "w1": m.coefs_[0],
        "b1": m.intercepts_[0],
        "w2": m.coefs_[1][:, 0],
        "b2": float(m.intercepts_[1][0]),
    }


def _nll(logp: np.ndarray, y: np.ndarray, temp: float) -> float:
    z = logp / temp
    z = z - z.max(1, keepdims=True)
    lse = np.log(np.exp(z).sum(1))
    return float(np.mean(lse - z[np.arange(len(y)), y]))


def build(c_det: float = 0.01) -> tuple[dict[str, np.ndarray], dict]:
    """Fit the model (tune split for weights/temperature/thresholds, then refit on all train); arrays + report."""
    t0 = time.time()
    tr = emogator("train")
    enc = encoder_table("train")
    lay = layer_table("train")
    neg = encoder_table("neg")
    names = hand_feature_names()
    hand_cols = np.array([i for i, n in enumerate(names) if n != "loud_mean_db"])
    y = tr["y"].astype(int)
    assert (enc["group"] == tr["speaker"]).all() and (lay["group"] == tr["speaker"]).all(), "rows follow labels.csv"
    emb = lay["layers"][:, list(LAYERS)].reshape(len(y), -1)
    x_cls = np.hstack([tr["hand"][:, hand_cols], emb]).astype(np.float64)
    mean, scale = x_cls.mean(0), x_cls.std(0) + 1e-6  # of the clean clips only
    z = np.clip((x_cls - mean) / scale, -8.0, 8.0)
    z_aug = []  # standardised augmented copies, rows aligned with z
    for copy in AUG_COPIES:
        a = augmented_table(copy)
        xa = np.hstack([a["hand"][:, hand_cols], a["layers"][:, list(LAYERS)].reshape(len(y), -1)]).astype(np.float64)
        z_aug.append(np.clip((xa - mean) / scale, -8.0, 8.0))
    pre_b, pre_n = enc["mel"], neg["mel"]
    det_b, det_n = np.hstack([enc["mel"], enc["meanstd"]]), np.hstack([neg["mel"], neg["meanstd"]])

    rng = np.random.default_rng(SEED)
    spk = np.unique(tr["speaker"])
    tune_spk = set(rng.permutation(spk)[: int(len(spk) * TUNE_FRACTION)])
    tune = np.array([s in tune_spk for s in tr["speaker"]])
    groups = np.unique(neg["group"])
    tune_g = set(rng.permutation(groups)[: int(len(groups) * TUNE_FRACTION)])
    tune_n = np.array([g in tune_g for g in neg["group"]])

    n_hand = len(hand_cols)
    arrays: dict = {
        "mean": mean,
        "scale": scale,
        "hand_cols": hand_cols,
        "emb_dim": emb.shape[1],
        "layers": np.array(LAYERS),
        "det_threshold": 0.5,
        "pre_threshold": 0.0,
        "temperature": 1.0,
        "lr_weight": 0.5,
        "head_weight": 0.5,
        "geometric": np.int64(GEOMETRIC),
    }

    def fit_all(rows: np.ndarray, rows_n: np.ndarray) -> dict[str, np.ndarray]:
        zs = np.vstack([z[rows], *(za[rows] for za in z_aug)])
        out = _fit_classifier(zs, np.concatenate([y[rows]] * (1 + len(z_aug))), n_hand)
        out.update({"pre_" + k: v for k, v in _fit_pre(pre_b[rows], pre_n[rows_n]).items()})
        out.update({"det_" + k: v for k, v in _fit_logistic(det_b[rows], det_n[rows_n], c_det).items()})
        return out

    # 1. tune: fit on 80 % of the train speakers, evaluate on the rest
    probe = BurstModel({**arrays, **fit_all(~tune, ~tune_n)})
    report: dict = {"tune_speakers": len(tune_spk), "layers": list(LAYERS), "augmented_copies": list(AUG_COPIES)}
    best = (-1.0, 0.0, 0.0, 0.5, 1.0)
    for w in (0.0, 0.25, 0.5, 0.75, 1.0):
        for hw in (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 1.0):
            probe.lr_weight, probe.head_weight = w, hw
            p = probe.logits(z[tune])
            uar, t5 = _uar(y[tune], p.argmax(1)), _top5(y[tune], p)
            report[f"tune_lr{w}_hand{hw}"] = [round(uar, 4), round(t5, 4)]
            best = max(best, (uar + t5, uar, t5, w, hw))
    probe.lr_weight, probe.head_weight = best[3], best[4]
    logp = probe.logits(z[tune])
    temps = np.exp(np.linspace(np.log(0.3), np.log(3.0), 41))
    temp = float(temps[np.argmin([_nll(logp, y[tune], t) for t in temps])])
    pre_thr = float(np.quantile(probe.pre_proba(pre_b[tune]), 1 - PRE_RECALL))
    det_thr = float(np.quantile(probe.detect_proba(enc["mel"][tune], enc["meanstd"][tune]), 1 - DET_RECALL))
    report.update(
        lr_weight=best[3],
        head_weight=best[4],
        tune_uar=round(best[1], 4),
        tune_top5=round(best[2], 4),
        temperature=round(temp, 3),
        pre_threshold=round(pre_thr, 4),
        det_threshold=round(det_thr, 4),
        tune_speech_passing_pre=round(float(np.mean(probe.pre_proba(pre_n[tune_n]) >= pre_thr)), 4),
        tune_speech_excerpts_flagged=round(
            float(np.mean(probe.detect_proba(neg["mel"][tune_n], neg["meanstd"][tune_n]) >= det_thr)), 4
        ),
        tune_s=round(time.time() - t0),
    )
    _log(json.dumps(report))
    # 2. refit on all train speakers with the tuned settings
    arrays.update(fit_all(np.ones(len(y), dtype=bool), np.ones(len(tune_n), dtype=bool)))
    arrays.update(
        lr_weight=np.float64(best[3]),
        head_weight=np.float64(best[4]),
        temperature=np.float64(temp),
        det_threshold=np.float64(det_thr),
        pre_threshold=np.float64(pre_thr),
    )
    report["total_s"] = round(time.time() - t0)
    return {k: np.asarray(v) for k, v in arrays.items()}, report


def main() -> None:
    """Train and write the weights plus a small JSON report of the tuning figures."""
    import argparse

    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    ap.add_argument("--c-det", type=float, default=0.01)
    args = ap.parse_args()
    arrays, report = build(args.c_det)
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out / WEIGHTS_FILE, **arrays)
    (args.out / "train_report.json").write_text(json.dumps(report, indent=1) + "\n")
    _log(f"wrote {args.out / WEIGHTS_FILE}")


if __name__ == "__main__":
    main()
