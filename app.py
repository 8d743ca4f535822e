"""emolens dashboard: routing only (each page owns its widgets and state)."""

from pathlib import Path

import streamlit as st

# A bundled image, not a ":material/..." shortcode: Streamlit turns a material page_icon into a favicon URL on a Google
# fonts host, which an offline install cannot reach (the sidebar's material icons come from Streamlit's bundled font).
ICON = Path(__file__).resolve().parent / "assets" / "emolens-icon.png"
st.set_page_config(page_title="emolens", page_icon=str(ICON), layout="wide")
# On laptop screens (<= 1280 px) the wide layout's 5rem of padding each side left the Explore overview ~330 px beside
# the segment card at 1024 px, and 6rem on top pushed the charts below the first screen; 1.5rem at the sides and 4rem
# on top (just under the 3.75rem header) give them that room back. Style-only st.html takes no space on the page.
st.html(
    "<style>@media (max-width: 1280px) { [data-testid='stMainBlockContainer'] {"
    " padding-left: 1.5rem; padding-right: 1.5rem; padding-top: 4rem; } }</style>"
)

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
