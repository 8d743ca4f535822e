"""Main journey in real Chromium: import an archive in the Library, open Explore, see the charts."""

from __future__ import annotations

import json

from emolens import synth

from .conftest import wait_for_app


def _plot_titles(page) -> list[str]:
    return page.eval_on_selector_all(
        ".js-plotly-plot", "els => els.map(e => ((e.layout && e.layout.title && e.layout.title.text) || '').replace(/<[^>]+>/g, ''))")


def test_import_then_explore(app_server, page, artifacts_dir, tmp_path):
    archive = tmp_path / "hume-meeting.json"
    archive.write_text(json.dumps(synth.word_level_result(300, seed=3)))

    outside: list[str] = []  # offline use: every request stays on the dashboard's own host
    page.on("request", lambda r: None if r.url.startswith((app_server, "data:", "blob:")) else outside.append(r.url))
    page.goto(app_server)
    wait_for_app(page)
    page.get_by_text("No results yet").wait_for()
    icon = page.eval_on_selector("link[rel*='icon']", "e => e.href")
    assert icon.startswith(app_server), icon  # the bundled icon, not a fonts host
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(archive))
    page.get_by_text("hume-meeting.json").first.wait_for()
    page.get_by_role("button", name="Import").click()
    page.get_by_text("Imported hume-meeting.json").wait_for()
    wait_for_app(page)
    page.screenshot(path=str(artifacts_dir / "e2e-library.png"), full_page=True)

    page.get_by_role("button", name="Open in Explore").click()
    page.get_by_role("heading", name="Explore").wait_for()
    wait_for_app(page)
    # switch the model to language: sentiment and toxicity live there
    page.locator(".js-plotly-plot").first.wait_for()
    page.screenshot(path=str(artifacts_dir / "e2e-explore-prosody.png"), full_page=True)
    page.get_by_label("Model").click()
    page.get_by_role("option", name="language").click()
    page.locator(".js-plotly-plot").nth(4).wait_for()
    wait_for_app(page)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 5")
    titles = _plot_titles(page)
    assert any(t.startswith("Emotion timeline") for t in titles), titles
    assert any(t.startswith("Sentiment") for t in titles), titles
    assert any(t.startswith("Toxicity") for t in titles), titles
    # the timeline really has drawn traces (WebGL or SVG)
    n_traces = page.eval_on_selector(".js-plotly-plot", "e => e.data.length")
    assert n_traces == 5
    assert "model=language" in page.url  # the selection is shareable
    page.screenshot(path=str(artifacts_dir / "e2e-explore.png"), full_page=True)
    assert not outside, outside


def test_deep_link_restores_the_selection(app_server, page, artifacts_dir, tmp_path):
    """A shared Explore URL opens the same result, model and emotions in a fresh browser session."""
    from emolens.store import Store

    # the app_server fixture keeps its store under tmp_path/data; the app reads it on each run
    rid = Store(tmp_path / "data").add_result("shared", synth.word_level_result(120, seed=9))
    page.goto(f"{app_server}/explore?result={rid}&model=language&emotions=Joy,Anger")
    page.locator(".js-plotly-plot").first.wait_for()
    wait_for_app(page)
    nav = page.get_by_test_id("stSidebarNav").inner_text()
    assert "Explore" in nav and "Library" in nav  # routed through app.py, not the bare page file
    names = page.eval_on_selector(".js-plotly-plot", "e => e.data.map(t => t.name)")
    assert names == ["Joy", "Anger"]
    page.screenshot(path=str(artifacts_dir / "e2e-deep-link.png"))
    # clicking a point of the timeline opens that segment's scores and records it in the URL
    page.locator(".js-plotly-plot .scatterlayer .trace").first.locator(".points path").nth(3).click(force=True)
    page.wait_for_function("() => window.location.search.includes('segment=')", timeout=30_000)
    wait_for_app(page)
    page.get_by_text("Sentiment (expected, 1–9)").wait_for()
