"""53-emotion language model: inference in numpy + onnxruntime (no sklearn / torch at run time).

Three parts, all loaded lazily once per process:

1. ``encode``: all-MiniLM-L6-v2 (int8 ONNX, exported by :mod:`emolens.train.text_encoder`) -> mean-pooled,
   L2-normalised 384-d sentence embeddings; texts share a run only with texts of their own token length (no
   padding) and every token row is quantised with its own scale, so a text's embedding never depends on the
   other texts of a call (batch-independent, bit for bit). The shipped graph is rewritten for exactly that
   (no attention mask, fused Q/K/V projections, per-token scales: see :mod:`emolens.train.text_encoder`).
2. ``goemotion_probs``: the 28 GoEmotions labels from a blend of a TF-IDF (word + char n-gram) logistic
   regression and a small MLP on the MiniLM embedding, calibrated per label so that the label's
   dev-tuned decision threshold maps to 0.5 (weights in ``weights/language/emotions.npz``).
3. ``emotion_scores``: the 53 Hume names, each either a GoEmotions label (or a documented mix of labels) or,
   for names GoEmotions lacks, the cosine similarity of the embedding to written prototype sentences,
   calibrated to the same score range (see docs/models.md and :data:`emolens.engine.emotion_map.MAPPING`).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from itertools import chain, repeat
from pathlib import Path
from typing import Any

import numpy as np

from emolens.engine.npz import read_npz
from emolens.errors import EngineError

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "language"
MAX_TOKENS = 128


def _threads() -> int:
    from emolens.settings import threads

    return threads(2)


def encoder_session(path: Path) -> Any:
    """An onnxruntime session on the encoder graph at ``path``, set up as the engine runs it (the export's
    batch-invariance check uses it too, so that what it checks is what ships)."""
    try:
        import onnxruntime as ort
    except ImportError as e:  # pragma: no cover - dependency missing
        raise EngineError(f"the language model needs onnxruntime: pip install it ({e})") from e

    opts = ort.SessionOptions()
    # One thread per run: several runs at once (see encode) keep both cores busier than splitting one small
    # run's matmuls, and make results independent of EMOLENS_THREADS.
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    # Without onnxruntime's SkipLayerNormalization fusion: on this graph its CPU kernel took several times as long
    # as the Add, Add and LayerNormalization it replaces (~10 % of the encoder's CPU). The sums round a little
    # differently (a median embedding moves by 1e-5); the heads were fitted on these embeddings (docs/models.md).
    return ort.InferenceSession(
        str(path), opts, providers=["CPUExecutionProvider"], disabled_optimizers=["SkipLayerNormFusion"]
    )


@lru_cache(maxsize=1)
def _encoder() -> tuple[Any, Any]:
    try:
        from tokenizers import Tokenizer
    except ImportError as e:  # pragma: no cover - dependency missing
        raise EngineError(f"the language model needs tokenizers: pip install it ({e})") from e
    onnx_path = WEIGHTS / "minilm_l6_int8.onnx"
    if not onnx_path.exists():
        raise EngineError(f"missing {onnx_path}: run python -m emolens.train.text_encoder")
    sess = encoder_session(onnx_path)
    if [(i.name, i.shape[0]) for i in sess.get_inputs()] != [("input_ids", "b")]:
        raise EngineError(f"{onnx_path} is an older encoder export: run python -m emolens.train.text_encoder")
    tok = Tokenizer.from_file(str(WEIGHTS / "minilm_tokenizer.json"))
    tok.enable_truncation(max_length=MAX_TOKENS)
    tok.no_padding()
    return sess, tok


_POOL: tuple[int, ThreadPoolExecutor] | None = None


def _pool() -> ThreadPoolExecutor:
    """Threads running encoder sessions side by side; recreated in a forked child (threads do not survive fork)."""
    global _POOL
    if _POOL is None or _POOL[0] != os.getpid():
        _POOL = (os.getpid(), ThreadPoolExecutor(max_workers=_threads(), thread_name_prefix="emolens-minilm"))
    return _POOL[1]


RUN_ROWS = 16  # texts per encoder run: more fills the int8 kernels less well here (activations leave the cache)


def _embed_run(ids: list[list[int]]) -> np.ndarray:
    """Mean-pooled, L2-normalised embeddings (n, 384) of tokenized texts that all have the same length (no
    padding). Each row is its text's own bits whatever the others are (per-token activation scales:
    :func:`emolens.train.text_encoder.per_token`)."""
    sess, _ = _encoder()
    hidden = sess.run(None, {"input_ids": np.asarray(ids, dtype=np.int64)})[0]
    pooled = hidden.mean(axis=1)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def encode(texts: list[str]) -> np.ndarray:
    """Sentence embeddings (n, 384), float32, L2-normalised; each row depends on its own text only.

    The encoder is dynamically quantised with a scale per token row, computed from the row being multiplied.
    Texts share a run only with texts of their own token length (nothing is padded), so a text's embedding is
    the same bit for bit whatever other texts are encoded with it; this is what makes scores batch-independent
    (and the service's micro-batching safe). Runs of up to ``RUN_ROWS`` texts go ``EMOLENS_THREADS`` at a time
    (onnxruntime releases the GIL).
    """
    return encode_begin(texts)()


def encode_begin(texts: list[str]) -> Callable[[], np.ndarray]:
    """Start :func:`encode` on the encoder threads and return at once; calling the result waits for the
    embeddings. Why: the caller's thread is free meanwhile for work that needs no embedding (TF-IDF features,
    toxicity), which then runs beside the encoder instead of after it."""
    _, tok = _encoder()
    out = np.zeros((len(texts), 384), dtype=np.float32)
    if not texts:
        return lambda: out
    encs = tok.encode_batch([t if t.strip() else "." for t in texts])
    by_length: dict[int, list[int]] = {}
    for i, e in enumerate(encs):
        by_length.setdefault(len(e.ids), []).append(i)
    runs = [group[k : k + RUN_ROWS] for group in by_length.values() for k in range(0, len(group), RUN_ROWS)]
    runs.sort(key=lambda run: -len(encs[run[0]].ids) * len(run))  # longest first: the threads end together

    def embed(run: list[int]) -> np.ndarray:
        return _embed_run([encs[i].ids for i in run])

    if _threads() == 1 or len(runs) == 1:
        rows: Iterable[np.ndarray] = map(embed, runs)  # lazy: runs when collected
    else:
        rows = _pool().map(embed, runs)  # submitted now

    def collect() -> np.ndarray:
        for run, emb in zip(runs, rows, strict=True):
            out[run] = emb
        return out

    return collect


# ---------------------------------------------------------------------------------------------------------------
# TF-IDF features, reimplemented in numpy so inference needs no sklearn. The same analyzers are handed to
# sklearn's TfidfVectorizer at training time, and training checks both paths agree.

_WORD_RE = re.compile(r"(?u)\b\w\w+\b")
_SPACE_RE = re.compile(r"\s\s+")


def word_ngrams(text: str) -> list[str]:
    """Lower-cased word unigrams and bigrams (tokens of 2+ word characters, as sklearn's default pattern)."""
    toks = _WORD_RE.findall(text.lower())
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:])]


