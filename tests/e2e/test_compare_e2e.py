"""Journey in real Chromium: a first start shows the sample library; Compare puts two granularities side by side."""

from __future__ import annotations

import pytest

from .conftest import wait_for_app


@pytest.mark.app_env({"EMOLENS_SEED_SAMPLES": "true"})
def test_samples_then_compare_granularities(app_server, page, artifacts_dir):
    page.goto(app_server)
    wait_for_app(page)
    page.get_by_text("4 stored result(s)").wait_for()  # the samples, seeded on first start: nothing uploaded
    page.get_by_role("link", name="Compare").click()
    page.get_by_role("heading", name="Compare").wait_for()
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 3")
    wait_for_app(page)
    titles = page.eval_on_selector_all(
        ".js-plotly-plot",
        "els => els.map(e => ((e.layout && e.layout.title && e.layout.title.text) || '').replace(/<[^>]+>/g, ''))")
    a = next(t for t in titles if t.startswith("A:"))
    b = next(t for t in titles if t.startswith("B:"))
    # the default pair is two results of the same file: the granularity comparison
    assert "Dialogue" in a and "Dialogue" in b and a != b, titles
    assert "prosody utterance" in a and "prosody word" in b  # labelled by their settings
    assert any(t.startswith("Difference of duration-weighted means") for t in titles), titles
    ranges = page.eval_on_selector_all(".js-plotly-plot", "els => els.slice(0, 2).map(e => e.layout.xaxis.range)")
    assert ranges[0] == ranges[1]  # one shared time axis
    scores = page.eval_on_selector_all(".js-plotly-plot", "els => els.slice(0, 2).map(e => e.layout.yaxis.range)")
    assert scores[0] == scores[1]  # and one score axis
    page.get_by_text("same input").wait_for()  # paired by content
    page.get_by_text("B - A over time").first.click()
    page.locator(".st-key-compare_diff_curve .js-plotly-plot").wait_for()
    wait_for_app(page)
    assert "cmp_mode=B" in page.url
    page.screenshot(path=str(artifacts_dir / "e2e-compare-difference.png"), full_page=True)
    page.screenshot(path=str(artifacts_dir / "e2e-compare.png"), full_page=True)
