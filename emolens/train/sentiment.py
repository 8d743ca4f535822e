"""Train the 9-level sentiment model v2 on SST phrases (tree nodes, 5 classes) and sentences (continuous scores).

    python -m emolens.train.sentiment [--datasets ../shared/datasets] [--cache /work/cache/sst]

Method (details and figures in docs/models.md):

1. Data. Every node of the 8,544 SST training trees carries a 0-4 label: ~159k unique labelled phrases. The
   training trees are split once (seeded, 85/15) into A (fits the two phrase models) and B (its sentences'
   continuous scores fit the blend and the 9-level calibration, so that the calibration sees the phrase models'
   out-of-sample confidence). SST dev is used only for model choices and the reported figures.
2. TF-IDF phrase model: negation-aware word 1-2 grams ("isn't" and SST's "is n't" give the same tokens),
   sublinear tf -> multinomial logistic regression over the 5 classes, on every phrase of A.
3. Embedding model: the shipped MiniLM sentence embedding (mean-pooled, the one the emotion model uses, so it
   costs nothing extra at run time) -> MLP (384 -> 256 ReLU -> 5), softmax cross-entropy, on A's sentences.
   (Also training it on ~30k encoded phrases was tried: no better on dev, and 150k single-text encoder runs
   make the recipe take hours on 2 cores.)
4. Blend and calibration on B: z = a * log p_tfidf + (1 - a) * log p_mlp; the 9-level distribution is
   softmax(z @ w + b), fitted to B's continuous scores (see :func:`fit_calibration`); ``a`` chosen on dev.
5. Both models are refitted on all training trees with the same settings (blend and calibration kept), and the
   refit ships when dev agrees it is no worse. Every text is scored alone (no batch statistics), so scores stay
   batch-independent. VADER (the v1 model's lexicon features) was tried as a further input: no gain on dev.

Prints SST dev figures: 5-class accuracy after collapsing 9 -> 5 levels (1-2, 3-4, 5, 6-7, 8-9) against SST's
official 5-class binning of the continuous value, Spearman rho of the expected level vs the value, and a
reliability table of the 9-level probabilities.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path
from typing import Any

import numpy as np

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
OUT = Path(__file__).resolve().parents[1] / "weights" / "language" / "sentiment.npz"
FIGURE = Path(__file__).resolve().parents[2] / "docs" / "img" / "sentiment_calibration.svg"
COLLAPSE = np.array([0, 0, 1, 1, 2, 3, 3, 4, 4])  # level index 0..8 -> 5 classes
_ESCAPES = {"-LRB-": "(", "-RRB-": ")", "``": '"', "''": '"'}


# ---------------------------------------------------------------------------------------------------------------
# Data


def _leaf(token: str) -> str:
    return _ESCAPES.get(token, token).replace("\\/", "/")


def parse_tree(line: str) -> list[tuple[int, list[str]]]:
    """Every node of one PTB-format SST tree as (label 0..4, words), root first; a leaf may contain spaces."""
    nodes: list[tuple[int, list[str]] | None] = []
    pos = 0

    def node() -> list[str]:
        nonlocal pos
        pos += 1  # "("
        space = line.index(" ", pos)
        label = int(line[pos:space])
        pos = space + 1
        idx = len(nodes)
        nodes.append(None)
        words: list[str] = []
        if line[pos] == "(":
            while line[pos] == "(":
                words += node()
                while line[pos] == " ":
                    pos += 1
        else:
            end = line.index(")", pos)
            words = [_leaf(line[pos:end])]
            pos = end
        pos += 1  # ")"
        nodes[idx] = (label, words)
        return words

    node()
    return [n for n in nodes if n is not None]


def load_trees(split: str, root: Path = DATASETS) -> list[list[tuple[int, list[str]]]]:
    """Parsed SST trees of a split (train or dev)."""
    with open(root / "sst" / "trees" / f"{split}.txt", encoding="utf-8") as f:
        return [parse_tree(line.strip()) for line in f if line.strip()]


def load_sst(split: str, root: Path = DATASETS) -> tuple[list[str], np.ndarray]:
    """Sentences and continuous positivity values (0..1) of an SST split."""
    with open(root / "sst" / "sentence_level_continuous" / f"SSTB_{split}.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["sentence"].replace("\\/", "/") for r in rows], np.array([float(r["values"]) for r in rows])


def split_trees(n: int, seed: int = 0, share_b: float = 0.15) -> np.ndarray:
    """Boolean mask: which training trees form part B (blend + calibration)."""
    return np.random.default_rng(seed).random(n) < share_b


def phrases_of(trees: list[list[tuple[int, list[str]]]]) -> dict[str, int]:
    """Unique phrase text -> label over every node of ``trees`` (a phrase has one label in SST)."""
    out: dict[str, int] = {}
    for tree in trees:
        for label, words in tree:
            out.setdefault(" ".join(words), label)
    return out


def levels(v: np.ndarray) -> np.ndarray:
    """Continuous 0..1 -> level index 0..8 (nine equal bins)."""
    return np.minimum((v * 9).astype(int), 8)


def sst5(v: np.ndarray) -> np.ndarray:
    """SST's official 5 classes: [0,.2], (.2,.4], (.4,.6], (.6,.8], (.8,1]."""
    return np.searchsorted([0.2, 0.4, 0.6, 0.8], v, side="left")


