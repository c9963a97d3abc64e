"""Behaviour tests for safety-signal detection (nlu.safety, nlu.classifier, nlu.safety_eval)."""

from __future__ import annotations

import ast
import dataclasses
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from rapidfuzz import fuzz, process

from nlu import classifier, safety
from nlu.safety import CATEGORIES, Cue, SafetyResult, assess
from nlu.safety_eval import evaluate, load_tsv
from nlu.text import fold

NLU = Path(safety.__file__).parent
DEV = NLU / "data" / "safety_dev.tsv"
TRAIN = NLU / "data" / "safety_train.tsv"


def level(text: str) -> str:
    return assess(text).level


# ---------------------------------------------------------------------------------------------
# Behaviour table (written for these tests; not taken from the dev set)
# ---------------------------------------------------------------------------------------------

ACUTE = [
    # violence now / threatened
    "hij slaat me nu al een half uur en ik kan nergens heen",
    "mijn man schopt me terwijl ik op de grond lig",
    "m'n ex staat beneden en trapt tegen de deur, hij wil binnenkomen",
    "hij heeft me zonet bij mijn keel gepakt",
    "help hij is door het dolle heen en gooit met alles",
    "ze zegt dat ze me vannacht komt vermoorden",
    "he's punching me in the kitchen right now",
    "my husband just threw me against the wall",
    "he said he'll stab me if i call anyone and he's still here",
    # weapon
    "hij heeft een mes in zijn hand en staat in de deuropening",
    "mijn zoon zwaait met een pistool",
    "he pulled a knife and is waving it at the kids",
    # suicide intent / plan
    "ik heb een strip slaappillen klaarliggen voor vanavond",
    "ik ga vannacht een einde aan mijn leven maken",
    "ik sta op het dak en ik ga springen",
    "ik heb afscheidsbrieven geschreven voor mijn kinderen",
    "i'm going to take every pill i have tonight",
    "i've got the rope ready and i'm going to do it",
    # child missing / taken
    "mijn zoon van 8 is sinds school niet thuisgekomen en niemand heeft hem gezien",
    "mijn dochter is vermist",
    "hun vader heeft de kinderen meegenomen en nu weet ik niet waar ze zijn",
    "my daughter ran away from the group home last night and no one knows where she is",
    # child left unsafe
    "de kinderen van 2 en 3 zijn alleen thuis en ik kom niet weg",
    "hij is straalbezopen en wil met de kinderen in de auto naar huis rijden",
    # medical
    "mijn vriend is bewusteloos en ademt heel zwak",
    "mijn dochter heeft een vaatwastablet doorgeslikt",
    "my son is having a seizure and won't stop shaking",
    "she collapsed and isn't breathing",
]

CONCERN = [
    # violence afterwards
    "twee weken geleden heeft hij me geslagen",
    "toen we nog getrouwd waren mishandelde hij me",
    "mijn ex heeft me vorig jaar gewurgd",
    "he hit me last summer and i never reported it",
    # ongoing fear
    "ik ben bang voor mijn ex als hij gedronken heeft",
    "ik voel me niet veilig in huis met hem",
    "i'm scared of my ex-husband",
    # passive death wishes
    "ik zie het echt allemaal niet meer zitten",
    "soms hoop ik dat ik gewoon niet meer wakker word",
    "ik wil niet meer leven",
    "sometimes i wish i was dead",
    "honestly i don't want to be alive anymore",
    # self-harm, past or ongoing
    "mijn dochter krast in haar armen",
    "ik heb mezelf vroeger gesneden",
    "my son has been cutting himself",
    # relapse with children
    "ik heb gisteravond weer gebruikt toen de kinderen thuis waren",
    "i got drunk again while i had the kids",
]

NONE = [
    # youth-care system talk with scary-sounding words
    "de rechter heeft de ots met een jaar verlengd",
    "ze willen mijn kind uit huis plaatsen",
    "de raad voor de kinderbescherming doet een onderzoek naar ons gezin",
    "ik heb een spoedmachtiging gekregen en de kinderen zijn in een crisisplaatsing",
    "veilig thuis heeft een melding gekregen van school",
    "the judge extended the supervision order",
    "they want to take my son into care",
    # everyday
    "mijn zoon heeft vandaag zijn zwemdiploma gehaald",
    "kun je morgen mee naar de zitting",
    "ik mis mijn kinderen",
    "my daughter started at a new school today",
    "",
]

