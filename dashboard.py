"""Start the dashboard: ``streamlit run app.py`` with the same options, its heavy imports done while it starts.

Streamlit imports a page's modules in the first visitor's script run, so the first shared Explore URL opened after
a start waited for pandas, plotly and pyarrow to load (0.5-1 s on 2 busy CPUs). Here they are imported before the
server starts (in this thread, before any script thread exists: two threads importing pandas and pyarrow at once
could meet Python's import deadlock check); the first script run then finds them loaded. Nothing else changes:
``python dashboard.py --server.port 8501`` takes every ``streamlit run`` option (`make run` uses it).
"""

from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "app.py"


def _preload() -> None:
    # third-party and emolens modules only: components/ register Streamlit elements when imported, which belongs
    # to a script run
    import numpy  # noqa: F401
    import pandas  # noqa: F401
    import plotly.graph_objects  # noqa: F401
    import plotly.io  # noqa: F401
    import pyarrow.feather  # noqa: F401

    import emolens.charts  # noqa: F401
    import emolens.frames  # noqa: F401
    import emolens.store  # noqa: F401


def main() -> None:
    from streamlit.web import cli

    _preload()
    sys.argv = ["streamlit", "run", str(APP), *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
