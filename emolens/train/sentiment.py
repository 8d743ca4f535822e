"""Train the 9-level sentiment model on SST sentences (continuous positivity binned into 9 equal bins).

    python -m emolens.train.sentiment [--datasets ../shared/datasets]

Prints SST dev figures: 5-class accuracy after collapsing 9 -> 5 levels (1-2, 3-4, 5, 6-7, 8-9) against SST's
official 5-class binning of the same continuous value, and Spearman rho of the expected level vs the value.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
OUT = Path(__file__).resolve().parents[1] / "weights" / "language" / "sentiment.npz"
COLLAPSE = np.array([0, 0, 1, 1, 2, 3, 3, 4, 4])  # level index 0..8 -> 5 classes


def load_sst(split: str, root: Path = DATASETS) -> tuple[list[str], np.ndarray]:
    """Sentences and continuous positivity values (0..1) of an SST split."""
    with open(root / "sst" / "sentence_level_continuous" / f"SSTB_{split}.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["sentence"] for r in rows], np.array([float(r["values"]) for r in rows])


def levels(v: np.ndarray) -> np.ndarray:
    """Continuous 0..1 -> level index 0..8 (nine equal bins)."""
    return np.minimum((v * 9).astype(int), 8)


def sst5(v: np.ndarray) -> np.ndarray:
    """SST's official 5 classes: [0,.2], (.2,.4], (.4,.6], (.6,.8], (.8,1]."""
    return np.searchsorted([0.2, 0.4, 0.6, 0.8], v, side="left")


def evaluate(p: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """(5-class accuracy, Spearman rho of expected level vs value)."""
    from scipy.stats import spearmanr

    p5 = np.zeros((len(p), 5))
    np.add.at(p5.T, COLLAPSE, p.T)
    acc = float((p5.argmax(1) == sst5(v)).mean())
    ev = p @ np.arange(1, 10)
    return acc, float(spearmanr(ev, v).statistic)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=Path, default=DATASETS)
    ap.add_argument("--embeddings", type=Path, default=None, help="folder with cached sst_train.npy/sst_dev.npy")
    args = ap.parse_args()
    from sklearn.linear_model import LogisticRegression

    from emolens.engine import language, sentiment

    tr_x, tr_v = load_sst("train", args.datasets)
    dv_x, dv_v = load_sst("dev", args.datasets)
    if args.embeddings and (args.embeddings / "sst_train.npy").exists():
        e_tr, e_dv = np.load(args.embeddings / "sst_train.npy"), np.load(args.embeddings / "sst_dev.npy")
    else:
        e_tr, e_dv = language.encode(tr_x), language.encode(dv_x)
    f_tr = np.concatenate([e_tr, sentiment.vader_features(tr_x)], 1)
    f_dv = np.concatenate([e_dv, sentiment.vader_features(dv_x)], 1)
    y = levels(tr_v)
    print(f"SST train {len(tr_x)} dev {len(dv_x)}; level counts {np.bincount(y, minlength=9).tolist()}")
    # VADER alone, as a baseline: compound -1..1 mapped linearly onto the 0..1 scale.
    from scipy.stats import spearmanr

    vader_rho = spearmanr(f_dv[:, -1], dv_v).statistic
    vader_acc = (sst5((f_dv[:, -1] + 1) / 2) == sst5(dv_v)).mean()
    print(f"baseline VADER compound alone: dev 5-class acc {vader_acc:.3f}, Spearman {vader_rho:.3f}")
    best = None
    for c in (0.1, 0.3, 1.0, 3.0):
        m = LogisticRegression(C=c, max_iter=2000).fit(f_tr, y)
        acc, rho = evaluate(m.predict_proba(f_dv), dv_v)
        print(f"  C={c}: dev 5-class acc {acc:.3f}, Spearman {rho:.3f}")
        if best is None or acc + rho > best[0]:
            best = (acc + rho, c, m)
    _, c, m = best
    w = np.zeros((f_tr.shape[1], 9), dtype=np.float32)
    b = np.full(9, -30.0, dtype=np.float32)  # a level absent from training keeps ~zero probability
    w[:, m.classes_] = m.coef_.T
    b[m.classes_] = m.intercept_
    np.savez_compressed(OUT, w=w, b=b)
    acc, rho = evaluate(sentiment.predict_sentiment(dv_x, e_dv), dv_v)
    print(f"chosen C={c}; exported model on SST dev: 5-class acc {acc:.3f}, Spearman {rho:.3f} -> {OUT}")


if __name__ == "__main__":
    main()