FIGURATIVE = [
    "ik ga dood van het lachen",
    "ik ben echt doodmoe",
    "hij sloeg de plank volledig mis",
    "mijn dochter slaat de deur dicht als ze boos is",
    "ik schrik me dood van die brief",
    "dat gesprek was dodelijk saai",
    "ik lach me dood om die gezinsvoogd",
    "ik ga dood van de honger",
    "ik vermoord je als je mijn chips opeet",
    "ik kan die jeugdbeschermer wel schieten",
    "dat slaat nergens op",
    "ik ben er kapot van",
    "you're killing it at work",
    "i'm dying to see my kids",
    "this traffic is killing me",
    "i could murder a burger",
    "i'm dead tired",
    "she stabbed me in the back with that report",
    "my phone died",
    "we watched a film where a man gets shot",
]

NEGATED = [
    "hij slaat me niet",
    "hij heeft me nooit geslagen",
    "ik denk niet aan zelfmoord",
    "ik denk niet meer aan zelfmoord",
    "ik ben niet bang voor hem",
    "er is geen geweld in ons huis",
    "ik heb geen zelfmoordgedachten",
    "ik zou mijn kinderen nooit iets aandoen",
    "he doesn't hit me",
    "he has never hurt me",
    "i'm not suicidal",
    "i'm no longer afraid of him",
    "i would never hurt myself",
]


@pytest.mark.parametrize("text", ACUTE)
def test_acute(text: str) -> None:
    assert level(text) == "acute", assess(text)


@pytest.mark.parametrize("text", CONCERN)
def test_concern(text: str) -> None:
    assert level(text) == "concern", assess(text)


@pytest.mark.parametrize("text", NONE)
def test_none(text: str) -> None:
    assert level(text) == "none", assess(text)


@pytest.mark.parametrize("text", FIGURATIVE)
def test_figurative_does_not_alarm(text: str) -> None:
    assert level(text) == "none", assess(text)


@pytest.mark.parametrize("text", NEGATED)
def test_negation(text: str) -> None:
    assert level(text) == "none", assess(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "niet meer leven" is a cue, not a negation
        ("ik wil niet meer leven", "concern"),
        ("ik denk niet meer aan zelfmoord", "none"),
        ("ik zie het niet meer zitten", "concern"),
        ("ik zie het niet zitten om morgen naar de zitting te gaan", "none"),
        ("i don't want to live anymore", "concern"),
        ("i don't want to die", "none"),
        # negation in another clause does not reach the cue
        ("ik weet niet meer wat ik moet doen hij slaat me", "acute"),
        ("hij slaat niet alleen mij maar ook de kinderen", "acute"),
    ],
)
def test_negation_scope(text: str, expected: str) -> None:
    assert level(text) == expected, assess(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a film / game / "haha" nearby does not silence violence aimed at the parent or family
        ("hij slaat me terwijl de film aan staat", "acute"),
        ("hij sloeg me terwijl de film aan stond", "concern"),
        ("haha nee serieus hij slaat me echt", "acute"),
        ("lol he hit me again", "concern"),
        # ...but a context word that frames a story still does
        ("in de film slaat hij haar in elkaar", "none"),
        ("ik droomde dat hij me sloeg", "none"),
        ("op het nieuws zag ik dat hij haar heeft neergestoken", "none"),
        ("de kinderen spelen verstoppertje en ik kan mijn zoon niet vinden haha", "none"),
        # a help service named after violence is not an event
        ("ik heb het nummer van meldpunt huiselijk geweld gekregen", "none"),
        ("i called the domestic violence helpline for advice", "none"),
        ("er is huiselijk geweld bij ons thuis", "concern"),
        # reassurance
        ("ik zou mezelf nooit iets aandoen, daarvoor hou ik te veel van mijn kinderen", "none"),
        ("i'm not thinking of ending my life, i just need help with the forms", "none"),
    ],
)
def test_context_silencers_are_narrow(text: str, expected: str) -> None:
    assert level(text) == expected, assess(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # found on the held-out writers of session 3: hard negatives and negation read too widely
        ("OMG hij heeft een mes gepakt uit de la and he's in the hallway", "acute"),
        ("ik heb net een ongeluk gehad op de fiets met mn zoontje, hij ligt op straat en beweegt niet", "acute"),
        ("de baby beweegt niet en ademt niet", "acute"),
        ("mijn man zegt dat hij zichzelf en mij iets aandoet", "acute"),
        ("hij dreigt zichzelf iets aan te doen", "acute"),
        # ...and one cue read too widely: dinner is not an overdose
        ("ik heb lasagne gemaakt en ze hebben alles opgegeten", "none"),
        ("ik heb alles ingenomen wat in de kast lag", "acute"),
        ("ze heeft de hele pot opgegeten, het waren slaappillen", "acute"),
    ],
)
def test_lexicon_reads_these_as_written(text: str, expected: str) -> None:
    assert safety._result(safety.lexicon_cues(text)[0]).level == expected, safety.debug_hits(text)


