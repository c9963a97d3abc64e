"""Glossary and procedure matching: lookup of a parent's question, jargon spotting in a pasted
letter, explanations, procedure lookup and step formatting."""

from __future__ import annotations

import dataclasses
import time

import pytest

from nlu.glossary import ContentError, Glossary, Term, TermMatch, default_glossary
from nlu.procedures import Procedure, Procedures, default_procedures


@pytest.fixture(scope="module")
def glossary() -> Glossary:
    return default_glossary()


# ------------------------------------------------------------------------------------------- lookup

LOOKUPS = [
    # abbreviations, any case, with and without dots
    ("OTS", "ots"),
    ("ots", "ots"),
    ("O.T.S.", "ots"),
    ("uhp", "uithuisplaatsing"),
    ("UHP", "uithuisplaatsing"),
    ("rvdk", "raad-voor-de-kinderbescherming"),
    ("RvdK", "raad-voor-de-kinderbescherming"),
    ("gi", "gecertificeerde-instelling"),
    ("GI", "gecertificeerde-instelling"),
    ("VOTS", "voorlopige-ots"),
    ("muhp", "machtiging-uithuisplaatsing"),
    ("pgb", "pgb"),
    ("CJG", "cjg"),
    ("ubv", "uitvoerbaar-bij-voorraad"),
    ("AKJ", "vertrouwenspersoon"),
    # question forms
    ("wat betekent een machtiging uithuisplaatsing", "machtiging-uithuisplaatsing"),
    ("wat betekent een machtiging uithuisplaatsing?", "machtiging-uithuisplaatsing"),
    ("moet ik bang zijn voor een raadsonderzoek", "raadsonderzoek"),
    ("wat is een zitting", "zitting"),
    ("wat doet de Raad eigenlijk?", "raad-voor-de-kinderbescherming"),
    ("wie is de gezinsvoogd", "jeugdbeschermer"),
    ("mijn zoon is onder toezicht gesteld, wat nu?", "ots"),
    ("ik krijg een schriftelijke aanwijzing", "schriftelijke-aanwijzing"),
    ("wat is een voorlopige ondertoezichtstelling", "voorlopige-ots"),
    ("wat staat er in het plan van aanpak", "plan-van-aanpak"),
    ("ik wil mijn dossier inzien", "dossierinzage"),
    ("wat betekent uitvoerbaar bij voorraad", "uitvoerbaar-bij-voorraad"),
    # typos in longer terms
    ("wat houdt ondertoesichtstelling in", "ots"),
    ("ondertoezichtsteling", "ots"),
    ("machtiging uithuisplatsing", "machtiging-uithuisplaatsing"),
    ("jeugdbeschermr", "jeugdbeschermer"),
    ("perspectiefbeslut", "perspectiefbesluit"),
    ("gezagsbeindiging", "gezagsbeeindiging"),
    ("uithuisplaatsin", "uithuisplaatsing"),
    # words written apart, plurals, accents
    ("uit huis plaatsing", "uithuisplaatsing"),
    ("onder toezicht stelling", "ots"),
    ("zittingen", "zitting"),
    ("gezagsbeëindiging", "gezagsbeeindiging"),
    ("clientenraad", "clientenraad"),
    # English
    ("what is a GI", "gecertificeerde-instelling"),
    ("what is a supervision order", "ots"),
    ("what does out-of-home placement mean", "uithuisplaatsing"),
    ("who is the child protection worker", "jeugdbeschermer"),
    ("what is legal aid", "toevoeging"),
]


@pytest.mark.parametrize(("query", "expected"), LOOKUPS)
def test_lookup_finds_the_term(glossary: Glossary, query: str, expected: str) -> None:
    m = glossary.lookup(query)
    assert m is not None, query
    assert m.term_id == expected, (query, m)
    assert query[m.start : m.end] == m.surface
    assert m.value == glossary.get(expected).term
    assert 0.0 < m.score <= 1.0


