"""Speed of Explore in real Chromium on a one-hour word-level result: the figures are recorded, never asserted
(timings depend on the machine's load); bench/dashboard.py measures the same with ratios and repeats."""

from __future__ import annotations

import json
import os

from bench.dashboard import open_explore, switch
from emolens.store import Store
from tests import synth


def test_explore_one_hour_result_speed_is_recorded(app_server, chromium_browser, artifacts_dir, tmp_path):
    store = Store(tmp_path / "data")
    hour = store.add_result("hour A", synth.word_level_result(10_000, seed=1))
    other = store.add_result("hour B", synth.word_level_result(10_000, seed=2))
    got = open_explore(chromium_browser, app_server, hour)  # a fresh tab on a shared URL
    page, context = got.pop("page"), got.pop("context")
    try:
        # the overview and the timeline of 10,000 words are drawn (display downsampled, every emotion present)
        n_rows = page.get_attribute(".st-key-explore_overview .emolens-overview", "data-rows")
        assert n_rows == "53"
        got["switch_model_s"] = switch(page, "Model", "prosody", "model=prosody")
        got["switch_result_s"] = switch(page, "Result", "hour B", f"result={other}")
        page.screenshot(path=str(artifacts_dir / "e2e-explore-one-hour.png"))
    finally:
        context.close()
    got["load_average"] = list(os.getloadavg())
    (artifacts_dir / "speed-explore.json").write_text(json.dumps(got, indent=1))
    print("Explore, one-hour word-level result:", json.dumps(got))
