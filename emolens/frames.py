"""Predictions -> tidy pandas frames.

- wide: one row per segment: source, file, file_type, model, speaker, segment, text, begin, end, position_begin,
  position_end, confidence, speaker_confidence, [ner: entity_confidence, support, uri, link_word], one column per
  emotion named exactly as in Hume, sentiment_1..sentiment_9, then the six toxicity categories.
- long: one row per segment x emotion (``emotion``, ``score``), the segment columns repeated.

Frames are built from plain JSON-ready dicts (not pydantic objects) with column lists and one numpy block per
score family: a one-hour word-level result (10,000 words x 68 scores) takes a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any

import numpy as np

from emolens.emotions import (
    SENTIMENT_COLUMNS,
    SENTIMENT_LEVELS,
    TOXICITY_CATEGORIES,
    emotions_for,
    sentiment_expected_value,
)
from emolens.frame_columns import NER_COLUMNS, SEGMENT_COLUMNS, LineSink

if TYPE_CHECKING:
    import pandas as pd

FRAME_MODELS = ("prosody", "language", "ner", "burst", "face")


def _scores_block(items: list[list[dict[str, Any]] | None], names: Sequence[str]) -> np.ndarray:
    """Scores of many predictions as an (n, len(names)) float array; NaN where a name or the list is missing.

    Columnar: the usual case (every list names the same scores in the same order) is checked and gathered with
    C-level ``map``/``itemgetter`` passes over all predictions at once, then converted in one ``np.array`` call;
    only lists that differ (shuffled, partial, extra names) take the per-item loop.
    """
    n, k = len(items), len(names)
    out = np.full((n, k), np.nan)
    if not n or not k:
        return out
    names_t = tuple(names)
    name_of, score_of = itemgetter("name"), itemgetter("score")
    same: list[int] = []
    other: list[int] = []
    for i, scores in enumerate(items):
        if not scores:
            continue
        try:
            ok = len(scores) == k and tuple(map(name_of, scores)) == names_t
        except (TypeError, KeyError):
            ok = False
        (same if ok else other).append(i)
    if same:
        flat = [v for i in same for v in map(score_of, items[i])]  # type: ignore[arg-type]
        if set(map(type, flat)) <= _NUMBER_TYPES:
            out[same] = np.array(flat, dtype=float).reshape(len(same), k)
        else:
            other.extend(same)
    index = {name: j for j, name in enumerate(names_t)}
    for i in other:
        for s in items[i] or ():
            if not isinstance(s, dict):
                continue
            j = index.get(s.get("name"))  # type: ignore[arg-type]
            v = s.get("score")
            if j is not None and isinstance(v, (int, float)) and not isinstance(v, bool):
                out[i, j] = v
    return out


_NUMBER_TYPES = {int, float}
_FLOAT_COLUMNS = ("begin", "end", "confidence", "speaker_confidence")
_INT_COLUMNS = ("position_begin", "position_end")


def _model_columns(predictions: list[dict[str, Any]], model: str) -> dict[str, Any] | None:
    """One model's wide columns, in frame order: plain lists for segment columns, numpy arrays for scores."""
    cols: dict[str, list[Any]] = {c: [] for c in SEGMENT_COLUMNS}
    ner_cols: dict[str, list[Any]] = {c: [] for c in NER_COLUMNS}
    emos: list[Any] = []
    sents: list[Any] = []
    toxs: list[Any] = []
    seen_names: list[str] | None = None
    c_source, c_file, c_type, c_speaker, c_segment = (
        cols["source"],
        cols["file"],
        cols["file_type"],
        cols["speaker"],
        cols["segment"],
    )
    c_text, c_begin, c_end, c_pb, c_pe = (
        cols["text"],
        cols["begin"],
        cols["end"],
        cols["position_begin"],
        cols["position_end"],
    )
    c_conf, c_sconf = cols["confidence"], cols["speaker_confidence"]
    text_key = "entity" if model == "ner" else "text"
    for si, src in enumerate(predictions):
        for pred in (src.get("results") or {}).get("predictions") or []:
            res = (pred.get("models") or {}).get(model)
            if not res:
                continue
            file, file_type = pred.get("file"), pred.get("file_type")
            seg = 0
            for group in res.get("grouped_predictions") or []:
                gid = group.get("id", "unknown")
                ps = group.get("predictions") or []
                m = len(ps)
                if not m:
                    continue
                c_source.extend([si] * m)
                c_file.extend([file] * m)
                c_type.extend([file_type] * m)
                c_speaker.extend([gid] * m)
                c_segment.extend(range(seg, seg + m))
                seg += m
                for p in ps:
                    time = p.get("time")
                    pos = p.get("position")
                    if isinstance(time, dict):
                        c_begin.append(time.get("begin"))
                        c_end.append(time.get("end"))
                    elif isinstance(time, (int, float)):  # face: a single timestamp
                        c_begin.append(time)
                        c_end.append(time)
                    else:
                        c_begin.append(None)
                        c_end.append(None)
                    if isinstance(pos, dict):
                        c_pb.append(pos.get("begin"))
                        c_pe.append(pos.get("end"))
                    else:
                        c_pb.append(None)
                        c_pe.append(None)
                    c_text.append(p.get(text_key))
                    c_conf.append(p.get("confidence", p.get("prob")))
                    c_sconf.append(p.get("speaker_confidence"))
                    if model == "ner":
                        for c in NER_COLUMNS:
                            ner_cols[c].append(p.get(c))
                    e = p.get("emotions")
                    if seen_names is None and e:
                        seen_names = [str(x.get("name")) for x in e if isinstance(x, dict)]
                    emos.append(e)
                    sents.append(p.get("sentiment"))
                    toxs.append(p.get("toxicity"))
    if not c_source:
        return None
    cols["model"] = [model] * len(c_source)
    names = list(emotions_for(model))
    if seen_names:  # keep names outside the canonical list (newer models) rather than dropping them
        names += [n for n in seen_names if n not in names and isinstance(n, str)]
    frame: dict[str, Any] = {c: cols[c] for c in SEGMENT_COLUMNS}
    if model == "ner":
        frame.update(ner_cols)
        if all(v is None for v in ner_cols["entity_type"]):
            del frame["entity_type"]  # Hume results have no entity label: no empty column in exports
    block = _scores_block(emos, names)
    for j, n in enumerate(names):
        frame[n] = block[:, j]
    if any(s is not None for s in sents):
        sblock = _scores_block(sents, SENTIMENT_LEVELS)
        for j, c in enumerate(SENTIMENT_COLUMNS):
            frame[c] = sblock[:, j]
    if any(t is not None for t in toxs):
        tblock = _scores_block(toxs, TOXICITY_CATEGORIES)
        for j, c in enumerate(TOXICITY_CATEGORIES):
            frame[c] = tblock[:, j]
    return frame