@pytest.mark.parametrize(
    "text",
    [
        # verb families x targets: unseen verbs, body parts, coordination, verb-final clauses
        "ze bijt en krabt me",
        "hij schopt tegen mijn buik",
        "ze gooit borden naar mijn hoofd",
        "de kinderen zeggen dat hij hun slaat en hij is nu thuis",
        "hij heeft onze dochter in de kast opgesloten",
        "he's got my son by the throat",
        "he's beating the crap out of me",
        # suicide intent
        "ik stap uit het leven",
        "ik ga mijn leven beeindigen",
        "ik ga voor de trein, sorry",
        "i have the pills in my hand",
        # child missing / unsafe
        "mijn dochter van 14 is onvindbaar",
        "my ex took the kids and isn't answering his phone",
        "hij laat de kinderen alleen in de auto",
    ],
)
def test_families_generalise_acute(text: str) -> None:
    assert level(text) == "acute", assess(text)


@pytest.mark.parametrize(
    "text",
    [
        "hij sloeg me vorige week met een stoel",
        "ik krab mezelf open als ik gestrest ben",
        "mijn dochter heeft sneetjes op haar armen",
        "ik ben het leven echt beu",
        "soms wil ik gewoon niet meer",
        "hij laat de kinderen vaak de hele avond alleen",
        "mijn dochter loopt vaak weg",
        "i'm afraid my ex will hurt me",
    ],
)
def test_families_generalise_concern(text: str) -> None:
    assert level(text) == "concern", assess(text)


@pytest.mark.parametrize(
    "text",
    [
        "de baby bijt op alles want ze krijgt tandjes",
        "we hebben de hond aan de lijn vastgebonden bij de supermarkt",
        "hij sloeg de spijker op zijn kop",
        "we hebben zelfmoordpreventie besproken op de ouderavond",
        "mijn zoon krast in zijn armen met een scherp mesje",  # self-harm, not a weapon threat
    ],
)
def test_families_do_not_overreach(text: str) -> None:
    result = assess(text)
    assert result.level == "none" or "weapon" not in result.categories, result
    if "mesje" not in text:
        assert result.level == "none", result


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hij slaat me", "acute"),
        ("hij slaat me soms", "concern"),  # habitual: ongoing but not now
        ("vorige week sloeg hij me", "concern"),
        ("hij heeft me geslagen", "concern"),
        ("hij heeft me net geslagen", "acute"),
        ("ik denk er soms aan om er een eind aan te maken", "concern"),
        ("ik maak er vanavond een eind aan", "acute"),
    ],
)
def test_time_changes_level(text: str, expected: str) -> None:
    assert level(text) == expected, assess(text)


@pytest.mark.parametrize(
    "text",
    [
        "mn ex slaat me",
        "mijn ex slaat me",
        "de vader van mn kinderen slaat me",
        "m'n ex-man slaat me",
        "MIJN EX SLAAT ME!!!",
        "mijn ex slaaaaat me",
        "hij slaat em",
    ],
)
def test_spelling_variants(text: str) -> None:
    assert level(text) == "acute", assess(text)


@pytest.mark.parametrize(
    "text",
    ["ik heb zelfmoordgedachten", "ik heb zelfmoort gedachten", "ik denk aan zelfmord", "im feeling suicidal"],
)
def test_typos_and_compounds(text: str) -> None:
    assert level(text) != "none"
    assert "suicide" in assess(text).categories


# ---------------------------------------------------------------------------------------------
# Result structure and offsets
# ---------------------------------------------------------------------------------------------


def test_result_structure() -> None:
    res = assess("Hij heeft een mes en hij slaat me!")
    assert isinstance(res, SafetyResult)
    assert res.level == "acute"
    assert res.categories == tuple(sorted(set(res.categories)))
    assert {"weapon", "violence"} <= set(res.categories)
    assert all(isinstance(c, Cue) and c.category in CATEGORIES for c in res.cues)
    assert all(c.level in ("concern", "acute") and c.source in ("lexicon", "classifier") for c in res.cues)
    assert res.level == max((c.level for c in res.cues), key=["none", "concern", "acute"].index)
    d = res.to_dict()
    assert set(d) == {"level", "categories", "cues"}
    assert isinstance(d["categories"], list)
    assert set(d["cues"][0]) == {"category", "level", "text", "start", "end", "source"}


