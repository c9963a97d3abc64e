"""Naast NLU front door.

    from nlu import parse
    r = parse("wat betekent OTS?")
    r.intent          # "explain_term"
    r.term_id         # glossary id of the asked term ("ots"), else None
    r.safety.level    # "none" | "concern" | "acute"  (always computed locally)
    r.to_dict()       # Rasa /model/parse shape + {"safety", "language"}

`parse()` is pure and synchronous; the first call loads the glossary, the procedures, the safety
lexicon and the intent model (call `warm_up()` at start-up to pay that before the first message).
For an async app use `nlu.rasa.make_nlu("local" | "rasa", url)`, whose `await nlu.parse(text)`
returns the same `NluResult`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nlu.intents import DEFAULT_INTENT, INTENTS
from nlu.language import detect, normalise
from nlu.text import fold, words

if TYPE_CHECKING:
    from nlu.safety import SafetyResult

__all__ = [
    "INTENTS",
    "Entity",
    "IntentScore",
    "NluResult",
    "make_nlu",
    "parse",
    "warm_up",
]

_LAZY = {"make_nlu", "LocalNLU", "RasaNLU"}  # from nlu.rasa, imported on first use


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from nlu import rasa

        return getattr(rasa, name)
    raise AttributeError(f"module 'nlu' has no attribute {name!r}")


log = logging.getLogger(__name__)

JARGON_ENTITY = "jargon_term"
EXTRACTOR = "naast"
MAX_SPOT_CHARS = 20_000  # jargon spotting reads at most this much of a message


@dataclass(frozen=True)
class IntentScore:
    name: str
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "confidence": round(float(self.confidence), 4)}


@dataclass(frozen=True)
class Entity:
    """A glossary term found in the message. `value` is the canonical Dutch term; `start`/`end`
    are offsets into the original text (``text[start:end]`` is what the parent typed)."""

    entity: str
    value: str
    start: int
    end: int
    confidence: float
    extractor: str = EXTRACTOR
    term_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "value": self.value,
            "start": self.start,
            "end": self.end,
            "confidence": round(float(self.confidence), 4),
            "extractor": self.extractor,
        }


@dataclass(frozen=True)
class NluResult:
    """What a message means. Guarantees for the app:

    * ``intent`` is one of INTENTS; ``relay`` (pass to the maatje) when in doubt;
    * ``intent == "explain_term"`` implies ``term_id`` is a glossary id;
    * ``intent == "explain_procedure"`` implies ``procedure_id`` is a procedures id;
    * ``safety`` is always ``nlu.safety.assess(text)``, computed locally, whatever the intent;
    * ``entities`` are the distinct glossary terms in the text (also for relay messages).
    """

    text: str
    intent: str  # one of INTENTS
    confidence: float
    intent_ranking: tuple[IntentScore, ...]
    entities: tuple[Entity, ...]
    safety: SafetyResult
    language: str  # "nl" | "en"
    term_id: str | None = None  # explain intents: the glossary term asked about
    procedure_id: str | None = None  # explain_procedure: the procedure asked about
    source: str = "local"  # "local" | "rasa" | "local-fallback" (not part of to_dict)
    rule: str = field(default="", compare=False)  # which rule/model decided (debugging)

    @property
    def term_ids(self) -> tuple[str, ...]:
        """Glossary ids of all spotted terms, in text order, without duplicates."""
        return tuple(dict.fromkeys(e.term_id for e in self.entities if e.term_id))

    @property
    def is_acute(self) -> bool:
        return self.safety.level == "acute"

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "intent": {"name": self.intent, "confidence": round(float(self.confidence), 4)},
            "intent_ranking": [s.to_dict() for s in self.intent_ranking],
            "entities": [e.to_dict() for e in self.entities],
            "safety": self.safety.to_dict(),
            "language": self.language,
        }


# ------------------------------------------------------------------------------------------------
# Knowledge sources (loaded lazily, once)
# ------------------------------------------------------------------------------------------------


_knowledge: dict[str, Any] = {}
_knowledge_lock = threading.Lock()


def _load_glossary():
    from nlu.glossary import default_glossary

    return default_glossary()


def _load_procedures():
    from nlu.procedures import default_procedures

    return default_procedures()


_LOADERS = {"glossary": _load_glossary, "procedures": _load_procedures}


def _knowledge_source(name: str, *, strict: bool = False) -> Any:
    """The glossary / procedures, loaded once. A source that fails to load is logged once and
    treated as empty by parse() (no entities, no lookups); with strict=True the error is raised."""
    if name in _knowledge and (_knowledge[name] is not None or not strict):
        return _knowledge[name]
    with _knowledge_lock:
        if name not in _knowledge or (_knowledge[name] is None and strict):
            try:
                _knowledge[name] = _LOADERS[name]()
            except Exception as exc:
                _knowledge[name] = None
                if strict:
                    raise
                log.error("nlu: cannot load the %s, continuing without it: %s", name, exc)
    return _knowledge[name]


def _glossary() -> Any:
    return _knowledge_source("glossary")


def _procedures() -> Any:
    return _knowledge_source("procedures")


def _assess(text: str) -> SafetyResult:
    from nlu.safety import assess

    return assess(text)


def warm_up() -> None:
    """Load everything (glossary, procedures, safety lexicon, intent model) and run one parse.
    Call it at start-up: it raises when the glossary or procedures cannot be loaded, whereas
    parse() would quietly work without them."""
    from nlu import classifier, intents, safety

    _knowledge_source("glossary", strict=True)
    _knowledge_source("procedures", strict=True)
    intents.get_model()
    safety.load_lexicon()
    if classifier.get_model() is None:
        raise RuntimeError("the safety classifier could not be loaded or trained")
    parse("Hoi, wat betekent OTS? Ik heb hulp nodig.")
    # The models are loaded for the life of the process: move them out of the garbage collector's
    # reach, or every full collection walks them again (80-100 ms pauses under load, measured in
    # benchmarks/relay_bench.py; after this the worst case is a few milliseconds).
    import gc

    gc.collect()
    gc.freeze()


def _score(raw: Any) -> float:
    try:
        s = float(raw)
    except (TypeError, ValueError):
        return 1.0
    if s > 1.0:  # rapidfuzz-style 0..100
        s /= 100.0
    return max(0.0, min(1.0, s))


def spot_entities(text: str) -> tuple[Entity, ...]:
    """Glossary terms in `text` as jargon_term entities (non-overlapping, in text order)."""
    glossary = _glossary()
    if glossary is None:
        return ()
    try:
        matches = glossary.spot(text[:MAX_SPOT_CHARS])
    except Exception:
        log.warning("nlu: glossary spotting failed", exc_info=True)
        return ()
    out: list[Entity] = []
    last_end = -1
    for m in sorted(matches, key=lambda m: (m.start, -(m.end - m.start))):
        if m.start < last_end:
            continue
        term = glossary.get(m.term_id)
        value = term.term if term is not None else m.value
        out.append(Entity(JARGON_ENTITY, value, m.start, m.end, _score(m.score), EXTRACTOR, m.term_id))
        last_end = m.end
    return tuple(out)


# Filler around the term in a question: stripped from both ends before a glossary lookup.
_QUERY_FILLER = frozenset(
    """
    wat is zijn een de het betekent betekenen betekenis van houdt in bedoelen bedoelt bedoeld ze
    met wordt doet dat dit die eigenlijk precies nou dan uitleg uitleggen over leg eens uit me mij
    kun kan kunt je jij u wil wilt vertellen zeggen graag alsjeblieft alstublieft ik snap begrijp
    niet woord waar staat voor afkorting term begrip nog even hoi hallo
    what whats what's is are does do a an the mean means meaning of explain please can could you
    tell me i don't dont understand word stand for in english dutch term by they
    """.split()
)


def question_query(text: str) -> str:
    """The words a question is about: "wat is een GI eigenlijk?" -> "gi"."""
    toks = words(fold(text[:300]))
    i, j = 0, len(toks)
    while i < j and toks[i] in _QUERY_FILLER:
        i += 1
    while j > i and toks[j - 1] in _QUERY_FILLER:
        j -= 1
    return " ".join(toks[i:j])


def _lookup_term(query: str) -> str | None:
    if not query:
        return None
    glossary = _glossary()
    if glossary is None:
        return None
    try:
        match = glossary.lookup(query)
    except Exception:
        log.warning("nlu: glossary lookup failed", exc_info=True)
        return None
    return match.term_id if match is not None else None


def _lookup_procedure(text: str, query: str, term_id: str | None = None) -> str | None:
    """The procedure a how-question is about: by its keywords, else the one procedure that
    belongs to the asked term (same id, or the only one listing it in related_terms)."""
    procs = _procedures()
    if procs is None:
        return None
    try:
        for q in (text[:300], query):
            if q:
                proc = procs.lookup(q)
                if proc is not None:
                    return proc.id
        if term_id is not None:
            if procs.get(term_id) is not None:
                return term_id
            owners = [p.id for p in procs if term_id in p.related_terms]
            if len(owners) == 1:
                return owners[0]
    except Exception:
        log.warning("nlu: procedure lookup failed", exc_info=True)
    return None


def _swap(ranking: list[IntentScore], a: str, b: str) -> list[IntentScore]:
    """Exchange the confidences of intents a and b (keeps the ranking a distribution)."""
    conf = {s.name: s.confidence for s in ranking}
    conf.setdefault(a, 0.0)
    conf.setdefault(b, 0.0)
    conf[a], conf[b] = conf[b], conf[a]
    return sorted((IntentScore(n, c) for n, c in conf.items()), key=lambda s: -s.confidence)


def assemble(
    text: str,
    lang: str | None,
    ranking: list[IntentScore],
    entities: tuple[Entity, ...],
    *,
    source: str = "local",
    rule: str = "",
    safety: SafetyResult | None = None,
) -> NluResult:
    """Build an NluResult from an intent ranking and entities (local model or Rasa): resolves
    the asked term / procedure, runs safety locally and detects the language."""
    if safety is None:
        safety = _assess(text)
    language = normalise(lang) or detect(text)
    ranking = sorted(ranking, key=lambda s: -s.confidence) or [IntentScore(DEFAULT_INTENT, 1.0)]
    intent = ranking[0].name
    term_id = procedure_id = None
    if intent in ("explain_term", "explain_procedure"):
        query = question_query(text)
        term_id = next((e.term_id for e in entities if e.term_id), None) or _lookup_term(query)
        if intent == "explain_procedure":
            procedure_id = _lookup_procedure(text, query, term_id)
            if procedure_id is None and term_id is not None:
                # "hoe schrijf je een zienswijze": no procedure, but the term's explanation helps
                ranking = _swap(ranking, "explain_procedure", "explain_term")
                rule = "resolve:term_instead"
        elif term_id is None:
            procedure_id = _lookup_procedure(text, query)
            if procedure_id is not None:
                ranking = _swap(ranking, "explain_term", "explain_procedure")
                rule = "resolve:procedure_instead"
        if term_id is None and procedure_id is None:
            # Nothing we could explain ("wat betekent dat?", "wat is jouw naam"): the maatje
            # answers. This is what keeps explain_* precise.
            ranking = _swap(ranking, ranking[0].name, DEFAULT_INTENT)
            rule = "resolve:nothing_to_explain"
        intent = ranking[0].name
    return NluResult(
        text=text,
        intent=intent,
        confidence=ranking[0].confidence,
        intent_ranking=tuple(ranking),
        entities=entities,
        safety=safety,
        language=language,
        term_id=term_id,
        procedure_id=procedure_id,
        source=source,
        rule=rule,
    )


def parse(text: str, lang: str | None = None) -> NluResult:
    """Understand one parent message. Never raises on odd input (empty, huge, emoji-only);
    `lang` ("nl"/"en") overrides language detection."""
    from nlu.intents import classify

    if not isinstance(text, str):
        raise TypeError(f"parse() needs str, not {type(text).__name__}")
    safety = _assess(text)  # first: safety must not depend on anything else succeeding
    entities = spot_entities(text)
    pred = classify(text, [(e.start, e.end) for e in entities])
    ranking = [IntentScore(n, c) for n, c in pred.ranking]
    return assemble(text, lang, ranking, entities, rule=pred.source, safety=safety)
