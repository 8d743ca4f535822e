"""The job vocabulary's Literal types, in a module without pydantic so that the CLI parser can name the choices
without importing :mod:`emolens.schema` (which re-exports them; that is where the rest of the schema lives)."""

from __future__ import annotations

from typing import Literal

#: Segment units of batch jobs; streaming adds ``passage`` (the whole text).
Granularity = Literal["word", "sentence", "utterance", "conversational_turn"]
StreamGranularity = Literal["word", "sentence", "utterance", "passage"]
#: Whisper models emolens ships (``transcription.model``, an emolens extra): multilingual base, fast English tiny.
AsrModel = Literal["base", "tiny.en"]
