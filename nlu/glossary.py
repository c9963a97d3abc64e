"""Glossary of youth-protection jargon: loading, validation and matching.

The content lives in `nlu/knowledge/glossary.yml` (edited by non-programmers; see the comments at the
top of that file). This module:

- loads it lazily (nothing is read at import time) and validates it, raising `ContentError` with a
  message that names the file, the term and the field when something is wrong;
- finds the best single term for a parent's question (`Glossary.lookup`), tolerant of capitals,
  accents, question wording and typos in longer words;
- spots every distinct term in a pasted letter or report (`Glossary.spot`), reporting character
  offsets into the original text;
- formats an explanation in Dutch or English (`Glossary.explain`).

Matching works on folded text (`nlu.text.fold_with_map`: lowercase, no accents) split into word
tokens, so "O.T.S.", "ots" and "OTS'en" all reach the same entry. Exact and variant matching walks a
token trie (whole words only, so "gi" never matches inside "gisteren"); fuzzy matching (rapidfuzz) is
used only for forms long enough that a typo cannot turn an ordinary word into jargon.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from nlu.text import fold, fold_with_map

DEFAULT_PATH = Path(__file__).resolve().parent / "knowledge" / "glossary.yml"
LANGS = ("nl", "en")
TEXT_FIELDS = ("short", "long", "example")
SHORT_MAX_WORDS = 40

_TOKEN = re.compile(r"[a-z0-9]+")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Characters allowed between two tokens of one multi-word form ("o.t.s.", "spoed-ots", "raad  voor").
_JOINERS = frozenset(" -.'/\u2019")
_MAX_GAP = 3

# Plural/genitive endings stripped when a text word is not itself a known form ("zittingen" -> "zitting").
_SUFFIXES = ("en", "s")
_MIN_STEM = 5

# Fuzzy thresholds (rapidfuzz ratio, 0..100) by length of the glossary form (letters, spaces
# ignored), for `lookup`. Shorter forms -- all abbreviations, and short words such as "voogd",
# "drang", "appeal" -- only match exactly, as whole words.
_LOOKUP_CUTOFFS = ((12, 82.0), (8, 85.0), (7, 90.0))
# `spot` scans whole letters, so it is stricter: only long single words, high cutoff.
SPOT_FUZZY_MIN_LETTERS = 10
SPOT_FUZZY_CUTOFF = 88.0
_SPOT_CACHE_MAX = 50_000
_MISSING = object()
_SAME_EDGE_EXEMPT = 95.0
_MAX_WINDOW = 3  # words joined when matching "uit huis plaatsing" or fuzzy windows

# Words that carry no meaning on their own; a fuzzy window made only of these is skipped.
STOPWORDS = frozenset(
    """
    de het een en of in op over bij naar van voor met aan om te tot uit door als dat dit die wat wie
    hoe waar wanneer waarom welke is zijn was ben bent heb hebt heeft hebben wordt worden kan kun
    kunnen mag mogen moet moeten wil wilt willen ik je jij jou jouw mijn me mij we wij ons onze ze zij
    hun hem haar er niet geen wel ook nog al dan maar want dus betekent betekenis houdt
    the a an and or of in on to for with at by from as that this what who how why when where which
    is are was be been do does did can could may must should will would i you my your me we our they
    their he she it its not no mean means meaning
    """.split()
)


class ContentError(Exception):
    """The glossary or procedures file is missing, unreadable or breaks a content rule."""


@dataclass(frozen=True)
class Term:
    id: str
    term: str
    en: str
    variants: tuple[str, ...]
    short: Mapping[str, str]
    long: Mapping[str, str]
    example: Mapping[str, str]
    related: tuple[str, ...]
    source: str

    def __hash__(self) -> int:  # the mappings are not hashable; the id is unique
        return hash(self.id)

    def forms(self) -> tuple[str, ...]:
        """Every surface form that should find this term: Dutch term, English name, variants."""
        return (self.term, self.en, *self.variants)


@dataclass(frozen=True)
class TermMatch:
    term_id: str
    value: str  # canonical Dutch term
    surface: str  # the matched text, exactly as written: text[start:end]
    start: int
    end: int
    score: float  # 1.0 exact; lower for plural stripping or fuzzy matches


class _Cand(NamedTuple):
    first: int  # token index, inclusive
    last: int  # token index, exclusive
    term_id: str
    score: float


def form_key(text: str) -> tuple[str, ...]:
    """Tokens of a form after folding: "O.T.S." -> ("o", "t", "s"), "Spoed-OTS" -> ("spoed", "ots")."""
    return tuple(_TOKEN.findall(fold(text)))


def _compact(tokens: Iterable[str]) -> str:
    return "".join(tokens)


def _edges_ok(word: str, form: str, score: float, *, strict: bool) -> bool:
    """Typos mostly sit inside a word; a different last letter usually means a different word or an
    inflection ("kinderrechten" is not "kinderrechter"). Strict mode (letters) always demands the
    same first two and last letter; lookup accepts a different ending only for a near-perfect score."""
    if strict:
        return word[:2] == form[:2] and word[-1] == form[-1]
    return word[0] == form[0] and (word[-1] == form[-1] or score >= _SAME_EDGE_EXEMPT)


def _lookup_cutoff(n_letters: int) -> float | None:
    for min_len, cutoff in _LOOKUP_CUTOFFS:
        if n_letters >= min_len:
            return cutoff
    return None


# --------------------------------------------------------------------------------------------- loading


def read_yaml(path: Path) -> Any:
    """Parse a YAML content file, turning every failure into a ContentError that names the file."""
    import yaml  # lazy: keeps `import nlu.glossary` cheap

    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContentError(f"{path.name}: cannot read file ({exc})") from exc
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(raw, Loader=loader)  # a safe loader: plain data only
    except yaml.YAMLError as exc:
        raise ContentError(
            f"{path.name}: not valid YAML. Check indentation and quotes near the place shown here: {exc}"
        ) from exc


def require_text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ContentError(f"{where}: must be a non-empty text")
    return " ".join(value.split()) if "\n\n" not in value else value.strip()


def require_langs(value: Any, where: str) -> Mapping[str, str]:
    if not isinstance(value, dict):
        raise ContentError(f"{where}: must have 'nl:' and 'en:' lines under it")
    extra = set(value) - set(LANGS)
    if extra:
        raise ContentError(f"{where}: unknown language(s) {sorted(extra)}; use only 'nl' and 'en'")
    return MappingProxyType({lang: require_text(value.get(lang), f"{where}.{lang}") for lang in LANGS})


def require_str_list(value: Any, where: str, *, allow_empty: bool = True) -> tuple[str, ...]:
    if value is None and allow_empty:
        return ()
    if not isinstance(value, list):
        raise ContentError(f"{where}: must be a list like [a, b, c]")
    out = []
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise ContentError(f"{where}[{i}]: must be a text (put it in quotes), got {item!r}")
        text = str(item).strip()
        if not text:
            raise ContentError(f"{where}[{i}]: is empty")
        out.append(text)
    if not out and not allow_empty:
        raise ContentError(f"{where}: must not be empty")
    return tuple(out)


def require_source(value: Any, where: str) -> str:
    text = require_text(value, where)
    if not re.match(r"^https?://\S+$", text):
        raise ContentError(f"{where}: must be one web address starting with http:// or https://")
    return text


def require_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _SLUG.match(value):
        raise ContentError(
            f"{where}: id {value!r} must be lowercase letters, digits and hyphens, like 'machtiging-uhp'"
        )
    return value


_TERM_FIELDS = ("id", "term", "en", "variants", "short", "long", "example", "related", "source")


def _parse_term(raw: Any, where: str) -> Term:
    if not isinstance(raw, dict):
        raise ContentError(f"{where}: each term must start with '- id: ...' and have fields under it")
    unknown = set(raw) - set(_TERM_FIELDS)
    if unknown:
        raise ContentError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {', '.join(_TERM_FIELDS)}")
    term_id = require_id(raw.get("id"), where)
    where = f"{where} ('{term_id}')"
    term = Term(
        id=term_id,
        term=require_text(raw.get("term"), f"{where}, term"),
        en=require_text(raw.get("en"), f"{where}, en"),
        variants=require_str_list(raw.get("variants"), f"{where}, variants"),
        short=require_langs(raw.get("short"), f"{where}, short"),
        long=require_langs(raw.get("long"), f"{where}, long"),
        example=require_langs(raw.get("example"), f"{where}, example"),
        related=require_str_list(raw.get("related"), f"{where}, related"),
        source=require_source(raw.get("source"), f"{where}, source"),
    )
    for lang in LANGS:
        n_words = len(term.short[lang].split())
        if n_words > SHORT_MAX_WORDS:
            raise ContentError(
                f"{where}, short.{lang}: {n_words} words; keep it at most {SHORT_MAX_WORDS} (put the rest in 'long')"
            )
    for form in term.forms():
        if not form_key(form):
            raise ContentError(f"{where}: form {form!r} has no letters or digits to match on")
    return term


# ------------------------------------------------------------------------------------------- glossary


class Glossary:
    """An immutable, validated set of terms with fast matchers built once at load time."""

    def __init__(self, terms: Iterable[Term], origin: str = "glossary") -> None:
        self._terms: dict[str, Term] = {}
        for t in terms:
            if t.id in self._terms:
                raise ContentError(f"{origin}: id '{t.id}' is used twice; every id must be unique")
            self._terms[t.id] = t
        for t in self._terms.values():
            for rel in t.related:
                if rel == t.id:
                    raise ContentError(f"{origin} ('{t.id}'), related: a term cannot be related to itself")
                if rel not in self._terms:
                    raise ContentError(f"{origin} ('{t.id}'), related: no term with id '{rel}'")
        self._build_index(origin)

    # -- construction ------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | None = None) -> Glossary:
        path = Path(path) if path is not None else DEFAULT_PATH
        return cls.from_data(read_yaml(path), origin=path.name)

    @classmethod
    def from_data(cls, data: Any, origin: str = "glossary") -> Glossary:
        if not isinstance(data, dict) or not isinstance(data.get("terms"), list):
            raise ContentError(f"{origin}: the file must contain a list called 'terms:'")
        terms = [_parse_term(raw, f"{origin}, term #{i + 1}") for i, raw in enumerate(data["terms"])]
        if not terms:
            raise ContentError(f"{origin}: 'terms:' is empty")
        return cls(terms, origin)

    def _build_index(self, origin: str) -> None:
        owner: dict[tuple[str, ...], str] = {}
        compact_owner: dict[str, str] = {}
        trie: dict[str, Any] = {}
        vocab: set[str] = set()
        for t in self._terms.values():
            for form in t.forms():
                key = form_key(form)
                prev = owner.get(key)
                if prev is not None and prev != t.id:
                    raise ContentError(
                        f"{origin}: '{form}' is used by both '{prev}' and '{t.id}'. "
                        "A variant may belong to one term only; remove it from one of them."
                    )
                owner[key] = t.id
                compact = _compact(key)
                prev = compact_owner.get(compact)
                if prev is not None and prev != t.id:
                    raise ContentError(
                        f"{origin}: '{form}' (written without spaces: '{compact}') is used by both "
                        f"'{prev}' and '{t.id}'. A variant may belong to one term only."
                    )
                compact_owner[compact] = t.id
                node = trie
                for tok in key:
                    vocab.add(tok)
                    node = node.setdefault(tok, {})
                node[""] = t.id  # "" is never a token, so it marks the end of a form
        self._trie = trie
        self._vocab = frozenset(vocab)
        self._compact_owner = compact_owner
        # Fuzzy choices: compact forms long enough to be safe.
        min_fuzzy = _LOOKUP_CUTOFFS[-1][0]
        lookup_items = [(c, tid) for c, tid in compact_owner.items() if len(c) >= min_fuzzy]
        self._fuzzy_keys = [c for c, _ in lookup_items]
        self._fuzzy_ids = [tid for _, tid in lookup_items]
        spot_items = [
            (_compact(k), tid) for k, tid in owner.items() if len(k) == 1 and len(k[0]) >= SPOT_FUZZY_MIN_LETTERS
        ]
        self._spot_keys = [c for c, _ in spot_items]
        self._spot_ids = [tid for _, tid in spot_items]
        # Fuzzy results per long word, shared across spot() calls (letters repeat their words).
        self._spot_cache: dict[str, tuple[str, float] | None] = {}
        from rapidfuzz import fuzz, process  # imported on first load, not at module import

        self._ratio = fuzz.ratio
        self._extract = process.extract

    # -- mapping-like access -------------------------------------------------------------------------

    def get(self, term_id: str) -> Term | None:
        return self._terms.get(term_id)

    def __iter__(self) -> Iterator[Term]:
        return iter(self._terms.values())

    def __len__(self) -> int:
        return len(self._terms)

    def __contains__(self, term_id: object) -> bool:
        return term_id in self._terms

    # -- matching internals --------------------------------------------------------------------------

    def _norm(self, tok: str) -> tuple[str, bool]:
        """Map a text token to a known form token, stripping a plural ending if needed.
        Returns (token, exact) where exact is False when an ending was stripped."""
        if tok in self._vocab:
            return tok, True
        for suf in _SUFFIXES:
            if tok.endswith(suf):
                stem = tok[: -len(suf)]
                if len(stem) >= _MIN_STEM and stem in self._vocab:
                    return stem, False
        return tok, True

    @staticmethod
    def _tokenize(text: str) -> tuple[list[str], list[tuple[int, int]], list[bool]]:
        """Folded tokens, their spans in the ORIGINAL text, and whether each token is joined to the
        previous one by a short run of joiner characters (space, hyphen, dot...)."""
        folded, pos = fold_with_map(text)
        toks: list[str] = []
        spans: list[tuple[int, int]] = []
        joined: list[bool] = []
        prev_end = -1
        for m in _TOKEN.finditer(folded):
            s, e = m.span()
            gap = folded[prev_end:s] if prev_end >= 0 else None
            joined.append(gap is not None and len(gap) <= _MAX_GAP and all(c in _JOINERS for c in gap))
            toks.append(m.group())
            spans.append((pos[s], pos[e - 1] + 1))
            prev_end = e
        return toks, spans, joined

    def _exact_candidates(self, toks: list[str], joined: list[bool]) -> list[_Cand]:
        norm = [self._norm(t) for t in toks]
        n = len(toks)
        cands: list[_Cand] = []
        trie = self._trie
        for i in range(n):
            node = trie.get(norm[i][0])
            if node is None:
                continue
            best: _Cand | None = None
            j = i
            all_exact = norm[i][1]
            while True:
                tid = node.get("")
                if tid is not None:
                    best = _Cand(i, j + 1, tid, 1.0 if all_exact else 0.95)
                j += 1
                if j >= n or not joined[j]:
                    break
                node = node.get(norm[j][0])
                if node is None:
                    break
                all_exact = all_exact and norm[j][1]
            if best is not None:
                cands.append(best)
            # Words written apart that belong together: "uit huis plaatsing", "jeugd zorg".
            compact = toks[i]
            for j in range(i + 1, min(n, i + _MAX_WINDOW)):
                if not joined[j]:
                    break
                compact += toks[j]
                tid = self._compact_owner.get(compact)
                if tid is not None:
                    cands.append(_Cand(i, j + 1, tid, 1.0))
        return cands

    @staticmethod
    def _select(cands: list[_Cand], spans: list[tuple[int, int]]) -> list[_Cand]:
        """Non-overlapping candidates, longest (in characters) first, then leftmost; by position."""
        order = sorted(cands, key=lambda c: (-(spans[c.last - 1][1] - spans[c.first][0]), c.first, -c.score))
        taken = [False] * len(spans)
        chosen: list[_Cand] = []
        for c in order:
            if any(taken[c.first : c.last]):
                continue
            for k in range(c.first, c.last):
                taken[k] = True
            chosen.append(c)
        chosen.sort(key=lambda c: c.first)
        return chosen

    def _match(self, text: str, c: _Cand, spans: list[tuple[int, int]]) -> TermMatch:
        start, end = spans[c.first][0], spans[c.last - 1][1]
        return TermMatch(c.term_id, self._terms[c.term_id].term, text[start:end], start, end, round(c.score, 3))

    # -- public matching ---------------------------------------------------------------------------

    def spot(self, text: str) -> list[TermMatch]:
        """Every distinct term in `text` (first occurrence), non-overlapping, ordered by position."""
        toks, spans, joined = self._tokenize(text)
        if not toks:
            return []
        cands = self._exact_candidates(toks, joined)
        covered = [False] * len(toks)
        for c in cands:
            for k in range(c.first, c.last):
                covered[k] = True
        for i, tok in enumerate(toks):
            if covered[i] or len(tok) < SPOT_FUZZY_MIN_LETTERS:
                continue
            found = self._spot_fuzzy(tok)
            if found is not None:
                cands.append(_Cand(i, i + 1, found[0], found[1]))
        seen: set[str] = set()
        out: list[TermMatch] = []
        for c in self._select(cands, spans):
            if c.term_id not in seen:
                seen.add(c.term_id)
                out.append(self._match(text, c, spans))
        return out

    def _spot_fuzzy(self, tok: str) -> tuple[str, float] | None:
        """(term_id, score) for a long word that is a typo of a long glossary word, else None.
        Results are cached across calls (thread-safe: a race only recomputes)."""
        cache = self._spot_cache
        hit = cache.get(tok, _MISSING)
        if hit is not _MISSING:
            return hit  # type: ignore[return-value]
        found: tuple[str, float] | None = None
        for key, score, idx in self._extract(
            tok, self._spot_keys, scorer=self._ratio, score_cutoff=SPOT_FUZZY_CUTOFF, limit=3
        ):
            if _edges_ok(tok, key, score, strict=True):
                found = (self._spot_ids[idx], score / 100.0)
                break
        if len(cache) >= _SPOT_CACHE_MAX:
            cache.clear()
        cache[tok] = found
        return found

    def lookup(self, query: str) -> TermMatch | None:
        """The single best term for a question or search word, or None when nothing is close enough.

        Candidates are exact/variant matches plus fuzzy matches of stretches of the query that contain
        a word no exact match explains ("machtiging uithuisplatsing" -> the whole phrase). The longest
        candidate wins, then the best score, then the earliest."""
        toks, spans, joined = self._tokenize(query)
        if not toks:
            return None
        cands = self._exact_candidates(toks, joined)
        covered = [False] * len(toks)
        for c in cands:
            for k in range(c.first, c.last):
                covered[k] = True
        fuzzy = self._fuzzy_candidates(toks, joined, covered)
        # A fuzzy window that only adds words around a same-term match that scores at least as well
        # is noise ("gezinsvoogd weg", "kind uithuisgeplatst"): keep the tighter match.
        pool = cands + fuzzy
        cands += [
            a
            for a in fuzzy
            if not any(
                b.term_id == a.term_id
                and a.first <= b.first
                and b.last <= a.last
                and b.last - b.first < a.last - a.first
                and b.score >= a.score
                for b in pool
            )
        ]
        if not cands:
            return None
        best = max(cands, key=lambda c: (spans[c.last - 1][1] - spans[c.first][0], c.score, -c.first))
        return self._match(query, best, spans)

    def _fuzzy_candidates(self, toks: list[str], joined: list[bool], covered: list[bool]) -> list[_Cand]:
        out: list[_Cand] = []
        n = len(toks)
        for i in range(n):
            if toks[i] in STOPWORDS:
                continue
            compact = ""
            for j in range(i, min(n, i + _MAX_WINDOW)):
                if j > i and not joined[j]:
                    break
                compact += toks[j]
                if toks[j] in STOPWORDS or all(covered[i : j + 1]):
                    continue
                if len(compact) < _LOOKUP_CUTOFFS[-1][0]:
                    continue
                best: tuple[float, int] | None = None
                for key, score, idx in self._extract(
                    compact, self._fuzzy_keys, scorer=self._ratio, score_cutoff=_LOOKUP_CUTOFFS[0][1], limit=5
                ):
                    cutoff = _lookup_cutoff(len(key))
                    if cutoff is None or score < cutoff or not _edges_ok(compact, key, score, strict=False):
                        continue
                    if best is None or (score, len(key)) > (best[0], len(self._fuzzy_keys[best[1]])):
                        best = (score, idx)
                if best is not None:
                    out.append(_Cand(i, j + 1, self._fuzzy_ids[best[1]], best[0] / 100.0))
        return out

    # -- presentation --------------------------------------------------------------------------------

    def explain(self, term_id: str, lang: str = "nl", long: bool = False) -> str:
        """Plain-text explanation. Unknown languages fall back to Dutch. Raises KeyError for an
        unknown term id."""
        term = self._terms.get(term_id)
        if term is None:
            raise KeyError(term_id)
        lang = (lang or "nl").split("-")[0].split("_")[0].lower()
        if lang not in LANGS:
            lang = "nl"
        title = term.term[:1].upper() + term.term[1:]
        if lang == "en":
            title = term.en[:1].upper() + term.en[1:]
            if fold(term.en) != fold(term.term):
                title += f" ({term.term})"
        if not long:
            return f"{title}: {term.short[lang]}"
        labels = {"nl": ("Voorbeeld", "Meer lezen"), "en": ("Example", "Read more")}[lang]
        return f"{title}\n\n{term.long[lang]}\n\n{labels[0]}: {term.example[lang]}\n\n{labels[1]}: {term.source}"


@lru_cache(maxsize=1)
def default_glossary() -> Glossary:
    """The bundled glossary, loaded on first use and cached."""
    return Glossary.load()