def _model_frame(predictions: list[dict[str, Any]], model: str) -> pd.DataFrame | None:
    import pandas as pd

    frame = _model_columns(predictions, model)
    if frame is None:
        return None
    df = pd.DataFrame(frame)
    for c in _FLOAT_COLUMNS:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    for c in _INT_COLUMNS:
        df[c] = pd.array(df[c].tolist(), dtype="Int64") if df[c].notna().any() else df[c].astype("Int64")
    return df


def wide_frame(predictions: list[dict[str, Any]], model: str | None = None) -> pd.DataFrame:
    """One row per segment (see module doc). ``model=None`` stacks every model present (columns unioned).

    >>> wide_frame([]).columns[:4].tolist()
    ['source', 'file', 'file_type', 'model']
    """
    import pandas as pd

    models = [model] if model else list(FRAME_MODELS)
    frames = [f for m in models if (f := _model_frame(predictions, m)) is not None]
    if not frames:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=object if c in ("file", "file_type", "model", "speaker", "text") else float)
                for c in SEGMENT_COLUMNS
            }
        )
    if len(frames) == 1:
        return frames[0]
    df = pd.concat(frames, ignore_index=True, sort=False)
    # Order: segment columns, ner extras, emotions, sentiment, toxicity.
    fixed = SEGMENT_COLUMNS + [c for c in NER_COLUMNS if c in df.columns]
    tail = [c for c in SENTIMENT_COLUMNS if c in df.columns] + [c for c in TOXICITY_CATEGORIES if c in df.columns]
    emos = [c for c in df.columns if c not in fixed and c not in tail]
    return df[fixed + emos + tail]


