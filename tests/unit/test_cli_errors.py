"""Hostile input to the command line: bad archives, bad media, bad flags, bad paths.

Each case runs ``python -m emolens ...`` in-process (``emolens.cli.main``) and asserts the exit status, the
``error:``/``warning:`` lines (``FILE: reason``), no traceback, and that a result stored before is byte-identical
afterwards. A few run in a real subprocess too, for the real exit status.
"""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from emolens.cli import main
from tests import synth

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A data dir holding one stored result, and a folder of hostile files."""
    from emolens.store import Store

    root = tmp_path_factory.mktemp("cli-hostile")
    data = root / "data"
    rid = Store(data).add_result("kept", synth.word_level_result(30))
    f = root / "files"
    f.mkdir()
    good = synth.word_level_result(5)
    (f / "good.json").write_text(json.dumps(good))
    (f / "truncated.json").write_text('[{"source":')
    (f / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (f / "empty.json").write_bytes(b"")
    (f / "garbage.json").write_bytes(bytes(range(256)) * 8)
    (f / "latin1.json").write_bytes('[{"source": "caf\xe9"}]'.encode("latin-1"))
    (f / "wrong-shape.json").write_text('{"foo": 1}')
    (f / "scores-not-numbers.json").write_text(
        json.dumps(good).replace('"score": 0.', '"score": "x0.', 1).replace('"x0.', '"x', 1)
    )
    (f / "not-a-zip.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    with zipfile.ZipFile(f / "no-predictions.zip", "w") as z:
        z.writestr("notes.md", "hello")
    with zipfile.ZipFile(f / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("predictions.json", b" " * (60 << 20))
    with zipfile.ZipFile(f / "bad-member.zip", "w") as z:
        z.writestr("predictions.json", "[{")
    (f / "garbage.csv").write_text("a,b\n1\n2,3,4\n")
    (f / "table.xyz").write_text("who knows")
    (f / "adir").mkdir()
    (f / "bad.mp3").write_bytes(b"\xff\xfb\x90\x00" + bytes(range(200)) * 20)
    (f / "empty.wav").write_bytes(b"")
    (f / "readme.wav").write_text("# README\nnot audio at all\n")
    (f / "header-only.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    (f / "latin1.txt").write_bytes("d\xe9j\xe0 vu".encode("latin-1"))
    (f / "a-file").write_text("x")
    return root, data, rid, f


def _blob(data: Path, rid: str) -> bytes:
    with sqlite3.connect(data / "emolens.sqlite3") as con:
        row = con.execute("SELECT predictions, summary, name, config FROM results WHERE id = ?", (rid,)).fetchone()
    return b"|".join(x.encode() if isinstance(x, str) else (x or b"") for x in row)


def _run(world, capsys, argv: list[str]) -> tuple[int, str, str]:
    root, data, rid, f = world
    before = _blob(data, rid)
    args = [a.replace("{f}", str(f)).replace("{root}", str(root)) for a in argv]
    if not any(a.startswith("--data-dir") for a in args):
        args = ["--data-dir", str(data), *args]
    try:
        code = main(args)
    except SystemExit as e:  # argparse usage errors
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    assert _blob(data, rid) == before, "a stored result changed"
    return code, out, err


# (id, argv, exit status, the stderr must contain these)
CASES = [
    # import
    ("import-truncated-json", ["import", "{f}/truncated.json"], 1, ["error: {f}/truncated.json: truncated JSON"]),
    ("import-deep-json", ["import", "{f}/deep.json"], 1, ["error: {f}/deep.json:", "nested too deeply"]),
    ("import-empty-file", ["import", "{f}/empty.json"], 1, ["error: {f}/empty.json:"]),
    ("import-binary-garbage", ["import", "{f}/garbage.json"], 1, ["error: {f}/garbage.json:"]),
    ("import-not-utf8", ["import", "{f}/latin1.json"], 1, ["error: {f}/latin1.json:"]),
    ("import-wrong-shape", ["import", "{f}/wrong-shape.json"], 1, ["error: {f}/wrong-shape.json:"]),
    ("import-scores-not-numbers", ["import", "{f}/scores-not-numbers.json"], 1, ["error: {f}/scores-not-numbers"]),
    ("import-not-a-zip", ["import", "{f}/not-a-zip.zip"], 1, ["error: {f}/not-a-zip.zip:"]),
    ("import-zip-without-predictions", ["import", "{f}/no-predictions.zip"], 1, ["error: {f}/no-predictions.zip:"]),
    ("import-zip-bomb", ["import", "{f}/bomb.zip"], 1, ["error: {f}/bomb.zip:", "zip bomb"]),
    ("import-zip-bad-member", ["import", "{f}/bad-member.zip"], 1, ["error: {f}/bad-member.zip:", "predictions.json"]),
    ("import-garbage-csv", ["import", "{f}/garbage.csv"], 1, ["error: {f}/garbage.csv:"]),
    ("import-unknown-extension", ["import", "{f}/table.xyz"], 1, ["error: {f}/table.xyz:"]),
    ("import-directory", ["import", "{f}/adir"], 1, ["error: {f}/adir: is a directory"]),
    ("import-missing", ["import", "{f}/missing.json"], 1, ["error: {f}/missing.json:", "No such file"]),
    (
        "import-all-bad",
        ["import", "{f}/truncated.json", "{f}/adir", "{f}/bomb.zip"],
        1,
        ["error: {f}/truncated.json", "error: {f}/adir", "error: {f}/bomb.zip"],
    ),
    (
        "import-some-bad",
        ["import", "{f}/good.json", "{f}/truncated.json"],
        0,
        ["warning: {f}/truncated.json: truncated JSON", "warning: 1 of 2 inputs failed"],
    ),
    ("import-no-files", ["import"], 2, ["FILE"]),
    # measure (no model is needed: every input fails before one would load)
    (
        "measure-corrupt-mp3",
        ["measure", "{f}/bad.mp3", "--models", "prosody"],
        1,
        ["error: {f}/bad.mp3: not a readable audio"],
    ),
    ("measure-empty-wav", ["measure", "{f}/empty.wav", "--models", "prosody"], 1, ["error: {f}/empty.wav:", "empty"]),
    ("measure-readme-as-wav", ["measure", "{f}/readme.wav"], 1, ["error: {f}/readme.wav: not a readable"]),
    (
        "measure-header-only-wav",
        ["measure", "{f}/header-only.wav", "--models", "prosody"],
        1,
        ["error: {f}/header-only.wav:"],
    ),
    ("measure-directory", ["measure", "{f}/adir"], 1, ["error: {f}/adir: is a directory"]),
    ("measure-missing", ["measure", "{f}/missing.wav"], 1, ["error: {f}/missing.wav: no such file"]),
    (
        "measure-all-bad",
        ["measure", "{f}/bad.mp3", "{f}/empty.wav", "{f}/readme.wav", "--models", "prosody"],
        1,
        ["error: {f}/bad.mp3", "error: {f}/empty.wav", "error: {f}/readme.wav"],
    ),
    (
        "measure-text-file-not-utf8",
        ["measure", "--text-file", "{f}/latin1.txt"],
        1,
        ["error: {f}/latin1.txt: not UTF-8"],
    ),
    ("measure-text-file-missing", ["measure", "--text-file", "{f}/nope.txt"], 1, ["error: {f}/nope.txt: cannot read"]),
    ("measure-text-lines-directory", ["measure", "--text-lines", "{f}/adir"], 1, ["error: {f}/adir: cannot read"]),
    ("measure-nothing", ["measure"], 1, ["error: nothing to measure"]),
    ("measure-bad-window", ["measure", "--text", "hi", "--window", "abc"], 1, ["--window takes LENGTH,STEP"]),
    ("measure-window-too-short", ["measure", "--text", "hi", "--window", "0.1,1"], 1, ["0.5"]),
    ("measure-unknown-model", ["measure", "--text", "hi", "--models", "smell"], 1, ["unknown model(s) smell"]),
    (
        "measure-confidence-out-of-range",
        ["measure", "--text", "hi", "--confidence-threshold", "5"],
        1,
        ["confidence_threshold"],
    ),
    ("measure-bad-language-tag", ["measure", "--text", "hi", "--language", "english!"], 1, ["BCP-47"]),
    (
        "measure-turns-without-speakers",
        ["measure", "--text", "hi", "--granularity", "conversational_turn"],
        1,
        ["identify_speakers"],
    ),
    ("measure-bad-granularity-flag", ["measure", "--text", "hi", "--granularity", "page"], 2, ["invalid choice"]),
    # export / frame / list / serve / data dir
    ("export-unknown-id", ["export", "nope", "-o", "{root}/x.json"], 1, ["error: no result with id 'nope'"]),
    ("export-into-missing-folder", ["export", "RID", "-o", "{root}/no/such/dir/x.json"], 1, ["error:"]),
    ("export-bad-format", ["export", "RID", "--format", "xls", "-o", "-"], 2, ["invalid choice"]),
    ("frame-missing-file", ["frame", "{f}/missing.json", "--model", "language"], 1, ["cannot read file"]),
    ("frame-truncated", ["frame", "{f}/truncated.json", "--model", "language"], 1, ["truncated JSON"]),
    ("frame-bad-model", ["frame", "{f}/good.json", "--model", "smell"], 2, ["invalid choice"]),
    ("data-dir-is-a-file", ["--data-dir", "{f}/a-file", "list"], 1, ["error: cannot create data directory"]),
    ("serve-zero-workers", ["serve", "--workers", "0"], 1, ["--workers must be at least 1"]),
    ("unknown-command", ["explode"], 2, ["invalid choice"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_cli_hostile_input(world, capsys, case):
    _, argv, status, needles = case
    root, data, rid, f = world
    argv = [a.replace("RID", rid) for a in argv]
    code, out, err = _run(world, capsys, argv)
    assert code == status, err
    for n in needles:
        assert n.replace("{f}", str(f)).replace("{root}", str(root)) in err, err
    if status == 1:
        assert err.startswith("error:"), err
        assert all(line.startswith(("error:", "warning:")) for line in err.splitlines()), err
        if argv[0] == "measure":
            assert out == "", "nothing succeeded: no output"


def test_cli_exit_status_in_a_real_process(world):
    """The same rules through a real interpreter: status 1 with only error lines; 0 with warnings."""
    root, data, rid, f = world
    base = [sys.executable, "-m", "emolens", "--data-dir", str(data)]
    r = subprocess.run([*base, "measure", str(f / "bad.mp3"), str(f / "readme.wav")], capture_output=True, timeout=120)
    assert r.returncode == 1 and r.stdout == b""
    assert r.stderr.decode().splitlines() == [
        f"error: {f / 'bad.mp3'}: not a readable audio or video file (supported: wav, mp3, mp4, flac, ogg, m4a, webm)",
        f"error: {f / 'readme.wav'}: not a readable audio or video file (supported: wav, mp3, mp4, flac, ogg, m4a, "
        "webm)",
    ]
    r = subprocess.run([*base, "import", str(f / "good.json"), str(f / "bomb.zip")], capture_output=True, timeout=120)
    assert r.returncode == 0 and len(r.stdout.decode().split()) == 1
    assert r.stderr.decode().startswith(f"warning: {f / 'bomb.zip'}:")


def test_measure_some_inputs_fail_exit_0_with_warnings(world, capsys):
    """A text that measures and a file that does not: the output holds both sources, a warning names the file."""
    root, data, rid, f = world
    out_file = root / "some.json"
    code, out, err = _run(
        world,
        capsys,
        ["measure", "--text", "What a lovely day.", "{f}/bad.mp3", "--models", "language", "-o", str(out_file)],
    )
    assert code == 0, err
    assert f"warning: {f / 'bad.mp3'}: not a readable audio" in err and "warning: 1 of 2 inputs failed" in err
    sources = json.loads(out_file.read_text())
    assert len(sources) == 2 and sources[0]["results"]["predictions"]
    assert not sources[1]["results"]["predictions"] and sources[1]["results"]["errors"]


def test_import_media_in_zip_is_not_written_outside_the_store(world, capsys):
    """A zip member named with ../ lands in the store by hash, never at the path it names."""
    root, data, rid, f = world
    evil = f / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("predictions.json", json.dumps(synth.word_level_result(3)))
        z.writestr("../../escaped.wav", b"RIFF....WAVE")
    code, out, err = _run(world, capsys, ["import", str(evil)])
    assert code == 0, err
    assert not (root / "escaped.wav").exists() and not (f.parent.parent / "escaped.wav").exists()


def test_frame_output_goes_where_asked(world, capsys):
    root, data, rid, f = world
    code, out, err = _run(world, capsys, ["frame", "{f}/good.json", "--model", "language", "--wide"])
    assert code == 0 and len(io.StringIO(out).readlines()) > 1
