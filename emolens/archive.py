"""Read and write archived results: predictions JSON, artifact zips (CSV), CSV files, the legacy shape.

Import is tolerant and never loses what is good: :func:`load_archive` returns an :class:`ImportReport` with every
source that validated and a list of ``problems`` (one line per skipped part, naming the file and what is wrong).
Only when nothing at all can be imported does it raise :class:`~emolens.errors.ArchiveError`.
"""

from __future__ import annotations

import io
import json
import posixpath
import zipfile
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from emolens.artifacts import csvs_to_predictions, is_artifact_csv, predictions_to_csvs
from emolens.errors import ArchiveError
from emolens.media_types import MEDIA_MIME, TEXT_SUFFIXES
from emolens.schema import SourcePredictions

#: Limits that keep a hostile zip from exhausting memory or disk.
MAX_ZIP_ENTRIES = 10_000
MAX_ENTRY_BYTES = 512 * 1024 * 1024
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
MAX_RATIO = 200  # uncompressed / compressed, above which a large entry is treated as a zip bomb
#: Members of a zip kept as media (Hume's artifact zips hold the measured files and texts).
MEDIA_SUFFIXES = set(MEDIA_MIME) | set(TEXT_SUFFIXES)


@dataclass
class ImportReport:
    """What an import produced: valid sources (JSON-ready), media found beside them, and skipped parts."""

    name: str
    predictions: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    media: dict[str, bytes] = field(default_factory=dict)
    kind: str = "json"


# ---------------------------------------------------------------------------------------------------------------
# Validation


def _describe(err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(x) for x in first.get("loc", ()))
    more = f" (+{err.error_count() - 1} more)" if err.error_count() > 1 else ""
    return f"{loc}: {first.get('msg', 'invalid')}{more}" if loc else first.get("msg", "invalid")


_SCORE_KEYS = ("emotions", "sentiment", "toxicity")


_NAME_OF, _SCORE_OF = itemgetter("name"), itemgetter("score")
_NUMBER_TYPES = {int, float}


def _score_problem(scores: Any, key: str) -> str | None:
    if scores is None and key != "emotions":
        return None
    if not isinstance(scores, list):
        return f"{key}: expected a list of {{name, score}}"
    # Fast path, the same rules in C-level passes: every item a dict with a str name and an int/float score
    # (bool excluded: exact types, as orjson and json produce them); anything else takes the loop below.
    try:
        if set(map(type, scores)) <= {dict} and set(map(type, map(_NAME_OF, scores))) <= {str}:
            if set(map(type, map(_SCORE_OF, scores))) <= _NUMBER_TYPES:
                return None
    except KeyError:
        pass
    for i, s in enumerate(scores):
        if (
            not isinstance(s, dict)
            or not isinstance(s.get("name"), str)
            or isinstance(s.get("score"), bool)
            or not isinstance(s.get("score"), (int, float))
        ):
            return f"{key}.{i}: expected {{name: string, score: number}}"
    return None