@pytest.mark.parametrize(
    "query",
    [
        "gisteren",  # contains "gi"
        "raden",  # not "de Raad"
        "git",
        "ik heb gisteren gebeld",
        "hoi hoe gaat het",
        "ik heb geen zin",  # "zin" is not "zorg in natura"
        "wat is een appel",  # apple, not appeal
        "kinderrechten",  # children's rights, not "kinderrechter"
        "zitten",
        "melden",
        "het weer is mooi vandaag",
        "",
        "   ?!",
    ],
)
def test_lookup_no_false_match(glossary: Glossary, query: str) -> None:
    assert glossary.lookup(query) is None


def test_lookup_prefers_longest_term(glossary: Glossary) -> None:
    assert glossary.lookup("machtiging").term_id == "machtiging"
    assert glossary.lookup("machtiging uithuisplaatsing").term_id == "machtiging-uithuisplaatsing"
    assert glossary.lookup("Raad voor de Kinderbescherming").surface == "Raad voor de Kinderbescherming"


def test_lookup_keeps_tight_surface_for_fuzzy(glossary: Glossary) -> None:
    q = "is mijn kind uithuisgeplatst"
    m = glossary.lookup(q)
    assert m.term_id == "uithuisplaatsing"
    assert m.surface == "uithuisgeplatst"
    assert m.score < 1.0


# -------------------------------------------------------------------------------------------- spot

LETTER = (
    "Geachte mevrouw De Vries,\n\n"
    "Op 14 maart heeft de kinderrechter van de rechtbank Midden-Nederland uw zoon Daan onder toezicht "
    "gesteld voor de duur van een jaar. De Raad voor de Kinderbescherming had hierom verzocht na het "
    "raadsonderzoek. Tevens is een machtiging uithuisplaatsing verleend voor verblijf in een pleeggezin. "
    "De beschikking is uitvoerbaar bij voorraad. Uw jeugdbeschermer van de GI, mevrouw Jansen, neemt "
    "binnenkort contact met u op om het plan van aanpak te bespreken. Gisteren is ook de omgangsregeling "
    "besproken; de bezoekregeling volgt. Bent u het niet eens met de uitspraak, dan kunt u binnen drie "
    "maanden hoger beroep instellen via een advocaat. Voor vragen kunt u terecht bij een vertrouwenspersoon "
    "van Jeugdstem (voorheen AKJ). Wij raden u aan het verweerschrift en de zienswijze te bewaren.\n"
)

LETTER_EXPECTED = [
    ("kinderrechter", "kinderrechter"),
    ("rechtbank", "rechtbank"),
    ("ots", "onder toezicht gesteld"),
    ("raad-voor-de-kinderbescherming", "Raad voor de Kinderbescherming"),
    ("raadsonderzoek", "raadsonderzoek"),
    ("machtiging-uithuisplaatsing", "machtiging uithuisplaatsing"),
    ("pleegzorg", "pleeggezin"),
    ("beschikking", "beschikking"),
    ("uitvoerbaar-bij-voorraad", "uitvoerbaar bij voorraad"),
    ("jeugdbeschermer", "jeugdbeschermer"),
    ("gecertificeerde-instelling", "GI"),
    ("plan-van-aanpak", "plan van aanpak"),
    ("omgangsregeling", "omgangsregeling"),
    ("bezoekregeling", "bezoekregeling"),
    ("hoger-beroep", "hoger beroep instellen"),
    ("advocaat", "advocaat"),
    ("vertrouwenspersoon", "vertrouwenspersoon"),
    ("verweerschrift", "verweerschrift"),
    ("zienswijze", "zienswijze"),
]


def test_spot_letter_finds_every_term_with_offsets(glossary: Glossary) -> None:
    found = glossary.spot(LETTER)
    assert [(m.term_id, m.surface) for m in found] == LETTER_EXPECTED
    for m in found:
        assert isinstance(m, TermMatch)
        assert LETTER[m.start : m.end] == m.surface
        assert m.value == glossary.get(m.term_id).term
        assert m.score == 1.0