def emotion_columns(df: pd.DataFrame) -> list[str]:
    """The emotion columns of a wide frame, in order."""
    skip = set(SEGMENT_COLUMNS) | set(NER_COLUMNS) | set(SENTIMENT_COLUMNS) | set(TOXICITY_CATEGORIES)
    return [c for c in df.columns if c not in skip]


def long_frame(wide: pd.DataFrame | list[dict[str, Any]], model: str | None = None) -> pd.DataFrame:
    """One row per segment x emotion: the segment columns, then ``emotion`` and ``score``."""
    import pandas as pd

    if not isinstance(wide, pd.DataFrame):
        wide = wide_frame(wide, model=model)
    emos = emotion_columns(wide)
    seg_cols = [c for c in SEGMENT_COLUMNS if c in wide.columns]
    n, k = len(wide), len(emos)
    out = {c: np.repeat(wide[c].to_numpy(), k) for c in seg_cols}
    out["emotion"] = np.tile(np.array(emos, dtype=object), n)
    out["score"] = wide[emos].to_numpy(dtype=float).reshape(-1)
    df = pd.DataFrame(out)
    return df[df["score"].notna()].reset_index(drop=True)


# ---------------------------------------------------------------------------------------------------------------
# Helpers


def top_emotions(df: pd.DataFrame, k: int = 5, by: Iterable[str] | None = None) -> list[str]:
    """The k emotions with the highest mean score over the frame (or a subset of its columns)."""
    cols = list(by) if by is not None else emotion_columns(df)
    if df.empty or not cols:
        return cols[:k]
    return df[cols].mean().sort_values(ascending=False).head(k).index.tolist()


