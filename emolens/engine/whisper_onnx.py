"""Whisper base's encoder (the network of :mod:`emolens.engine.whisper_layers`) as an ONNX Runtime graph.

The numpy encoder spends about a third of its time outside the matrix products (scipy's float32 ``erf`` in GELU,
layer norms, softmax, each a pass of Python-level numpy over the whole state), and OpenBLAS on one thread runs
these skinny products at about a quarter of the core's peak. The same network as one ONNX graph (Conv stem,
LayerNormalization, fused GELU, MLAS products) on one ONNX Runtime thread takes 0.4-0.7 of the numpy time per
segment, with states equal to about 1e-6 relative (float rounding: another summation order).

The graph is built here from the weights :mod:`emolens.engine.whisper_layers` reads (nothing is exported or
cached on disk: building it and opening the session takes a fraction of a second, once per process and depth).
Its outputs are ``[h0, ..., h_depth]`` as in :func:`emolens.engine.whisper_layers.hidden_states`.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

_LOCK = threading.Lock()


def _graph(depth: int) -> bytes:
    """The serialised ONNX model of the conv stem and the first ``depth`` blocks (+ the final LayerNorm at 6)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from emolens.engine.whisper_layers import N_LAYERS, WIDTH, raw_weights

    w = raw_weights()
    heads = int(w["num_heads"])
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []
    count = iter(range(1_000_000))

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], **attrs: Any) -> str:
        out = f"{op.lower()}_{next(count)}"
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def gelu(x: str) -> str:  # exact (erf) GELU, the pattern ONNX Runtime fuses into one kernel
        e = node("Erf", [node("Mul", [x, const(f"isqrt2_{next(count)}", np.array(0.7071067811865476, np.float32))])])
        one = node("Add", [e, const(f"one_{next(count)}", np.array(1.0, np.float32))])
        return node("Mul", [node("Mul", [x, one]), const(f"half_{next(count)}", np.array(0.5, np.float32))])

    def linear(x: str, prefix: str) -> str:
        weight = const(prefix + "/weight", w[prefix + "/weight"].T)  # stored (out, in)
        return node("Add", [node("MatMul", [x, weight]), const(prefix + "/bias", w[prefix + "/bias"])])

    def layer_norm(x: str, prefix: str) -> str:
        g, b = const(prefix + "/gamma", w[prefix + "/gamma"]), const(prefix + "/beta", w[prefix + "/beta"])
        return node("LayerNormalization", [x, g, b], axis=-1, epsilon=1e-5)

    x = node("Unsqueeze", ["mel", const("axis0", np.array([0], np.int64))])  # (1, 80, n)
    for c, stride in (("conv1", 1), ("conv2", 2)):
        x = gelu(
            node(
                "Conv",
                [x, const(c + "/weight", w[c + "/weight"]), const(c + "/bias", w[c + "/bias"])],
                pads=[1, 1],
                strides=[stride],
                kernel_shape=[3],
            )
        )
    h = node("Transpose", [node("Squeeze", [x, "axis0"])], perm=[1, 0])  # (t, 512)
    t = node("Shape", [h], start=0, end=1)
    zero = const("zero", np.array([0], np.int64))
    pos = node("Slice", [const("positions", w["position_encodings/encodings"]), zero, t])
    h = node("Add", [h, pos])
    outputs = [h]
    split_shape = const("heads_shape", np.array([-1, heads, WIDTH // heads], np.int64))
    flat_shape = const("flat_shape", np.array([-1, WIDTH], np.int64))
    scale = const("scale", np.array(1.0 / np.sqrt(WIDTH // heads), np.float32))
    for i in range(depth):
        p = f"layer_{i}/"
        a = layer_norm(h, p + "self_attention/layer_norm")
        qkv = linear(a, p + "self_attention/linear_0")
        parts = [f"qkv_{i}_{j}" for j in range(3)]
        nodes.append(
            helper.make_node("Split", [qkv, const(f"split_{i}", np.array([WIDTH] * 3, np.int64))], parts, axis=1)
        )
        q, k, v = (node("Transpose", [node("Reshape", [s, split_shape])], perm=[1, 0, 2]) for s in parts)
        s = node("MatMul", [node("Mul", [q, scale]), node("Transpose", [k], perm=[0, 2, 1])])
        ctx = node("MatMul", [node("Softmax", [s], axis=-1), v])
        ctx = node("Reshape", [node("Transpose", [ctx], perm=[1, 0, 2]), flat_shape])
        h = node("Add", [h, linear(ctx, p + "self_attention/linear_1")])
        f = gelu(linear(layer_norm(h, p + "ffn/layer_norm"), p + "ffn/linear_0"))
        h = node("Add", [h, linear(f, p + "ffn/linear_1")])
        outputs.append(layer_norm(h, "layer_norm") if i == N_LAYERS - 1 else h)
    names = [f"h{i}" for i in range(depth + 1)]
    nodes += [helper.make_node("Identity", [o], [n]) for o, n in zip(outputs, names, strict=True)]
    graph = helper.make_graph(
        nodes,
        f"whisper_base_encoder_{depth}",
        [helper.make_tensor_value_info("mel", TensorProto.FLOAT, [80, "n"])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["t", WIDTH]) for n in names],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="emolens")
    model.ir_version = 8
    return model.SerializeToString()


_SESSIONS: dict[int, Any] = {}


def session(depth: int) -> Any:
    """The ONNX Runtime session of the encoder to ``depth`` blocks (built once per process and depth).

    One intra-op thread: callers run segments in parallel themselves (the span pool), each call on its own.
    Raises whatever stops the build (no ``onnx`` / ``onnxruntime``); :mod:`whisper_layers` then runs numpy.
    """
    if depth not in _SESSIONS:
        with _LOCK:
            if depth not in _SESSIONS:
                import onnxruntime as ort

                o = ort.SessionOptions()
                o.intra_op_num_threads = 1
                o.inter_op_num_threads = 1
                o.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
                o.log_severity_level = 3
                _SESSIONS[depth] = ort.InferenceSession(_graph(depth), o, providers=["CPUExecutionProvider"])
    return _SESSIONS[depth]


def hidden_states(mel: np.ndarray, depth: int) -> list[np.ndarray]:
    """Encoder states ``[h0, ..., h_depth]`` (each (n/2, 512), float32) of a log-mel ``mel`` (80, n), n even."""
    return list(session(depth).run(None, {"mel": np.ascontiguousarray(mel, dtype=np.float32)}))
