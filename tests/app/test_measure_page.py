"""AppTest of the Measure page: smoke, validation, a real text job through the embedded service to the Library,
a granularity comparison, and a remote service (results fetched and stored locally once)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from emolens.store import Store

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def shared_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("measure-app")


@pytest.fixture
def data_dir(shared_dir, monkeypatch) -> Path:
    """One data dir (so one embedded service and its warm worker) for the whole module."""
    monkeypatch.setenv("EMOLENS_DATA_DIR", str(shared_dir))
    monkeypatch.setenv("EMOLENS_SEED_SAMPLES", "false")
    monkeypatch.delenv("EMOLENS_API_URL", raising=False)
    from emolens.settings import get_settings

    get_settings.cache_clear()
    yield shared_dir
    get_settings.cache_clear()


def measure() -> AppTest:
    return AppTest.from_file(str(ROOT / "app_pages" / "measure.py"), default_timeout=240)


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_smoke_defaults_follow_hume(data_dir):
    at = measure().run()
    _ok(at)
    assert at.multiselect(key="measure_models").value == ["prosody", "burst", "language", "ner"]
    assert at.selectbox(key="measure_prosody_granularity").value == "utterance"
    assert at.selectbox(key="measure_language_granularity").value == "word"
    assert at.slider(key="measure_tr_threshold").value == 0.5
    assert at.button(key="measure_submit").disabled  # nothing to measure yet
    assert any("Add files" in i.value for i in at.info)


def test_invalid_config_shows_the_api_message(data_dir):
    at = measure().run()
    at.text_area(key="measure_text").input("hello there").run()
    at.selectbox(key="measure_language_granularity").select("conversational_turn").run()
    _ok(at)
    assert any("identify_speakers" in e.value for e in at.error)
    assert at.button(key="measure_submit").disabled


def test_text_job_lands_in_library(data_dir):
    at = measure().run()
    at.text_area(key="measure_text").input("I am thrilled about the news!\n\nThis is so disappointing.").run()
    at.checkbox(key="measure_split_text").check().run()
    at.multiselect(key="measure_models").set_value(["language"]).run()
    at.button(key="measure_submit").click().run()
    _ok(at)
    rid = at.session_state["explore_result"]
    row = Store(data_dir).get_result(rid)
    assert row.origin == "measured" and row.job_id and row.summary["models"] == ["language"]
    assert row.summary["sources"] == 2
    assert at.session_state["measure_pending"] == []
    # its frames are on disk already, so its first open in Explore parses nothing (as after an import)
    from components.data import cache_path

    assert cache_path(str(data_dir), rid, "language.arrow").is_file()
    assert cache_path(str(data_dir), rid, "files.json").is_file()


#: Element types a finished Measure page may show; anything else (e.g. the DeltaGenerator help text that a bare
#: ``st.error(p) if c else st.warning(p)`` expression renders through magic) is a bug.
EXPECTED_ELEMENTS = {"error", "warning", "info", "button", "progress", "expandable", "status", "empty"}  # empty: the
# Cancel button's slot, cleared once every job ended


def _element_types(node) -> set[str]:
    out = {getattr(node, "type", "")}
    for child in getattr(node, "children", {}).values():
        out |= _element_types(child)
    return out - {"", "block", "main", "sidebar", "root", "vertical", "horizontal", "container"}


def test_job_where_every_file_fails_is_a_failure(data_dir):
    at = measure().run()
    at.file_uploader(key="measure_files").set_value([("broken.wav", b"RIFF\x00\x00 not really audio", "audio/wav")])
    at.run()
    at.multiselect(key="measure_models").set_value(["prosody"]).run()
    form = _element_types(at.main)
    at.button(key="measure_submit").click().run()
    _ok(at)
    unexpected = _element_types(at.main) - form - EXPECTED_ELEMENTS
    assert not unexpected, unexpected
    errors = [e.value for e in at.error]
    assert any("no input could be measured" in e for e in errors), errors
    assert any(e.startswith("broken.wav:") for e in errors), errors  # the per-file error, with the file named
    assert not at.success
    assert "explore_result" not in at.session_state
    stored = [r for r in Store(data_dir).list_results() if "broken.wav" in r.name]
    assert stored == []  # no empty result in the Library


def test_compare_granularities_opens_compare(data_dir):
    at = measure().run()
    at.text_area(key="measure_text").input("Great start. Then it all went wrong. Oh well.").run()
    at.multiselect(key="measure_models").set_value(["language"]).run()
    at.checkbox(key="measure_compare").check().run()
    at.multiselect(key="measure_compare_granularities").set_value(["word", "sentence"]).run()
    at.button(key="measure_submit").click().run()
    _ok(at)
    a, b = at.session_state["compare_results"]
    store = Store(data_dir)
    grans = [store.get_result(r).config["models"]["language"]["granularity"] for r in (a, b)]
    assert grans == ["word", "sentence"]
    names = [store.get_result(r).name for r in (a, b)]  # named by their settings, so the Library tells them apart
    assert "language word" in names[0], names
    assert "language sentence" in names[1] and names[0] != names[1]
    counts = [store.get_result(r).summary["predictions"] for r in (a, b)]
    assert counts[0] > counts[1]  # words outnumber sentences


def test_remote_service_results_are_stored_locally_once(data_dir, tmp_path):
    from emolens.service.config import ServiceConfig
    from emolens.service.embedded import EmbeddedService

    remote = EmbeddedService(ServiceConfig(data_dir=tmp_path / "remote")).start()
    try:
        at = measure()
        at.session_state["backend_url"] = remote.url
        at.session_state["backend_api_key"] = ""
        at.run()
        assert any(remote.url in c.value for c in at.caption)
        at.text_area(key="measure_text").input("Remote services work too.").run()
        at.multiselect(key="measure_models").set_value(["language"]).run()
        at.button(key="measure_submit").click().run()
        _ok(at)
        rid = at.session_state["explore_result"]
        local = Store(data_dir)
        row = local.get_result(rid)
        assert Store(tmp_path / "remote").find_result_by_job(row.job_id) is not None
        from components.backend import Backend, result_for_job
        from emolens.client import Client

        again = result_for_job(Backend(Client(remote.url), remote.url, "remote"), local, row.job_id)
        assert again == rid  # no duplicate
        from components.data import cache_path

        assert cache_path(str(data_dir), rid, "language.arrow").is_file()  # frames of the local copy
    finally:
        remote.stop()


def test_stage_line_names_the_stage_from_the_first_second():
    from components.job_progress import stage_line

    req = {"models": {"prosody": {}, "language": {}}}
    assert stage_line("QUEUED", "", req) == "queued: waiting for a worker"
    assert stage_line("IN_PROGRESS", "", req) == "starting: loading the models"
    line = stage_line("IN_PROGRESS", "x.wav: x.wav: speakers", req)
    assert line == "x.wav: ✓ decoding · ✓ transcribing · ▶ speakers · prosody · language"  # no entities: no ner
    assert stage_line("IN_PROGRESS", "2 text(s): segmenting", req) == "2 text(s): segmenting"


def test_cancel_a_running_job_from_the_page(data_dir):
    """Cancel during a job: the service ends it FAILED with a clear message; nothing lands in the Library."""
    from components.backend import get_backend
    from emolens.client import Client

    at = measure().run()
    at.text_area(key="measure_text").input("Cancel me please.").run()
    at.multiselect(key="measure_models").set_value(["language"]).run()
    backend = get_backend()
    client = Client(backend.url, backend.client.api_key)
    job_id = client.start_job(text=["Cancel me please."], config={"models": {"language": {}}})
    at.session_state["measure_pending"] = [{"job_id": job_id, "label": "", "name": "cancel test", "media": {}}]
    client.cancel_job(job_id)  # what the Cancel button does on the rerun it triggers
    at.run()
    _ok(at)
    assert any("cancelled by the user" in e.value for e in at.error), [e.value for e in at.error]
    assert any(i.value == "Cancelled: nothing was stored in the Library." for i in at.info)
    assert "measure_cancel" not in [b.key for b in at.button]  # the job ended: nothing left to cancel
    assert all("cancel test" not in r.name for r in Store(data_dir).list_results())