def char_ngrams(text: str, lo: int = 2, hi: int = 5) -> list[str]:
    """Character n-grams inside word boundaries (sklearn's ``char_wb``), lower-cased."""
    out: list[str] = []
    for w in _SPACE_RE.sub(" ", text.lower()).split():
        w = f" {w} "
        size = len(w)
        for n in range(lo, hi + 1):
            if size <= n:
                out.append(w)
                break
            out.extend(w[i : i + n] for i in range(size - n + 1))
    return out


class TfidfBlock:
    """One sublinear-tf, l2-normalised TF-IDF block: vocabulary -> column, idf per column."""

    def __init__(self, vocab: list[str], idf: np.ndarray, analyzer: Any) -> None:
        self.index = {term: i for i, term in enumerate(vocab)}
        self.idf = idf.astype(np.float32)
        self.analyzer = analyzer

    def rows(self, texts: list[str], counts: list[Counter[str]] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Sparse rows: (column indices, values) per text. ``counts``: each text's term counts under this block's
        analyzer, when already computed (two blocks with the same analyzer share them: see term_counts)."""
        cs = [Counter(self.analyzer(t)) for t in texts] if counts is None else counts
        # every text's terms in first-occurrence order (the column order of every earlier version, so the sums stay
        # bit-identical), looked up in one C-level pass; terms outside the vocabulary map to -1 and are dropped
        sizes = np.fromiter(map(len, cs), dtype=np.int64, count=len(cs))
        total = int(sizes.sum())
        found = np.fromiter(map(self.index.get, chain.from_iterable(cs), repeat(-1)), dtype=np.int64, count=total)
        tf = np.fromiter(chain.from_iterable(c.values() for c in cs), dtype=np.float32, count=total)
        hit = found >= 0
        cols_all = found[hit]
        vals_all = (1.0 + np.log(tf[hit])) * self.idf[cols_all]  # element-wise: the same values as row by row
        ends = np.concatenate([[0], np.cumsum(hit)])[np.cumsum(sizes)]  # each row's end among the hits
        rows = []
        begin = 0
        for end in ends.tolist():
            cols, vals = cols_all[begin:end], vals_all[begin:end]
            norm = float(np.linalg.norm(vals))  # one BLAS dot per row, as before
            rows.append((cols, vals / norm if norm > 0 else vals))
            begin = end
        return rows


def term_counts(texts: list[str], analyzer: Any = None) -> list[Counter[str]]:
    """Each text's term counts (default analyzer: :func:`char_ngrams`), for TfidfBlock.rows(..., counts)."""
    an = analyzer or char_ngrams
    return [Counter(an(t)) for t in texts]


def sparse_dot(rows: list[tuple[np.ndarray, np.ndarray]], weights: np.ndarray) -> np.ndarray:
    """(n, k) = sparse rows @ dense weights (n_features, k), without scipy."""
    out = np.zeros((len(rows), weights.shape[1]), dtype=np.float64)
    for i, (cols, vals) in enumerate(rows):
        if len(cols):
            out[i] = vals.astype(np.float64) @ weights[cols]
    return out


# ---------------------------------------------------------------------------------------------------------------
# Emotion model


@lru_cache(maxsize=1)
def _emotion_model() -> dict[str, Any]:
    from emolens.emotions import LANGUAGE_EMOTIONS
    from emolens.engine.emotion_map import MAPPING

    path = WEIGHTS / "emotions.npz"
    m: dict[str, Any] = read_npz(path, "language emotion", "run python -m emolens.train.text_emotions")
    m["word"] = TfidfBlock(str(m.pop("word_vocab")).split("\n"), m.pop("word_idf"), word_ngrams)
    m["char"] = TfidfBlock(str(m.pop("char_vocab")).split("\n"), m.pop("char_idf"), char_ngrams)
    n_word = len(m["word"].idf)
    # Heads run in float64: BLAS sums rows in an order that depends on the batch shape, and in float32 that moved
    # the 6th decimal of a score with the batch; in float64 the difference stays ~1e-16, far below the rounding.
    m["w_word"] = m["w_tfidf"][:n_word].astype(np.float64)
    m["w_char"] = m["w_tfidf"][n_word:].astype(np.float64)
    for k in ("mlp_w1", "mlp_b1", "mlp_w2", "mlp_b2"):
        m[k] = m[k].astype(np.float64)
    m["proto_centroids"] = m["proto_centroids"].astype(np.float64)
    # Mixing matrix (n_sources, 53): sources = 28 GoEmotions labels then the prototype names.
    labels = [str(x) for x in m["labels"]]
    protos = [str(x) for x in m["proto_names"]]
    mix = np.zeros((len(labels) + len(protos), len(LANGUAGE_EMOTIONS)), dtype=np.float64)
    for j, name in enumerate(LANGUAGE_EMOTIONS):
        for source, weight in MAPPING[name]:
            row = len(labels) + protos.index(name) if source == "proto" else labels.index(source)
            mix[row, j] = weight
    m["mix"] = mix
    return m


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def emotion_text_logits(texts: list[str], char_counts: list[Counter[str]] | None = None) -> np.ndarray:
    """The TF-IDF part of :func:`goemotion_probs` (n, 28): needs no embedding, so it can run beside the encoder.
    ``char_counts``: :func:`term_counts` of the texts, when already computed."""
    m = _emotion_model()
    return sparse_dot(m["word"].rows(texts), m["w_word"]) + sparse_dot(m["char"].rows(texts, char_counts), m["w_char"])


def goemotion_probs(texts: list[str], embeddings: np.ndarray, text_logits: np.ndarray | None = None) -> np.ndarray:
    """Blended (uncalibrated) probabilities (n, 28) of the GoEmotions labels (``text_logits``: precomputed
    :func:`emotion_text_logits` of the same texts)."""
    m = _emotion_model()
    z_t = emotion_text_logits(texts) if text_logits is None else text_logits
    p_t = _sigmoid(z_t + m["b_tfidf"])
    hidden = np.maximum(embeddings.astype(np.float64) @ m["mlp_w1"] + m["mlp_b1"], 0.0)
    p_e = _sigmoid(hidden @ m["mlp_w2"] + m["mlp_b2"])
    w = float(m["blend"])
    return w * p_t + (1 - w) * p_e


def emotion_scores(texts: list[str], embeddings: np.ndarray, text_logits: np.ndarray | None = None) -> np.ndarray:
    """Scores (n, 53) in [0, 1], columns in LANGUAGE_EMOTIONS order (``text_logits``: see goemotion_probs)."""
    m = _emotion_model()
    thr = m["thresholds"]
    p = goemotion_probs(texts, embeddings, text_logits)
    calibrated = np.where(p < thr, 0.5 * p / thr, 0.5 + 0.5 * (p - thr) / (1 - thr))
    cos = embeddings.astype(np.float64) @ m["proto_centroids"].T
    proto = np.empty_like(cos)
    for k in range(cos.shape[1]):  # quantile mapping onto the trained labels' score distribution
        proto[:, k] = np.interp(cos[:, k], m["proto_cos_q"][k], m["proto_target_q"])
    scores = np.concatenate([calibrated, proto], axis=1) @ m["mix"]
    return np.clip(scores, 0.0, 1.0)


def clean_for_model(text: str) -> str:
    """Text safe for tokenizers: lone surrogates and NULs replaced (offsets are kept on the original)."""
    if text.isascii() and "\x00" not in text:
        return text
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", " ")
