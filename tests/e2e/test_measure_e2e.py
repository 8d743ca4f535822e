"""Measure journey in real Chromium: upload a short speech clip, run prosody + language (tiny.en ASR), follow the
job to the end, land in Explore and see the emotion timeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import wait_for_app

CLIP = Path("/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav")
pytestmark = pytest.mark.timeout(400)


def test_measure_audio_then_explore(app_server, page, artifacts_dir, tmp_path):
    if not CLIP.is_file():
        pytest.skip("pocketsphinx-testdata (a short real speech clip) is not installed")
    page.goto(app_server + "/measure")
    wait_for_app(page)
    page.get_by_role("heading", name="Measure").wait_for()
    page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(CLIP))
    page.get_by_text("0880.wav").first.wait_for()  # the uploader shortens long names
    wait_for_app(page)
    # prosody + language only: drop ner and burst from the models
    page.locator("[aria-label='Remove ner']").first.click()
    page.locator("[aria-label='Remove burst']").first.click()
    wait_for_app(page)
    # the fast English ASR model
    page.get_by_text("Transcription").click()
    asr = page.locator("[data-testid='stSelectbox']").filter(has_text="Speech recognition model")
    asr.wait_for()
    option = page.get_by_role("option").filter(has_text="tiny.en").first
    for _ in range(3):  # the expander may still be animating open when the first click lands
        asr.click()
        try:
            option.wait_for(timeout=5_000)
            break
        except Exception:  # noqa: BLE001 - retry the click
            continue
    option.click()
    wait_for_app(page)
    page.screenshot(path=str(artifacts_dir / "e2e-measure-form.png"), full_page=True)

    page.get_by_role("button", name="Measure", exact=True).click()
    page.get_by_text("Measuring (1 job)").first.wait_for(timeout=30_000)
    page.screenshot(path=str(artifacts_dir / "e2e-measure-progress.png"), full_page=True)
    page.get_by_role("heading", name="Explore").wait_for(timeout=300_000)
    wait_for_app(page, timeout=120_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.wait_for_function("() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 1")
    titles = page.eval_on_selector_all(
        ".js-plotly-plot", "els => els.map(e => ((e.layout && e.layout.title && e.layout.title.text) || ''))")
    assert any("Emotion timeline" in t for t in titles), titles
    assert page.eval_on_selector(".js-plotly-plot", "e => e.data.length") >= 1
    page.screenshot(path=str(artifacts_dir / "e2e-measure-explore.png"), full_page=True)
    # the app's data dir (app_server uses tmp_path/"data"): the measured result with the chosen configuration
    from emolens.store import Store

    (row,) = Store(tmp_path / "data").list_results()
    assert row.origin == "measured" and row.config["transcription"]["model"] == "tiny.en"
    assert sorted(row.config["models"]) == ["language", "prosody"]
    assert row.summary["models"] == ["prosody", "language"]


def test_cancel_a_running_job(app_server, page, artifacts_dir, tmp_path):
    """Cancel while the job runs: it ends FAILED with "cancelled by the user", the page says so, nothing is stored."""
    if not CLIP.is_file():
        pytest.skip("pocketsphinx-testdata (a short real speech clip) is not installed")
    import numpy as np
    import soundfile as sf

    from emolens.store import Store

    # real speech, long enough (2 minutes) to be still running when Cancel is clicked; cancelling stops it at its
    # next progress report (Whisper reports each decoded segment), so little of it is ever measured
    samples, rate = sf.read(CLIP, dtype="float32")
    talk = tmp_path / "long-talk.wav"
    sf.write(talk, np.tile(samples, 40), rate)
    page.goto(app_server + "/measure")
    page.get_by_role("heading", name="Measure").wait_for()
    wait_for_app(page)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(talk))
    page.get_by_text("long-talk.wav").first.wait_for()
    wait_for_app(page)
    page.get_by_role("button", name="Measure", exact=True).click()
    page.get_by_text("Measuring (1 job)").first.wait_for(timeout=30_000)
    # the job is running: its progress line names a stage (or the model loading) before it can be cancelled
    page.locator("[data-testid='stProgress']").filter(has_text="long-talk.wav").or_(
        page.locator("[data-testid='stProgress']").filter(has_text="starting")
    ).first.wait_for(timeout=120_000)
    page.get_by_role("button", name="Cancel").click()
    page.get_by_text("cancelled by the user").first.wait_for(timeout=120_000)
    wait_for_app(page)
    page.screenshot(path=str(artifacts_dir / "e2e-measure-cancelled.png"), full_page=True)
    store = Store(tmp_path / "data")
    (job,) = store.list_jobs()
    assert job.status == "FAILED" and job.message == "cancelled by the user", (job.status, job.message)
    assert job.started_ms is not None  # it was running, not waiting in the queue
    assert store.list_results() == []  # a cancelled job keeps no result
    assert page.get_by_text("Cancelled: nothing was stored in the Library").first.is_visible()
    assert page.get_by_role("button", name="Cancel").count() == 0  # nothing left to cancel
