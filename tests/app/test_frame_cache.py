"""The dashboard's on-disk frames (components/data.py): the same frames as built from the predictions, read without
parsing them once written, and never in the way (a corrupt file is rebuilt, an unwritable disk only skips them)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from pandas.testing import assert_frame_equal

from components import data
from emolens.frames import wide_frame
from emolens.store import Store
from tests import synth

ROOT = Path(__file__).resolve().parents[2]
logging.getLogger("streamlit").setLevel(logging.ERROR)  # "no runtime": the caches work in memory here


@pytest.fixture(autouse=True)
def fresh_caches():
    for f in (data.predictions, data.files_of, data.frame, data.file_frame):
        f.clear()
    yield
    for f in (data.predictions, data.files_of, data.frame, data.file_frame):
        f.clear()


def _no_parse(monkeypatch) -> None:
    def refuse(self, result_id):
        raise AssertionError("the predictions were parsed")

    monkeypatch.setattr(Store, "get_predictions", refuse)


@pytest.mark.parametrize("sample", ["dialogue_word.json", "dialogue_utterance.json", "texts_sentence.json"])
def test_warmed_frames_equal_the_built_ones_and_need_no_parse(data_dir, monkeypatch, sample):
    preds = json.loads((ROOT / "data" / "samples" / sample).read_text())
    store = Store(data_dir)
    rid = store.add_result("sample", preds)
    data.warm(str(data_dir), rid, preds)
    models = sorted({m for _, _, ms, _ in data._files(preds) for m in ms})
    assert models and all(data.cache_path(str(data_dir), rid, f"{m}.arrow").is_file() for m in models)
    _no_parse(monkeypatch)
    assert data.files_of(str(data_dir), rid) == data._files(preds)
    for m in models:
        assert_frame_equal(data.frame(str(data_dir), rid, m), wide_frame(preds, model=m), check_exact=True)


def test_first_open_writes_the_frames_for_the_next_process(data_dir, monkeypatch):
    preds = synth.word_level_result(300, seed=3)
    rid = Store(data_dir).add_result("words", preds)
    built = data.frame(str(data_dir), rid, "language")  # not warmed: built from the predictions, then written
    data.files_of(str(data_dir), rid)
    assert data.cache_path(str(data_dir), rid, "language.arrow").is_file()
    assert data.cache_path(str(data_dir), rid, "files.json").is_file()
    for f in (data.predictions, data.files_of, data.frame):
        f.clear()  # as a restarted dashboard
    _no_parse(monkeypatch)
    assert_frame_equal(data.frame(str(data_dir), rid, "language"), built, check_exact=True)
    assert data.files_of(str(data_dir), rid)[0][2] == ["prosody", "language"]


def test_a_corrupt_file_is_rebuilt(data_dir):
    preds = synth.word_level_result(120, seed=4)
    rid = Store(data_dir).add_result("words", preds)
    data.warm(str(data_dir), rid, preds)
    data.cache_path(str(data_dir), rid, "prosody.arrow").write_bytes(b"not arrow")
    data.cache_path(str(data_dir), rid, "files.json").write_text("{")
    assert_frame_equal(data.frame(str(data_dir), rid, "prosody"), wide_frame(preds, model="prosody"))
    assert data.files_of(str(data_dir), rid) == data._files(preds)
    data.frame.clear()
    assert_frame_equal(data.frame(str(data_dir), rid, "prosody"), wide_frame(preds, model="prosody"))  # rewritten


def test_an_unwritable_cache_dir_only_skips_the_files(data_dir):
    preds = synth.word_level_result(120, seed=5)
    rid = Store(data_dir).add_result("words", preds)
    (data_dir / data.CACHE_DIR).write_text("a file where the directory should be")
    data.warm(str(data_dir), rid, preds)  # no error
    assert_frame_equal(data.frame(str(data_dir), rid, "language"), wide_frame(preds, model="language"))
    assert data.files_of(str(data_dir), rid) == data._files(preds)
    assert not list(data_dir.glob(f"{data.CACHE_DIR}*/**/*.tmp"))


def test_deleting_a_result_drops_its_files(data_dir):
    preds = synth.word_level_result(60, seed=6)
    store = Store(data_dir)
    rid, other = store.add_result("a", preds), store.add_result("b", preds)
    data.warm(str(data_dir), rid, preds)
    data.warm(str(data_dir), other, preds)
    data.drop_cached(str(data_dir), rid)
    assert not data.cache_path(str(data_dir), rid, "language.arrow").parent.exists()
    assert data.cache_path(str(data_dir), other, "language.arrow").is_file()