def top_k(df: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """Per segment: the k highest emotions as columns top1..topk and top1_score..topk_score."""
    import pandas as pd

    emos = emotion_columns(df)
    if df.empty or not emos:
        return pd.DataFrame(index=df.index)
    values = np.nan_to_num(df[emos].to_numpy(dtype=float), nan=-1.0)
    k = min(k, len(emos))
    idx = np.argsort(-values, axis=1)[:, :k]
    names = np.array(emos, dtype=object)[idx]
    scores = np.take_along_axis(values, idx, axis=1)
    out = {}
    for j in range(k):
        out[f"top{j + 1}"] = names[:, j]
        out[f"top{j + 1}_score"] = scores[:, j]
    return pd.DataFrame(out, index=df.index)


def means(df: pd.DataFrame, by: str | list[str] = "file") -> pd.DataFrame:
    """Mean of every score column per group (``file``, ``speaker``, or a list such as ["file", "speaker"])."""
    score_cols = emotion_columns(df) + [c for c in (*SENTIMENT_COLUMNS, *TOXICITY_CATEGORIES) if c in df.columns]
    return df.groupby(by, dropna=False, sort=True)[score_cols].mean()


def sentiment_expected(df: pd.DataFrame) -> pd.Series:
    """Expected sentiment level (1..9) per segment; NaN where the segment has no sentiment."""
    import pandas as pd

    if not all(c in df.columns for c in SENTIMENT_COLUMNS):
        return pd.Series(np.nan, index=df.index, name="sentiment_expected")
    probs = df[list(SENTIMENT_COLUMNS)].to_numpy(dtype=float)
    total = probs.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        ev = (probs * np.arange(1, 10)).sum(axis=1) / total
    ev[~np.isfinite(ev)] = np.nan
    return pd.Series(ev, index=df.index, name="sentiment_expected")


def mean_sentiment(df: pd.DataFrame) -> tuple[np.ndarray, float] | None:
    """Mean 9-level distribution over segments and its expected value, or None when there is no sentiment."""
    if not all(c in df.columns for c in SENTIMENT_COLUMNS):
        return None
    block = df[list(SENTIMENT_COLUMNS)].dropna(how="all")
    if block.empty:
        return None
    dist = block.mean().to_numpy(dtype=float)
    return dist, sentiment_expected_value(list(dist))


def peaks(df: pd.DataFrame, emotions: Iterable[str] | None = None, threshold: float = 0.5) -> pd.DataFrame:
    """Segments where an emotion scores at or above ``threshold``: one row per (segment, emotion), highest first."""
    import pandas as pd

    emos = [e for e in (emotions or emotion_columns(df)) if e in df.columns]
    if df.empty or not emos:
        return pd.DataFrame(columns=["file", "speaker", "segment", "text", "begin", "end", "emotion", "score"])
    keep = ["source", "file", "model", "speaker", "segment", "text", "begin", "end"]
    long = df[keep + emos].melt(id_vars=keep, var_name="emotion", value_name="score")
    out = long[long["score"] >= threshold].sort_values("score", ascending=False)
    return out.reset_index(drop=True)


def file_options(predictions: list[dict[str, Any]]) -> list[tuple[int, str, list[str]]]:
    """(source index, file, models present) for every file of a payload, in order."""
    out = []
    for si, src in enumerate(predictions):
        for pred in (src.get("results") or {}).get("predictions") or []:
            models = [
                m
                for m, r in (pred.get("models") or {}).items()
                if r and m in FRAME_MODELS and any(g.get("predictions") for g in r.get("grouped_predictions") or [])
            ]
            out.append((si, str(pred.get("file")), models))
    return out


# ---------------------------------------------------------------------------------------------------------------
# CSV without pandas


def _float_cells(values: np.ndarray) -> list[Any]:
    """Float column -> cells: Python floats (written with repr, as pandas does) and None (empty) for NaN."""
    cells = values.astype(object)
    cells[np.isnan(values)] = None
    return cells.tolist()


def _number_cells(values: list[Any]) -> list[Any]:
    """A column pandas would coerce with ``to_numeric(errors="coerce")``: floats, or None where not a number."""
    try:
        return _float_cells(np.array(values, dtype=float))
    except (TypeError, ValueError):
        out: list[Any] = []
        for v in values:
            try:
                f = float(v)
            except (TypeError, ValueError):
                f = float("nan")
            out.append(None if f != f else f)
        return out


def _object_cells(values: list[Any]) -> list[Any]:
    """Other columns, with pandas' inference: numbers mixed with None (or floats) are written as floats."""
    types = set(map(type, values))
    none = type(None)
    if types <= {int, float, none} and (float in types or (int in types and none in types)):
        return _number_cells(values)
    return values


def _column_cells(name: str, values: Any) -> list[Any]:
    if isinstance(values, np.ndarray):
        return _float_cells(values)
    if name in _FLOAT_COLUMNS:
        return _number_cells(values)
    if name in _INT_COLUMNS:
        return [None if v is None else int(v) for v in values]
    return _object_cells(values)


def _csv_parts(predictions: list[dict[str, Any]], model: str | None) -> tuple[list[str], list[dict[str, Any]]]:
    """The wide header (as ``wide_frame`` orders it) and each model's columns."""
    models = [model] if model else list(FRAME_MODELS)
    parts = [c for m in models if (c := _model_columns(predictions, m)) is not None]
    if not parts:
        return list(SEGMENT_COLUMNS), []
    if len(parts) == 1:
        return list(parts[0]), parts
    seen = list(dict.fromkeys(c for p in parts for c in p))
    fixed = SEGMENT_COLUMNS + [c for c in NER_COLUMNS if c in seen]
    tail = [c for c in SENTIMENT_COLUMNS if c in seen] + [c for c in TOXICITY_CATEGORIES if c in seen]
    return fixed + [c for c in seen if c not in fixed and c not in tail] + tail, parts


def wide_csv(predictions: list[dict[str, Any]], model: str | None = None) -> bytes:
    """The wide frame as CSV: the same bytes as ``wide_frame(...).to_csv(index=False)``, built without pandas.

    Why: for a one-hour word-level result, pandas' CSV writer (formatting each float through numpy string
    arrays) and its import took longer than everything else together; the stdlib csv writer formats floats with
    ``repr``, which is the text pandas writes, and quotes exactly as pandas does (pandas uses the same writer).
    """
    import csv
    import io

    header, parts = _csv_parts(predictions, model)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    out = [buf.getvalue()]
    for part in parts:
        n = len(part["source"])
        # Segment columns (lists) come first, then the score columns (numpy, NaN when missing): the segment
        # cells go through the csv writer (quoting), the scores through repr in one join per row.
        first = next((j for j, c in enumerate(header) if isinstance(part.get(c), np.ndarray)), len(header))
        if any(c in part and not isinstance(part[c], np.ndarray) for c in header[first:]):
            first = len(header)  # unusual layout: every column through the csv writer
        empty = [None] * n
        prefix = LineSink()
        pw = csv.writer(prefix, lineterminator="")
        pw.writerows(zip(*[_column_cells(c, part[c]) if c in part else empty for c in header[:first]], strict=True))
        if first == len(header):
            out.append("".join(f"{p}\n" for p in prefix.lines))
            continue
        nan = np.full(n, np.nan)
        block = np.column_stack([part.get(c, nan) for c in header[first:]])
        clean = ~np.isnan(block).any(axis=1)
        lines = []
        for p, row, ok in zip(prefix.lines, block.tolist(), clean.tolist(), strict=True):
            cells = ",".join(map(repr, row)) if ok else ",".join("" if v != v else repr(v) for v in row)
            lines.append(f"{p},{cells}\n" if first else f"{cells}\n")
        out.append("".join(lines))
    return "".join(out).encode()


def long_csv(predictions: list[dict[str, Any]], model: str | None = None) -> bytes:
    """The long frame as CSV: the same bytes as ``long_frame(wide_frame(...)).to_csv(index=False)``, no pandas.

    Each segment's columns are formatted once (csv writer, pandas' quoting) and reused for its emotion rows;
    scores are written with ``repr`` as pandas does; missing scores are left out, as in :func:`long_frame`.
    """
    import csv

    header, parts = _csv_parts(predictions, model)
    fixed = set(SEGMENT_COLUMNS) | set(NER_COLUMNS) | set(SENTIMENT_COLUMNS) | set(TOXICITY_CATEGORIES)
    emos = [c for c in header if c not in fixed]
    seg_cols = list(SEGMENT_COLUMNS)
    sink = LineSink()
    writer = csv.writer(sink, lineterminator="\n")
    writer.writerow([*seg_cols, "emotion", "score"])
    names = LineSink()
    csv.writer(names, lineterminator="").writerows([e] for e in emos)
    quoted = names.lines  # each emotion name as a CSV cell
    out = ["".join(sink.lines)]
    # long_frame repeats wide columns through to_numpy(): a nullable-int column with a missing value becomes float
    as_float = {c for c in _INT_COLUMNS if any(v is None for part in parts for v in part[c])}
    for part in parts:
        n = len(part["source"])
        cells = [_number_cells(part[c]) if c in as_float else _column_cells(c, part[c]) for c in seg_cols]
        prefixes = LineSink()
        pw = csv.writer(prefixes, lineterminator=",")
        pw.writerows(zip(*cells, strict=True))
        pre = prefixes.lines
        blocks = [(quoted[j], part[e]) for j, e in enumerate(emos) if e in part]
        if not blocks:
            continue
        scores = np.column_stack([b for _, b in blocks])
        valid = ~np.isnan(scores)
        values = scores.tolist()
        q = [name for name, _ in blocks]
        k = len(q)
        lines: list[str] = []
        for i in range(n):
            p, row, ok = pre[i], values[i], valid[i]
            lines.extend(f"{p}{q[j]},{row[j]!r}\n" for j in range(k) if ok[j])
        out.append("".join(lines))
    return "".join(out).encode()


# ---------------------------------------------------------------------------------------------------------------
# Time-aware aggregates (overview, comparisons)


def durations(df: pd.DataFrame) -> np.ndarray:
    """Each segment's length in seconds (0 for instants); ones for untimed frames, so weights fall back to counts."""
    if "begin" not in df.columns or df["begin"].isna().all():
        return np.ones(len(df))
    d = (df["end"].fillna(df["begin"]) - df["begin"]).to_numpy(dtype=float)
    return np.clip(np.nan_to_num(d, nan=0.0), 0.0, None)


def weighted_means(df: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.Series:
    """Duration-weighted mean of each column: a 5-s utterance counts 25 times a 0.2-s word, so means of the same
    recording at two granularities compare like for like. Untimed frames (raw text) weigh segments equally."""
    import pandas as pd

    cols = list(columns) if columns is not None else emotion_columns(df)
    if df.empty or not cols:
        return pd.Series(np.nan, index=cols, dtype=float)
    w = durations(df)
    if w.sum() <= 0:  # instants only (face frames): plain means
        w = np.ones(len(df))
    values = df[cols].to_numpy(dtype=float)
    ok = np.isfinite(values)
    num = np.where(ok, values, 0.0) * w[:, None]
    den = ok * w[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num.sum(axis=0) / den.sum(axis=0)
    return pd.Series(out, index=cols, dtype=float)


def resample(df: pd.DataFrame, columns: Sequence[str], grid: np.ndarray) -> pd.DataFrame:
    """Scores on a common time grid: at each grid time the score of the segment covering it (NaN in gaps).

    Two results of one recording at different granularities (or models) become comparable point by point.
    """
    import pandas as pd

    cols = [c for c in columns if c in df.columns]
    out = pd.DataFrame(np.nan, index=pd.Index(grid, name="time"), columns=cols)
    if df.empty or "begin" not in df.columns or df["begin"].isna().all():
        return out
    data = df.dropna(subset=["begin"]).sort_values("begin", kind="stable")
    begin = data["begin"].to_numpy(dtype=float)
    end = data["end"].fillna(data["begin"]).to_numpy(dtype=float)
    i = np.searchsorted(begin, grid, side="right") - 1  # the last segment starting at or before t
    valid = (i >= 0) & (grid <= end[np.clip(i, 0, None)] + 1e-9)
    values = data[cols].to_numpy(dtype=float)
    block = np.full((len(grid), len(cols)), np.nan)
    block[valid] = values[i[valid]]
    out.loc[:, :] = block
    return out


def time_bins(df: pd.DataFrame, columns: Sequence[str], max_bins: int = 600) -> tuple[np.ndarray, np.ndarray, list]:
    """(bin centres, scores (bins x columns), majority speaker per bin) for an overview of a long result.

    Each segment falls in the bin of its midpoint; a bin's score is the duration-weighted mean of its segments (NaN
    when empty: silence stays visible). Frames with at most ``max_bins`` segments keep one column per segment.
    For display only: exports always use the segments themselves.
    """
    import pandas as pd

    cols = [c for c in columns if c in df.columns]
    timed = "begin" in df.columns and df["begin"].notna().any()
    values = df[cols].to_numpy(dtype=float)
    speakers = df["speaker"].astype(str).to_numpy() if "speaker" in df.columns else np.array(["unknown"] * len(df))
    if not timed:
        x = np.arange(len(df), dtype=float)
    else:
        x = ((df["begin"] + df["end"].fillna(df["begin"])) / 2).to_numpy(dtype=float)
    if len(df) <= max_bins:
        return x, values, list(speakers)
    lo, hi = float(np.nanmin(x)), float(np.nanmax(x))
    edges = np.linspace(lo, hi + 1e-9, max_bins + 1)
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, max_bins - 1)
    w = durations(df) if timed else np.ones(len(df))
    w = np.where(w > 0, w, 1e-3)
    ok = np.isfinite(values)
    num = np.zeros((max_bins, len(cols)))
    den = np.zeros((max_bins, len(cols)))
    np.add.at(num, idx, np.where(ok, values, 0.0) * w[:, None])
    np.add.at(den, idx, ok * w[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        binned = num / den
    codes, names = pd.factorize(speakers)
    votes = np.zeros((max_bins, len(names)))
    np.add.at(votes, (idx, codes), w)
    majority = [names[j] if votes[b, j] > 0 else None for b, j in enumerate(votes.argmax(axis=1))]
    return (edges[:-1] + edges[1:]) / 2, binned, majority


def projection_2d(df: pd.DataFrame, columns: Sequence[str] | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Principal-component projection of each segment's emotion vector: (xy (n x 2), explained share (2,),
    one label per axis naming the emotions loading most on it).

    PCA on the raw 0-1 scores centred on the file mean (numpy SVD, no scaling): distances keep score units and the
    same file always maps the same way. Axes are signed so the strongest loading is positive.
    """
    cols = [c for c in (columns or emotion_columns(df)) if c in df.columns]
    x = np.nan_to_num(df[cols].to_numpy(dtype=float), nan=0.0)
    if len(x) < 2 or not cols:
        return np.zeros((len(x), 2)), np.zeros(2), ["", ""]
    xc = x - x.mean(axis=0)
    # eigenvectors of the small (emotions x emotions) scatter matrix: the same axes as an SVD of the segments,
    # in milliseconds for 10,000 words (a thin SVD of the tall matrix took seconds on a busy machine)
    evals, evecs = np.linalg.eigh(xc.T @ xc)
    order = np.argsort(evals)[::-1]
    var = np.clip(evals[order], 0.0, None)
    comps = evecs[:, order[:2]].T.copy()
    if len(comps) < 2:
        comps = np.vstack([comps, np.zeros_like(comps)])
    for k in range(len(comps)):
        if comps[k][np.argmax(np.abs(comps[k]))] < 0:
            comps[k] = -comps[k]
    xy = xc @ comps.T
    share = var[:2] / var.sum() if var.sum() > 0 else np.zeros(2)
    labels = []
    for k in range(2):
        order = np.argsort(-comps[k])
        labels.append(", ".join(cols[j] for j in order[:2]) + " ↔ " + ", ".join(cols[j] for j in order[::-1][:2]))
    return xy, np.pad(share, (0, 2 - len(share))), labels


def file_labels(predictions: list[dict[str, Any]], words: int = 6) -> list[str]:
    """A readable label per file of ``file_options``: media keep their file name ("x.wav", or "x.wav (source 2)"
    when two sources share it); a raw text becomes "Text 1: first words…" (Hume names texts "0", "1", …)."""
    entries = []
    n_text = 0
    for src in predictions:
        for pred in (src.get("results") or {}).get("predictions") or []:
            name = str(pred.get("file"))
            if pred.get("file_type") == "text" and (src.get("source") or {}).get("type") == "text":
                n_text += 1
                first = ""
                for res in (pred.get("models") or {}).values():
                    for group in (res or {}).get("grouped_predictions") or []:
                        for p in group.get("predictions") or []:
                            first = first or str(p.get("text") or "")
                head = " ".join(first.split()[:words])
                more = "…" if len(first.split()) > words else ""
                entries.append(f"Text {n_text}: {head}{more}" if head else f"Text {n_text}")
            else:
                entries.append(name)
    names = [
        str(pred.get("file")) for src in predictions for pred in (src.get("results") or {}).get("predictions") or []
    ]
    sources = [si for si, src in enumerate(predictions) for _ in (src.get("results") or {}).get("predictions") or []]
    out = []
    for label, name, si in zip(entries, names, sources, strict=True):
        clash = not label.startswith("Text ") and names.count(name) > 1
        out.append(f"{label} (source {si + 1})" if clash else label)
    return out
