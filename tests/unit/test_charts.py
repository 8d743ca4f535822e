"""Charts are pure: checked through fig.to_dict()."""

from __future__ import annotations

import base64

import numpy as np

from emolens import charts
from emolens.frames import wide_frame
from tests import synth


def vals(x):
    """Values of a to_dict() array: plotly encodes numpy arrays as {"dtype", "bdata"[, "shape"]}."""
    if isinstance(x, dict) and "bdata" in x:
        arr = np.frombuffer(base64.b64decode(x["bdata"]), dtype=x["dtype"])
        if "shape" in x:
            arr = arr.reshape([int(n) for n in str(x["shape"]).split(",")])
        return arr.tolist()
    return list(x)


def _lang(n=30):
    return wide_frame(synth.word_level_result(n, seed=7), model="language")


def test_timeline_traces_hover_and_webgl():
    df = _lang(30)
    fig = charts.emotion_timeline(df, ["Joy", "Anger", "Nope"]).to_dict()
    assert [t["name"] for t in fig["data"]] == ["Joy", "Anger"]  # word-length segments: no extent strokes
    assert fig["data"][0]["type"] == "scatter"
    assert "top-3:" in fig["data"][0]["text"][0]
    first = df.sort_values(["begin", "segment"]).index[0]
    assert vals(fig["data"][0]["customdata"])[0] == first  # a click on a point names the frame row
    assert fig["layout"]["xaxis"]["title"]["text"] == "time (s)"
    big = charts.emotion_timeline(_lang(3000), ["Joy", "Anger"]).to_dict()
    # SVG lines at any length: downsampled to at most MAX_DISPLAY_POINTS per trace, no WebGL start-up
    assert big["data"][0]["type"] == "scatter" and big["data"][0]["mode"] == "lines"
    assert len(vals(big["data"][0]["x"])) <= charts.MAX_DISPLAY_POINTS
    ranged = charts.emotion_timeline(df, ["Joy"], x_range=(0, 100)).to_dict()
    assert list(ranged["layout"]["xaxis"]["range"]) == [0, 100]


def test_timeline_smoothing_is_a_centred_rolling_mean():
    df = _lang(30)
    fig = charts.emotion_timeline(df, ["Joy"], smooth=3).to_dict()
    y = vals(fig["data"][0]["y"])
    data = df.sort_values(["begin", "segment"])["Joy"].to_numpy()
    # display arrays are float32 (~7 digits): far below what the hover (3 decimals) or a pixel shows
    assert abs(y[5] - data[4:7].mean()) < 1e-6 and abs(y[0] - data[:2].mean()) < 1e-6


def test_timeline_draws_segment_extents_for_long_segments():
    pros = wide_frame(synth.word_level_result(60, seed=2), model="prosody")  # utterances of several seconds
    fig = charts.emotion_timeline(pros, ["Joy"]).to_dict()
    assert [t["name"] for t in fig["data"]] == ["Joy", "Joy span"]
    xs = vals(fig["data"][1]["x"])
    first = pros.sort_values(["begin", "segment"]).iloc[0]
    assert xs[0] == first["begin"] and xs[1] == first["end"]
    words = charts.emotion_timeline(_lang(30), ["Joy"]).to_dict()  # words: no strokes
    assert len(words["data"]) == 1


def test_timeline_raw_text_uses_segment_index():
    df = wide_frame(synth.awkward_result(), model="language")
    fig = charts.emotion_timeline(df, ["Joy"]).to_dict()
    assert fig["layout"]["xaxis"]["title"]["text"] == "segment"


def test_empty_inputs_give_an_explaining_figure():
    fig = charts.emotion_timeline(_lang(5).iloc[0:0], ["Joy"]).to_dict()
    assert "No segments" in fig["layout"]["annotations"][0]["text"]
    pros = wide_frame(synth.word_level_result(20), model="prosody")
    assert "No sentiment" in charts.sentiment_distribution(pros).to_dict()["layout"]["annotations"][0]["text"]
    assert "No toxicity" in charts.toxicity_heatmap(pros).to_dict()["layout"]["annotations"][0]["text"]


def test_sentiment_distribution_marks_expected_value():
    df = _lang(40)
    fig = charts.sentiment_distribution(df).to_dict()
    bars = fig["data"][0]
    assert vals(bars["x"]) == [str(i) for i in range(1, 10)]
    assert abs(sum(vals(bars["y"])) - 1) < 1e-6
    ev = sum((i + 1) * p for i, p in enumerate(vals(bars["y"])))
    assert f"expected {ev:.2f}" in fig["layout"]["annotations"][0]["text"]
    seg = charts.sentiment_by_segment(df).to_dict()
    assert seg["data"][0]["type"] == "heatmap" and len(vals(seg["data"][1]["y"])) == 40


def test_toxicity_heatmap_highlights_threshold():
    df = _lang(25)
    fig = charts.toxicity_heatmap(df, threshold=0.5).to_dict()
    z = vals(fig["data"][0]["z"])
    hot = sum(1 for row in z for v in row if v >= 0.5)
    assert len(vals(fig["data"][1]["x"])) == hot
    assert vals(fig["data"][0]["y"]) == ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]


