"""`python -m emolens measure`: flags -> a Hume job request -> the engine -> predictions JSON (+ the store)."""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emolens.errors import ConfigError
from emolens.schema import JobRequest, parse_job_request

MODEL_CHOICES = ("prosody", "burst", "language", "ner")


def request_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Build the job request (Hume's JSON shape) that the flags describe; validated by the schema."""
    models: dict[str, Any] = {}
    names = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else list(MODEL_CHOICES)
    bad = [m for m in names if m not in MODEL_CHOICES]
    if bad:
        raise ConfigError(
            f"unknown model(s) {', '.join(bad)}: use a comma-separated subset of {','.join(MODEL_CHOICES)}"
        )
    speakers = bool(args.identify_speakers)
    if "prosody" in names:
        pc: dict[str, Any] = {"identify_speakers": speakers}
        if args.window:
            try:
                length, step = (float(x) for x in args.window.split(","))
            except ValueError:
                raise ConfigError(f"--window takes LENGTH,STEP in seconds, e.g. 4,1 (got {args.window!r})") from None
            pc["window"] = {"length": length, "step": step}
        elif args.granularity:
            pc["granularity"] = args.granularity
        models["prosody"] = pc
    if "language" in names:
        lc: dict[str, Any] = {"identify_speakers": speakers}
        if args.granularity:
            lc["granularity"] = args.granularity
        if args.sentiment:
            lc["sentiment"] = {}
        if args.toxicity:
            lc["toxicity"] = {}
        models["language"] = lc
    if "ner" in names:
        models["ner"] = {"identify_speakers": speakers}
    if "burst" in names:
        models["burst"] = {}
    tr: dict[str, Any] = {"identify_speakers": speakers, "model": args.asr}
    if args.language:
        tr["language"] = args.language
    if args.confidence_threshold is not None:
        tr["confidence_threshold"] = args.confidence_threshold
    return {"models": models, "transcription": tr}


def collect_texts(args: argparse.Namespace, failures: list[str] | None = None) -> list[str]:
    """Texts from --text, --text-file (whole file) and --text-lines (one per non-empty line), in that order.

    With ``failures``, an unreadable text file is noted there (``FILE: reason``) instead of raising.
    """
    texts = list(args.text)
    for f, whole in [(f, True) for f in args.text_file] + [(f, False) for f in args.text_lines]:
        try:
            content = _read_text(f)
        except ConfigError as e:
            if failures is None:
                raise
            failures.append(str(e))
            continue
        texts += [content] if whole else [line for line in content.splitlines() if line.strip()]
    return texts


def _read_text(path: str) -> str:
    p = Path(path)
    try:
        return p.read_bytes().decode("utf-8-sig")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it ({e.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save it as UTF-8") from None


def run_measure(args: argparse.Namespace, store_factory: Callable[[argparse.Namespace], Any]) -> int:
    from emolens.cli import report_inputs

    raw_request = request_from_args(args)  # bad flags are usage errors: before any input is looked at
    request: JobRequest = parse_job_request(raw_request)
    failures: list[str] = []
    texts = collect_texts(args, failures)
    if not texts and not args.files and not failures:
        raise ConfigError("nothing to measure: give media FILEs and/or --text/--text-file/--text-lines")
    files: list[Path] = []
    for f in args.files:
        p = Path(f)
        if p.is_dir():
            failures.append(f"{f}: is a directory, not a media file")
        elif not p.is_file():
            failures.append(f"{f}: no such file")
        else:
            files.append(p)
    if not texts and not files:
        return report_inputs(failures, 0)
    address = getattr(args, "dask_scheduler", None)
    if address is None:
        from emolens.settings import get_settings

        address = get_settings().dask_scheduler
    written = Written()
    if address.strip():
        out = measure_on_cluster(address, files, texts, raw_request, args)
    else:
        out = _measure_here(files, texts, request, args, written)
    written.add(out[written.count :])  # what was not checked and encoded while measuring
    written.check()  # valid Hume format, every source checked (in bulk, chunk by chunk); fail loudly if not
    labels = [f"text {i}" for i in range(len(texts))] + [str(f) for f in files]
    succeeded = 0
    for label, src in zip(labels, out, strict=True):
        # the engine's messages may start with the file's name already: name it once
        problems = [m.removeprefix(f"{Path(label).name}: ") for m in source_problems(src)]
        if (src.get("results") or {}).get("predictions"):
            succeeded += 1
            failures += [f"{label}: {m}" for m in problems]  # partly measured: still worth a warning
        else:
            failures.append(f"{label}: {'; '.join(problems) or 'nothing could be measured'}")
    if not succeeded:
        return report_inputs(failures, 0)  # no output: every input failed
    report_inputs(failures, succeeded)
    data = written.data()
    if args.output in (None, "-"):
        sys.stdout.buffer.write(data + b"\n")
    else:
        Path(args.output).write_bytes(data)
    if args.store:
        store = store_factory(args)
        media = {f.name: store.put_media(f) for f in files}
        name = args.name or (files[0].name if files else (texts[0][:40] or "text"))
        rid = store.add_result(name, out, origin="measured", config=raw_request, media=media)
        print(f"stored as {rid}", file=sys.stderr)
    return 0


class Written:
    """The predictions JSON of a measure run, built part by part: each part's sources are validated (the rules of
    :func:`emolens.archive.check_predictions`) and encoded when added, e.g. while the engine measures the next
    chunk of texts; :meth:`data` is then the bytes ``orjson.dumps`` gives for the whole list."""

    def __init__(self) -> None:
        from emolens.archive import ImportReport

        self.report = ImportReport(name="engine output")
        self.parts: list[bytes] = []
        self.count = 0

    def add(self, sources: list[dict[str, Any]]) -> None:
        """Validate and encode ``sources``, the next ones of the payload."""
        import orjson

        from emolens.archive import validate_sources

        if not sources:
            return
        validate_sources(sources, self.report.name, self.report, start=self.count)
        self.report.predictions.clear()  # only the problems matter here; the caller keeps the sources
        self.parts.append(orjson.dumps(sources)[1:-1])  # UTF-8, compact; a list's items joined by ","
        self.count += len(sources)

    def check(self) -> None:
        """Raise ArchiveError naming the first problem of every source added, as check_predictions would."""
        from emolens.archive import raise_problems

        raise_problems(self.report)

    def data(self) -> bytes:
        """The whole payload's JSON (compact, UTF-8): the same bytes as ``orjson.dumps`` of all sources."""
        return b"[" + b",".join(self.parts) + b"]"


def source_problems(src: dict[str, Any]) -> list[str]:
    """The error messages inside one measured source (Hume keeps them in ``error`` and ``results.errors``)."""
    out = [str(src["error"])] if src.get("error") else []
    out += [str(e.get("message") or e) for e in (src.get("results") or {}).get("errors") or []]
    return out


def _want_bar(args: argparse.Namespace) -> bool:
    return (not args.no_progress and sys.stderr.isatty()) or getattr(args, "force_progress", False)


def _measure_here(
    files: list[Path], texts: list[str], request: JobRequest, args: argparse.Namespace, written: Written
) -> list[dict]:
    """Measure on this machine; text sources are validated and encoded into ``written`` chunk by chunk, while the
    engine measures the next chunk (media sources are left to the caller)."""
    from emolens.hume import iter_text_sources, measure_media

    bar = None
    if _want_bar(args):
        from tqdm import tqdm

        bar = tqdm(
            total=100,
            unit="%",
            desc="measuring",
            file=sys.stderr,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining} {postfix}",
        )
    share_text = len(texts) / (len(texts) + 10 * len(files))  # media is the slow part: weight it 10x

    def progress_in(offset: float, span: float) -> Callable[[float, str], None]:
        def cb(fraction: float, message: str = "") -> None:
            if bar is not None:
                bar.n = round(100 * (offset + span * max(0.0, min(1.0, fraction))), 1)
                bar.set_postfix_str(message[:40], refresh=False)
                bar.refresh()

        return cb

    out: list[dict[str, Any]] = []
    if texts:
        for _, sources in iter_text_sources(texts, request, progress=progress_in(0.0, share_text)):
            out += sources
            written.add(sources)
    if files:
        out += measure_media(files, request, progress=progress_in(share_text, 1 - share_text), asr=args.asr)
    if bar is not None:
        bar.n = 100
        bar.close()
    return out


def measure_on_cluster(
    address: str, files: list[Path], texts: list[str], raw_request: dict[str, Any], args: argparse.Namespace
) -> list[dict]:
    """``emolens measure --dask-scheduler ADDR``: one Dask task per file (and per chunk of texts), the same
    predictions as a local run, in input order (texts first, as locally); a progress bar over files."""
    from distributed import KilledWorker, as_completed

    from emolens.errors import EngineError
    from emolens.hume import media_source
    from emolens.service.cluster import connect, task_key, text_chunks
    from emolens.service.cluster_worker import measure_media_task, measure_texts_task, text_sources

    client = connect(address)
    try:
        run = f"cli{uuid.uuid4().hex[:8]}"
        parts: list[tuple[Any, int]] = []  # (future, text offset; -1 for a file)
        for unit, (offset, chunk) in enumerate(text_chunks(texts)):
            fut = client.submit(
                measure_texts_task, chunk, raw_request, run, unit, key=task_key("text", run, unit), pure=False
            )
            parts.append((fut, offset))
        for f in files:
            unit = len(parts)
            fut = client.submit(
                measure_media_task, f.read_bytes(), f.name, raw_request, args.asr, run, unit,
                key=task_key("file", run, unit), pure=False,
            )  # fmt: skip
            parts.append((fut, -1))
        bar = None
        if _want_bar(args):
            from tqdm import tqdm

            bar = tqdm(total=len(files), unit="file", desc="measuring", file=sys.stderr)
        file_futures = {fut for fut, off in parts if off < 0}
        for fut in as_completed([fut for fut, _ in parts], loop=client.loop):
            if bar is not None and fut in file_futures:
                bar.update(1)
        if bar is not None:
            bar.close()
        out: list[dict] = []
        for fut, offset in parts:
            try:
                outcome = fut.result()
            except KilledWorker:
                raise EngineError(
                    "the Dask workers measuring a file kept dying (the scheduler's allowed-failures was reached)"
                ) from None
            if outcome.error is not None:
                raise EngineError(outcome.error)
            # engine result objects back, turned into Hume JSON here by the same adapter as a local run
            if offset < 0:
                out.append(media_source(outcome.value))
            else:
                out += text_sources(outcome.value, offset)
        return out
    finally:
        client.close()
