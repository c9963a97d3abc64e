"""nlu.parse(): Rasa-shaped result, intents (incl. story-vs-question precision), entities,
language, safety, odd input; and the extracted intent model."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import nlu
from nlu import intents, parse
from nlu.glossary import default_glossary
from nlu.procedures import default_procedures
from nlu.safety import assess

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def glossary():
    return default_glossary()


# --------------------------------------------------------------------------------------------
# Shape
# --------------------------------------------------------------------------------------------


def test_to_dict_has_rasa_shape_plus_safety_and_language():
    d = parse("wat betekent OTS?").to_dict()
    assert set(d) == {"text", "intent", "intent_ranking", "entities", "safety", "language"}
    assert d["text"] == "wat betekent OTS?"
    assert set(d["intent"]) == {"name", "confidence"}
    assert d["intent"]["name"] in nlu.INTENTS
    ranking = d["intent_ranking"]
    assert [r["name"] for r in ranking][0] == d["intent"]["name"]
    assert ranking[0]["confidence"] == d["intent"]["confidence"]
    assert sorted(r["name"] for r in ranking) == sorted(nlu.INTENTS)
    confs = [r["confidence"] for r in ranking]
    assert confs == sorted(confs, reverse=True)
    assert sum(confs) == pytest.approx(1.0, abs=1e-3)
    assert all(0.0 <= c <= 1.0 for c in confs)
    for ent in d["entities"]:
        assert set(ent) == {"entity", "value", "start", "end", "confidence", "extractor"}
        assert ent["entity"] == "jargon_term" and ent["extractor"] == "naast"
    assert set(d["safety"]) == {"level", "categories", "cues"}
    assert d["language"] in ("nl", "en")
    json.dumps(d)  # serialisable as is


def test_result_is_frozen():
    r = parse("hoi")
    with pytest.raises(AttributeError):
        r.intent = "relay"  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# Intents
# --------------------------------------------------------------------------------------------

INTENT_CASES = [
    # explain_term: short, direct questions about a word
    ("wat betekent OTS", "explain_term"),
    ("wat is een GI", "explain_term"),
    ("wat is een ots eigenlijk?", "explain_term"),
    ("uitleg zienswijze", "explain_term"),
    ("what does machtiging mean", "explain_term"),
    ("OTS?", "explain_term"),
    ("kun je uitleggen wat een beschikking is?", "explain_term"),
    # explain_procedure
    ("hoe werkt een zitting", "explain_procedure"),
    ("hoe dien ik een klacht in", "explain_procedure"),
    ("how do I appeal", "explain_procedure"),
    # ask_help
    ("ik heb hulp nodig", "ask_help"),
    ("help", "ask_help"),
    ("HELP!!", "ask_help"),
    ("i need help", "ask_help"),
    # small talk
    ("hoi", "greet"),
    ("Goedemorgen!", "greet"),
    ("hello", "greet"),
    ("dank je wel", "thanks"),
    ("thanks!", "thanks"),
    ("doei", "goodbye"),
    ("tot morgen", "goodbye"),
    ("bye", "goodbye"),
    # relay: the default; stories that merely mention jargon stay relay
    ("de jeugdbeschermer kwam vandaag langs en ik was zo boos", "relay"),
    ("de OTS is weer verlengd en ik ben er kapot van", "relay"),
    ("we hebben de OTS al twee jaar", "relay"),
    ("de GI belt nooit terug", "relay"),
    ("mijn zienswijze is af", "relay"),
    ("morgen is de zitting", "relay"),
    ("ik heb een klacht ingediend", "relay"),
    ("ok", "relay"),
    ("ja", "relay"),
    ("they extended the OTS again", "relay"),
]


@pytest.mark.parametrize(("text", "intent"), INTENT_CASES)
def test_intent(text, intent):
    assert parse(text).intent == intent


@pytest.mark.parametrize(
    ("story", "question"),
    [
        ("de OTS is verlengd tot maart", "wat is een ots eigenlijk?"),
        ("de GI heeft weer niet gebeld", "wat is een GI?"),
        ("ik heb de beschikking gekregen", "wat betekent beschikking?"),
        ("mijn zienswijze is naar de rechter", "wat is een zienswijze"),
        ("de machtiging is verlengd", "what does machtiging mean"),
    ],
)
def test_story_mentioning_jargon_is_relay_but_the_question_is_explain(story, question):
    s, q = parse(story), parse(question)
    assert s.intent == "relay", s.intent_ranking
    assert q.intent == "explain_term", q.intent_ranking
    # the story still gets its jargon spotted, so the bot can offer an explanation
    assert s.entities and s.entities[0].term_id == q.term_id


def test_long_story_ending_in_a_question_goes_to_the_maatje():
    text = (
        "Hoi, mijn zoon heeft sinds maart een OTS. De jeugdbeschermer zegt dat het goed gaat maar ik "
        "merk er thuis helemaal niks van en ik word er zo moe van. Wat betekent dat eigenlijk voor ons?"
    )
    assert parse(text).intent == "relay"


def test_explain_term_gives_the_asked_term(glossary):
    r = parse("wat is een ots eigenlijk?")
    assert r.intent == "explain_term"
    assert r.term_id == glossary.lookup("OTS").term_id
    assert parse("what does machtiging mean").term_id == glossary.lookup("machtiging").term_id
    assert parse("hoi").term_id is None


def test_explain_procedure_gives_the_procedure():
    procedures = default_procedures()
    r = parse("hoe dien ik een klacht in")
    assert r.intent == "explain_procedure"
    assert r.procedure_id is not None
    assert r.procedure_id == procedures.lookup("hoe dien ik een klacht in").id
    assert parse("hoi").procedure_id is None


@pytest.mark.parametrize(
    "text",
    [t for t, _ in INTENT_CASES]
    + ["wat betekent dat?", "wat is jouw naam", "hoe overleef ik dit", "hoe werkt een flurbel", "wat is een pgb"]
    + ["hoe schrijf je een zienswijze", "wat is een klachtenprocedure", "how does it work?", "uitleg"],
)
def test_explain_intents_always_carry_what_to_explain(text):
    r = parse(text)
    if r.intent == "explain_term":
        assert default_glossary().get(r.term_id) is not None
    if r.intent == "explain_procedure":
        assert default_procedures().get(r.procedure_id) is not None


def test_nothing_to_explain_goes_to_the_maatje():
    for text in ("wat betekent dat?", "wat is jouw naam", "what does that mean?"):
        assert parse(text).intent == "relay", text


def test_relay_has_no_term_or_procedure_id():
    r = parse("de OTS is weer verlengd en ik ben er kapot van")
    assert r.term_id is None and r.procedure_id is None


# --------------------------------------------------------------------------------------------
# Entities
# --------------------------------------------------------------------------------------------


def test_entities_point_into_the_original_text(glossary):
    text = "Hé, de GI en de Raad voor de Kinderbescherming willen een OTS. Wat nu?"
    r = parse(text)
    surfaces = [text[e.start : e.end] for e in r.entities]
    assert "GI" in surfaces and "OTS" in surfaces
    assert any(s.lower().startswith("raad") for s in surfaces)
    for e in r.entities:
        assert 0 <= e.start < e.end <= len(text)
        term = glossary.get(e.term_id)
        assert term is not None and e.value == term.term  # canonical Dutch term
        assert 0.0 < e.confidence <= 1.0
    starts = [e.start for e in r.entities]
    assert starts == sorted(starts)


def test_entity_offsets_survive_accents_and_emoji():
    text = "😡😡 Wéér die OTS!!"
    r = parse(text)
    [ent] = [e for e in r.entities if text[e.start : e.end].lower() == "ots"]
    assert r.to_dict()["entities"][0]["start"] == ent.start


def test_no_jargon_no_entities():
    assert parse("vandaag was een goede dag").entities == ()


# --------------------------------------------------------------------------------------------
# Text folding (nlu.text): the fast path equals the character-by-character definition
# --------------------------------------------------------------------------------------------


def test_fold_with_map_equals_the_reference():
    import random

    from nlu.text import _fold_reference, fold_with_map

    fast = fold_with_map.__wrapped__  # uncached
    for cp in [*range(0x3000), *range(0xFB00, 0xFB50), *range(0x1F600, 0x1F650)]:
        if 0xD800 <= cp < 0xE000:
            continue
        ch = chr(cp)
        for text in (ch, ch * 3, f"a{ch * 3}b", f" {ch}  ", ch * 2):
            assert fast(text) == _fold_reference(text), repr(text)
    rng = random.Random(7)
    alphabet = list("aaabbbAAA   \t\n\u00a0\u2003éèëïÉ\u0301\u0308!!..xX1ßẞİﬀﬁ…½😟\u200b-'")
    for _ in range(20000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        assert fast(text) == _fold_reference(text), repr(text)
    from nlu.bench import make_letter

    letter = make_letter()
    assert fast(letter) == _fold_reference(letter)
    assert fast(letter.replace("ï", "i")) == _fold_reference(letter.replace("ï", "i"))


def test_fold_with_map_is_immutable_and_cached():
    from nlu.text import fold, fold_with_map

    text = "Ik ben zóóóó BANG\n\n  voor de OTS!!!"
    folded, pos = fold_with_map(text)
    assert folded == "ik ben zoo bang voor de ots!!!" == fold(text)
    assert isinstance(pos, tuple) and len(pos) == len(folded)
    assert [text[p] for p in pos[:3]] == ["I", "k", " "]
    assert fold_with_map(text) is fold_with_map(text)


# --------------------------------------------------------------------------------------------
# Language
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("wat betekent OTS?", "nl"),
        ("de jeugdbeschermer kwam vandaag langs", "nl"),
        ("what does machtiging mean", "en"),
        ("I need help with my son", "en"),
        ("help", "nl"),  # ambiguous: default Dutch
        ("", "nl"),
        ("👍", "nl"),
    ],
)
def test_language(text, lang):
    assert parse(text).language == lang


def test_lang_argument_overrides_detection():
    assert parse("what does OTS mean", lang="nl").language == "nl"
    assert parse("wat betekent OTS", lang="EN").language == "en"
    assert parse("wat betekent OTS", lang="fr").language == "nl"  # unsupported: detect


# --------------------------------------------------------------------------------------------
# Safety
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "hoi",
        "wat betekent OTS?",
        "ik wil niet meer leven",
        "hij slaat me en ik ben bang",
        "I want to kill myself",
        "",
    ],
)
def test_safety_is_always_present_and_local(text):
    r = parse(text)
    assert r.safety.to_dict() == assess(text).to_dict()
    assert r.to_dict()["safety"] == assess(text).to_dict()


def test_acute_message_is_acute_whatever_the_intent():
    text = "help, ik wil niet meer leven"
    r = parse(text)
    expected = assess(text).level
    assert r.safety.level == expected
    assert r.is_acute == (expected == "acute")


# --------------------------------------------------------------------------------------------
# Odd input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n\t\n",
        "???",
        "😀😀😀",
        "\x00\x01\x02",
        "a",
        "ots " * 5000,
        "x" * 100_000,
        "Wat betekent OTS? " * 3000,
        "\u200b\u200d",
        "ﬁ ǅ ẞ",
    ],
)
def test_odd_input_never_raises(text):
    r = parse(text)
    assert r.intent in nlu.INTENTS
    assert r.language in ("nl", "en")
    json.dumps(r.to_dict())
    for e in r.entities:
        assert 0 <= e.start < e.end <= len(text)


def test_empty_is_relay():
    r = parse("")
    assert r.intent == "relay" and r.entities == () and r.safety.level == "none"


def test_long_letter_is_relay_and_each_term_is_spotted_once(glossary):
    letter = ("De kinderrechter heeft de OTS verlengd. De GI schrijft een plan van aanpak. " * 100).strip()
    r = parse(letter)
    assert r.intent == "relay"
    expected = {glossary.lookup(w).term_id for w in ("kinderrechter", "OTS", "GI", "plan van aanpak")}
    assert set(r.term_ids) == expected
    assert len(r.entities) == len(expected)  # distinct terms, at their first occurrence
    assert all(e.end < 80 for e in r.entities)


def test_non_string_is_a_type_error():
    with pytest.raises(TypeError):
        parse(None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# Model and loading
# --------------------------------------------------------------------------------------------


def test_training_data_has_enough_examples_per_intent_in_both_languages():
    from nlu.language import detect

    examples = intents.load_examples()
    for name in nlu.INTENTS:
        mine = [e for e in examples if e.intent == name]
        assert len(mine) >= 25, name
        langs = {detect(e.text) for e in mine}
        assert langs == {"nl", "en"}, name
    explain = [e for e in examples if e.intent == "explain_term"]
    assert all(any(a.entity == "jargon_term" for a in e.entities) for e in explain)


def test_rasa_training_data_is_in_sync_with_the_glossary(glossary):
    """nlu/data/nlu.yml's synonyms/lookup block is generated from the glossary; if this fails,
    run: .venv/bin/python -m nlu.build_rasa_data"""
    from nlu import build_rasa_data

    current = build_rasa_data.DATA_PATH.read_text(encoding="utf-8")
    block, _ = build_rasa_data.generated_block(glossary)
    assert build_rasa_data.render(current, block) == current, "run: python -m nlu.build_rasa_data"
    assert build_rasa_data.unresolved_annotations(build_rasa_data.DATA_PATH, glossary) == []


def test_rasa_training_data_is_valid_rasa_yaml():
    import yaml

    doc = yaml.safe_load(intents.DATA_PATH.read_text(encoding="utf-8"))
    assert doc["version"] == "3.1"
    kinds = [next(k for k in ("intent", "synonym", "lookup") if k in item) for item in doc["nlu"]]
    assert set(kinds) == {"intent", "synonym", "lookup"}
    assert sorted(item["intent"] for item in doc["nlu"] if "intent" in item) == sorted(nlu.INTENTS)
    for item in doc["nlu"]:
        assert isinstance(item["examples"], str)
        assert all(line.startswith("- ") for line in item["examples"].strip().splitlines())


def test_make_nlu_is_reexported():
    from nlu.rasa import make_nlu

    assert nlu.make_nlu is make_nlu
    with pytest.raises(AttributeError):
        nlu.no_such_thing  # noqa: B018


def test_rasa_markup_is_stripped():
    text, anns = intents.strip_markup('wat is een [OTS](jargon_term) of [gi]{"entity": "jargon_term", "value": "GI"}?')
    assert text == "wat is een OTS of gi?"
    assert [(text[a.start : a.end], a.entity, a.value) for a in anns] == [
        ("OTS", "jargon_term", "OTS"),
        ("gi", "jargon_term", "GI"),
    ]


def test_extracted_model_matches_scikit_learn():
    """The numpy predictor reproduces scikit-learn's predict_proba on the same features."""
    import numpy as np
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    examples = intents.load_examples()
    analysed = [intents.analyse(e.text) for e in examples]
    wv = TfidfVectorizer(analyzer=lambda x: x, sublinear_tf=True, lowercase=False)
    cv = TfidfVectorizer(analyzer=lambda x: x, sublinear_tf=True, lowercase=False)
    x = sp.hstack([wv.fit_transform([a[0] for a in analysed]), cv.fit_transform([a[1] for a in analysed])]).tocsr()
    clf = LogisticRegression(C=10.0, max_iter=5000, class_weight="balanced").fit(x, [e.intent for e in examples])
    model = intents.train(examples, c=10.0)
    probe = ["wat betekent OTS eigenlijk?", "de zitting was zwaar", "hoi!", "how do I appeal", "zzz"]
    pa = [intents.analyse(t) for t in probe]
    xp = sp.hstack([wv.transform([a[0] for a in pa]), cv.transform([a[1] for a in pa])]).tocsr()
    expected = clf.predict_proba(xp)
    got = np.array([[model.predict_proba(t)[c] for c in clf.classes_] for t in probe])
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_model_round_trips_through_npz(tmp_path):
    model = intents.get_model()
    path = tmp_path / "m.npz"
    model.save(path)
    again = intents.IntentModel.load(path)
    for text in ("wat is een GI?", "doei", "de OTS is verlengd"):
        assert again.predict_proba(text) == pytest.approx(model.predict_proba(text))


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_import_is_light_and_serving_never_imports_scikit_learn(tmp_path):
    """Importing nlu loads no numpy/sklearn; training (intent model and safety classifier) runs in
    a child process and the serving process only loads the cached numpy arrays."""
    code = (
        "import sys, nlu\n"
        "assert 'numpy' not in sys.modules and 'sklearn' not in sys.modules, 'heavy import'\n"
        "from nlu import intents\n"
        "intents.get_model()\n"
        "assert intents.classify('wat betekent OTS?').name == 'explain_term'\n"
        "assert 'sklearn' not in sys.modules, 'sklearn imported while serving'\n"
        "assert nlu.parse('wat betekent OTS?').intent == 'explain_term'\n"
        "from nlu import classifier\n"
        "assert classifier.get_model() is not None\n"
        "nlu.warm_up()\n"
        "nlu.parse('ik heb alle pillen gespaard en neem ze vanavond')\n"
        "from nlu.bench import make_letter\n"
        "nlu.parse(make_letter())\n"
        "assert 'sklearn' not in sys.modules, 'sklearn imported while serving (safety)'\n"
    )
    cache = tmp_path / "cache"
    first = _run(code, NAAST_NLU_CACHE_DIR=str(cache))  # trains (child process) and caches
    assert first.returncode == 0, first.stderr
    assert list(cache.glob("intents-*.npz"))
    assert list(cache.glob("safety-*.npz"))
    second = _run(code, NAAST_NLU_CACHE_DIR=str(cache))  # cache hit
    assert second.returncode == 0, second.stderr


def test_in_process_training_fallback_works(tmp_path):
    code = (
        "import sys\n"
        "from nlu import intents\n"
        "assert intents.classify('doei').name == 'goodbye'\n"
        "assert 'sklearn' in sys.modules\n"
    )
    res = _run(code, NAAST_NLU_CACHE_DIR=str(tmp_path), NAAST_NLU_TRAIN_INPROCESS="1")
    assert res.returncode == 0, res.stderr
    assert len(list(tmp_path.glob("intents-*.npz"))) == 1


def test_warm_up_loads_everything():
    nlu.warm_up()
    assert nlu._glossary() is not None and nlu._procedures() is not None
    assert intents.get_model() is intents.get_model()