def test_other_charts():
    df = _lang(30)
    assert len(vals(charts.top_k_bars(df, 7).to_dict()["data"][0]["y"])) == 7
    lanes = charts.speaker_lanes(df, "Joy").to_dict()
    assert set(vals(lanes["data"][0]["y"])) == {"spk_0", "spk_1"}
    ner = wide_frame(synth.awkward_result(), model="ner")
    assert vals(charts.entities_chart(ner).to_dict()["data"][0]["y"]) == ["Paris"]
    a, b = df.iloc[:15], df.iloc[15:]
    diff = charts.difference_of_means(a, b, k=5).to_dict()
    name = vals(diff["data"][0]["y"])[-1]
    assert abs(vals(diff["data"][0]["x"])[-1] - (b[name].mean() - a[name].mean())) < 1e-9
    assert charts.shared_range(a, b) == (df["begin"].min(), df["end"].max())


def test_sentiment_expected_line_sits_on_its_level():
    """The EV line and the heatmap rows share one numeric axis: a segment certain of level 5 draws its line at 5."""
    import pandas as pd

    from emolens.emotions import SENTIMENT_COLUMNS

    df = _lang(3)
    certain = pd.DataFrame([[0.0] * 9] * 3, columns=list(SENTIMENT_COLUMNS), index=df.index)
    certain["sentiment_5"] = 1.0
    certain.iloc[2] = [0.0] * 9
    certain.iloc[2, 8] = 1.0  # the third segment: level 9
    df = df.assign(**{c: certain[c] for c in SENTIMENT_COLUMNS})
    fig = charts.sentiment_by_segment(df).to_dict()
    heat, line = fig["data"]
    assert vals(heat["y"]) == list(range(1, 10))
    assert vals(line["y"]) == [5.0, 5.0, 9.0]
    assert fig["layout"]["yaxis"]["type"] == "linear"
    # the distribution chart (category axis: positions 0..8) marks the same value at its bar
    dist = charts.sentiment_distribution(df).to_dict()
    ev = sum((i + 1) * p for i, p in enumerate(vals(dist["data"][0]["y"])))
    assert (
        abs(dist["layout"]["shapes"][0]["x0"] - (ev - 1)) < 1e-9
        and "expected 6.33" in dist["layout"]["annotations"][0]["text"]
    )


def test_overview_heatmap_all_emotions_absolute_scale_ordered_by_mean():
    df = _lang(40)
    fig = charts.overview_heatmap(df).to_dict()
    speakers, heat = fig["data"]  # two speakers: a band above the heatmap
    assert speakers["y"] == ["speaker"] if isinstance(speakers["y"], list) else vals(speakers["y"]) == ["speaker"]
    rows = vals(heat["y"])
    assert len(rows) == 53 and heat["zmin"] == 0 and heat["zmax"] == 1
    means = df[rows].mean()
    assert means[rows[-1]] == means.max() and means[rows[0]] == means.min()  # highest mean drawn on top
    # a long result is binned for display: at most max_bins columns
    big = charts.overview_heatmap(_lang(900), max_bins=100).to_dict()
    assert len(vals(big["data"][-1]["x"])) == 100
    hl = charts.overview_heatmap(df, highlight=(1.0, 1.2)).to_dict()
    assert hl["layout"]["shapes"][0]["x0"] == 1.0


def test_overview_grid_is_the_overview_as_plain_data():
    """The canvas overview's data: the same rows, order, scale and bins as the plotly overview, scores exact to
    1/1000 (the hover's precision), empty cells marked, a speaker per cell."""
    df = _lang(40)
    grid = charts.overview_grid(df)
    heat = charts.overview_heatmap(df).to_dict()["data"][-1]
    assert grid["rows"] == vals(heat["y"])[::-1] and len(grid["rows"]) == 53  # highest mean on top
    n = len(grid["edges"]) - 1
    z = np.frombuffer(base64.b64decode(grid["z"]), dtype="<u2").reshape(len(grid["rows"]), n)
    assert n == 40 and np.all(np.diff(grid["edges"]) > 0)
    expected = np.asarray(vals(heat["z"]), dtype=float)[::-1]  # rows x cells
    assert np.abs(z / 1000 - expected).max() <= 0.0005 + 1e-9
    assert grid["speakers"] == ["spk_0", "spk_1"] and len(grid["speaker"]) == n and min(grid["speaker"]) >= 0
    assert grid["colors"][0] == "#440154" and grid["colors"][-1] == "#fde725" and grid["timed"]
    # a long result is binned for display; a bin without segments is marked, not drawn as 0
    big = _lang(900)
    big = big[(big["begin"] < 100) | (big["begin"] > 200)]
    g = charts.overview_grid(big, max_bins=100)
    zb = np.frombuffer(base64.b64decode(g["z"]), dtype="<u2").reshape(53, 100)
    assert len(g["edges"]) == 101 and (zb == 65535).any() and (zb[zb != 65535] <= 1000).all()
    assert charts.overview_grid(df.iloc[0:0])["empty"]


