"""AppTest of the Jobs page: empty state, states listed, failed jobs show their message, open a result."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from emolens.store import Store
from tests import synth

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(120)


def jobs() -> AppTest:
    return AppTest.from_file(str(ROOT / "app_pages" / "jobs.py"), default_timeout=60)


def test_empty(data_dir):
    at = jobs().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("No jobs yet" in i.value for i in at.info)


def test_lists_states_and_failure_messages(data_dir):
    store = Store(data_dir)
    # jobs written before the service starts, so no worker picks them up
    failed = store.create_job({"text": ["boom"], "files": []})
    store.fail_job(failed.job_id, "the media could not be decoded: not an audio file")
    done = store.create_job({"text": ["fine"], "files": []})
    store.claim_next_job()
    rid = store.add_result("fine", synth.awkward_result(), origin="measured", job_id=done.job_id)
    store.complete_job(done.job_id, rid, 1, 0)
    at = jobs().run()
    assert not at.exception, [e.value for e in at.exception]
    df = at.dataframe[0].value
    assert set(df["status"]) == {"FAILED", "COMPLETED"}
    assert any("could not be decoded" in e.value for e in at.error)
    at.multiselect(key="jobs_status").set_value(["FAILED"]).run()
    assert list(at.dataframe[0].value["status"]) == ["FAILED"]
    at.multiselect(key="jobs_status").set_value([]).run()
    at.button(key="jobs_open").click().run()
    assert at.session_state["explore_result"] == rid
