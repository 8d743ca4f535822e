"""emolens dashboard: routing only (each page owns its widgets and state)."""

from pathlib import Path

import streamlit as st

st.set_page_config(page_title="emolens", page_icon=":material/graphic_eq:", layout="wide")

_ROOT = Path(__file__).parent
_PAGES = [
    ("pages/library.py", "Library", ":material/library_books:"),
    ("pages/explore.py", "Explore", ":material/query_stats:"),
    ("pages/compare.py", "Compare", ":material/compare:"),
    ("pages/measure.py", "Measure", ":material/graphic_eq:"),
    ("pages/jobs.py", "Jobs", ":material/work_history:"),
    ("pages/live.py", "Live", ":material/sensors:"),
    ("pages/settings.py", "Settings", ":material/settings:"),
]

st.navigation(
    [st.Page(path, title=title, icon=icon, default=i == 0)
     for i, (path, title, icon) in enumerate(_PAGES) if (_ROOT / path).exists()]
).run()
