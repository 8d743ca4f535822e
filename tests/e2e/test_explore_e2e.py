"""Main journey in real Chromium: import an archive in the Library, open Explore, see the charts."""

from __future__ import annotations

import json

from bench.dashboard import DRAWN
from tests import synth

from .conftest import wait_for_app


def _plot_titles(page) -> list[str]:
    return page.eval_on_selector_all(
        ".js-plotly-plot",
        "els => els.map(e => ((e.layout && e.layout.title && e.layout.title.text) || '').replace(/<[^>]+>/g, ''))",
    )


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
    wait_for_app(page)
    page.get_by_text("Sentiment & toxicity").click()  # one view at a time below the overview and the timeline
    page.locator(".st-key-explore_toxicity .js-plotly-plot").wait_for()
    wait_for_app(page)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 4")
    # the overview: a canvas chart of every emotion (no plotly), drawn first
    overview = page.locator(".st-key-explore_overview .emolens-overview[data-drawn='true']")
    assert overview.locator(".emolens-overview-title").inner_text().startswith("Overview: every emotion")
    assert overview.get_attribute("data-rows") == "53"
    titles = _plot_titles(page)
    assert titles[0].startswith("Emotion timeline"), titles
    assert any(t.startswith("Sentiment") for t in titles), titles
    assert any(t.startswith("Toxicity") for t in titles), titles
    # the timeline really has drawn traces (WebGL or SVG)
    n_traces = page.eval_on_selector(".st-key-explore_timeline .js-plotly-plot", "e => e.data.length")
    assert n_traces == 5
    assert "model=language" in page.url and "view=Sentiment" in page.url  # the selection is shareable
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
    names = page.eval_on_selector(".st-key-explore_timeline .js-plotly-plot", "e => e.data.map(t => t.name)")
    assert names == ["Joy", "Anger"]
    page.screenshot(path=str(artifacts_dir / "e2e-deep-link.png"))
    # clicking a point of the timeline opens that segment in the card and records it in the URL
    timeline = page.locator(".st-key-explore_timeline .js-plotly-plot .scatterlayer .trace").first
    timeline.locator(".points path").nth(3).click(force=True)
    _wait_card(page, "Segment 4 of 120", "segment=3")
    # clicking a cell of the overview opens its segment: the last cell, the last segment
    overview = page.locator(".st-key-explore_overview .emolens-overview[data-drawn='true']")
    overview.scroll_into_view_if_needed()
    box = overview.bounding_box()
    geo = overview.evaluate("e => [e.dataset.left, e.dataset.width, e.dataset.top, e.dataset.height].map(Number)")
    page.mouse.click(box["x"] + geo[0] + geo[1] - 2, box["y"] + geo[2] + geo[3] / 2)
    _wait_card(page, "Segment 120 of 120", "segment=119")


def _wait_card(page, text: str, url_part: str) -> None:
    """Wait until the card shows ``text`` and the URL names ``url_part`` (the URL alone is written mid-run)."""
    page.wait_for_function(
        "([t, u]) => (document.querySelector('[data-testid=\"emolens-segment-card\"]') || {}).innerText"
        "?.includes(t) && window.location.search.includes(u)",
        arg=[text, url_part],
    )