def test_spot_results_are_ordered_distinct_and_non_overlapping(glossary: Glossary) -> None:
    found = glossary.spot(LETTER + LETTER)
    ids = [m.term_id for m in found]
    assert len(ids) == len(set(ids))  # each term once, at its first occurrence
    starts = [m.start for m in found]
    assert starts == sorted(starts)
    for a, b in zip(found, found[1:], strict=False):
        assert a.end <= b.start
    assert all(m.end <= len(LETTER) for m in found)


def test_spot_ignores_ordinary_words(glossary: Glossary) -> None:
    # "gi" in gisteren/gitaar, "raden", "zin", "om", "appel": none of these is jargon.
    text = "Gisteren gingen we naar de gitaarles. Wij raden het af. Ik heb zin in een appel, om vier uur."
    assert glossary.spot(text) == []


def test_spot_longest_match_wins(glossary: Glossary) -> None:
    found = glossary.spot("Er is een machtiging uithuisplaatsing en een voorlopige ondertoezichtstelling.")
    assert [m.term_id for m in found] == ["machtiging-uithuisplaatsing", "voorlopige-ots"]
    found = glossary.spot("Alleen een machtiging.")
    assert [m.term_id for m in found] == ["machtiging"]


def test_spot_abbreviations_with_punctuation(glossary: Glossary) -> None:
    text = "De O.T.S. loopt; de GI's en de RvdK waren er. Ook een spoed-OTS is mogelijk."
    found = glossary.spot(text)
    assert [(m.term_id, m.surface) for m in found] == [
        ("ots", "O.T.S"),
        ("gecertificeerde-instelling", "GI"),
        ("raad-voor-de-kinderbescherming", "RvdK"),
        ("voorlopige-ots", "spoed-OTS"),
    ]


def test_spot_fuzzy_only_for_long_words(glossary: Glossary) -> None:
    text = "De ondertoezichtsteling en de uithuisplaatsng zijn besproken. Ook de kinderrechten."
    found = glossary.spot(text)
    assert [(m.term_id, m.surface) for m in found] == [
        ("ots", "ondertoezichtsteling"),
        ("uithuisplaatsing", "uithuisplaatsng"),
    ]
    assert all(0.85 <= m.score < 1.0 for m in found)


def test_spot_plurals_and_accents(glossary: Glossary) -> None:
    text = "Beide zittingen gingen over de Gezagsbeëindiging en de cliëntenraad."
    found = glossary.spot(text)
    assert [m.term_id for m in found] == ["zitting", "gezagsbeeindiging", "clientenraad"]
    assert found[0].surface == "zittingen" and found[0].score < 1.0
    for m in found:
        assert text[m.start : m.end] == m.surface


def test_spot_offsets_survive_folding(glossary: Glossary) -> None:
    # Combining accents and stretched letters change the folded length; offsets must still be right.
    text = "Ée\u0301n cliëntenraad en OTSSS... en de Raad  voor de   Kinderbescherming"
    for m in glossary.spot(text):
        assert text[m.start : m.end] == m.surface


def test_spot_empty(glossary: Glossary) -> None:
    assert glossary.spot("") == []
    assert glossary.spot("...") == []


def test_spot_is_fast_on_a_long_letter(glossary: Glossary) -> None:
    text = (LETTER * 12)[:5000]
    glossary.spot(text)  # warm-up
    t0 = time.perf_counter()
    for _ in range(10):
        glossary.spot(text)
    per_call = (time.perf_counter() - t0) / 10
    assert per_call < 0.05, f"spot() took {per_call * 1000:.1f} ms on 5,000 chars"


# ------------------------------------------------------------------------------------------ explain