def evaluate(p: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """(5-class accuracy, Spearman rho of expected level vs value) of 9-level distributions ``p``."""
    from scipy.stats import spearmanr

    p5 = np.zeros((len(p), 5))
    np.add.at(p5.T, COLLAPSE, p.T)
    acc = float((p5.argmax(1) == sst5(v)).mean())
    ev = p @ np.arange(1, 10)
    return acc, float(spearmanr(ev, v).statistic)


def reliability(p: np.ndarray, v: np.ndarray, bins: int = 10) -> list[tuple[float, float, int]]:
    """Pooled over the 9 levels: (mean predicted probability, observed frequency, count) per probability bin."""
    onehot = np.eye(9)[levels(v)]
    flat_p, flat_y = p.reshape(-1), onehot.reshape(-1)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.minimum(np.searchsorted(edges, flat_p, side="right") - 1, bins - 1)
    out = []
    for b in range(bins):
        m = idx == b
        if m.any():
            out.append((float(flat_p[m].mean()), float(flat_y[m].mean()), int(m.sum())))
    return out


def expected_vs_value(p: np.ndarray, v: np.ndarray, bins: int = 9) -> list[tuple[float, float, float, int]]:
    """Per expected-level bin (width 8/bins from 1 to 9): (mean expected level, mean 1 + 8 * value, sd, count)."""
    ev = p @ np.arange(1, 10)
    target = 1 + 8 * v
    edges = np.linspace(1, 9, bins + 1)
    idx = np.minimum(np.searchsorted(edges, ev, side="right") - 1, bins - 1)
    out = []
    for b in range(bins):
        m = idx == b
        if m.any():
            out.append((float(ev[m].mean()), float(target[m].mean()), float(target[m].std()), int(m.sum())))
    return out


def _svg_panel(
    x0: float, title: str, xlabel: str, ylabel: str, lo: float, hi: float, points: list[tuple[float, float, int]]
) -> str:
    """One square scatter panel (points sized by count) with the diagonal, as SVG elements."""
    size, pad = 300.0, 45.0

    def sx(v: float) -> float:
        return x0 + pad + (v - lo) / (hi - lo) * size

    def sy(v: float) -> float:
        return pad + size - (v - lo) / (hi - lo) * size

    parts = [
        f'<rect x="{x0 + pad}" y="{pad}" width="{size}" height="{size}" fill="none" stroke="#999"/>',
        f'<line x1="{sx(lo)}" y1="{sy(lo)}" x2="{sx(hi)}" y2="{sy(hi)}" stroke="#bbb" stroke-dasharray="4 3"/>',
        f'<text x="{x0 + pad + size / 2}" y="{pad - 12}" text-anchor="middle" font-size="13">{title}</text>',
        f'<text x="{x0 + pad + size / 2}" y="{pad + size + 34}" text-anchor="middle" font-size="11">{xlabel}</text>',
        f'<text x="{x0 + 12}" y="{pad + size / 2}" text-anchor="middle" font-size="11" '
        f'transform="rotate(-90 {x0 + 12} {pad + size / 2})">{ylabel}</text>',
    ]
    for t in np.linspace(lo, hi, 5):
        parts.append(f'<text x="{sx(t)}" y="{pad + size + 15}" text-anchor="middle" font-size="10">{t:g}</text>')
        parts.append(f'<text x="{x0 + pad - 5}" y="{sy(t) + 3}" text-anchor="end" font-size="10">{t:g}</text>')
    total = max(sum(c for _, _, c in points), 1)
    line = " ".join(f"{sx(a):.1f},{sy(b):.1f}" for a, b, _ in points)
    parts.append(f'<polyline points="{line}" fill="none" stroke="#3b6fb6" stroke-width="1.5"/>')
    for a, b, c in points:
        r = 2.5 + 9 * (c / total) ** 0.5
        parts.append(f'<circle cx="{sx(a):.1f}" cy="{sy(b):.1f}" r="{r:.1f}" fill="#3b6fb6" fill-opacity="0.6"/>')
    return "\n".join(parts)


def write_figure(p: np.ndarray, v: np.ndarray, path: Path) -> None:
    """SVG: reliability diagram (pooled over levels) and expected level vs the human rating, SST dev."""
    rel = [(a, b, c) for a, b, c in reliability(p, v)]
    ev = [(a, b, c) for a, b, _, c in expected_vs_value(p, v)]
    body = _svg_panel(
        0, "Reliability of the 9 level probabilities", "predicted probability", "observed frequency", 0.0, 1.0, rel
    )
    body += "\n" + _svg_panel(
        400, "Expected level vs human rating", "expected level (binned)", "mean of 1 + 8 x SST value", 1.0, 9.0, ev
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="800" height="400" font-family="sans-serif">\n'
        '<rect width="800" height="400" fill="white"/>\n' + body + "\n</svg>\n",
        encoding="utf-8",
    )


# ---------------------------------------------------------------------------------------------------------------
# Training


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def fit_mlp(
    x: np.ndarray, y: np.ndarray, hidden: int = 256, epochs: int = 8, seed: int = 0, weight_decay: float = 1e-4
) -> dict[str, np.ndarray]:
    """Softmax MLP (d -> hidden ReLU -> 5) with torch (training only); returns numpy weights."""
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    xt = torch.tensor(x, dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.long)
    net = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], hidden), torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(hidden, 5)
    )
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=weight_decay)
    steps = epochs * ((len(x) + 255) // 256)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        for s in range(0, len(x), 256):
            idx = perm[s : s + 256]
            loss = torch.nn.functional.cross_entropy(net(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    net.eval()
    return {
        "mlp_w1": net[0].weight.detach().numpy().T.copy(),
        "mlp_b1": net[0].bias.detach().numpy().copy(),
        "mlp_w2": net[3].weight.detach().numpy().T.copy(),
        "mlp_b2": net[3].bias.detach().numpy().copy(),
    }


def mlp_logp(w: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    h = np.maximum(x.astype(np.float64) @ w["mlp_w1"].astype(np.float64) + w["mlp_b1"], 0.0)
    return _log_softmax(h @ w["mlp_w2"].astype(np.float64) + w["mlp_b2"])


def fit_calibration(z: np.ndarray, v: np.ndarray, lam: float = 3.0, l2: float = 1e-2) -> tuple[np.ndarray, np.ndarray]:
    """Map blended log-probabilities z (n, 5) to 9 levels: softmax(z @ w + b), w (5, 9), b (9,).

    Fitted by L-BFGS on NLL(9 equal-width levels of the continuous score) + ``lam`` * NLL(SST's 5 classes of the
    collapsed distribution) + ``l2`` * |w|^2. Why both: the 9 levels alone give a calibrated distribution whose
    collapse ([1-2], [3-4], 5, [6-7], [8-9]) loses the 5-class decision (level 5 is narrower than SST's neutral
    class), the 5-class term alone would not constrain the split inside each pair of levels.
    """
    from scipy.optimize import minimize

    y9, y5 = levels(v), sst5(v)
    n, d = z.shape
    x = np.hstack([z, np.ones((n, 1))])
    g = np.zeros((9, 5))
    g[np.arange(9), COLLAPSE] = 1
    rows = np.arange(n)

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta.reshape(d + 1, 9)
        lp = _log_softmax(x @ w)
        p = np.exp(lp)
        p5 = p @ g
        value = -lp[rows, y9].mean() - lam * np.log(p5[rows, y5] + 1e-300).mean() + l2 * float((w[:-1] ** 2).sum())
        d9 = p.copy()
        d9[rows, y9] -= 1
        d5 = p - p * g[:, y5].T / p5[rows, y5][:, None]
        grad = x.T @ (d9 + lam * d5) / n
        grad[:-1] += 2 * l2 * w[:-1]
        return value, grad.ravel()

    res = minimize(loss, np.zeros((d + 1) * 9), jac=True, method="L-BFGS-B", options={"maxiter": 5000})
    w = res.x.reshape(d + 1, 9)
    return w[:-1], w[-1]


def _cached_embeddings(cache: Path | None, name: str, texts: list[str]) -> np.ndarray:
    """Mean-pooled MiniLM embeddings of ``texts``, from ``cache/name.npz`` when present (see ``--cache``)."""
    from emolens.engine import language

    if cache is not None and (cache / f"{name}.npz").exists():
        with np.load(cache / f"{name}.npz") as z:
            emb = z["mean"].astype(np.float32)
        if len(emb) == len(texts):
            return emb
    emb = language.encode(texts)
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(cache / f"{name}.npz", mean=emb.astype(np.float16), done=len(texts))
    return emb


FOLDS = 4
FOLD_SEED = 7


def tree_folds(n: int, seed: int = FOLD_SEED, folds: int = FOLDS) -> np.ndarray:
    """The fold (0..folds-1) of each training tree, seeded: phrases and sentences follow their tree."""
    return np.random.default_rng(seed).integers(0, folds, n)


def _train_texts(
    trees: list[list[tuple[int, list[str]]]],
    tree_mask: np.ndarray,
    sentences: list[str],
    values: np.ndarray,
    sent_mask: np.ndarray,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Texts, 5-class labels and regression targets for the TF-IDF parts: every phrase of the chosen trees (label
    centre (label + 0.5) / 5 as target) and the chosen sentences (their continuous score)."""
    phr = phrases_of([t for t, keep in zip(trees, tree_mask, strict=True) if keep])
    texts = list(phr) + [x for x, keep in zip(sentences, sent_mask, strict=True) if keep]
    y = np.array(list(phr.values()) + sst5(values[sent_mask]).tolist())
    v = np.array([(label + 0.5) / 5 for label in phr.values()] + values[sent_mask].tolist())
    return texts, y, v


def fit_tfidf_part(analyzer: Any, min_df: int, texts: list[str], y: np.ndarray, v: np.ndarray) -> dict[str, Any]:
    """Sublinear TF-IDF -> 5-class logistic regression (C=1) + ridge regression (alpha=1) of the score."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression, Ridge

    vec = TfidfVectorizer(analyzer=analyzer, min_df=min_df, sublinear_tf=True, dtype=np.float32)
    x = vec.fit_transform(texts)
    lr = LogisticRegression(C=1.0, max_iter=500).fit(x, y)
    ridge = Ridge(alpha=1.0).fit(x, v)
    return {
        "vocab": np.array("\n".join(vec.get_feature_names_out().tolist())),
        "idf": vec.idf_.astype(np.float32),
        "w": np.hstack([lr.coef_.T, ridge.coef_[:, None]]).astype(np.float32),
        "b": np.append(lr.intercept_, ridge.intercept_).astype(np.float32),
    }


def fit_embedding_part(emb: np.ndarray, values: np.ndarray) -> dict[str, np.ndarray]:
    """MLP (384 -> 256 ReLU -> 5) + ridge regression (alpha=10) of the score, on sentence embeddings."""
    from sklearn.linear_model import Ridge

    ridge = Ridge(alpha=10.0).fit(emb, values)
    return {
        **{k: v.astype(np.float32) for k, v in fit_mlp(emb, sst5(values)).items()},
        "mlp_ridge_w": ridge.coef_.astype(np.float32),
        "mlp_ridge_b": np.float32(ridge.intercept_),
    }


def tfidf_features(part: dict[str, Any], analyzer: Any, texts: list[str]) -> np.ndarray:
    """A TF-IDF part's stacker features through the run-time code path (TfidfBlock, float64)."""
    from emolens.engine import sentiment
    from emolens.engine.language import TfidfBlock, sparse_dot

    block = TfidfBlock(str(part["vocab"]).split("\n"), part["idf"], analyzer)
    return sentiment._part(sparse_dot(block.rows(texts), part["w"].astype(np.float64)) + part["b"])


def embedding_features(part: dict[str, np.ndarray], emb: np.ndarray) -> np.ndarray:
    e = emb.astype(np.float64)
    ridge = e @ part["mlp_ridge_w"].astype(np.float64) + float(part["mlp_ridge_b"])
    return np.hstack([mlp_logp(part, e), 4.0 * ridge[:, None]])


def _cached(cache: Path | None, name: str, compute: Any) -> Any:
    """``compute()`` stored as ``cache/name.npz`` (a dict of arrays), reused when present (see ``--cache``)."""
    path = cache / f"{name}.npz" if cache is not None else None
    if path is not None and path.exists():
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    out = compute()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **out)
    return out


def _softmax(z: np.ndarray) -> np.ndarray:
    return np.exp(_log_softmax(z))


def main() -> None:
    from emolens.engine import sentiment

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=Path, default=DATASETS)
    ap.add_argument(
        "--cache", type=Path, default=None, help="folder for cached embeddings and part outputs (never committed)"
    )
    args = ap.parse_args()

    t0 = time.time()
    trees = load_trees("train", args.datasets)
    fold_of_tree = tree_folds(len(trees))
    tr_x, tr_v = load_sst("train", args.datasets)
    dv_x, dv_v = load_sst("dev", args.datasets)
    # CSV sentences -> fold by their tree (same text after the same unescaping); unmatched ones (-1) are in every
    # fold's training data and out of the stacker's.
    root_fold = {" ".join(t[0][1]): int(f) for t, f in zip(trees, fold_of_tree, strict=True)}
    sent_fold = np.array([root_fold.get(x.replace("``", '"').replace("''", '"'), -1) for x in tr_x])
    matched = sent_fold >= 0
    print(f"SST train trees {len(trees)} in {FOLDS} folds; train sentences {len(tr_x)} ({int(matched.sum())} matched)")
    e_tr = _cached_embeddings(args.cache, "train_sent_emb", tr_x)
    e_dv = _cached_embeddings(args.cache, "dev_sent_emb", dv_x)
    all_trees, all_sents = np.ones(len(trees), bool), np.ones(len(tr_x), bool)

    # 1. Out-of-fold outputs of each part on every training sentence (the stacker's training data).
    analyzers = {"word": (sentiment.ngrams, 2), "char": (sentiment.char_grams, 3)}

    def oof(name: str) -> dict[str, np.ndarray]:
        out = np.zeros((len(tr_x), 6))
        for k in range(FOLDS):
            held = sent_fold == k
            if name == "mlp":
                out[held] = embedding_features(fit_embedding_part(e_tr[~held], tr_v[~held]), e_tr[held])
            else:
                an, min_df = analyzers[name]
                part = fit_tfidf_part(an, min_df, *_train_texts(trees, fold_of_tree != k, tr_x, tr_v, ~held))
                out[held] = tfidf_features(part, an, [x for x, h in zip(tr_x, held, strict=True) if h])
            print(f"  {name}: fold {k} done ({time.time() - t0:.0f} s)", flush=True)
        return {"oof": out}

    feats = np.hstack(
        [_cached(args.cache, f"sentiment_v3_oof_{name}", lambda n=name: oof(n))["oof"] for name in sentiment.PARTS]
    )
    # 2. The stacker: 18 part outputs -> 9 levels, on every matched training sentence's out-of-fold outputs.
    cw, cb = fit_calibration(feats[matched], tr_v[matched])
    accs, rhos = [], []
    for k in range(FOLDS):  # the recipe's train-internal figure: the stacker cross-validated over the folds
        fit = matched & (sent_fold != k)
        w, b = fit_calibration(feats[fit], tr_v[fit])
        a, r = evaluate(_softmax(feats[sent_fold == k] @ w + b), tr_v[sent_fold == k])
        accs.append(a)
        rhos.append(r)
    print(
        f"stacker, {FOLDS}-fold CV on training sentences: 5-class acc {np.mean(accs):.3f}, "
        f"Spearman {np.mean(rhos):.3f} ({time.time() - t0:.0f} s)"
    )

    # 3. The parts refitted on all training data; exported with the stacker; figures through the run-time path.
    word = _cached(
        args.cache,
        "sentiment_v3_full_word",
        lambda: fit_tfidf_part(sentiment.ngrams, 2, *_train_texts(trees, all_trees, tr_x, tr_v, all_sents)),
    )
    char = _cached(
        args.cache,
        "sentiment_v3_full_char",
        lambda: fit_tfidf_part(sentiment.char_grams, 3, *_train_texts(trees, all_trees, tr_x, tr_v, all_sents)),
    )
    emb_part = _cached(args.cache, "sentiment_v3_full_mlp", lambda: fit_embedding_part(e_tr, tr_v))
    np.savez_compressed(
        OUT,
        word_vocab=word["vocab"], word_idf=word["idf"], word_w=word["w"], word_b=word["b"],
        char_vocab=char["vocab"], char_idf=char["idf"], char_w=char["w"], char_b=char["b"],
        **{k: emb_part[k] for k in ("mlp_w1", "mlp_b1", "mlp_w2", "mlp_b2", "mlp_ridge_w", "mlp_ridge_b")},
        stack_w=cw.astype(np.float32), stack_b=cb.astype(np.float32),
    )  # fmt: skip
    sentiment._model.cache_clear()
    p = sentiment.predict_sentiment(dv_x, e_dv)
    acc, rho = evaluate(p, dv_v)
    print(f"exported model on SST dev: 5-class acc {acc:.3f}, Spearman {rho:.3f} -> {OUT} ({time.time() - t0:.0f} s)")
    print("reliability (pooled over levels): mean predicted | observed | n")
    for mp, obs, cnt in reliability(p, dv_v):
        print(f"  {mp:.3f} | {obs:.3f} | {cnt}")
    print("expected level bin: mean expected | mean 1+8*value | sd | n")
    for ev, tv, sd, cnt in expected_vs_value(p, dv_v):
        print(f"  {ev:.2f} | {tv:.2f} | {sd:.2f} | {cnt}")
    write_figure(p, dv_v, FIGURE)
    print(f"figure -> {FIGURE}")


if __name__ == "__main__":
    main()
