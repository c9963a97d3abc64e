"""Content rules for glossary.yml and procedures.yml, so a non-programmer's edit is caught in CI.

Each assertion message names the term or procedure and the field to fix.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from nlu.glossary import DEFAULT_PATH as GLOSSARY_PATH
from nlu.glossary import SHORT_MAX_WORDS, Glossary, form_key
from nlu.procedures import DEFAULT_PATH as PROCEDURES_PATH
from nlu.procedures import Procedures

MIN_TERMS = 85
MIN_PROCEDURES = 10
MIN_STEPS = 3
STEP_MAX_WORDS = 60
LANGS = ("nl", "en")
TEXT_FIELDS = ("short", "long", "example")

# Phone numbers the content may mention: the numbers in shared/domain/facts.md that are NOT
# marked [verify] (sections 0-1). Emergency routing: 112 (danger now), Veilig Thuis 0800-2000,
# 113 / 0800-0113 (thoughts of suicide). Deliberately absent: 0900-0113 (old), 0800-8112, 0900-8020 /
# 0800-8020 (Juridisch Loket, [verify]), 088-555 1000 (Jeugdstem, [verify]), 0900-0767, 088-6628844.
ALLOWED_NUMBERS = {
    "112",
    "113",
    "0800-2000",
    "0800-0113",
    "0800-0432",  # De Kindertelefoon
    "0900-8844",  # police, no emergency
    "088-0767 000",  # De Luisterlijn
    "0800-7000",  # Meld Misdaad Anoniem
}
# When a sentence names one of these services, every number in it must be that service's number
# (112 is always allowed: "in immediate danger call 112").
SERVICE_NUMBERS = {
    "veilig thuis": {"0800-2000"},
    "kindertelefoon": {"0800-0432"},
    "zelfmoordpreventie": {"113", "0800-0113"},
    "luisterlijn": {"088-0767 000"},
}
FACTS_MD = Path(__file__).resolve().parents[3] / "shared" / "domain" / "facts.md"  # shared/ beside the repo

_PHONE = re.compile(r"(?<![\w-])(0\d{2,3}-\d{3,4}(?: \d{3,4})?|0\d{6,10}|0\d{2,3} \d{3,4}(?: \d{3})?|11\d)(?![\w-])")
_FORMAL = re.compile(r"(?<![\w.])(u|uw|uzelf)(?![\w.])", re.IGNORECASE)
_PERIOD = re.compile(r"\b\d+\s*(dag|dagen|werkdagen|week|weken|maand|maanden|jaar)\b|\been maand\b")


def _load(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="module")
def terms() -> list[dict]:
    return _load(GLOSSARY_PATH)["terms"]


@pytest.fixture(scope="module")
def procedures() -> list[dict]:
    return _load(PROCEDURES_PATH)["procedures"]


def _texts(terms: list[dict], procedures: list[dict]):
    """(where, lang, text) for every piece of prose the bot can show."""
    for t in terms:
        for field in TEXT_FIELDS:
            for lang in LANGS:
                yield f"term '{t.get('id')}' {field}.{lang}", lang, str((t.get(field) or {}).get(lang, ""))
    for p in procedures:
        for lang in LANGS:
            yield f"procedure '{p.get('id')}' title.{lang}", lang, str((p.get("title") or {}).get(lang, ""))
        for i, step in enumerate(p.get("steps") or []):
            for lang in LANGS:
                yield f"procedure '{p.get('id')}' step {i + 1}.{lang}", lang, str(step.get(lang, ""))


# --------------------------------------------------------------------------------- files load at all


def test_files_load_with_the_real_loaders() -> None:
    glossary = Glossary.load()
    Procedures.load(glossary=glossary)


# ------------------------------------------------------------------------------------------ glossary


def test_enough_terms(terms: list[dict]) -> None:
    assert len(terms) >= MIN_TERMS, f"glossary has {len(terms)} terms; at least {MIN_TERMS} expected"


def test_every_term_has_all_fields(terms: list[dict]) -> None:
    for t in terms:
        tid = t.get("id")
        for field in ("id", "term", "en", "source"):
            assert isinstance(t.get(field), str) and t[field].strip(), f"term '{tid}': '{field}' is missing"
        assert isinstance(t.get("variants", []), list), f"term '{tid}': variants must be a list"
        assert isinstance(t.get("related", []), list), f"term '{tid}': related must be a list"
        for field in TEXT_FIELDS:
            for lang in LANGS:
                text = (t.get(field) or {}).get(lang)
                assert isinstance(text, str) and text.strip(), f"term '{tid}': {field}.{lang} is missing"


def test_short_texts_are_short(terms: list[dict]) -> None:
    for t in terms:
        for lang in LANGS:
            n = len(t["short"][lang].split())
            assert n <= SHORT_MAX_WORDS, f"term '{t['id']}' short.{lang}: {n} words (max {SHORT_MAX_WORDS})"


def test_ids_are_unique_slugs(terms: list[dict]) -> None:
    ids = [t["id"] for t in terms]
    dupes = {i for i in ids if ids.count(i) > 1}
    assert not dupes, f"ids used more than once: {sorted(dupes)}"
    for i in ids:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i), f"id '{i}': use lowercase letters, digits, hyphens"


def test_no_dead_related_links(terms: list[dict]) -> None:
    ids = {t["id"] for t in terms}
    for t in terms:
        for rel in t.get("related") or []:
            assert rel in ids, f"term '{t['id']}' related: '{rel}' is not a term id"
            assert rel != t["id"], f"term '{t['id']}' is related to itself"


def test_variants_do_not_collide_between_terms(terms: list[dict]) -> None:
    owner: dict[tuple[str, ...], str] = {}
    for t in terms:
        for form in [t["term"], t["en"], *(str(v) for v in t.get("variants") or [])]:
            key = form_key(form)
            assert key, f"term '{t['id']}': form '{form}' has no letters"
            prev = owner.setdefault(key, t["id"])
            assert prev == t["id"], f"'{form}' belongs to both '{prev}' and '{t['id']}'"


@pytest.mark.parametrize("word", ["zin", "om", "appel", "raad", "advies", "verzoek", "instelling", "sos", "u"])
def test_ordinary_words_are_not_variants(terms: list[dict], word: str) -> None:
    for t in terms:
        forms = [t["term"], t["en"], *(str(v) for v in t.get("variants") or [])]
        assert (word,) not in {form_key(f) for f in forms}, f"term '{t['id']}': '{word}' is an ordinary word"


def test_sources_are_web_addresses(terms: list[dict], procedures: list[dict]) -> None:
    url = re.compile(r"https?://\S+")
    for t in terms:
        assert url.fullmatch(t["source"]), f"term '{t['id']}' source is not an http(s) address"
    for p in procedures:
        assert url.fullmatch(p["source"]), f"procedure '{p['id']}' source is not an http(s) address"
        for i, step in enumerate(p["steps"]):
            if "source" in step:
                assert url.fullmatch(step["source"]), f"procedure '{p['id']}' step {i + 1}: bad source"


# -------------------------------------------------------------------------------------- procedures


def test_enough_procedures_with_enough_steps(procedures: list[dict]) -> None:
    assert len(procedures) >= MIN_PROCEDURES, f"{len(procedures)} procedures; at least {MIN_PROCEDURES}"
    ids = [p["id"] for p in procedures]
    assert len(ids) == len(set(ids)), "procedure ids must be unique"
    for p in procedures:
        assert len(p["steps"]) >= MIN_STEPS, f"procedure '{p['id']}': at least {MIN_STEPS} steps"
        for lang in LANGS:
            assert p["title"][lang].strip(), f"procedure '{p['id']}': title.{lang} missing"
        for i, step in enumerate(p["steps"]):
            for lang in LANGS:
                text = step.get(lang)
                assert isinstance(text, str) and text.strip(), f"procedure '{p['id']}' step {i + 1}.{lang} missing"
                n = len(text.split())
                assert n <= STEP_MAX_WORDS, f"procedure '{p['id']}' step {i + 1}.{lang}: {n} words"


def test_procedure_related_terms_exist(terms: list[dict], procedures: list[dict]) -> None:
    ids = {t["id"] for t in terms}
    for p in procedures:
        assert p.get("related_terms"), f"procedure '{p['id']}': related_terms is empty"
        for rel in p["related_terms"]:
            assert rel in ids, f"procedure '{p['id']}' related_terms: '{rel}' is not a glossary id"


def test_procedure_keywords_cover_both_languages_and_are_not_shared(procedures: list[dict]) -> None:
    seen: dict[tuple[str, ...], str] = {}
    for p in procedures:
        assert len(p["keywords"]) >= 4, f"procedure '{p['id']}': give at least 4 keywords (nl and en)"
        for kw in p["keywords"]:
            key = form_key(str(kw))
            prev = seen.setdefault(key, p["id"])
            assert prev == p["id"], f"keyword '{kw}' is used by both '{prev}' and '{p['id']}'"


def test_steps_with_a_deadline_name_their_source(procedures: list[dict]) -> None:
    for p in procedures:
        for i, step in enumerate(p["steps"]):
            if _PERIOD.search(step["nl"]) or _PERIOD.search(step["en"]):
                assert "source" in step, f"procedure '{p['id']}' step {i + 1} mentions a period: add 'source:'"


# ------------------------------------------------------------------------------------ writing rules


def test_dutch_text_uses_je_not_u(terms: list[dict], procedures: list[dict]) -> None:
    for where, lang, text in _texts(terms, procedures):
        if lang == "nl":
            m = _FORMAL.search(text)
            assert m is None, f"{where}: uses '{m.group()}'; write 'je'/'jouw' (informal), also in quotes"


def test_no_placeholders_left(terms: list[dict], procedures: list[dict]) -> None:
    for where, _lang, text in _texts(terms, procedures):
        for marker in ("[verify]", "TODO", "XXX", "FIXME"):
            assert marker not in text, f"{where}: contains '{marker}'"


def test_phone_numbers_are_on_the_allowlist(terms: list[dict], procedures: list[dict]) -> None:
    mentioned = set()
    for where, _lang, text in _texts(terms, procedures):
        for m in _PHONE.finditer(text):
            number = m.group(1)
            mentioned.add(number)
            assert number in ALLOWED_NUMBERS, f"{where}: phone number '{number}' is not on the allowlist"
    # The emergency routing is present somewhere, spelled exactly.
    assert {"112", "0800-2000", "113", "0800-0113"} <= mentioned


def test_phone_numbers_match_the_service_named(terms: list[dict], procedures: list[dict]) -> None:
    for where, _lang, text in _texts(terms, procedures):
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            low = sentence.lower()
            named = [svc for svc in SERVICE_NUMBERS if svc in low]
            if len(named) != 1:
                continue
            for m in _PHONE.finditer(sentence):
                number = m.group(1)
                ok = SERVICE_NUMBERS[named[0]] | {"112"}
                assert number in ok, f"{where}: '{number}' next to '{named[0]}' (expected {sorted(ok)})"


@pytest.mark.skipif(not FACTS_MD.exists(), reason="facts.md not available (outside the dev workspace)")
def test_allowlist_matches_facts_md() -> None:
    lines = FACTS_MD.read_text(encoding="utf-8").splitlines()
    for number in ALLOWED_NUMBERS:
        clean = [
            ln for ln in lines if re.search(rf"(?<![\d-]){re.escape(number)}(?![\d-])", ln) and "[verify]" not in ln
        ]
        assert clean, f"{number} is not stated without [verify] in facts.md"