def test_explain_dutch_short_and_long(glossary: Glossary) -> None:
    term = glossary.get("ots")
    short = glossary.explain("ots")
    assert short.startswith("Ondertoezichtstelling: ")
    assert term.short["nl"] in short
    long = glossary.explain("ots", long=True)
    assert term.long["nl"] in long and term.example["nl"] in long and term.source in long
    assert "Voorbeeld:" in long


def test_explain_english(glossary: Glossary) -> None:
    text = glossary.explain("ots", lang="en")
    assert text.startswith("Supervision order (ondertoezichtstelling): ")
    assert glossary.get("ots").short["en"] in text
    assert glossary.explain("ots", lang="en-GB") == text
    assert "Example:" in glossary.explain("ots", lang="en", long=True)


@pytest.mark.parametrize("lang", ["fr", "tr", "", "xx-YY"])
def test_explain_falls_back_to_dutch(glossary: Glossary, lang: str) -> None:
    assert glossary.explain("gezag", lang=lang) == glossary.explain("gezag", lang="nl")
    assert glossary.explain("gezag", lang=lang, long=True) == glossary.explain("gezag", long=True)


def test_explain_unknown_term(glossary: Glossary) -> None:
    with pytest.raises(KeyError):
        glossary.explain("does-not-exist")


# ------------------------------------------------------------------------------------- containers


def test_mapping_access(glossary: Glossary) -> None:
    assert len(glossary) == len(list(glossary)) >= 85
    assert glossary.get("nope") is None
    term = glossary.get("ots")
    assert isinstance(term, Term)
    assert "ots" in {t.id for t in glossary}
    with pytest.raises(dataclasses.FrozenInstanceError):
        term.id = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        term.short["nl"] = "x"  # type: ignore[index]
    assert {term, glossary.get("ots")} == {term}


def test_default_glossary_is_cached() -> None:
    assert default_glossary() is default_glossary()


# ------------------------------------------------------------------------------------ bad content


def _term(term_id: str, **overrides: object) -> dict:
    data = {
        "id": term_id,
        "term": term_id,
        "en": f"{term_id} en",
        "variants": [],
        "short": {"nl": "Kort.", "en": "Short."},
        "long": {"nl": "Lang.", "en": "Long."},
        "example": {"nl": "Voorbeeld.", "en": "Example."},
        "related": [],
        "source": "https://example.org/",
    }
    data.update(overrides)
    return data


def test_content_error_messages_name_the_problem() -> None:
    ok = Glossary.from_data({"terms": [_term("a"), _term("b", related=["a"])]})
    assert len(ok) == 2
    cases = [
        ({"terms": [_term("a", related=["zz"])]}, "no term with id 'zz'"),
        ({"terms": [_term("a"), _term("a")]}, "used twice"),
        ({"terms": [_term("a", variants=["x y"]), _term("b", variants=["X-Y"])]}, "used by both 'a' and 'b'"),
        ({"terms": [_term("a", short={"nl": "Kort."})]}, "short.en"),
        ({"terms": [_term("a", source="www.example.org")]}, "http"),
        ({"terms": [_term("a", short={"nl": "woord " * 41, "en": "x"})]}, "at most 40"),
        ({"terms": [_term("Bad Id")]}, "lowercase"),
        ({"terms": [_term("a", extra=1)]}, "unknown field"),
        ({"terms": []}, "empty"),
        ({"nothing": 1}, "'terms:'"),
    ]
    for data, needle in cases:
        with pytest.raises(ContentError, match=needle):
            Glossary.from_data(data)


def test_invalid_yaml_file(tmp_path) -> None:
    bad = tmp_path / "glossary.yml"
    bad.write_text("terms:\n  - id: a\n   term: [unclosed\n", encoding="utf-8")
    with pytest.raises(ContentError, match="glossary.yml: not valid YAML"):
        Glossary.load(bad)
    with pytest.raises(ContentError, match="cannot read"):
        Glossary.load(tmp_path / "missing.yml")


# ------------------------------------------------------------------------------------- procedures


@pytest.fixture(scope="module")
def procedures() -> Procedures:
    return default_procedures()