def test_none_result_is_empty() -> None:
    res = assess("ik ben blij met mijn nieuwe huis")
    assert res == SafetyResult("none", (), ())
    assert res.to_dict() == {"level": "none", "categories": [], "cues": []}


@pytest.mark.parametrize(
    "text",
    [
        "Hij SLAAT me 😭😭 help",
        "mijn dochter is wéggelopen, ik weet niet waar ze is",
        "ik wil niet meeeeer leven",
        "Mijn ex’ slaat me; daarna zei hij: “ik maak je af”.",
        "he’s hitting me 🔪 he has a knife",
        "café\u0301 — hij heeft me geslagen",
    ],
)
def test_offsets_point_into_original_text(text: str) -> None:
    res = assess(text)
    assert res.cues
    for cue in res.cues:
        assert 0 <= cue.start < cue.end <= len(text)
        assert cue.text == text[cue.start : cue.end]
        assert cue.text.strip() == cue.text


def test_stretched_word_span_covers_all_letters() -> None:
    text = "ik ben zo baaaaang voor hem"
    (cue,) = [c for c in assess(text).cues if c.category == "fear"]
    assert cue.text == text[cue.start : cue.end]
    assert "baaaaang" in cue.text


def test_danger_buried_in_long_message() -> None:
    filler = (
        "vandaag was weer een lange dag, eerst naar school met de kinderen en daarna een gesprek "
        "met de gezinsvoogd over de planning van de bezoeken. "
    )
    danger = "Hij staat nu met een mes in de keuken en zegt dat hij me afmaakt."
    text = filler * 26 + danger + " " + filler * 12
    assert len(text) > 5000
    res = assess(text)
    assert res.level == "acute"
    assert {"weapon", "violence"} <= set(res.categories)
    start = text.index(danger)
    assert all(start <= c.start and c.end <= start + len(danger) for c in res.cues)
    assert assess(filler * 40).level == "none"


def test_danger_buried_without_punctuation() -> None:
    filler = "en toen zijn we naar de winkel gegaan en daarna naar oma en de kinderen waren heel druk "
    text = filler * 30 + "en nu heeft hij de kinderen meegenomen en ik weet niet waar ze zijn " + filler * 20
    assert assess(text).level == "acute"


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "😂😂😂", "🙏", "???", "...", "12345", "\x00\x01", "ⓗⓘ"])
def test_odd_input_is_none(text: str) -> None:
    assert assess(text).level == "none"


def test_non_string_input_never_raises() -> None:
    assert assess(None).level == "none"  # type: ignore[arg-type]
    assert assess(12).level == "none"  # type: ignore[arg-type]


def test_huge_input_never_raises() -> None:
    assert assess("bla " * 300_000).level == "none"
    assert assess("x" * 2_000_000).level == "none"


def test_emoji_only_danger() -> None:
    assert assess("hij heeft een 🔪 en bedreigt me").level == "acute"


# ---------------------------------------------------------------------------------------------
# Purity, thread safety, laziness, dependencies
# ---------------------------------------------------------------------------------------------


def test_pure_and_repeatable() -> None:
    text = "vorige week heeft hij me geslagen en ik ben bang"
    assert assess(text) == assess(text)


def test_thread_safe() -> None:
    texts = ACUTE + CONCERN + NONE + FIGURATIVE
    expected = [assess(t) for t in texts]
    barrier = threading.Barrier(4)

    def run(_: int) -> list[SafetyResult]:
        barrier.wait()
        return [assess(t) for t in texts]

    with ThreadPoolExecutor(4) as pool:
        for got in pool.map(run, range(4)):
            assert got == expected


