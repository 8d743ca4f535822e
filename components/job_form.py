"""The job configuration form of the Measure page: models, granularities, transcription, ASR model.

Returns a plain request dict validated with the API's own rules (emolens.schema.parse_job_request), so the page
shows the same message the service would answer with.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, get_args

import streamlit as st

from emolens.errors import ConfigError
from emolens.schema import Granularity, parse_job_request

GRANULARITIES = list(get_args(Granularity))
MODELS = ["prosody", "burst", "language", "ner"]
ASR = {"base": "Whisper base (multilingual, more accurate)", "tiny.en": "Whisper tiny.en (English, fastest)"}


@dataclass
class JobForm:
    """What the form produced: the request config (no inputs yet) and, for a comparison, the granularities."""

    config: dict[str, Any]
    compare: list[str] = field(default_factory=list)
    error: str | None = None

    def configs(self) -> list[tuple[str, dict[str, Any]]]:
        """(label, config) per job to run: one, or one per compared granularity."""
        if not self.compare:
            return [("", self.config)]
        out = []
        for g in self.compare:
            cfg = {**self.config, "models": {k: dict(v) for k, v in self.config["models"].items()}}
            for m in ("prosody", "language"):
                if m in cfg["models"]:
                    cfg["models"][m].pop("window", None)
                    cfg["models"][m]["granularity"] = g
            out.append((g, cfg))
        return out


def init_state(prefix: str = "measure") -> None:
    defaults = {
        "models": MODELS, "prosody_mode": "granularity", "prosody_granularity": "utterance",
        "window_length": 4.0, "window_step": 1.0, "prosody_speakers": False, "language_granularity": "word",
        "sentiment": True, "toxicity": True, "language_speakers": False, "ner_speakers": False,
        "tr_language": "", "tr_threshold": 0.5, "tr_speakers": False, "asr": "base", "compare": False,
        "compare_granularities": ["word", "sentence", "utterance"],
    }
    for k, v in defaults.items():
        st.session_state.setdefault(f"{prefix}_{k}", v)


def job_form(prefix: str = "measure") -> JobForm:
    """Draw the configuration widgets (Hume's defaults preselected) and return the validated config."""
    init_state(prefix)
    k = lambda name: f"{prefix}_{name}"  # noqa: E731
    models = st.multiselect("Models", MODELS, key=k("models"),
                            help="Prosody: the voice (audio/video). Burst: vocal bursts (laughs, sighs, gasps...) "
                                 "in audio. Language: the words (text, or the transcript of audio). NER: named "
                                 "entities with the emotions around them.")
    cfg: dict[str, Any] = {"models": {}}
    # comparing granularities sets each job's granularity: the single-granularity choices are not used then
    comparing = bool(st.session_state.get(k("compare")))
    note = "Set per job by 'Compare granularities' below." if comparing else None
    cols = st.columns(3)
    if "prosody" in models:
        with cols[0].container(border=True):
            st.markdown("**Prosody**")
            mode = st.radio("Unit", ["granularity", "window"], key=k("prosody_mode"), horizontal=True,
                            disabled=comparing, help=note)
            p: dict[str, Any] = {}
            if mode == "granularity":
                p["granularity"] = st.selectbox("Granularity", GRANULARITIES, key=k("prosody_granularity"),
                                                disabled=comparing, help=note)
            else:
                length = st.number_input("Window length (s)", min_value=0.5, step=0.5, key=k("window_length"))
                step = st.number_input("Window step (s)", min_value=0.5, step=0.5, key=k("window_step"))
                p["window"] = {"length": float(length), "step": float(step)}
            p["identify_speakers"] = st.checkbox("Identify speakers", key=k("prosody_speakers"))
            cfg["models"]["prosody"] = p
    if "language" in models:
        with cols[1].container(border=True):
            st.markdown("**Language**")
            lang: dict[str, Any] = {
                "granularity": st.selectbox("Granularity", GRANULARITIES, key=k("language_granularity"),
                                            disabled=comparing, help=note)}
            if st.checkbox("Sentiment (1–9)", key=k("sentiment")):
                lang["sentiment"] = {}
            if st.checkbox("Toxicity", key=k("toxicity")):
                lang["toxicity"] = {}
            lang["identify_speakers"] = st.checkbox("Identify speakers", key=k("language_speakers"))
            cfg["models"]["language"] = lang
    if "ner" in models:
        with cols[2].container(border=True):
            st.markdown("**Named entities**")
            cfg["models"]["ner"] = {"identify_speakers": st.checkbox("Identify speakers", key=k("ner_speakers"))}
    if "burst" in models:
        cfg["models"]["burst"] = {}  # Hume's burst model has no settings
    with st.expander("Transcription", expanded=False):
        c1, c2, c3 = st.columns(3)
        tag = c1.text_input("Language (BCP-47, empty = detect)", key=k("tr_language"), placeholder="en")
        threshold = c2.slider("Confidence threshold", 0.0, 1.0, step=0.05, key=k("tr_threshold"))
        asr = c3.selectbox("Speech recognition model", list(ASR), format_func=ASR.get, key=k("asr"))
        speakers = st.checkbox("Identify speakers in the transcript", key=k("tr_speakers"))
    cfg["transcription"] = {"language": tag.strip() or None, "confidence_threshold": float(threshold),
                            "identify_speakers": speakers, "model": asr}
    compare: list[str] = []
    if st.checkbox("Compare granularities (one job per granularity, opened side by side)", key=k("compare")):
        compare = st.multiselect("Granularities to compare", GRANULARITIES, key=k("compare_granularities"))
    form = JobForm(cfg, compare)
    if not models:
        form.error = "Choose at least one model."
    elif compare and len(compare) < 2:
        form.error = "Choose at least two granularities to compare."
    else:
        try:
            for _, c in form.configs():
                parse_job_request(c)
        except ConfigError as e:
            form.error = str(e)
    return form
