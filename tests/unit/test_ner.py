"""NER: spaCy entities with beam confidences, exact offsets, and Hume fields from transcripts."""

from __future__ import annotations

from emolens.engine.ner import find_entities
from emolens.engine.text import ner_result
from emolens.engine.types import Word
from emolens.schema import NerResult

TEXT = "Barack Obama visited Paris on Monday. Apple is buying a startup for $1 billion."


def test_entities_offsets_and_confidence() -> None:
    ents = find_entities([TEXT, "", "🙂🙂"])
    assert ents[1] == [] and ents[2] == []
    found = {(e.text, e.label) for e in ents[0]}
    assert {("Barack Obama", "PERSON"), ("Paris", "GPE"), ("Apple", "ORG")} <= found
    for e in ents[0]:
        assert TEXT[e.begin : e.end] == e.text
        assert e.confidence is not None and 0.3 < e.confidence <= 1.0
    assert next(e for e in ents[0] if e.text == "Barack Obama").link_word == "Obama"


def test_ner_result_for_raw_text() -> None:
    res = ner_result(TEXT)
    NerResult.model_validate(res)
    (group,) = res["grouped_predictions"]
    assert group["id"] == "unknown"
    pred = next(p for p in group["predictions"] if p["entity"] == "Paris")
    assert pred["time"] is None and pred["confidence"] is None and pred["uri"] is None
    assert pred["support"] == 1.0 and len(pred["emotions"]) == 53


def test_ner_result_from_transcript_words() -> None:
    text = "I met Angela Merkel in Berlin"
    words, pos = [], 0
    for k, w in enumerate(text.split()):
        b = text.index(w, pos)
        pos = b + len(w)
        words.append(Word(w, k * 0.5, k * 0.5 + 0.4, 0.8 if k < 4 else 0.6, b, pos,
                          speaker="spk_1" if k < 4 else "spk_2", speaker_confidence=0.9))
    res = ner_result(text, words)
    preds = {p["entity"]: (g["id"], p) for g in res["grouped_predictions"] for p in g["predictions"]}
    sid, merkel = preds["Angela Merkel"]
    assert sid == "spk_1" and merkel["time"] == {"begin": 1.0, "end": 1.9}
    assert abs(merkel["confidence"] - 0.8) < 1e-6 and merkel["speaker_confidence"] == 0.9
    assert preds["Berlin"][0] == "spk_2"