def test_nlu_does_not_depend_on_bot() -> None:
    for name in ("safety.py", "classifier.py", "safety_eval.py"):
        tree = ast.parse((NLU / name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mods = [node.module or ""]
            else:
                continue
            assert not any(m == "bot" or m.startswith("bot.") for m in mods), (name, mods)


def test_lexicon_files_are_valid() -> None:
    lex = safety.load_lexicon()
    for name in safety.LEXICON_FILES:
        doc = yaml.safe_load((NLU / "lexicon" / name).read_text(encoding="utf-8"))
        for cue in doc["cues"]:
            cats = [cue["category"]] if isinstance(cue["category"], str) else cue["category"]
            assert set(cats) <= set(CATEGORIES)
            assert cue["level"] in ("concern", "acute")
    assert len(lex.rules) > 300
    cats = {c for r in lex.rules if r.kind == "cue" for c in r.categories}
    assert cats == set(CATEGORIES)


def test_lexicon_syntax_errors_are_reported() -> None:
    with pytest.raises(safety.LexiconError):
        safety.Lexicon([{"cues": [{"category": "violence", "level": "acute", "pattern": "~ slaat"}]}])
    with pytest.raises(safety.LexiconError):
        safety.Lexicon([{"cues": [{"category": "nonsense", "level": "acute", "pattern": "slaat"}]}])
    with pytest.raises(safety.LexiconError):
        safety.Lexicon([{"cues": [{"category": "violence", "level": "acute", "pattern": "@nogroup"}]}])


# ---------------------------------------------------------------------------------------------
# Hybrid rule: the combiner weighs lexicon, classifier and context, within fixed floors
# ---------------------------------------------------------------------------------------------


class _FakeModel:
    """Stands in for the classifier: calls every message `level` with probability `p`."""

    def __init__(self, level: str, p: float) -> None:
        self.level, self.p = level, p
        self.seen: list[str] = []

    def predict(self, texts: list[str]) -> list[classifier.Prediction]:
        self.seen.extend(texts)
        return [classifier.Prediction(self.level, "violence", self.p, self.p) for _ in texts]

    def whole(self, text: str) -> classifier.Prediction | None:
        self.seen.append(text)
        if len(text.split()) < classifier.NET_MIN_WORDS:
            return None
        return classifier.Prediction("acute", "violence", self.p, self.p if self.level == "acute" else 0.0)


def test_classifier_cannot_undo_negation_or_figures_of_speech(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(classifier, "get_model", lambda: _FakeModel("acute", 0.99))
    assert assess("hij heeft me nooit geslagen").level == "none"
    assert assess("hij slaat me niet, echt niet").level == "none"
    assert assess("i don't want to kill myself, i just need sleep").level == "none"


def test_classifier_lowers_lexicon_only_for_a_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(classifier, "get_model", lambda: _FakeModel("none", 0.0))
    # no joke, report, question, long-ago or resolved signal: the lexicon's level stands
    assert assess("hij slaat me nu en de kinderen zijn thuis").level == "acute"
    assert assess("er is huiselijk geweld bij ons thuis").level == "concern"
    # a reason may lower it, but an acute cue never below concern
    assert assess("volgens het verslag van 2019 slaat hij me met een mes").level in ("concern", "acute")
    lowered = assess("de juf zei dat mn zoon een jongen op het plein heeft geslagen, ze hebben het uitgepraat")
    assert lowered.level in ("none", "concern")


def test_classifier_can_raise_none(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeModel("acute", 0.99)
    monkeypatch.setattr(classifier, "get_model", lambda: fake)
    text = "hij kwam binnen en het ging helemaal mis met geweldadige dingen"
    res = assess(text)
    assert res.level == "acute"
    (cue,) = res.cues
    assert cue.source == "classifier"
    assert cue.text == text[cue.start : cue.end]


@pytest.mark.parametrize(
    ("score", "negated", "expected"),
    [
        (safety.SUPPRESSED_OVERRIDE + 0.05, False, "acute"),
        (safety.SUPPRESSED_OVERRIDE - 0.05, False, "none"),
        # a negation is never overruled, however sure the classifier is
        (0.999, True, "none"),
    ],
)
def test_classifier_overrules_a_hard_negative_only_when_very_sure(score: float, negated: bool, expected: str) -> None:
    # the lexicon's only cue was suppressed ("fiets": a fall in play) or negated
    whole = classifier.Prediction("acute", "medical", score, score)
    no_context = (False,) * len(safety.CONTEXT_SIGNALS)
    ev = safety.Evidence((), True, True, (), whole, (0, 40), no_context, False, negated)
    text = "hij is van de fiets gevallen en ligt stil"
    res = safety.decide(ev, text, _fixed(0.01, 0.98))
    assert res.level == expected
    if expected != "none":
        assert res.cues[0].source == "classifier" and res.categories == ("medical",)


def test_a_suppressed_cue_reaches_the_combiner_only_when_the_classifier_is_sure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "in de film slaat hij haar helemaal in elkaar"
    assert safety.lexicon_cues(text) == ([], {0})  # suppressed by the film, not negated
    unsure = _FakeModel("acute", safety.SUPPRESSED_OVERRIDE - 0.05)
    monkeypatch.setattr(classifier, "get_model", lambda: unsure)
    assert assess(text).level == "none"
    ev = safety.gather(text, _FakeModel("acute", 0.999))
    assert ev.silenced and not ev.negated and ev.whole is not None and ev.whole.score >= safety.SUPPRESSED_OVERRIDE


def _evidence(lexicon_level: str, p_acute: float, *, told: bool) -> safety.Evidence:
    cue = Cue("violence", lexicon_level, "sloeg me", 4, 12, "lexicon")
    whole = classifier.Prediction("acute", "violence", p_acute, p_acute)
    return safety.Evidence((cue,), False, True, (), whole, (0, 30), (False,) * len(safety.CONTEXT_SIGNALS), told)


def _fixed(p_concern: float, p_acute: float) -> safety.Combiner:
    """A combiner that answers these probabilities whatever the evidence."""
    import numpy as np

    p = np.array([1 - p_concern - p_acute, p_concern, p_acute])
    return safety.Combiner(np.zeros((len(safety.COMBINER_FEATURES), 3)), np.log(p), 0.4, 0.6)


@pytest.mark.parametrize(
    ("p_acute", "told", "expected"),
    [
        (safety.UPGRADE_MIN + 0.02, False, "acute"),
        (safety.UPGRADE_MIN - 0.02, False, "concern"),
        # a concern the lexicon read in the past tense needs a surer classifier to become acute
        (safety.TOLD_UPGRADE_MIN - 0.02, True, "concern"),
        (safety.TOLD_UPGRADE_MIN + 0.02, True, "acute"),
    ],
)
def test_raising_a_lexicon_concern_to_acute(p_acute: float, told: bool, expected: str) -> None:
    ev = _evidence("concern", p_acute, told=told)
    combiner = _fixed(0.99 - p_acute, p_acute)
    assert safety.decide(ev, "hij sloeg me en ik ben zo bang", combiner).level == expected


def test_a_recent_past_keeps_a_lexicon_concern_a_concern() -> None:
    recent = tuple(name == "recent" for name, _ in safety.CONTEXT_SIGNALS)
    ev = dataclasses.replace(_evidence("concern", 0.99, told=False), context=recent)
    assert safety.decide(ev, "hij heeft me gisteren geslagen", _fixed(0.005, 0.99)).level == "concern"


def test_told_cues_are_marked_by_the_lexicon() -> None:
    ev = safety.gather("hij sloeg me gisteren hard in mijn gezicht", None)
    assert ev.told_afterwards and {c.level for c in ev.lexicon} == {"concern"}
    ev = safety.gather("hij slaat me nu hard in mijn gezicht", None)
    assert not ev.told_afterwards


def test_the_current_blind_sets_are_never_learned_from() -> None:
    """safety_blind4*.tsv (scored once, session 3: the README's figures) and safety_blind5*.tsv
    (sealed for the next honest figure): no model, tuner or combiner fold may read them."""
    from nlu import safety_tune

    blind = sorted(classifier.DATA_DIR.glob("safety_blind[45]*.tsv"))
    assert len(blind) == 4, "a blind set is missing"
    learned = {f.name for f in classifier.data_files()}
    held = {f.name for pattern in safety_tune.HELD_OUT for f in classifier.DATA_DIR.glob(pattern)}
    assert not {f.name for f in blind} & (learned | held)


def test_every_match_contains_each_required_part_of_its_pattern() -> None:
    """The scanner skips a pattern when one of its required parts is missing from the sentence
    (`safety._required_sets`); sound only if every real match contains each part."""
    lex = safety.load_lexicon()
    rid = {id(rule): n for n, rule in enumerate(lex.rules)}
    checked = 0
    for text, _ in load_tsv(DEV):
        toks = safety._tokenize(text, lex)
        for hit in safety._scan(toks, lex, "cue") + safety._scan(toks, lex, "aux"):
            span = toks.norms[hit.start : hit.end]
            for words in lex.required[rid[id(hit.rule)]]:
                assert any(safety._word_ok(node, tok) for node in words for tok in span), (text, hit.rule.source)
                checked += 1
    assert checked > 1000


def test_combiner_file_matches_the_code() -> None:
    """The committed combiner was fitted for these features and context patterns."""
    spec = json.loads(safety.COMBINER_PATH.read_text(encoding="utf-8"))
    assert tuple(spec["features"]) == safety.COMBINER_FEATURES
    assert spec["context_digest"] == safety.context_digest()
    assert 0 < spec["acute"] < 1 and 0 < spec["flag"] < 1
    assert safety.load_combiner() is not None


def test_real_classifier_trains_and_predicts() -> None:
    model = classifier.get_model()
    assert model is not None
    preds = model.predict(["ik heb alle pillen gespaard en neem ze vanavond", "we gaan pannenkoeken bakken"])
    assert preds[0].level in ("concern", "acute") and preds[0].category in CATEGORIES
    assert preds[1].level == "none"
    probs = model.probabilities(["hij slaat me"])
    assert probs.shape == (1, 3) and abs(float(probs.sum()) - 1) < 1e-6


# ---------------------------------------------------------------------------------------------
# Data sets and evaluation
# ---------------------------------------------------------------------------------------------


def _rows(path: Path) -> list[list[str]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t")[:2] == ["text", "level"]
    return [line.split("\t") for line in lines[1:] if line.strip()]


def test_dev_set_shape() -> None:
    rows = _rows(DEV)
    assert len(rows) >= 450
    assert {r[1] for r in rows} == {"none", "concern", "acute"}
    for r in rows:
        assert len(r) == 3
        cats = [c for c in r[2].split(",") if c]
        assert set(cats) <= set(CATEGORIES)
        assert (r[1] == "none") == (not cats), r
    english = sum(1 for r in rows if _looks_english(r[0]))
    assert 0.2 <= english / len(rows) <= 0.4


def _looks_english(text: str) -> bool:
    words = set(fold(text).split())
    return len(words & {"the", "i", "i'm", "my", "he", "is", "and", "to", "me", "it", "im", "he's"}) >= 2


def test_train_set_shape() -> None:
    rows = classifier.load_rows(TRAIN)
    assert len(rows) >= 500
    assert {lvl for _, lvl, _ in rows} == {"none", "concern", "acute"}
    assert {cat for _, lvl, cat in rows if lvl != "none"} <= set(CATEGORIES)


def test_dev_and_train_do_not_overlap() -> None:
    dev = [fold(" ".join(r[0].split())) for r in _rows(DEV)]
    train = [fold(" ".join(t.split())) for t, _, _ in classifier.load_rows(TRAIN)]
    assert not set(dev) & set(train), "exact duplicates between dev and train"
    near = [
        (t, m[0]) for t in train if (m := process.extractOne(t, dev, scorer=fuzz.ratio, score_cutoff=90)) is not None
    ]
    assert not near, f"near-duplicates between dev and train: {near[:5]}"


def test_dev_set_targets() -> None:
    report = evaluate(load_tsv(DEV))
    acute, concern = report.per_label["acute"], report.per_label["concern"]
    assert acute.recall >= 0.98, report.format()
    assert concern.recall >= 0.90, report.format()
    assert report.false_alarm_rate <= 0.05, report.format()


def test_evaluate_counts() -> None:
    rows = [("a", "acute"), ("b", "acute"), ("c", "concern"), ("d", "none"), ("e", "none")]
    preds = {"a": "acute", "b": "concern", "c": "concern", "d": "acute", "e": "none"}
    report = evaluate(rows, lambda t: preds[t])
    assert report.n == 5
    assert report.confusion["acute"] == {"none": 0, "concern": 1, "acute": 1}
    assert report.per_label["acute"].recall == 0.5
    assert report.per_label["acute"].precision == 0.5
    assert report.per_label["concern"].precision == 0.5
    assert report.false_alarm_rate == 0.5
    assert report.flagged_recall["acute"] == 1.0
    assert len(report.errors) == 2
    table = report.format()
    assert "false-alarm rate" in table and "acute" in table and "confusion" in table


def test_evaluate_accepts_results_and_rejects_bad_labels() -> None:
    report = evaluate([("hij slaat me", "acute")], assess)
    assert report.per_label["acute"].recall == 1.0
    with pytest.raises(ValueError):
        evaluate([("x", "urgent")], lambda t: "none")


def test_load_tsv(tmp_path: Path) -> None:
    p = tmp_path / "s.tsv"
    p.write_text("text\tlevel\tcategories\nhij slaat me\tacute\tviolence\n\nhoi\tnone\t\n", encoding="utf-8")
    assert load_tsv(p) == [("hij slaat me", "acute"), ("hoi", "none")]


# --- the classifier's recall net --------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "ik heb het gevoel dat ik er vannacht een punt achter ga zetten",
        "mn vader zei dat hij mijn moeder vanavond iets gaat aandoen als ze niet opneemt",
        "ik hou het echt niet meer vol en heb een doosje paracetamol hier liggen",
    ],
)
def test_recall_net_catches_wording_the_lexicon_does_not_list(text):
    result = assess(text)
    assert result.level == "acute"
    assert [c.source for c in result.cues] == ["classifier"]
    assert result.cues[0].start == 0 and result.cues[0].end == len(text)


@pytest.mark.parametrize(
    "text",
    [
        "Tweede bericht",  # too short to be the model's call
        "hi, my name is Anna",  # no word near any danger word
        "Bericht 3 na de storing, terwijl de bot uit stond",
        "hallo, ik ben de vader van Daan",
    ],
)
def test_recall_net_leaves_ordinary_messages_alone(text):
    assert assess(text).level == "none"


# Families found in the first blind set (2026-11-22); wording here is new, not copied from it.
@pytest.mark.parametrize(
    "text",
    [
        "hij zei dat hij het huis in brand steekt als ik de kinderen niet terugbreng",
        "mijn vader ligt op de grond en reageert niet meer",
        "ik krijg haar niet wakker en haar lippen zijn blauw",
        "hij had een snoer om zijn nek in de schuur",
        "ik heb net de hele strip oxazepam ingenomen",
        "she swallowed a handful of her mum's sleeping pills",
        "my brother just drank bleach",
        "ze heeft de baby meegenomen naar het vliegveld",
        "my baby isn't responding and his lips are blue",
        "he's so drunk and he has the kids on his own tonight",
    ],
)
def test_blind_families_acute(text: str) -> None:
    assert assess(text).level == "acute"


@pytest.mark.parametrize(
    "text",
    [
        "ik heb al nagedacht over mijn eigen begrafenis",
        "zonder hen hoeft het voor mij niet meer",
        "if something happened to me on the way home i'd honestly be relieved",
        "een man stuurt mijn dochter geld en vraagt om foto's",
        "someone online asks my son to keep their chats a secret",
        "hij leest al mijn berichten en neemt mijn pinpas af",
        "he knows where the kids go to school, his brother texted me",
        "hij heeft me in mijn nek geknepen vorige maand",
    ],
)
def test_blind_families_concern_or_more(text: str) -> None:
    assert assess(text).level != "none"


@pytest.mark.parametrize(
    "text",
    [
        "ik sta met mijn rug tegen de muur met die verhuizing",
        "mag mijn zoon zijn zakmes van de scouting meenemen naar de pleegouders?",
        "is an airsoft gun allowed at the foster home?",
        "what happens if i report past violence, will it affect my case?",
        "the number of 113 suicide prevention, please",
        "ik heb slecht geslapen",
        "waarom reageert de voogd niet op mijn mail",
    ],
)
def test_blind_false_alarm_families_stay_none(text: str) -> None:
    assert assess(text).level == "none"


def test_settling_early_never_changes_a_level() -> None:
    """assess() skips the classifier when a lexicon acute cue has no reason to be lowered; on every
    labelled message that gives the same level as deciding from the full evidence."""
    model = classifier.get_model()
    combiner = safety.load_combiner()
    texts = [t for f in classifier.data_files() for t, _, _ in classifier.load_rows(f)]
    skipped = 0
    for text in texts:
        full = safety.decide(safety.gather(text, model), text, combiner)
        early = safety.gather(text, model, settled_early=True)
        skipped += early.whole is None and len(text.split()) >= classifier.NET_MIN_WORDS
        assert safety.decide(early, text, combiner).level == full.level, text
    assert skipped > 100  # the shortcut is really taken


def test_context_signals_fast_forms_match_as_written() -> None:
    """The split regexes used at run time find a context signal exactly where the pattern as
    written (and digested for the combiner) does."""
    texts = [t for f in classifier.data_files() for t, _, _ in classifier.load_rows(f)]
    texts += ["LOL", "hij zei 'haha' ?", "in 2013", "wat moet ik", "😂", "gezinsverslag", "don't", "nee"]
    for text in texts:
        written = tuple(bool(p.search(text.lower())) for _, p in safety.CONTEXT_SIGNALS)
        assert safety._context(text) == written, text
    assert any(safety._context("in de film slaat hij haar"))