def test_timeline_legend_beside_plot_downsampled_display_and_highlight():
    df = _lang(3000)
    emos = [c for c in df.columns[13:61]]  # 48 emotions
    fig = charts.emotion_timeline(df, emos, max_points=500, highlight=(5.0, 5.2), y_range=(0, 1)).to_dict()
    assert fig["layout"]["legend"]["orientation"] == "v" and fig["layout"]["height"] == 380  # never squashed
    assert len(vals(fig["data"][0]["x"])) <= 500
    assert fig["layout"]["shapes"][0]["x0"] == 5.0 and list(fig["layout"]["yaxis"]["range"]) == [0, 1]


def test_expression_map_fixed_palette_and_clickable_rows():
    df = _lang(60)
    fig = charts.expression_map(df, highlight=4).to_dict()
    points = [t for t in fig["data"] if t["name"] != "selected"]
    assert sum(len(vals(t["customdata"])) for t in points) == 60
    for t in points:
        emo = t["name"].rsplit(" (", 1)[0]
        assert t["marker"]["color"] == charts.EMOTION_COLORS[emo]
    assert fig["data"][-1]["name"] == "selected"
    assert fig["layout"]["xaxis"]["title"]["text"].startswith("PC1 ")
    assert len(set(charts.EMOTION_COLORS.values())) == len(charts.EMOTION_COLORS) == 53


def test_entities_chart_whole_number_ticks():
    ner = wide_frame(synth.awkward_result(), model="ner")
    fig = charts.entities_chart(ner).to_dict()
    assert fig["layout"]["xaxis"]["dtick"] >= 1 and isinstance(fig["layout"]["xaxis"]["dtick"], int)


def test_entities_chart_shows_entity_types():
    """emolens results carry each entity's type (the entity_type extension): one bar colour per type, named in the
    legend and the hover; Hume results (no type) keep one plain series without a legend."""
    import pandas as pd

    from emolens.emotions import LANGUAGE_EMOTIONS

    rows = [("Paris", "GPE"), ("Paris", "GPE"), ("Obama", "PERSON"), ("Apple", "ORG"), ("Paris", "PERSON")]
    ner = pd.DataFrame({"text": [t for t, _ in rows], "entity_type": [k for _, k in rows]})
    for i, e in enumerate(LANGUAGE_EMOTIONS):
        ner[e] = 0.01 * i
    fig = charts.entities_chart(ner).to_dict()
    by_name = {t["name"]: vals(t["y"]) for t in fig["data"]}
    assert by_name == {
        "GPE (countries, cities, states)": ["Paris · GPE"],
        "PERSON (people)": ["Obama · PERSON", "Paris · PERSON"],
        "ORG (companies, agencies, institutions)": ["Apple · ORG"],
    }
    assert all(t["showlegend"] for t in fig["data"]) and len({t["marker"]["color"] for t in fig["data"]}) == 3
    gpe = fig["data"][0]
    assert vals(gpe["x"]) == [2] and gpe["customdata"][0].startswith("GPE: countries, cities, states<br>")
    assert fig["layout"]["yaxis"]["categoryarray"][-1] == "Paris · GPE"  # the most mentioned on top
    hume = charts.entities_chart(ner.drop(columns="entity_type")).to_dict()
    assert len(hume["data"]) == 1 and hume["data"][0]["showlegend"] is False
    assert sorted(vals(hume["data"][0]["y"])) == ["Apple", "Obama", "Paris"]


def test_burst_markers_and_burst_timeline():
    import pandas as pd

    from emolens.emotions import PROSODY_EMOTIONS

    pros = wide_frame(synth.word_level_result(20, seed=3), model="prosody")
    base = charts.emotion_timeline(pros, ["Joy"])
    scores = np.full((2, 48), 0.05)
    scores[0, PROSODY_EMOTIONS.index("Amusement")] = 0.8
    scores[1, PROSODY_EMOTIONS.index("Relief")] = 0.6
    bursts = pd.DataFrame(scores, columns=list(PROSODY_EMOTIONS)).assign(begin=[1.0, 4.0], end=[1.8, 5.2])
    marked = charts.burst_markers(base, bursts)
    fig = marked.to_dict()
    assert len(fig["data"]) == len(base.to_dict()["data"]) + 1  # one marker trace; the input is untouched
    marks = marked.data[-1]
    assert np.allclose(marks.x, [1.4, 4.6]) and list(marks.text) == ["Amusement", "Relief"]
    assert [(s["x0"], s["x1"]) for s in fig["layout"]["shapes"]] == [(1.0, 1.8), (4.0, 5.2)]
    assert charts.burst_markers(base, bursts.iloc[:0]).to_dict()["data"] == base.to_dict()["data"]
    own = charts.burst_timeline(bursts, k=2).to_dict()
    names = {t["name"] for t in own["data"]}
    assert {"Amusement", "Relief"} <= names and own["layout"]["barmode"] == "stack"
    assert "No vocal bursts" in charts.burst_timeline(bursts.iloc[:0]).to_dict()["layout"]["annotations"][0]["text"]
