"""emolens's artifact CSV layout: one CSV per model plus ``sources.csv``; reads back to identical predictions.

Hume never documented the columns of its artifacts zip, so emolens defines them (docs/artifacts.md):

``sources.csv`` — one row per source:
    source_index, source (JSON of the source object), error, errors (JSON list of per-file errors),
    files (JSON list of [file, file_type, {model: metadata}] in prediction order), extra (JSON of unknown fields)

``<model>.csv`` (prosody, language, ner, burst, face) — one row per prediction:
    source_index, file, file_type, speaker (group id), index (position within the group),
    then the model's fields flattened (time -> begin/end, position -> position_begin/position_end,
    box -> box_x/box_y/box_w/box_h; lists of {name, score} other than emotions as JSON),
    then one column per emotion named exactly as in Hume, then sentiment_1..sentiment_9, then the six toxicity
    categories, then ``extra`` (JSON of unknown fields).

Empty cell = null. Floats are written with ``repr`` so values survive exactly. Emotion columns follow the order of
the first prediction, and predictions read back list their emotions in column order.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from emolens.emotions import SENTIMENT_COLUMNS, SENTIMENT_LEVELS, TOXICITY_CATEGORIES
from emolens.errors import ArchiveError

CSV_MODELS = ("prosody", "language", "ner", "burst", "face")

# Per model: (flat column, path into the prediction). Paths of length 2 read nested objects.
_FIELDS: dict[str, list[tuple[str, tuple[str, ...]]]] = {
    "prosody": [
        ("text", ("text",)),
        ("begin", ("time", "begin")),
        ("end", ("time", "end")),
        ("confidence", ("confidence",)),
        ("speaker_confidence", ("speaker_confidence",)),
    ],
    "language": [
        ("text", ("text",)),
        ("position_begin", ("position", "begin")),
        ("position_end", ("position", "end")),
        ("begin", ("time", "begin")),
        ("end", ("time", "end")),
        ("confidence", ("confidence",)),
        ("speaker_confidence", ("speaker_confidence",)),
    ],
    "ner": [
        ("entity", ("entity",)),
        ("position_begin", ("position", "begin")),
        ("position_end", ("position", "end")),
        ("entity_confidence", ("entity_confidence",)),
        ("support", ("support",)),
        ("uri", ("uri",)),
        ("link_word", ("link_word",)),
        ("begin", ("time", "begin")),
        ("end", ("time", "end")),
        ("confidence", ("confidence",)),
        ("speaker_confidence", ("speaker_confidence",)),
    ],
    "burst": [("begin", ("time", "begin")), ("end", ("time", "end")), ("descriptions", ("descriptions",))],
    "face": [
        ("frame", ("frame",)),
        ("time", ("time",)),
        ("prob", ("prob",)),
        ("box_x", ("box", "x")),
        ("box_y", ("box", "y")),
        ("box_w", ("box", "w")),
        ("box_h", ("box", "h")),
        ("facs", ("facs",)),
        ("descriptions", ("descriptions",)),
    ],
}
_TEXT_FIELDS = {"text", "entity", "uri", "link_word"}
_INT_FIELDS = {"position_begin", "position_end", "frame"}
_JSON_FIELDS = {"descriptions", "facs"}
_KEY_COLUMNS = ["source_index", "file", "file_type", "speaker", "index"]
_NESTED = {"time", "position", "box"}


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return json.dumps(v)
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, dict)):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))
    return str(v)


def _num(s: str, column: str, is_int: bool) -> int | float | None:
    if s == "":
        return None
    try:
        return int(s) if is_int else float(s)
    except ValueError:
        raise ArchiveError(f"column {column!r} holds {s[:40]!r}, which is not a number") from None


def _known_keys(model: str) -> set[str]:
    keys = {path[0] for _, path in _FIELDS[model]} | {"emotions"}
    if model == "language":
        keys |= {"sentiment", "toxicity"}
    return keys


def predictions_to_csvs(predictions: list[dict[str, Any]]) -> dict[str, str]:
    """Write predictions (JSON-ready list of sources) as ``{"sources.csv": text, "<model>.csv": text, ...}``."""
    out: dict[str, str] = {}
    src_buf = io.StringIO()
    src_w = csv.writer(src_buf, lineterminator="\n")
    src_w.writerow(["source_index", "source", "results_null", "error", "errors", "files", "extra"])
    rows: dict[str, list[list[str]]] = {m: [] for m in CSV_MODELS}
    emotion_cols: dict[str, list[str]] = {}
    for si, src in enumerate(predictions):
        results = src.get("results")
        files = []
        for pred in (results or {}).get("predictions") or []:
            models = pred.get("models") or {}
            meta = {m: ("__null__" if r is None else r.get("metadata", "__absent__")) for m, r in models.items()}
            # Keep every model key, its metadata and unknown keys so the file entry reads back identically.
            pred_extra = {k: v for k, v in pred.items() if k not in ("file", "file_type", "models")}
            model_extra = {
                m: {k: v for k, v in r.items() if k not in ("metadata", "grouped_predictions")}
                for m, r in models.items()
                if isinstance(r, dict)
            }
            files.append(
                [
                    pred.get("file"),
                    pred.get("file_type", "__absent__"),
                    meta,
                    pred_extra,
                    model_extra,
                    {
                        m: r.get("grouped_predictions")
                        for m, r in models.items()
                        if isinstance(r, dict) and m not in CSV_MODELS
                    },
                ]
            )
            for model in CSV_MODELS:
                res = models.get(model)
                if not res:
                    continue
                for group in res.get("grouped_predictions") or []:
                    for idx, p in enumerate(group.get("predictions") or []):
                        emos = p.get("emotions") or []
                        cols = emotion_cols.setdefault(model, [e["name"] for e in emos])
                        by_name = {e["name"]: e.get("score") for e in emos}
                        extra_names = [n for n in by_name if n not in cols]
                        if extra_names:
                            raise ArchiveError(f"{model} prediction has emotions {extra_names} unlike the others")
                        row = [
                            str(si),
                            _cell(pred.get("file")),
                            _cell(pred.get("file_type")),
                            _cell(group.get("id")),
                            str(idx),
                        ]
                        for _col, path in _FIELDS[model]:
                            v: Any = p
                            for key in path:
                                v = v.get(key) if isinstance(v, dict) else None
                            row.append(_cell(v))
                        row += [_cell(by_name.get(n)) if n in by_name else "" for n in cols]
                        if model == "language":
                            for key, names in (("sentiment", SENTIMENT_LEVELS), ("toxicity", TOXICITY_CATEGORIES)):
                                sc = p.get(key)
                                d = {s["name"]: s.get("score") for s in sc} if sc is not None else {}
                                row += [_cell(d.get(n)) for n in names]
                        extra = {k: v for k, v in p.items() if k not in _known_keys(model)}
                        # Record which nested values were null/absent, so they read back the same.
                        for key in _NESTED:
                            if key in p and p[key] is None:
                                extra.setdefault("__null__", []).append(key)
                        for key in (
                            "sentiment",
                            "toxicity",
                            "time",
                            "position",
                            "text",
                            "confidence",
                            "speaker_confidence",
                            "entity_confidence",
                            "support",
                            "uri",
                            "link_word",
                            "descriptions",
                            "facs",
                            "box",
                            "prob",
                        ):
                            if key in _known_keys(model) and key not in p:
                                extra.setdefault("__absent__", []).append(key)
                        if len(emos) != len(cols) or [e["name"] for e in emos] != cols[: len(emos)]:
                            extra["__emotion_names__"] = [e["name"] for e in emos]
                        row.append(_cell(extra) if extra else "")
                        rows[model].append(row)
        src_extra = {k: v for k, v in src.items() if k not in ("source", "results", "error")}
        res_extra = {k: v for k, v in (results or {}).items() if k not in ("predictions", "errors")}
        if res_extra:
            src_extra["__results_extra__"] = res_extra
        if "error" not in src:
            src_extra["__no_error_key__"] = True
        src_w.writerow(
            [
                str(si),
                _cell(src.get("source")),
                "1" if results is None else "",
                _cell(src.get("error")),
                _cell((results or {}).get("errors") or []),
                _cell(files),
                _cell(src_extra) if src_extra else "",
            ]
        )
    out["sources.csv"] = src_buf.getvalue()
    for model in CSV_MODELS:
        if not rows[model]:
            continue
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        header = _KEY_COLUMNS + [c for c, _ in _FIELDS[model]] + emotion_cols.get(model, [])
        if model == "language":
            header += list(SENTIMENT_COLUMNS) + list(TOXICITY_CATEGORIES)
        header.append("extra")
        w.writerow(header)
        w.writerows(rows[model])
        out[f"{model}.csv"] = buf.getvalue()
    return out


def is_artifact_csv(header: list[str]) -> str | None:
    """Which artifact CSV a header belongs to: "sources", a model name, or None."""
    if header[:2] == ["source_index", "source"]:
        return "sources"
    if header[: len(_KEY_COLUMNS)] != _KEY_COLUMNS:
        return None
    cols = header[len(_KEY_COLUMNS) :]
    for model in CSV_MODELS:
        names = [c for c, _ in _FIELDS[model]]
        if cols[: len(names)] == names:
            # language and prosody both start with text; language's next column disambiguates.
            return model
    return None


def csvs_to_predictions(csvs: dict[str, str]) -> list[dict[str, Any]]:
    """Read back what :func:`predictions_to_csvs` wrote (keys are file names, values CSV text)."""
    tables: dict[str, tuple[str, list[str], list[list[str]]]] = {}
    for name, text in csvs.items():
        reader = csv.reader(io.StringIO(text))
        try:
            header = next(reader)
        except StopIteration:
            raise ArchiveError("empty CSV file", name) from None
        kind = is_artifact_csv(header)
        if kind is None:
            raise ArchiveError("not an emolens artifact CSV (unknown columns)", name)
        tables[kind] = (name, header, list(reader))
    if "sources" not in tables:
        raise ArchiveError("artifact CSVs need sources.csv beside the model CSVs (export them together)")
    name, header, src_rows = tables["sources"]
    sources: list[dict[str, Any]] = []
    file_entries: list[dict[str, dict[str, Any]]] = []
    try:
        for r in src_rows:
            rec = dict(zip(header, r))
            extra = json.loads(rec["extra"]) if rec.get("extra") else {}
            results_extra = extra.pop("__results_extra__", {})
            no_error_key = extra.pop("__no_error_key__", False)
            src: dict[str, Any] = {"source": json.loads(rec["source"])}
            preds: list[dict[str, Any]] = []
            entries: dict[str, dict[str, Any]] = {}
            for file, file_type, meta, pred_extra, model_extra, other in json.loads(rec["files"]):
                pred: dict[str, Any] = {"file": file}
                if file_type != "__absent__":
                    pred["file_type"] = file_type
                models: dict[str, Any] = {}
                for m, md in meta.items():
                    if md == "__null__":
                        models[m] = None
                        continue
                    models[m] = {
                        **({} if md == "__absent__" else {"metadata": md}),
                        **model_extra.get(m, {}),
                        "grouped_predictions": other.get(m, []),
                    }
                pred["models"] = models
                pred.update(pred_extra)
                preds.append(pred)
                entries[file] = pred
            file_entries.append(entries)
            if rec["results_null"] == "1":
                src["results"] = None
            else:
                src["results"] = {"predictions": preds, "errors": json.loads(rec["errors"] or "[]"), **results_extra}
            if not no_error_key:
                src["error"] = rec["error"] if rec["error"] != "" else None
            src.update(extra)
            sources.append(src)
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise ArchiveError(f"malformed row in sources.csv ({e})", name) from None

    for model in CSV_MODELS:
        if model not in tables:
            continue
        name, header, rows = tables[model]
        fields = [c for c, _ in _FIELDS[model]]
        n_key = len(_KEY_COLUMNS)
        n_fields = len(fields)
        tail = ["extra"] + (list(SENTIMENT_COLUMNS) + list(TOXICITY_CATEGORIES) if model == "language" else [])
        emo_cols = [c for c in header[n_key + n_fields :] if c not in tail]
        groups: dict[tuple[int, str, str], dict[str, Any]] = {}
        for line_no, r in enumerate(rows, start=2):
            if len(r) != len(header):
                raise ArchiveError(f"line {line_no} has {len(r)} cells, the header has {len(header)}", name)
            rec = dict(zip(header, r))
            try:
                si = int(rec["source_index"])
                entry = file_entries[si][rec["file"]]
            except (ValueError, IndexError, KeyError):
                raise ArchiveError(f"line {line_no} names a source/file that sources.csv does not list", name) from None
            extra = json.loads(rec["extra"]) if rec["extra"] else {}
            nulls = set(extra.pop("__null__", []))
            absent = set(extra.pop("__absent__", []))
            names = extra.pop("__emotion_names__", None)
            p: dict[str, Any] = {}
            for col, path in _FIELDS[model]:
                raw = rec[col]
                if col in _TEXT_FIELDS:
                    val: Any = raw if raw != "" else None
                elif col in _JSON_FIELDS:
                    val = json.loads(raw) if raw else None
                else:
                    val = _num(raw, col, col in _INT_FIELDS)
                if len(path) == 1:
                    if path[0] not in absent:
                        p[path[0]] = val
                else:
                    outer, inner = path
                    if outer in nulls or outer in absent:
                        if outer in nulls:
                            p[outer] = None
                        continue
                    p.setdefault(outer, {})[inner] = val
            emo_order = names if names is not None else emo_cols
            p["emotions"] = [{"name": n, "score": _num(rec[n], n, False)} for n in emo_order]
            if model == "language":
                for key, names_, cols in (
                    ("sentiment", SENTIMENT_LEVELS, SENTIMENT_COLUMNS),
                    ("toxicity", TOXICITY_CATEGORIES, TOXICITY_CATEGORIES),
                ):
                    if key in absent:
                        continue
                    if all(rec[c] == "" for c in cols):
                        p[key] = None
                    else:
                        p[key] = [{"name": n, "score": _num(rec[c], c, False)} for n, c in zip(names_, cols)]
            p.update(extra)
            gkey = (si, rec["file"], rec["speaker"])
            if gkey not in groups:
                group = {"id": rec["speaker"], "predictions": []}
                groups[gkey] = group
                entry["models"].setdefault(model, {"metadata": None, "grouped_predictions": []})
                if entry["models"][model] is None:
                    entry["models"][model] = {"metadata": None, "grouped_predictions": []}
                entry["models"][model]["grouped_predictions"].append(group)
            groups[gkey]["predictions"].append(p)
    return sources