def test_segment_card_keyboard_and_synced_playback(app_server, page, artifacts_dir, tmp_path):
    """At 1024x768 the card is in view beside the charts and stays there while scrolling; arrows move between
    segments, space plays the segment (sub-second seek), the playhead moves and the word being played is marked."""
    from components.data import seed_samples
    from emolens.store import Store

    store = Store(tmp_path / "data")
    seed_samples(store)
    rid = next(r.id for r in store.list_results() if r.name.startswith("Dialogue · word"))
    page.set_viewport_size({"width": 1024, "height": 768})
    page.goto(f"{app_server}/explore?result={rid}&model=prosody")
    card = page.get_by_test_id("emolens-segment-card")
    card.wait_for()
    # the whole page (the light first screen, then the rest): the timeline drawn, the player mounted
    page.wait_for_function(DRAWN, arg=2)
    page.locator(".emolens-media-sync audio").wait_for(state="attached")
    page.locator("[data-testid='emolens-transcript']").wait_for()
    wait_for_app(page)
    box = card.bounding_box()
    assert box is not None and box["y"] + 80 < 768, box  # beside the charts, inside the first screen
    assert "Segment 1 of" in card.inner_text()
    page.screenshot(path=str(artifacts_dir / "e2e-explore-card-1024.png"))

    # every step waits on what it changes (the card, the URL, the marks), never on a fixed time: the URL is
    # written mid-run, so waiting on it alone raced the rest of the run under load
    for n in (2, 3):
        page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "(n) => (document.querySelector('[data-testid=\"emolens-segment-card\"]') || {}).innerText"
            "?.includes(`Segment ${n} of`) && window.location.search.includes(`segment=${n - 1}`)",
            arg=n,
        )
    text = card.inner_text()
    begin, end = (float(x.rstrip(" s")) for x in text.split(" · ")[1].split("–")[:2])
    # the selected segment is shaded in both charts and outlined in the transcript
    page.wait_for_function(
        "(b) => Array.from(document.querySelectorAll('.emolens-selband')).filter("
        "e => e.style.display === 'block' && Math.abs(parseFloat(e.dataset.begin) - b) < 0.006).length === 2",
        arg=begin,
    )
    page.wait_for_function("() => document.querySelectorAll('span.emolens-selected').length === 1"
                           " && document.querySelector(\"span.emolens-selected[data-i='2']\")")
    wait_for_app(page)

    # space plays the segment, then pauses at its end: the media element's own events say so (a short word can
    # start and end between two polls of the page)
    # (media events do not bubble: listened to in the capture phase, they are seen from whichever media element
    # the player holds, even one a rerun put in place meanwhile)
    page.evaluate("""() => { window.__plays = 0; window.__pauses = 0;
                             document.addEventListener('play', () => window.__plays++, true);
                             document.addEventListener('pause', () => window.__pauses++, true); }""")
    page.keyboard.press("Space")
    page.wait_for_function("() => window.__plays > 0 && window.__pauses > 0"
                           " && document.querySelector('.emolens-media-sync').dataset.playing === 'false'")
    position = float(page.get_by_test_id("emolens-media-sync").get_attribute("data-position"))
    assert begin < position < begin + 1.5, (begin, position)  # sub-second: started at the word, not a whole second
    assert position <= end, (end, position)  # stopped inside the segment, however late the page saw its end
    heads = page.eval_on_selector_all(".emolens-playhead", "els => els.map(e => [e.style.display, e.dataset.time])")
    assert len(heads) == 2 and all(d == "block" and abs(float(t) - position) < 0.01 for d, t in heads), heads
    marked = page.locator(".emolens-now")
    assert marked.count() == 1
    assert abs(float(marked.get_attribute("data-b")) - begin) < 0.5
    page.screenshot(path=str(artifacts_dir / "e2e-explore-playback.png"))

    # the card stays in view while the page scrolls down to the transcript
    top = "() => document.querySelector('.st-key-explore_overview').getBoundingClientRect().top"
    before = page.evaluate(top)
    page.mouse.move(400, 600)
    page.mouse.wheel(0, 900)
    # scrolled (the charts moved up by more than half a screen), and the card is still at the top of the screen
    page.wait_for_function(
        f"(y0) => ({top})() < y0 - 400 && (b => b.top >= 0 && b.top < 300)("
        "document.querySelector('[data-testid=\"emolens-segment-card\"]').getBoundingClientRect())",
        arg=before,
    )
    box = card.bounding_box()
    assert box is not None and 0 <= box["y"] < 300, box
    page.screenshot(path=str(artifacts_dir / "e2e-explore-sticky-card.png"))


def test_entities_chart_shows_entity_types(app_server, page, artifacts_dir, tmp_path):
    """The sample's entities (emolens' entity_type extension): bars coloured by type, the types in the legend."""
    from components.data import seed_samples
    from emolens.store import Store

    store = Store(tmp_path / "data")
    seed_samples(store)
    rid = next(r.id for r in store.list_results() if r.name.startswith("Team chat"))
    page.goto(f"{app_server}/explore?result={rid}&model=ner")
    chart = page.locator(".st-key-explore_entities_only .js-plotly-plot")
    chart.wait_for()
    page.wait_for_function(
        "() => (document.querySelector('.st-key-explore_entities_only .js-plotly-plot') || {})._fullData?.length")
    names = chart.evaluate("e => e.data.map(t => t.name)")
    assert any(n.startswith("PERSON (people)") for n in names) and any(n.startswith("DATE") for n in names), names
    assert page.locator(".st-key-explore_entities_only .legend").count() == 1
    wait_for_app(page)
    page.screenshot(path=str(artifacts_dir / "e2e-explore-entities.png"))
