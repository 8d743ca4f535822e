"""emolens dashboard: routing only (each page owns its widgets and state)."""

import streamlit as st

st.set_page_config(page_title="emolens", page_icon=":material/graphic_eq:", layout="wide")

# Pages live in app_pages/, not pages/: Streamlit 1.67 still auto-discovers a pages/ folder, and a first visit to a
# deep link such as /explore would run that file directly, bypassing this router (file names in the sidebar).
_PAGES = [
    ("app_pages/library.py", "Library", ":material/library_books:"),
    ("app_pages/explore.py", "Explore", ":material/query_stats:"),
    ("app_pages/compare.py", "Compare", ":material/compare:"),
    ("app_pages/measure.py", "Measure", ":material/graphic_eq:"),
    ("app_pages/jobs.py", "Jobs", ":material/work_history:"),
    ("app_pages/live.py", "Live", ":material/sensors:"),
    ("app_pages/settings.py", "Settings", ":material/settings:"),
]

st.navigation([st.Page(path, title=title, icon=icon, default=i == 0)
               for i, (path, title, icon) in enumerate(_PAGES)]).run()
