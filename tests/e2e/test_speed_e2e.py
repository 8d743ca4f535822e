"""Speed of Explore in real Chromium on a one-hour word-level result: the figures are recorded, never asserted
(timings depend on the machine's load); bench/dashboard.py measures the same with ratios and repeats."""

from __future__ import annotations

import json
import os

from bench.dashboard import open_explore, switch
from components.data import warm
from emolens.store import Store
from tests import synth


def test_explore_one_hour_result_speed_is_recorded(app_server, chromium_browser, artifacts_dir, tmp_path):
    store = Store(tmp_path / "data")
    preds = synth.word_level_result(10_000, seed=1)
    hour = store.add_result("hour A", preds)
    warm(str(store.data_dir), hour, preds)  # as the Library's import leaves an imported result
    other = store.add_result("hour B", synth.word_level_result(10_000, seed=2))  # as the service stores one
    first = open_explore(chromium_browser, app_server, hour)  # the first visit after the server started
    first.pop("page")
    first.pop("context").close()
    got = open_explore(chromium_browser, app_server, hour)  # a fresh tab on a shared URL
    got["first_visit_after_start_first_chart_s"] = first["first_chart_s"]
    page, context = got.pop("page"), got.pop("context")
    try:
        # the overview and the timeline of 10,000 words are drawn (display downsampled, every emotion present)
        n_rows = page.get_attribute(".st-key-explore_overview .emolens-overview", "data-rows")
        assert n_rows == "53"
        got["switch_model_s"] = switch(page, "Model", "prosody", "model=prosody")
        # hour B was never opened nor warmed: its first open parses its predictions
        got["switch_result_first_open_s"] = switch(page, "Result", "hour B", f"result={other}")
        page.screenshot(path=str(artifacts_dir / "e2e-explore-one-hour.png"))
    finally:
        context.close()
    got["load_average"] = list(os.getloadavg())
    (artifacts_dir / "speed-explore.json").write_text(json.dumps(got, indent=1))
    print("Explore, one-hour word-level result:", json.dumps(got))
