"""``python -m emolens.service [--host H] [--port P] [--data-dir D] [--api-key K] [--workers N]`` — the same as
``python -m emolens serve`` (kept here so the service runs on its own, e.g. in tests)."""

from __future__ import annotations

import argparse
import sys

from emolens.errors import EmolensError
from emolens.service.app import serve


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m emolens.service", description="Run the Hume-compatible service.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--api-key", default=None)
    p.add_argument("--workers", type=int, default=1)
    a = p.parse_args(argv)
    try:
        serve(a.host, a.port, a.data_dir, a.api_key, a.workers)
    except EmolensError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