PROCEDURE_LOOKUPS = [
    ("hoe werkt een zitting", "zitting"),
    ("wat gebeurt er op de zitting bij de kinderrechter?", "zitting"),
    ("what happens at the court hearing", "zitting"),
    ("ik wil een klacht indienen over mijn jeugdbeschermer", "klacht-jeugdbeschermer"),
    ("kan ik klagen over de gezinsvoogd", "klacht-jeugdbeschermer"),
    ("I want to file a complaint", "klacht-jeugdbeschermer"),
    ("hoe ga ik in hoger beroep", "hoger-beroep"),
    ("ik ben het niet eens met de uitspraak", "hoger-beroep"),
    ("how do I appeal", "hoger-beroep"),
    ("mag ik mijn dossier lezen", "dossier"),
    ("dosier inzien", "dossier"),
    ("hoe werkt een ots", "ots"),
    ("mijn kind wordt uit huis geplaatst", "uithuisplaatsing"),
    ("ik heb een brief van de raad gekregen over een onderzoek", "raadsonderzoek"),
    ("wat kost een advocaat", "advocaat"),
    ("de ots wordt verlengd, wat nu?", "verlenging"),
    ("wat gebeurt er na een melding bij Veilig Thuis", "veilig-thuis-melding"),
]


@pytest.mark.parametrize(("query", "expected"), PROCEDURE_LOOKUPS)
def test_procedure_lookup(procedures: Procedures, query: str, expected: str) -> None:
    proc = procedures.lookup(query)
    assert proc is not None, query
    assert proc.id == expected, (query, proc.id)


@pytest.mark.parametrize("query", ["hoi hoe gaat het", "wat is een ots", "mijn beroep is kok", "", "het weer"])
def test_procedure_lookup_none(procedures: Procedures, query: str) -> None:
    assert procedures.lookup(query) is None


def test_step_text(procedures: Procedures) -> None:
    proc = procedures.get("zitting")
    assert isinstance(proc, Procedure)
    n = len(proc.steps)
    assert procedures.step_text("zitting", 1, "nl") == f"Stap 2 van {n}: {proc.steps[1]['nl']}"
    assert procedures.step_text("zitting", 0, "en") == f"Step 1 of {n}: {proc.steps[0]['en']}"
    assert procedures.step_text("zitting", 0, "de") == procedures.step_text("zitting", 0, "nl")
    with pytest.raises(IndexError):
        procedures.step_text("zitting", n, "nl")
    with pytest.raises(KeyError):
        procedures.step_text("nope", 0, "nl")


def test_procedures_container(procedures: Procedures) -> None:
    assert len(procedures) == len(list(procedures)) >= 10
    assert procedures.get("nope") is None
    assert default_procedures() is procedures


def test_procedures_content_errors(glossary: Glossary) -> None:
    def proc(**overrides: object) -> dict:
        data = {
            "id": "p",
            "title": {"nl": "Titel", "en": "Title"},
            "keywords": ["klacht"],
            "steps": [{"nl": "Een.", "en": "One."}],
            "related_terms": ["ots"],
            "source": "https://example.org/",
        }
        data.update(overrides)
        return data

    assert len(Procedures.from_data({"procedures": [proc()]}, glossary=glossary)) == 1
    cases = [
        (proc(related_terms=["no-such-term"]), "not an id in the glossary"),
        (proc(keywords=["hoe is het"]), "only small words"),
        (proc(steps=[{"nl": "Een."}]), "en"),
        (proc(steps=[{"nl": "Een.", "en": "One.", "source": "example.org"}]), "http"),
        (proc(title={"nl": "Titel"}), "title.en"),
    ]
    for data, needle in cases:
        with pytest.raises(ContentError, match=needle):
            Procedures.from_data({"procedures": [data]}, glossary=glossary)
    with pytest.raises(ContentError, match="used twice"):
        Procedures.from_data({"procedures": [proc(), proc()]}, glossary=glossary)
