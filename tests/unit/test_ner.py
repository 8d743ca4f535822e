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
    # the entity_type extension: spaCy's label, after every field of Hume's
    assert pred["entity_type"] == "GPE" and list(pred)[-2:] == ["emotions", "entity_type"]
    assert {p["entity"]: p["entity_type"] for p in group["predictions"]}["Barack Obama"] == "PERSON"


def test_entity_type_extension_survives_parsing_and_frames() -> None:
    """A typed entity round-trips the schema unchanged (byte order included) and reaches the dashboard's frame;
    a Hume entity (no type) gains no field."""
    import json

    from emolens.frames import wide_frame
    from emolens.schema import parse_predictions

    ours = ner_result(TEXT)
    source = [{"source": {"type": "text"}, "results": {"predictions": [{"file": "0", "models": {"ner": ours}}],
                                                          "errors": []}, "error": None}]
    parsed = parse_predictions(source)
    assert json.dumps([s.to_json_dict() for s in parsed]) == json.dumps(source)
    frame = wide_frame(source, model="ner")
    assert dict(zip(frame["text"], frame["entity_type"]))["Paris"] == "GPE"
    hume = json.loads(json.dumps(source))
    for p in hume[0]["results"]["predictions"][0]["models"]["ner"]["grouped_predictions"][0]["predictions"]:
        del p["entity_type"]
    again = parse_predictions(hume)[0].to_json_dict()
    assert "entity_type" not in again["results"]["predictions"][0]["models"]["ner"]["grouped_predictions"][0][
        "predictions"][0]
    assert "entity_type" not in wide_frame(hume, model="ner").columns
    # the artifacts zip gives the typed entity back exactly (the extension rides in ner.csv's "extra" column)
    from emolens.artifacts import csvs_to_predictions, predictions_to_csvs

    assert json.dumps(csvs_to_predictions(predictions_to_csvs(source))) == json.dumps(source)


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
