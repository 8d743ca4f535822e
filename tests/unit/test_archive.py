"""Archive import/export: every input shape, exact CSV round trips, and bad archives that must not crash."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd
import pytest

from emolens.archive import (
    export,
    export_artifacts_zip,
    export_frame_csv,
    export_parquet,
    export_predictions_json,
    load_archive,
)
from emolens.artifacts import csvs_to_predictions, predictions_to_csvs
from emolens.errors import ArchiveError
from tests import synth


@pytest.fixture(params=["awkward", "word-level"])
def payload(request):
    return synth.awkward_result() if request.param == "awkward" else synth.word_level_result(150, seed=2)


def test_json_list_and_single_object(payload):
    r = load_archive(export_predictions_json(payload), "p.json")
    assert r.predictions == payload and r.problems == [] and r.kind == "json"
    r = load_archive(json.dumps(payload[0]).encode(), "one.json")
    assert r.predictions == [payload[0]]


def test_artifact_csvs_round_trip_exactly(payload):
    csvs = predictions_to_csvs(payload)
    assert "sources.csv" in csvs
    assert csvs_to_predictions(csvs) == payload


def test_artifacts_zip_round_trip(payload):
    r = load_archive(export_artifacts_zip(payload), "artifacts.zip")
    assert r.predictions == payload and r.kind == "zip"


def test_loose_artifact_csv_needs_sources():
    csvs = predictions_to_csvs(synth.awkward_result())
    with pytest.raises(ArchiveError, match="sources.csv"):
        load_archive(csvs["language.csv"].encode(), "language.csv")


def test_documented_columns():
    csvs = predictions_to_csvs(synth.word_level_result(20))
    header = csvs["language.csv"].splitlines()[0].split(",")
    assert header[:12] == ["source_index", "file", "file_type", "speaker", "index", "text", "position_begin",
                           "position_end", "begin", "end", "confidence", "speaker_confidence"]
    assert header[-16:] == [f"sentiment_{i}" for i in range(1, 10)] + [
        "toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate", "extra"]


def test_tidy_wide_csv_is_sniffed_back():
    payload = synth.word_level_result(60, seed=4)
    csv_bytes = export_frame_csv(payload)
    r = load_archive(csv_bytes, "frame.csv")
    assert r.kind == "csv"
    from emolens.frames import wide_frame

    a, b = wide_frame(payload), wide_frame(r.predictions)
    cols = ["model", "speaker", "text", "begin", "end", "Joy", "Anger", "sentiment_5", "insult"]
    pd.testing.assert_frame_equal(a[cols].reset_index(drop=True), b[cols].reset_index(drop=True),
                                  check_dtype=False)


def test_third_party_csv_headers_are_sniffed():
    text = "Begin Time,End Time,Text,Speaker,Joy,Anger,Gratitude\n0.0,1.5,hello there,A,0.5,0.1,0.7\n"
    r = load_archive(text.encode(), "vendor.csv")
    pred = r.predictions[0]["results"]["predictions"][0]
    lang = pred["models"]["language"]["grouped_predictions"][0]
    assert lang["id"] == "A" and lang["predictions"][0]["time"] == {"begin": 0.0, "end": 1.5}


def test_legacy_shape_is_converted():
    legacy = [{"job": {"id": "x"}, "results": {"files": [{"file": "talk.wav", "models": {
        "language": [{"predictions": [{"text": "hi", "position": {"begin": 0, "end": 2},
                                       "emotions": [{"name": "Joy", "score": 0.9}]}]}],
        "prosody": {"predictions": [{"time": {"begin": 0, "end": 1}, "emotions": [{"name": "Joy", "score": 0.2}]}]},
    }}], "errors": []}}]
    r = load_archive(json.dumps(legacy).encode(), "old.json")
    assert r.kind == "legacy"
    models = r.predictions[0]["results"]["predictions"][0]["models"]
    assert models["language"]["grouped_predictions"][0]["predictions"][0]["text"] == "hi"
    assert models["prosody"]["grouped_predictions"][0]["id"] == "unknown"


# ---- bad archives ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data, name, message", [
    (b"", "empty.json", "empty"),
    (b'[{"source": {"type": "text"}, "results": {"predic', "cut.json", "truncated JSON"),
    (b"{not json}", "junk.json", "invalid JSON"),
    (b"\xff\xfe\x00garbage\x80", "binary.json", "not UTF-8"),
    (b'{"hello": "world"}', "shape.json", "not a Hume source object"),
    (b"42", "number.json", "expected a list"),
    (b"PK\x03\x04this is not really a zip", "fake.zip", "not a readable zip"),
])
def test_bad_archives_give_clear_errors(data, name, message):
    with pytest.raises(ArchiveError, match=message) as exc:
        load_archive(data, name)
    assert name in str(exc.value)


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, d in entries.items():
            zf.writestr(n, d)
    return buf.getvalue()


def test_partly_bad_zip_imports_the_good_and_reports_the_rest():
    good = export_predictions_json(synth.awkward_result())
    data = _zip({"good.json": good, "../evil.json": good, "/abs.json": good, "cut.json": good[:100],
                 "notes.bin": b"\x00\x01", "sub/also_good.json": json.dumps(synth.awkward_result()[0]).encode()})
    r = load_archive(data, "mixed.zip")
    assert len(r.predictions) == 4  # 3 from good.json + 1 from sub/also_good.json
    joined = "\n".join(r.problems)
    assert "../evil.json: refused (path with '..')" in joined
    assert "/abs.json: refused (absolute path)" in joined
    assert "mixed.zip/cut.json: truncated JSON" in joined
    assert "notes.bin: skipped" in joined


def test_zip_bomb_is_refused():
    bomb = _zip({"bomb.json": b"[" + b" " * (60 * 1024 * 1024) + b"]", "ok.json": export_predictions_json(
        synth.awkward_result())})
    r = load_archive(bomb, "bomb.zip")
    assert any("zip bomb" in p for p in r.problems)
    assert len(r.predictions) == 3


def test_partly_bad_json_keeps_valid_sources():
    payload = synth.awkward_result()
    del payload[1]["results"]["predictions"][0]["models"]["prosody"]["grouped_predictions"][0]["predictions"][0][
        "time"]
    r = load_archive(json.dumps(payload).encode(), "p.json")
    assert len(r.predictions) == 2
    assert "source 1 skipped" in r.problems[0] and "time" in r.problems[0]


def test_bad_score_is_reported_with_its_path():
    payload = synth.word_level_result(10)
    grp = payload[0]["results"]["predictions"][0]["models"]["language"]["grouped_predictions"][0]
    grp["predictions"][3]["emotions"][5]["score"] = "high"
    payload.append(synth.awkward_result()[0])
    r = load_archive(json.dumps(payload).encode(), "p.json")
    assert len(r.predictions) == 1
    assert "grouped_predictions.0.predictions.3.emotions.5: expected {name: string, score: number}" in r.problems[0]


@pytest.mark.parametrize(
    "bad, why",
    [
        ({"name": "Joy", "score": True}, "5: expected {name: string, score: number}"),
        ({"name": 7, "score": 0.5}, "5: expected {name: string, score: number}"),
        ({"score": 0.5}, "5: expected {name: string, score: number}"),
        (["Joy", 0.5], "5: expected {name: string, score: number}"),
    ],
)
def test_every_bad_score_item_is_caught(bad, why):
    # the columnar fast path must reject what the item-by-item loop rejects (bools are not numbers here)
    payload = synth.word_level_result(30)
    grp = payload[0]["results"]["predictions"][0]["models"]["language"]["grouped_predictions"][1]
    grp["predictions"][2]["sentiment"][5] = bad
    r = load_archive(json.dumps(payload + synth.awkward_result()[:1]).encode(), "p.json")
    assert len(r.predictions) == 1
    assert f"grouped_predictions.1.predictions.2.sentiment.{why}" in r.problems[0]


def test_exports():
    payload = synth.word_level_result(40)
    assert json.loads(export(payload, "json")) == payload
    df = pd.read_parquet(io.BytesIO(export_parquet(payload)))
    assert len(df) == 40 + 4 and "Surprise (negative)" in df.columns
    with pytest.raises(ArchiveError, match="unknown export format"):
        export(payload, "xml")
