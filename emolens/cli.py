"""Command line: ``python -m emolens <command> ...``. Errors print one line and exit non-zero; no tracebacks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, get_args

from emolens.errors import ArchiveError, EmolensError, MediaError
from emolens.literals import AsrModel, Granularity

EXIT_ERROR = 1
EXIT_USAGE = 2


def _store(args: argparse.Namespace):
    from emolens.settings import get_settings
    from emolens.store import Store

    return Store(args.data_dir or get_settings().data_dir)


def _write_out(data: bytes, out: str | None) -> None:
    if out in (None, "-"):
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        Path(out).write_bytes(data)


# ---------------------------------------------------------------------------------------------------------------


def input_problem(path: str, err: BaseException) -> str:
    """``FILE: reason`` for an input that could not be used (the file named once, as the user typed it)."""
    if isinstance(err, (ArchiveError, MediaError)):
        inner = err.file
        if inner and inner not in (path, Path(path).name):
            return f"{path}: {inner}: {err.reason}"
        return f"{path}: {err.reason}"
    if isinstance(err, OSError):
        return f"{path}: {err.strerror or err}"
    return f"{path}: {err}"


def report_inputs(failures: list[str], succeeded: int) -> int:
    """The exit rule for commands over several inputs: nothing succeeded -> ``error: FILE: reason`` lines and exit
    1; some did -> ``warning: FILE: reason`` lines and exit 0."""
    prefix = "warning" if succeeded else "error"
    for line in failures:
        print(f"{prefix}: {line}", file=sys.stderr)
    if failures and succeeded:
        print(f"warning: {len(failures)} of {len(failures) + succeeded} inputs failed", file=sys.stderr)
    return 0 if succeeded or not failures else EXIT_ERROR


def cmd_import(args: argparse.Namespace) -> int:
    from emolens.archive import load_archive

    store = _store(args)
    failures: list[str] = []
    done = 0
    for f in args.files:
        try:
            if Path(f).is_dir():
                raise IsADirectoryError(21, "is a directory, not an archive file", f)
            report = load_archive(Path(f))
        except (EmolensError, OSError) as e:
            failures.append(input_problem(f, e))
            continue
        media = {name: store.put_media(data) for name, data in report.media.items()}
        rid = store.add_result(
            args.name or Path(f).stem,
            report.predictions,
            origin="imported",
            config={"archive": Path(f).name, "kind": report.kind, "problems": report.problems},
            media=media,
        )
        done += 1
        print(rid)
        for p in report.problems:
            print(f"warning: {f}: {p}", file=sys.stderr)
    return report_inputs(failures, done)


def cmd_frame(args: argparse.Namespace) -> int:
    if args.wide and args.model:
        from emolens.columnar import wide_csv_bytes

        # fast path (typed decode, complete validation, same bytes); None: the general path below
        try:
            data = Path(args.file).read_bytes()
        except OSError:
            data = b""
        if data and (csv_fast := wide_csv_bytes(data, args.model)) is not None:
            _write_out(csv_fast, args.output)
            return 0

    from emolens.archive import load_archive
    from emolens.frames import long_csv, wide_csv

    report = load_archive(Path(args.file))
    for p in report.problems:
        print(f"warning: {p}", file=sys.stderr)
    # built without pandas: the same bytes as wide_frame(...).to_csv() / long_frame(...).to_csv(), much faster
    csv_bytes = (wide_csv if args.wide else long_csv)(report.predictions, model=args.model)
    _write_out(csv_bytes, args.output)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from emolens.archive import export

    preds = _store(args).get_predictions(args.id)
    _write_out(export(preds, args.format), args.output)
    if args.output not in (None, "-"):
        print(f"wrote {args.output}", file=sys.stderr)
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    import json  # here, not at the top: `frame` on a large archive starts faster without it
    from datetime import datetime

    rows = _store(args).list_results()
    if args.json:
        print(
            json.dumps(
                [
                    {"id": r.id, "name": r.name, "origin": r.origin, "created_ms": r.created_ms, **r.summary}
                    for r in rows
                ],
                indent=1,
            )
        )
        return 0
    if not rows:
        print("no results stored yet: `python -m emolens import FILE` adds one", file=sys.stderr)
        return 0
    print(f"{'id':<13} {'created':<17} {'origin':<9} {'files':>5} {'models':<22} {'dur(s)':>8}  name")
    for r in rows:
        created = datetime.fromtimestamp(r.created_ms / 1000).strftime("%Y-%m-%d %H:%M")
        s = r.summary
        print(
            f"{r.id:<13} {created:<17} {r.origin:<9} {s.get('files', 0):>5} {','.join(s.get('models', [])):<22} "
            f"{s.get('duration_s', 0):>8.1f}  {r.name}"
        )
    return 0


def cmd_measure(args: argparse.Namespace) -> int:
    from emolens.measure_cli import run_measure

    return run_measure(args, _store)


def cmd_serve(args: argparse.Namespace) -> int:
    from emolens.service import serve

    serve(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        api_key=args.api_key,
        workers=args.workers,
        dask_scheduler=args.dask_scheduler,
        allowed_hosts=args.allowed_hosts,
    )
    return 0


# ---------------------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m emolens",
        description="emolens: measure and explore emotional expression in speech and text (Hume-compatible, offline).",
    )
    data_dir_help = "store directory (default: $EMOLENS_DATA_DIR or ~/.emolens)"
    p.add_argument("--data-dir", help=data_dir_help)
    # Global options also work after the sub-command (`emolens serve --data-dir D`): every sub-command parser
    # knows them too, with a suppressed default so that one given before the sub-command is not overwritten.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=argparse.SUPPRESS, help=data_dir_help)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, parents=[common], **kwargs)

    s = command("import", help="import archives (predictions JSON, zip, CSV) into the store; prints ids")
    s.add_argument("files", nargs="+", metavar="FILE")
    s.add_argument("--name", help="name for the stored result (default: the file name)")
    s.set_defaults(func=cmd_import)

    s = command("frame", help="tidy CSV of an archive file (long by default)")
    s.add_argument("file", metavar="FILE")
    s.add_argument("--model", choices=["prosody", "language", "ner", "face", "burst"], required=True)
    s.add_argument("--wide", action="store_true", help="one row per segment instead of per segment x emotion")
    s.add_argument("-o", "--output", help="write to this file instead of stdout")
    s.set_defaults(func=cmd_frame)

    s = command("export", help="export a stored result")
    s.add_argument("id")
    s.add_argument("--format", choices=["json", "zip", "csv", "parquet"], default="json")
    s.add_argument("-o", "--output", required=True, help="output path ('-' for stdout)")
    s.set_defaults(func=cmd_export)

    s = command("list", help="list stored results")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=cmd_list)

    s = command("measure", help="measure media files and/or texts; writes Hume-format predictions JSON")
    s.add_argument("files", nargs="*", metavar="FILE", help="media files (.wav .mp3 .mp4 .flac .ogg .m4a .webm)")
    s.add_argument("--text", action="append", default=[], help="a text to measure (repeatable)")
    s.add_argument(
        "--text-file",
        action="append",
        default=[],
        metavar="F.txt",
        help="a file whose whole content is one text (repeatable)",
    )
    s.add_argument(
        "--text-lines", action="append", default=[], metavar="F.txt", help="every non-empty line of F is one text"
    )
    s.add_argument("--models", help="comma-separated: prosody,burst,language,ner (default: all, Hume's rule)")
    s.add_argument(
        "--granularity",
        choices=get_args(Granularity),
        help="segmentation for prosody and language (defaults: prosody utterance, language word)",
    )
    s.add_argument("--window", metavar="LENGTH,STEP", help="prosody sliding window in seconds, e.g. 4,1")
    s.add_argument("--identify-speakers", action="store_true")
    s.add_argument("--language", help="BCP-47 language of the speech (default: detect)")
    s.add_argument("--confidence-threshold", type=float, help="leave out words below this confidence (0..1)")
    s.add_argument("--sentiment", action="store_true", help="add the 9-level sentiment distribution")
    s.add_argument("--toxicity", action="store_true", help="add the six toxicity scores")
    s.add_argument("--asr", choices=get_args(AsrModel), default="base", help="Whisper model for transcription")
    s.add_argument("--store", action="store_true", help="also save the result in the library")
    s.add_argument("--name", help="name of the stored result (with --store)")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.add_argument(
        "--dask-scheduler",
        metavar="ADDR",
        default=None,
        help="run on this Dask cluster (tcp://host:8786): one task per file (default: $EMOLENS_DASK_SCHEDULER; "
        "empty: this machine)",
    )
    s.add_argument("-o", "--output", help="output JSON path (default: stdout)")
    s.set_defaults(func=cmd_measure)

    s = command("serve", help="run the Hume-compatible batch + streaming API service")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--api-key", default=None, help="require this X-Hume-Api-Key (default: $EMOLENS_API_KEY)")
    s.add_argument("--workers", type=int, default=1, help="worker processes running jobs")
    s.add_argument(
        "--dask-scheduler",
        metavar="ADDR",
        default=None,
        help="run batch jobs on this Dask cluster (tcp://host:8786) instead of local workers "
        "(default: $EMOLENS_DASK_SCHEDULER)",
    )
    s.add_argument(
        "--allowed-hosts",
        default=None,
        metavar="H1,H2",
        help="Host names clients may use besides loopback ones ('*' = any; default: $EMOLENS_ALLOWED_HOSTS)",
    )
    s.set_defaults(func=cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    import warnings

    # webrtcvad/pyworld import pkg_resources; its deprecation notice is noise for CLI users.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except EmolensError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as e:
        print(f"error: {e.strerror or e}{': ' + e.filename if getattr(e, 'filename', None) else ''}", file=sys.stderr)
        return EXIT_ERROR