def _skeleton(src: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A copy of a source with every score list emptied, plus the first problem found in those lists.

    Why: pydantic builds one object per {name, score}; a one-hour word-level archive holds ~700,000 of them and
    takes ~5 s to validate. The skeleton goes through the full pydantic model (everything but the scores), and the
    score lists get this tight loop instead, which checks the same rules in a fraction of the time.
    """
    results = src.get("results")
    if not isinstance(results, dict) or not isinstance(results.get("predictions"), list):
        return src, None
    new_preds = []
    for pi, pred in enumerate(results["predictions"]):
        if not isinstance(pred, dict) or not isinstance(pred.get("models"), dict):
            return src, None
        models = {}
        for m, res in pred["models"].items():
            if not isinstance(res, dict) or not isinstance(res.get("grouped_predictions"), list):
                models[m] = res
                continue
            groups = []
            for gi, g in enumerate(res["grouped_predictions"]):
                if not isinstance(g, dict) or not isinstance(g.get("predictions"), list):
                    groups.append(g)
                    continue
                ps = []
                for i, p in enumerate(g["predictions"]):
                    if not isinstance(p, dict):
                        ps.append(p)
                        continue
                    for key in _SCORE_KEYS:
                        if key in p and (why := _score_problem(p[key], key)):
                            where = f"results.predictions.{pi}.models.{m}.grouped_predictions.{gi}.predictions.{i}"
                            return src, f"{where}.{why}"
                    ps.append({k: ([] if k in _SCORE_KEYS and v is not None else v) for k, v in p.items()})
                groups.append({**g, "predictions": ps})
            models[m] = {**res, "grouped_predictions": groups}
        new_preds.append({**pred, "models": models})
    return {**src, "results": {**results, "predictions": new_preds}}, None


def validate_sources(data: Any, name: str, report: ImportReport, start: int = 0) -> None:
    """Append every valid source of ``data`` to the report; note each invalid one as a problem (``start``: the index
    of ``data``'s first source in the whole payload, when ``data`` is one part of it)."""
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        report.problems.append(f"{name}: expected a list of sources or one source object, got {type(data).__name__}")
        return
    if data and all(isinstance(x, dict) for x in data) and any(_is_legacy(x) for x in data):
        data = [convert_legacy(x) if _is_legacy(x) else x for x in data]
        report.kind = "legacy"
    for i, src in enumerate(data, start):
        if not isinstance(src, dict) or "source" not in src:
            keys = ", ".join(list(src)[:5]) if isinstance(src, dict) else type(src).__name__
            report.problems.append(
                f"{name}: item {i} is not a Hume source object (it has {keys}; expected 'source' and 'results')"
            )
            continue
        skeleton, score_problem = _skeleton(src)
        if score_problem:
            report.problems.append(f"{name}: source {i} skipped: {score_problem}")
            continue
        try:
            SourcePredictions.model_validate(skeleton)
        except ValidationError as e:
            report.problems.append(f"{name}: source {i} skipped: {_describe(e)}")
            continue
        report.predictions.append(src)


def check_predictions(data: Any, name: str = "predictions") -> None:
    """Validate a whole predictions payload in bulk (the rules of :func:`validate_sources`, not stopping to keep
    good sources): raises ArchiveError naming the first problem.

    Why not ``schema.parse_predictions``: pydantic builds an object for every ``{name, score}`` (68 per language
    segment) and took longer than measuring the texts; here the skeleton goes through pydantic and the score
    lists through C-level type checks (:func:`_score_problem`).
    """
    report = ImportReport(name=name)
    validate_sources(data, name, report)
    raise_problems(report)


def raise_problems(report: ImportReport) -> None:
    """The ArchiveError of :func:`check_predictions` when ``report`` (filled by :func:`validate_sources`, maybe
    part by part) noted problems."""
    if report.problems:
        more = f" (+{len(report.problems) - 1} more)" if len(report.problems) > 1 else ""
        raise ArchiveError(f"invalid predictions: {report.problems[0]}{more}", report.name)


# ---------------------------------------------------------------------------------------------------------------
# Legacy shape (before May 2023): files[].models.<model> as a list of groups or a flat {"predictions": [...]}.


def _is_legacy(obj: dict[str, Any]) -> bool:
    results: dict[str, Any] = obj["results"] if isinstance(obj.get("results"), dict) else obj
    return isinstance(results, dict) and isinstance(results.get("files"), list) and "predictions" not in results


def _legacy_groups(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict) and "grouped_predictions" in value:
        return value["grouped_predictions"]
    if isinstance(value, dict) and "predictions" in value:
        return [{"id": str(value.get("id", "unknown")), "predictions": value["predictions"]}]
    if isinstance(value, list):
        groups = []
        for i, item in enumerate(value):
            if isinstance(item, dict) and "predictions" in item:
                groups.append(
                    {
                        "id": str(item.get("id", "unknown" if len(value) == 1 else f"group_{i}")),
                        "predictions": item["predictions"],
                    }
                )
            elif isinstance(item, dict):  # a flat list of predictions
                return [{"id": "unknown", "predictions": value}]
        return groups
    return []


def convert_legacy(obj: dict[str, Any]) -> dict[str, Any]:
    """Convert one legacy result object to the current source shape (best effort, documented in docs/artifacts.md)."""
    results: dict[str, Any] = obj["results"] if isinstance(obj.get("results"), dict) else obj
    preds = []
    for f in results.get("files") or []:
        if not isinstance(f, dict):
            continue
        models = {}
        for model, value in (f.get("models") or {}).items():
            models[model] = {"metadata": None, "grouped_predictions": _legacy_groups(value)}
        entry = {"file": str(f.get("file", f.get("filename", ""))), "models": models}
        if "file_type" in f:
            entry["file_type"] = f["file_type"]
        preds.append(entry)
    source = obj.get("source") or {"type": "file", "filename": preds[0]["file"] if preds else None}
    errors = results.get("errors") or []
    return {"source": source, "results": {"predictions": preds, "errors": errors}, "error": obj.get("error")}


# ---------------------------------------------------------------------------------------------------------------
# Decoding helpers


def _loads(text: str) -> Any:
    """json.loads, through orjson when installed (about 2x faster on large archives); same errors either way."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - orjson is in requirements.txt
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # re-parse with the stdlib for its precise error position and message


def _decode_text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ArchiveError(
            f"not UTF-8 text (byte 0x{data[e.start]:02x} at offset {e.start}); "
            "save the file as UTF-8 and import it again",
            name,
        ) from None


def _parse_json(text: str, name: str) -> Any:
    try:
        return _loads(text)
    except json.JSONDecodeError as e:
        # The parser fails at the very end (or inside a string that never closes) when a file was cut short.
        cut = e.pos >= len(text.rstrip()) - 1 or (e.msg.startswith("Unterminated string") and "\n" not in text[e.pos :])
        what = "truncated" if cut else "invalid"
        raise ArchiveError(f"{what} JSON at line {e.lineno} column {e.colno}: {e.msg}", name) from None
    except RecursionError:
        raise ArchiveError("JSON nested too deeply", name) from None


def _looks_like_csv(text: str) -> bool:
    head = text.lstrip()[:1]
    first_line = text.split("\n", 1)[0]
    return head not in ("[", "{") and "," in first_line


# ---------------------------------------------------------------------------------------------------------------
# Import


def load_archive(data: bytes | str | Path, name: str | None = None) -> ImportReport:
    """Import an archive from bytes or a path: predictions JSON, zip (JSON and/or CSV), or CSV.

    Returns the valid sources and a list of problems; raises ArchiveError only when nothing could be imported.
    """
    if isinstance(data, (str, Path)):
        path = Path(data)
        name = name or path.name
        try:
            data = path.read_bytes()
        except OSError as e:
            raise ArchiveError(f"cannot read file: {e.strerror}", str(path)) from None
    name = name or "archive"
    report = ImportReport(name=name)
    if not data:
        raise ArchiveError("the file is empty", name)
    if data[:4] == b"PK\x03\x04" or name.lower().endswith(".zip"):
        report.kind = "zip"
        _load_zip(data, name, report)
    else:
        text = _decode_text(data, name)
        if name.lower().endswith(".csv") or _looks_like_csv(text):
            report.kind = "csv"
            _load_csvs({name: text}, report)
        else:
            validate_sources(_parse_json(text, name), name, report)
    if not report.predictions:
        detail = "; ".join(report.problems[:5]) or "no predictions found"
        raise ArchiveError(f"nothing could be imported: {detail}", name)
    return report


def _load_csvs(csvs: dict[str, str], report: ImportReport) -> None:
    """Artifact CSVs (emolens layout) are read back exactly; other CSVs are sniffed as tidy frames."""
    import csv as _csv

    artifact: dict[str, str] = {}
    other: dict[str, str] = {}
    for fname, text in csvs.items():
        header = next(_csv.reader(io.StringIO(text)), [])
        (artifact if header and is_artifact_csv(header) else other)[fname] = text
    if artifact:
        try:
            report.predictions.extend(csvs_to_predictions(artifact))
        except ArchiveError as e:
            report.problems.append(str(e) if e.file else f"{', '.join(artifact)}: {e}")
    for fname, text in other.items():
        from emolens.csv_sniff import sniff_csv

        try:
            report.predictions.extend(sniff_csv(text, fname))
        except ArchiveError as e:
            report.problems.append(str(e))


def _safe_member(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member is refused, or None when it is safe to read."""
    n = info.filename
    if n.startswith(("/", "\\")) or (len(n) > 1 and n[1] == ":"):
        return "absolute path"
    if ".." in posixpath.normpath(n.replace("\\", "/")).split("/") or ".." in n.replace("\\", "/").split("/"):
        return "path with '..'"
    if info.flag_bits & 0x1:
        return "encrypted entry"
    return None


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int) -> bytes:
    """Read a member without trusting its header: stop at the limits (zip bombs lie about sizes)."""
    limit = min(MAX_ENTRY_BYTES, budget)
    out = bytearray()
    with zf.open(info) as f:
        while chunk := f.read(1 << 20):
            out += chunk
            if len(out) > limit:
                raise ArchiveError(
                    f"entry expands past {limit // (1 << 20)} MB (zip bomb?); not imported", info.filename
                )
            if len(out) > 10 * (1 << 20) and len(out) > MAX_RATIO * max(info.compress_size, 1):
                raise ArchiveError(f"entry expands more than {MAX_RATIO}x (zip bomb?); not imported", info.filename)
    return bytes(out)


def _load_zip(data: bytes, name: str, report: ImportReport) -> None:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise ArchiveError(f"not a readable zip archive ({e})", name) from None
    if len(infos) > MAX_ZIP_ENTRIES:
        raise ArchiveError(f"zip has {len(infos)} entries (limit {MAX_ZIP_ENTRIES})", name)
    budget = MAX_TOTAL_BYTES
    csvs: dict[str, str] = {}
    with zf:
        for info in infos:
            if (
                info.is_dir()
                or posixpath.basename(info.filename).startswith(("._", "."))
                or info.filename.startswith("__MACOSX/")
            ):
                continue
            member = f"{name}/{info.filename}"
            why = _safe_member(info)
            if why:
                report.problems.append(f"{member}: refused ({why})")
                continue
            suffix = posixpath.splitext(info.filename.lower())[1]
            if suffix not in (".json", ".csv") and suffix not in MEDIA_SUFFIXES:
                if suffix not in (".md", ".txt"):
                    report.problems.append(f"{member}: skipped (not JSON, CSV or media)")
                continue
            try:
                raw = _read_member(zf, info, budget)
            except ArchiveError as e:
                report.problems.append(f"{name}/{e}")
                continue
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as e:
                report.problems.append(f"{member}: unreadable ({e})")
                continue
            budget -= len(raw)
            try:
                if suffix == ".json":
                    validate_sources(_parse_json(_decode_text(raw, member), member), member, report)
                elif suffix == ".csv":
                    csvs[info.filename] = _decode_text(raw, member)
                else:
                    report.media[posixpath.basename(info.filename)] = raw
            except ArchiveError as e:
                report.problems.append(str(e))
    if csvs:
        if report.predictions:
            # predictions JSON and the CSVs describe the same results: the JSON is the complete record.
            return
        _load_csvs({f"{name}/{k}": v for k, v in csvs.items()}, report)


# ---------------------------------------------------------------------------------------------------------------
# Export


def export_predictions_json(predictions: list[dict[str, Any]], indent: int | None = None) -> bytes:
    """Predictions as Hume's JSON (a list of sources)."""
    return json.dumps(predictions, ensure_ascii=False, indent=indent).encode()


def export_artifacts_zip(predictions: list[dict[str, Any]]) -> bytes:
    """An artifacts zip: ``sources.csv`` + one CSV per model present (layout in emolens.artifacts / docs)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for fname, text in predictions_to_csvs(predictions).items():
            zf.writestr(fname, text)
    return buf.getvalue()


def export_frame_csv(predictions: list[dict[str, Any]], model: str | None = None) -> bytes:
    """The wide tidy frame (all models, or one) as CSV (the bytes ``to_csv`` writes, built without pandas)."""
    from emolens.frames import wide_csv

    return wide_csv(predictions, model=model)


def export_parquet(predictions: list[dict[str, Any]], model: str | None = None) -> bytes:
    """The wide tidy frame (all models, or one) as Parquet."""
    from emolens.frames import wide_frame

    buf = io.BytesIO()
    wide_frame(predictions, model=model).to_parquet(buf, index=False)
    return buf.getvalue()


def export(predictions: list[dict[str, Any]], fmt: str) -> bytes:
    """Export in one of ``json``, ``zip``, ``csv``, ``parquet``."""
    funcs = {
        "json": export_predictions_json,
        "zip": export_artifacts_zip,
        "csv": export_frame_csv,
        "parquet": export_parquet,
    }
    if fmt not in funcs:
        raise ArchiveError(f"unknown export format {fmt!r}; use one of {', '.join(funcs)}")
    return funcs[fmt](predictions)
