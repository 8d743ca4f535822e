"""Frames: wide/long layout, helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from emolens.emotions import LANGUAGE_EMOTIONS, PROSODY_EMOTIONS, SENTIMENT_COLUMNS, TOXICITY_CATEGORIES
from emolens.frames import (
    SEGMENT_COLUMNS,
    emotion_columns,
    file_options,
    long_csv,
    long_frame,
    mean_sentiment,
    means,
    peaks,
    sentiment_expected,
    top_emotions,
    top_k,
    wide_csv,
    wide_frame,
)
from tests import synth


def test_wide_layout_per_model():
    payload = synth.word_level_result(50, seed=1)
    lang = wide_frame(payload, model="language")
    assert list(lang.columns) == SEGMENT_COLUMNS + list(LANGUAGE_EMOTIONS) + list(SENTIMENT_COLUMNS) + list(
        TOXICITY_CATEGORIES
    )
    assert len(lang) == 50 and set(lang["speaker"]) == {"spk_0", "spk_1"}
    first = payload[0]["results"]["predictions"][0]["models"]["language"]["grouped_predictions"][0]["predictions"][0]
    row = lang.iloc[0]
    assert row["text"] == first["text"] and row["begin"] == first["time"]["begin"]
    assert row["Surprise (negative)"] == next(
        e["score"] for e in first["emotions"] if e["name"] == "Surprise (negative)"
    )
    pros = wide_frame(payload, model="prosody")
    assert emotion_columns(pros) == list(PROSODY_EMOTIONS)
    both = wide_frame(payload)
    assert set(both["model"]) == {"prosody", "language"} and len(both) == len(lang) + len(pros)
    assert both.loc[both["model"] == "prosody", "Gratitude"].isna().all()


def test_shuffled_and_missing_emotions_land_in_the_right_columns():
    payload = synth.awkward_result()
    pred = payload[0]["results"]["predictions"][0]["models"]["language"]["grouped_predictions"][0]["predictions"][0]
    pred["emotions"] = list(reversed(pred["emotions"]))[:-1]  # reversed, one missing
    df = wide_frame(payload, model="language")
    want = {e["name"]: e["score"] for e in pred["emotions"]}
    assert df.iloc[0]["Joy"] == want["Joy"]
    assert np.isnan(df.iloc[0][pred["emotions"][-1]["name"] if False else "Admiration"])


def test_face_burst_and_ner_frames():
    payload = synth.awkward_result()
    face = wide_frame(payload, model="face")
    assert len(face) == 3 and face["begin"].tolist() == [0, 1 / 3, 2 / 3] and face["speaker"].iloc[0] == "face_0"
    assert len(wide_frame(payload, model="burst")) == 1
    ner = wide_frame(payload, model="ner")
    assert ner.iloc[0]["text"] == "Paris" and ner.iloc[0]["uri"].endswith("Q90")
    assert wide_frame([], model="language").empty


def test_long_frame():
    payload = synth.word_level_result(20, seed=3)
    wide = wide_frame(payload, model="language")
    long = long_frame(wide)
    assert len(long) == 20 * 53
    assert set(long.columns) >= {"emotion", "score", "text", "begin"}
    joy = long[(long["emotion"] == "Joy")]["score"].to_numpy()
    np.testing.assert_allclose(joy, wide["Joy"].to_numpy())


def test_helpers():
    df = pd.DataFrame(
        {
            "file": ["a", "a", "b"],
            "speaker": ["x", "y", "x"],
            "segment": [0, 1, 0],
            "source": 0,
            "model": "language",
            "text": ["t1", "t2", "t3"],
            "begin": [0.0, 1.0, 0.0],
            "end": [1.0, 2.0, 1.0],
            "Joy": [0.9, 0.1, 0.5],
            "Anger": [0.2, 0.8, 0.1],
        }
    )
    assert top_emotions(df, 1) == ["Joy"]
    tk = top_k(df, 2)
    assert tk["top1"].tolist() == ["Joy", "Anger", "Joy"] and tk["top2_score"].tolist() == [0.2, 0.1, 0.1]
    assert means(df, "file").loc["a", "Joy"] == 0.5
    assert means(df, "speaker").loc["y", "Anger"] == 0.8
    pk = peaks(df, ["Joy", "Anger"], threshold=0.75)
    assert pk[["text", "emotion"]].values.tolist() == [["t1", "Joy"], ["t2", "Anger"]]


def test_sentiment_helpers():
    df = pd.DataFrame({c: [0.0, 0.0] for c in SENTIMENT_COLUMNS})
    df.loc[0, "sentiment_9"] = 1.0
    df.loc[1, "sentiment_1"] = 0.5
    df.loc[1, "sentiment_3"] = 0.5
    assert sentiment_expected(df).tolist() == [9.0, 2.0]
    dist, ev = mean_sentiment(df)
    assert dist[0] == 0.25 and ev == 5.5
    assert mean_sentiment(pd.DataFrame({"Joy": [1.0]})) is None


def test_file_options():
    opts = file_options(synth.awkward_result())
    assert opts == [(0, "0", ["language", "ner"]), (1, "clip.mp4", ["face", "burst", "prosody"])]


def test_wide_and_long_csv_are_byte_identical_to_pandas():
    """The pandas-free CSV writers (used by ``emolens frame``) write what ``to_csv`` writes."""
    word = synth.word_level_result(60, seed=3)
    odd = synth.awkward_result()
    pred = odd[0]["results"]["predictions"][0]["models"]["language"]["grouped_predictions"][0]["predictions"][0]
    pred["emotions"] = list(reversed(pred["emotions"]))[:-1]  # shuffled and partial: the slow path
    pred["text"] = 'says "hi", then\nleaves'  # quoting
    for payload in (word, odd, []):
        for model in (None, "language", "prosody", "ner", "face", "burst"):
            want = wide_frame(payload, model=model).to_csv(index=False).encode()
            assert wide_csv(payload, model=model) == want, model
            want = long_frame(wide_frame(payload, model=model)).to_csv(index=False).encode()
            assert long_csv(payload, model=model) == want, model


def test_weighted_means_resample_bins_and_projection():
    import numpy as np
    import pandas as pd

    from emolens.frames import projection_2d, resample, time_bins, weighted_means

    df = pd.DataFrame(
        {
            "speaker": ["a", "a", "b"],
            "begin": [0.0, 1.0, 5.0],
            "end": [1.0, 5.0, 5.5],
            "Joy": [1.0, 0.0, 0.5],
            "Anger": [0.0, 1.0, np.nan],
        }
    )
    w = weighted_means(df, ["Joy", "Anger"])
    assert abs(w["Joy"] - (1 * 1 + 0 * 4 + 0.5 * 0.5) / 5.5) < 1e-12 and abs(w["Anger"] - 4 / 5) < 1e-12
    grid = np.array([0.5, 2.0, 5.2, 7.0])
    r = resample(df, ["Joy"], grid)
    assert r["Joy"].tolist()[:3] == [1.0, 0.0, 0.5] and np.isnan(r["Joy"].iloc[3])  # a gap stays empty
    x, z, spk = time_bins(df, ["Joy"], max_bins=2)
    assert len(x) == 2 and spk == ["a", "a"]  # the 4-s turn of a outweighs the 0.5-s one of b
    xy, share, labels = projection_2d(df, ["Joy", "Anger"])
    assert xy.shape == (3, 2) and 0.99 < share.sum() <= 1.0 + 1e-9 and "↔" in labels[0]


def test_settings_labels_unique_names_content_keys_and_text_labels():
    from emolens.frames import file_labels
    from emolens.summary import content_keys, settings_label, unique_name
    from tests import synth

    cfg = {
        "models": {
            "prosody": {"granularity": "utterance", "identify_speakers": True},
            "language": {"granularity": "word", "sentiment": {}},
            "ner": {},
        },
        "transcription": {"model": "tiny.en"},
    }
    assert settings_label(cfg) == "prosody utterance · language word +sentiment · ner · asr tiny.en · speakers"
    assert settings_label({"models": {"prosody": {"window": {"length": 4, "step": 1}}}}) == "prosody window 4/1 s"
    assert settings_label(cfg, "language") == "language word +sentiment · asr tiny.en"
    assert unique_name("a", {"a", "a (2)"}) == "a (3)" and unique_name("b", {"a"}) == "b"
    awkward = synth.awkward_result()
    labels = file_labels(awkward)
    assert labels[0].startswith("Text 1: ") and len(labels) == len(content_keys(awkward))
    words = synth.word_level_result(20, seed=1)
    assert content_keys(words) == ["md5:" + words[0]["source"]["md5sum"]]
