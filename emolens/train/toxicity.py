"""Export tox-block's Jigsaw BiLSTM (MIT, Pascal Bliem 2020) to numpy weights and check it on Jigsaw dev.

    pip install --no-deps tox-block h5py && python -m emolens.train.toxicity

tox-block ships a Keras 2.2.4-tf model (Embedding 20000x50 -> BiLSTM 2x50, hard-sigmoid gates -> global max pool
-> Dense 50 relu -> Dense 6 sigmoid) and a pickled keras Tokenizer. Neither TensorFlow nor Keras is needed here:
the HDF5 weights are read with h5py and the pickle is opened with stub classes (the tokenizer's state is plain
dicts). Only the 19,999 words the model can see (index < num_words) are kept. The forward pass lives in
:mod:`emolens.engine.toxicity`; this script prints per-label ROC-AUC on ../shared/datasets/jigsaw_toxic_dev.
Note: tox-block was trained on Jigsaw train + labelled test ("merged"), so train_head.csv is in its training data:
the AUCs check that the reimplementation is faithful, they are not a held-out estimate.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import pickle
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from emolens.emotions import TOXICITY_CATEGORIES

DATASETS = Path(__file__).resolve().parents[3] / "shared" / "datasets"
WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "language"
OUT = WEIGHTS / "toxicity.npz"


class _Stub:
    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)


class _StubUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module.startswith(("tox_block", "keras", "tensorflow")):
            return type(name, (_Stub,), {})
        return super().find_class(module, name)


def export() -> None:
    """Write emolens/weights/language/toxicity.npz (+ tox-block's LICENSE) from the installed tox-block."""
    import h5py

    spec = importlib.util.find_spec("tox_block")
    if spec is None or spec.origin is None:
        raise SystemExit("pip install --no-deps tox-block")
    root = Path(spec.origin).parent
    with open(root / "trained_models" / "encoder_0.1.2.pkl", "rb") as f:
        seq = _StubUnpickler(f).load()
    tok = seq.tokenizer
    assert tok.lower and tok.split == " " and tok.oov_token is None and not tok.char_level
    num_words = int(tok.num_words)
    words = [""] * num_words  # index 0 = padding
    for w, i in tok.word_index.items():
        if i < num_words:
            words[i] = w
    with h5py.File(root / "trained_models" / "lstm_model_0.1.2.h5", "r") as f:
        cfg = json.loads(f.attrs["model_config"])
        lstm = cfg["config"]["layers"][2]["config"]["layer"]["config"]
        assert lstm["recurrent_activation"] == "hard_sigmoid" and lstm["activation"] == "tanh"
        g = f["model_weights"]
        arrays = {
            "embedding": g["embedding/embedding/embeddings:0"][()],
            "dense_w": g["dense/dense/kernel:0"][()],
            "dense_b": g["dense/dense/bias:0"][()],
            "out_w": g["dense_1/dense_1/kernel:0"][()],
            "out_b": g["dense_1/dense_1/bias:0"][()],
        }
        for d in ("forward", "backward"):
            base = f"bidirectional/bidirectional/{d}_lstm/"
            arrays[f"{d}_kernel"] = g[base + "kernel:0"][()]
            arrays[f"{d}_recurrent"] = g[base + "recurrent_kernel:0"][()]
            arrays[f"{d}_bias"] = g[base + "bias:0"][()]
    WEIGHTS.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        OUT,
        words=np.array("\n".join(words[1:])),
        filters=np.array(tok.filters),
        max_len=np.int32(seq.max_sequence_length),
        **{k: v.astype(np.float32) for k, v in arrays.items()},
    )
    shutil.copy(root.parent / "tox_block-0.1.2.dist-info" / "LICENSE", WEIGHTS / "LICENSE.tox-block.txt")


def load_jigsaw(path: Path) -> tuple[list[str], np.ndarray]:
    """Texts and (n, 6) labels of a Jigsaw-format CSV."""
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["comment_text"] for r in rows], np.array([[int(r[c]) for c in TOXICITY_CATEGORIES] for r in rows])


def roc_auc(y: np.ndarray, s: np.ndarray) -> float:
    """ROC-AUC by the rank-sum formula (ties get average ranks)."""
    from scipy.stats import rankdata

    pos = y == 1
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = rankdata(s)
    return float((r[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def evaluate(root: Path = DATASETS) -> None:
    from emolens.engine.toxicity import predict_toxicity

    for name in ("train_head.csv", "ibm_max_test_examples.csv"):
        texts, y = load_jigsaw(root / "jigsaw_toxic_dev" / name)
        p = predict_toxicity(texts)
        aucs = [roc_auc(y[:, k], p[:, k]) for k in range(6)]
        print(f"{name} (n={len(texts)}): " + ", ".join(f"{c} {a:.3f}" for c, a in zip(TOXICITY_CATEGORIES, aucs)))


def main() -> None:
    export()
    print(f"wrote {OUT} ({OUT.stat().st_size / 1e6:.1f} MB)")
    evaluate()


if __name__ == "__main__":
    main()
