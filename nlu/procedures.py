"""Procedures parents ask about (a court hearing, a complaint, an appeal...) as ordered steps.

The content lives in `nlu/knowledge/procedures.yml`. `Procedures.lookup` picks the procedure whose
keywords best fit a question: a keyword counts when every meaningful word in it (small words such
as "de", "hoe", "ik" are ignored) appears in the question, allowing plurals and small typos. The
procedure with the most matched keyword words wins. Loading is lazy and validated: every
`related_terms` id must exist in the glossary.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from nlu.glossary import (
    LANGS,
    STOPWORDS,
    ContentError,
    Glossary,
    default_glossary,
    read_yaml,
    require_id,
    require_langs,
    require_source,
    require_str_list,
)
from nlu.text import fold

DEFAULT_PATH = Path(__file__).resolve().parent / "knowledge" / "procedures.yml"
_TOKEN = re.compile(r"[a-z0-9]+")
_STEP_LABEL = {"nl": "Stap {i} van {n}: {text}", "en": "Step {i} of {n}: {text}"}
_FUZZY_MIN_LEN = 6
_FUZZY_CUTOFF = 88.0


@dataclass(frozen=True)
class Procedure:
    id: str
    title: Mapping[str, str]
    keywords: tuple[str, ...]
    steps: tuple[Mapping[str, str], ...]  # each step: {"nl": ..., "en": ...} and optionally "source"
    related_terms: tuple[str, ...]
    source: str

    def __hash__(self) -> int:  # the mappings are not hashable; the id is unique
        return hash(self.id)


def _content_tokens(text: str) -> tuple[str, ...]:
    return tuple(t for t in _TOKEN.findall(fold(text)) if t not in STOPWORDS)


def _same_word(query_tok: str, kw_tok: str) -> bool:
    """Equal, a plural/inflection of each other ("dossier"/"dossiers"), or a small typo."""
    if query_tok == kw_tok:
        return True
    short, longer = sorted((query_tok, kw_tok), key=len)
    if len(short) >= 5 and longer.startswith(short) and len(longer) - len(short) <= 3:
        return True
    if len(short) < _FUZZY_MIN_LEN:
        return False
    from rapidfuzz.fuzz import ratio  # lazy: importing this module stays cheap

    return ratio(query_tok, kw_tok) >= _FUZZY_CUTOFF


def _parse_step(raw: Any, where: str) -> Mapping[str, str]:
    if not isinstance(raw, dict):
        raise ContentError(f"{where}: each step must have 'nl:' and 'en:' lines")
    unknown = set(raw) - {*LANGS, "source"}
    if unknown:
        raise ContentError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: nl, en, source")
    step = dict(require_langs({k: raw.get(k) for k in LANGS}, where))
    if raw.get("source") is not None:
        step["source"] = require_source(raw["source"], f"{where}, source")
    return MappingProxyType(step)


_FIELDS = ("id", "title", "keywords", "steps", "related_terms", "source")


def _parse_procedure(raw: Any, where: str) -> Procedure:
    if not isinstance(raw, dict):
        raise ContentError(f"{where}: each procedure must start with '- id: ...' and have fields under it")
    unknown = set(raw) - set(_FIELDS)
    if unknown:
        raise ContentError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {', '.join(_FIELDS)}")
    proc_id = require_id(raw.get("id"), where)
    where = f"{where} ('{proc_id}')"
    keywords = require_str_list(raw.get("keywords"), f"{where}, keywords", allow_empty=False)
    for kw in keywords:
        if not _content_tokens(kw):
            raise ContentError(
                f"{where}, keywords: '{kw}' has only small words (de, het, hoe...); add a meaningful word"
            )
    steps_raw = raw.get("steps")
    if not isinstance(steps_raw, list) or not steps_raw:
        raise ContentError(f"{where}, steps: must be a list of steps, each with nl and en")
    return Procedure(
        id=proc_id,
        title=require_langs(raw.get("title"), f"{where}, title"),
        keywords=keywords,
        steps=tuple(_parse_step(s, f"{where}, step {i + 1}") for i, s in enumerate(steps_raw)),
        related_terms=require_str_list(raw.get("related_terms"), f"{where}, related_terms"),
        source=require_source(raw.get("source"), f"{where}, source"),
    )


class Procedures:
    """Validated procedures with keyword matching."""

    def __init__(self, procedures: list[Procedure], glossary: Glossary, origin: str = "procedures") -> None:
        self._procs: dict[str, Procedure] = {}
        for p in procedures:
            if p.id in self._procs:
                raise ContentError(f"{origin}: id '{p.id}' is used twice; every id must be unique")
            for term_id in p.related_terms:
                if glossary.get(term_id) is None:
                    raise ContentError(f"{origin} ('{p.id}'), related_terms: '{term_id}' is not an id in the glossary")
            self._procs[p.id] = p
        self._keywords: list[tuple[str, tuple[str, ...]]] = [
            (p.id, _content_tokens(kw)) for p in self._procs.values() for kw in p.keywords
        ]

    @classmethod
    def load(cls, path: Path | None = None, *, glossary: Glossary | None = None) -> Procedures:
        path = Path(path) if path is not None else DEFAULT_PATH
        return cls.from_data(read_yaml(path), origin=path.name, glossary=glossary)

    @classmethod
    def from_data(cls, data: Any, origin: str = "procedures", *, glossary: Glossary | None = None) -> Procedures:
        if not isinstance(data, dict) or not isinstance(data.get("procedures"), list):
            raise ContentError(f"{origin}: the file must contain a list called 'procedures:'")
        procs = [_parse_procedure(raw, f"{origin}, procedure #{i + 1}") for i, raw in enumerate(data["procedures"])]
        if not procs:
            raise ContentError(f"{origin}: 'procedures:' is empty")
        return cls(procs, glossary if glossary is not None else default_glossary(), origin)

    def get(self, proc_id: str) -> Procedure | None:
        return self._procs.get(proc_id)

    def __iter__(self) -> Iterator[Procedure]:
        return iter(self._procs.values())

    def __len__(self) -> int:
        return len(self._procs)

    def lookup(self, query: str) -> Procedure | None:
        """The procedure whose keywords best fit `query`, or None if no keyword fits completely."""
        q_toks = set(_content_tokens(query))
        if not q_toks:
            return None
        total: dict[str, int] = {}
        longest: dict[str, int] = {}
        for proc_id, kw_toks in self._keywords:
            if all(any(_same_word(q, k) for q in q_toks) for k in kw_toks):
                total[proc_id] = total.get(proc_id, 0) + len(kw_toks)
                longest[proc_id] = max(longest.get(proc_id, 0), len(kw_toks))
        if not total:
            return None
        order = {pid: i for i, pid in enumerate(self._procs)}
        best = max(total, key=lambda pid: (total[pid], longest[pid], -order[pid]))
        return self._procs[best]

    def step_text(self, proc_id: str, index: int, lang: str = "nl") -> str:
        """Step `index` (0-based) formatted as "Stap 2 van 7: ..." / "Step 2 of 7: ...".
        Unknown languages fall back to Dutch. Raises KeyError / IndexError for a bad id / index."""
        proc = self._procs.get(proc_id)
        if proc is None:
            raise KeyError(proc_id)
        if not 0 <= index < len(proc.steps):
            raise IndexError(f"procedure '{proc_id}' has {len(proc.steps)} steps; index {index} is out of range")
        lang = (lang or "nl").split("-")[0].split("_")[0].lower()
        if lang not in LANGS:
            lang = "nl"
        return _STEP_LABEL[lang].format(i=index + 1, n=len(proc.steps), text=proc.steps[index][lang])


@lru_cache(maxsize=1)
def default_procedures() -> Procedures:
    """The bundled procedures, loaded on first use and cached (validated against the glossary)."""
    return Procedures.load()
