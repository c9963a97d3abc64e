"""Intent classification: a small linear model plus a few rules that beat it.

Model
    TF-IDF over word uni/bi-grams (plus a few shape tokens: question mark, message length,
    sentence start) and over character 2-5-grams inside words, feeding a multinomial logistic
    regression. It is trained with scikit-learn from ``nlu/data/nlu.yml`` the first time it is
    needed, then *extracted* into plain numpy arrays (vocabularies, idf weights, coefficients).
    Prediction is ~40 lines of numpy below and never imports scikit-learn.

    Importing scikit-learn costs ~100 MB of RSS, so training runs in a short-lived child process
    (``python -m nlu.intents train``) and the extracted arrays are cached as ``.npz`` under
    ``$NAAST_NLU_CACHE_DIR`` (default ``~/.cache/naast/nlu``), keyed by a hash of the training
    data and the feature code version (``nlu.modelcache``, shared with the safety classifier). A
    serving process therefore only ever loads numpy arrays. If the child process or the cache
    fails, we train in-process (correct, just bigger).

    Precision on explain_* comes from the data (stories that mention jargon are labelled relay)
    plus the gates below and in ``nlu.assemble`` (an explain intent needs something we can
    explain). Replacing spotted glossary terms by a placeholder token before featurising was
    tried and measured: no gain on the test set, so the model sees the plain text and does not
    depend on the glossary.

Rules (``classify``)
    * whole-message greetings / thanks / goodbyes / help calls -> that intent;
    * a message that is nothing but a known term ("OTS?") -> explain_term;
    * explain_* without any question cue, or longer than ``MAX_EXPLAIN_WORDS`` words -> relay;
    * any other model choice below ``FALLBACK_THRESHOLD`` confidence -> relay.
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nlu import modelcache
from nlu.modelcache import save_npz
from nlu.text import fold, words

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

INTENTS: tuple[str, ...] = (
    "explain_term",
    "explain_procedure",
    "ask_help",
    "greet",
    "thanks",
    "goodbye",
    "relay",
)
EXPLAIN_INTENTS = frozenset({"explain_term", "explain_procedure"})
DEFAULT_INTENT = "relay"

DATA_PATH = Path(__file__).parent / "data" / "nlu.yml"

# Bump when featurisation or training changes: it invalidates cached models.
FEATURE_VERSION = 4
MAX_CLASSIFY_CHARS = 500  # the model reads at most this much (explain questions are short)
MAX_EXPLAIN_WORDS = 25
FALLBACK_THRESHOLD = 0.4  # a model-chosen non-relay intent below this confidence becomes relay
MASK_TOKEN = "qqterm"  # placeholder for glossary terms in the only-terms rule

Span = tuple[int, int]

# --------------------------------------------------------------------------------------------
# Training data (Rasa YAML, parsed without Rasa)
# --------------------------------------------------------------------------------------------

# [surface](entity) | [surface](entity:value) | [surface]{"entity": ..., "value": ...}
_MARKUP = re.compile(r"\[(?P<surface>[^\]]+)\](?:\((?P<paren>[^)]*)\)|(?P<json>\{[^}]*\}))")


@dataclass(frozen=True)
class Annotation:
    start: int
    end: int
    entity: str
    value: str  # surface unless the markup gave an explicit value


@dataclass(frozen=True)
class Example:
    text: str
    intent: str
    entities: tuple[Annotation, ...] = ()


def strip_markup(text: str) -> tuple[str, tuple[Annotation, ...]]:
    """Remove Rasa entity markup; return the plain text and the entity spans in it."""
    out: list[str] = []
    anns: list[Annotation] = []
    pos = 0
    length = 0
    for m in _MARKUP.finditer(text):
        before = text[pos : m.start()]
        out.append(before)
        length += len(before)
        surface = m.group("surface")
        entity, value = "", surface
        if m.group("paren") is not None:
            entity, _, explicit = m.group("paren").partition(":")
            value = explicit or surface
        else:
            try:
                spec = json.loads(m.group("json"))
                entity = str(spec.get("entity", ""))
                value = str(spec.get("value", surface))
            except (ValueError, AttributeError):
                entity = ""
        anns.append(Annotation(length, length + len(surface), entity.strip(), value))
        out.append(surface)
        length += len(surface)
        pos = m.end()
    out.append(text[pos:])
    return "".join(out), tuple(anns)


def _example_lines(block: object) -> list[str]:
    if isinstance(block, list):
        return [str(x) for x in block]
    lines = []
    for line in str(block or "").splitlines():
        line = line.strip()
        if line.startswith("- "):
            lines.append(line[2:].strip())
        elif line == "-":
            continue
    return lines


def load_examples(path: str | Path = DATA_PATH) -> list[Example]:
    """All intent examples of a Rasa NLU YAML file (``nlu: - intent: ... examples: |``)."""
    import yaml

    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh) or {}
    examples: list[Example] = []
    for item in doc.get("nlu") or []:
        if not isinstance(item, dict) or "intent" not in item:
            continue
        intent = str(item["intent"]).strip()
        for line in _example_lines(item.get("examples")):
            plain, anns = strip_markup(line)
            if plain.strip():
                examples.append(Example(plain, intent, anns))
    return examples


# --------------------------------------------------------------------------------------------
# Features (shared by training and prediction, so both see exactly the same tokens)
# --------------------------------------------------------------------------------------------


def _masked(text: str, spans: Sequence[Span]) -> str:
    if not spans:
        return text
    parts, pos = [], 0
    for start, end in sorted(spans):
        if start < pos:  # overlapping spot results: keep the first
            continue
        parts.append(text[pos:start])
        parts.append(f" {MASK_TOKEN} ")
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _length_token(n: int) -> str:
    if n <= 1:
        return "__len1"
    if n <= 3:
        return "__len2"
    if n <= 7:
        return "__len4"
    if n <= 14:
        return "__len8"
    if n <= 25:
        return "__len15"
    return "__len26"


def analyse(text: str) -> tuple[list[str], list[str]]:
    """Word features and character features of a message."""
    return analyse_folded(fold(text[:MAX_CLASSIFY_CHARS]))


def analyse_folded(folded: str) -> tuple[list[str], list[str]]:
    """`analyse` for text that is already cut to MAX_CLASSIFY_CHARS and folded."""
    toks = words(folded)
    word_feats = list(toks)
    word_feats.extend(f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False))
    if toks:
        word_feats.append(f"__bos {toks[0]}")
        word_feats.append(f"{toks[-1]} __eos")
    word_feats.append(_length_token(len(toks)))
    if "?" in folded:
        word_feats.append("__q")
        if folded.rstrip().endswith("?"):
            word_feats.append("__qend")
    char_feats: list[str] = []
    for tok in toks:
        padded = f" {tok} "
        n = len(padded)
        for size in (2, 3, 4, 5):
            if size > n:
                break
            char_feats.extend(padded[i : i + size] for i in range(n - size + 1))
    return word_feats, char_feats


# --------------------------------------------------------------------------------------------
# The extracted model
# --------------------------------------------------------------------------------------------


def _tfidf(feats: Iterable[str], vocab: dict[str, int], idf: np.ndarray) -> tuple[list[int], np.ndarray]:
    import numpy as np

    counts: Counter[int] = Counter()
    for f in feats:
        j = vocab.get(f)
        if j is not None:
            counts[j] += 1
    if not counts:
        return [], np.zeros(0)
    idx = list(counts)
    vals = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64, count=len(idx))
    vals *= idf[idx]
    norm = math.sqrt(float(vals @ vals))
    if norm > 0:
        vals /= norm
    return idx, vals


@dataclass
class IntentModel:
    """Extracted TF-IDF + logistic regression; numpy only."""

    classes: tuple[str, ...]
    word_vocab: dict[str, int]
    word_idf: np.ndarray
    char_vocab: dict[str, int]
    char_idf: np.ndarray
    coef_t: np.ndarray  # (n_word + n_char, n_classes)
    intercept: np.ndarray  # (n_classes,)
    meta: dict = field(default_factory=dict)

    def predict_proba(self, text: str) -> dict[str, float]:
        return self.predict_proba_folded(fold(text[:MAX_CLASSIFY_CHARS]))

    def predict_proba_folded(self, folded: str) -> dict[str, float]:
        word_feats, char_feats = analyse_folded(folded)
        scores = self.intercept.copy()
        widx, wval = _tfidf(word_feats, self.word_vocab, self.word_idf)
        if widx:
            scores += wval @ self.coef_t[widx]
        cidx, cval = _tfidf(char_feats, self.char_vocab, self.char_idf)
        if cidx:
            offset = len(self.word_vocab)
            scores += cval @ self.coef_t[[offset + j for j in cidx]]
        scores = scores - scores.max()
        probs = _np().exp(scores)
        probs /= probs.sum()
        return {c: float(p) for c, p in zip(self.classes, probs, strict=True)}

    # -- persistence (plain arrays, no pickle) --------------------------------------------------

    def save(self, path: str | Path) -> None:
        import numpy as np

        save_npz(
            path,
            classes=np.array(self.classes),
            word_terms=np.array(_terms(self.word_vocab)),
            word_idf=self.word_idf,
            char_terms=np.array(_terms(self.char_vocab)),
            char_idf=self.char_idf,
            coef_t=self.coef_t,
            intercept=self.intercept,
            meta=np.array(json.dumps(self.meta)),
        )

    @classmethod
    def load(cls, path: str | Path) -> IntentModel:
        import numpy as np

        with np.load(path, allow_pickle=False) as z:
            return cls(
                classes=tuple(str(c) for c in z["classes"]),
                word_vocab={str(t): i for i, t in enumerate(z["word_terms"].tolist())},
                word_idf=z["word_idf"].astype(np.float64),
                char_vocab={str(t): i for i, t in enumerate(z["char_terms"].tolist())},
                char_idf=z["char_idf"].astype(np.float64),
                coef_t=np.ascontiguousarray(z["coef_t"], dtype=np.float64),
                intercept=z["intercept"].astype(np.float64),
                meta=json.loads(str(z["meta"])),
            )


def _np():
    import numpy

    return numpy


def _terms(vocab: dict[str, int]) -> list[str]:
    terms = [""] * len(vocab)
    for t, i in vocab.items():
        terms[i] = t
    return terms


# --------------------------------------------------------------------------------------------
# Training (scikit-learn, imported only here)
# --------------------------------------------------------------------------------------------


def train(examples: Sequence[Example], *, c: float = 10.0) -> IntentModel:
    """Fit TF-IDF + logistic regression with scikit-learn and extract it to numpy arrays."""
    import numpy as np
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    analysed = [analyse(ex.text) for ex in examples]
    labels = [ex.intent for ex in examples]

    def identity(x: list[str]) -> list[str]:
        return x

    word_vec = TfidfVectorizer(analyzer=identity, sublinear_tf=True, lowercase=False)
    char_vec = TfidfVectorizer(analyzer=identity, sublinear_tf=True, lowercase=False)
    xw = word_vec.fit_transform([a[0] for a in analysed])
    xc = char_vec.fit_transform([a[1] for a in analysed])
    x = sp.hstack([xw, xc]).tocsr()
    clf = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    clf.fit(x, labels)
    return IntentModel(
        classes=tuple(str(k) for k in clf.classes_),
        word_vocab={str(k): int(v) for k, v in word_vec.vocabulary_.items()},
        word_idf=np.asarray(word_vec.idf_, dtype=np.float64),
        char_vocab={str(k): int(v) for k, v in char_vec.vocabulary_.items()},
        char_idf=np.asarray(char_vec.idf_, dtype=np.float64),
        coef_t=np.ascontiguousarray(clf.coef_.T, dtype=np.float64),
        intercept=np.asarray(clf.intercept_, dtype=np.float64),
        meta={"n_examples": len(examples), "feature_version": FEATURE_VERSION, "C": c},
    )


def train_from_files(data_path: str | Path = DATA_PATH) -> IntentModel:
    return train(load_examples(data_path))


# --------------------------------------------------------------------------------------------
# Cache + lazy singleton
# --------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    return modelcache.cache_dir()


def cache_key(data_path: str | Path = DATA_PATH) -> str:
    return modelcache.cache_key(data_path, FEATURE_VERSION)


def build_model(data_path: str | Path = DATA_PATH, *, use_cache: bool = True) -> IntentModel:
    """Load the cached model for `data_path`, training (in a child process) when needed."""
    if not use_cache:
        return train_from_files(data_path)
    return modelcache.load_or_train(
        "intents",
        data_path,
        FEATURE_VERSION,
        module="nlu.intents",
        load=IntentModel.load,
        train=train_from_files,
        save=IntentModel.save,
        label="intent model",
    )


_lock = threading.Lock()
_model: IntentModel | None = None


def get_model() -> IntentModel:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = build_model()
    return _model


def set_model(model: IntentModel | None) -> None:
    """Replace the process-wide model (tests, experiments). None = reload lazily."""
    global _model
    with _lock:
        _model = model


# --------------------------------------------------------------------------------------------
# Rules + classification
# --------------------------------------------------------------------------------------------

_GREET = frozenset(
    "hoi hallo hey hee hi hello hiya heey goedemorgen goedemiddag goedenavond goeiemorgen "
    "goeiemiddag goeienavond morgen middag avond good morning afternoon evening there daar "
    "allemaal".split()
)
_GREET_CORE = frozenset(
    "hoi hallo hey hee hi hello hiya heey goedemorgen goedemiddag goedenavond goeiemorgen "
    "goeiemiddag goeienavond morning afternoon".split()
)
_THANKS = frozenset(
    "bedankt dank dankjewel dankjewel dankuwel thanks thank thx thnx tnx merci je jij u wel heel "
    "erg super hartelijk ontzettend you so much a lot many ok oke okay top fijn nogmaals again "
    "duidelijk".split()
)
_THANKS_CORE = frozenset("bedankt dank dankjewel dankuwel thanks thank thx thnx tnx merci".split())
_BYE = frozenset(
    "doei doeg dag tot ziens later morgen snel straks welterusten houdoe slaap lekker bye "
    "goodbye see you tomorrow soon good night cya ciao fijne avond nog ok oke".split()
)
_BYE_CORE = frozenset(
    "doei doeg tot ziens later welterusten slaap fijne houdoe bye goodbye cya ciao night tomorrow".split()
)
_HELP = frozenset(
    "help hulp sos nood noodgeval emergency urgent dringend ik heb nu nodig echt meteen snel "
    "me mij alsjeblieft alstublieft please i need now someone iemand het is een this an "
    "pls plz helpen".split()
)
_HELP_CORE = frozenset("help hulp sos nood noodgeval emergency urgent dringend helpen".split())

_QUESTION_CUES = frozenset(
    """
    wat wate watte hoe waar welke welk wanneer waarom wie uitleg uitleggen leg legt betekent
    betekenen betekenis bedoelen bedoelt bedoeld houdt snap begrijp verschil afkorting staat
    procedure stappen werkt verloopt gaat
    what whats how where which when who explain explanation mean means meaning difference
    stand understand steps procedure work works
    """.split()
)


@dataclass(frozen=True)
class IntentPrediction:
    name: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]  # every intent, best first
    source: str  # "model" | "rule:<name>" | "empty"


def _ranked(probs: dict[str, float]) -> tuple[tuple[str, float], ...]:
    full = {name: 0.0 for name in INTENTS}
    full.update(probs)
    return tuple(sorted(full.items(), key=lambda kv: (-kv[1], INTENTS.index(kv[0]) if kv[0] in INTENTS else 99)))


def _force(probs: dict[str, float], name: str, conf: float) -> dict[str, float]:
    """Give `name` confidence `conf`; share the rest among the others in their proportions."""
    rest = sum(p for k, p in probs.items() if k != name)
    out = {k: (p * (1.0 - conf) / rest if rest > 0 else 0.0) for k, p in probs.items() if k != name}
    out[name] = conf
    return out


def _whole_message_rule(toks: list[str]) -> str | None:
    if not toks or len(toks) > 8:
        return None
    s = set(toks)
    hits = []
    for name, allowed, core in (
        ("ask_help", _HELP, _HELP_CORE),
        ("greet", _GREET, _GREET_CORE),
        ("thanks", _THANKS, _THANKS_CORE),
        ("goodbye", _BYE, _BYE_CORE),
    ):
        if s <= allowed and s & core:
            hits.append(name)
    return hits[0] if len(hits) == 1 else None


def has_question_cue(text: str, toks: list[str] | None = None) -> bool:
    if "?" in text:
        return True
    toks = toks if toks is not None else words(fold(text))
    return any(t in _QUESTION_CUES for t in toks)


def _only_terms(text: str, spans: Sequence[Span]) -> bool:
    """True when the message is nothing but glossary terms (plus punctuation)."""
    if not spans:
        return False
    rest = _masked(text, spans).replace(MASK_TOKEN, " ")
    return not words(fold(rest))


def classify(text: str, spans: Sequence[Span] = (), model: IntentModel | None = None) -> IntentPrediction:
    """Classify a message. `spans` are the glossary terms spotted in it (for the only-terms rule)."""
    head = text[:MAX_CLASSIFY_CHARS]
    folded = fold(head)
    toks = words(folded)
    if not toks and "?" not in head:
        return IntentPrediction(DEFAULT_INTENT, 1.0, _ranked({DEFAULT_INTENT: 1.0}), "empty")

    probs = (model or get_model()).predict_proba_folded(folded)
    top = max(probs, key=probs.__getitem__)
    source = "model"

    rule = _whole_message_rule(toks)
    if rule:
        probs = _force(probs, rule, max(probs.get(rule, 0.0), 0.95))
        source = f"rule:{rule}"
    elif len(toks) <= 6 and _only_terms(head, spans):
        probs = _force(probs, "explain_term", max(probs.get("explain_term", 0.0), 0.9))
        source = "rule:only_term"
    elif top in EXPLAIN_INTENTS and (len(toks) > MAX_EXPLAIN_WORDS or not has_question_cue(head, toks)):
        probs = _force(probs, DEFAULT_INTENT, probs.get(DEFAULT_INTENT, 0.0) + probs[top])
        source = "rule:not_a_question"
    elif top != DEFAULT_INTENT and probs[top] < FALLBACK_THRESHOLD:
        # Unsure (Rasa's FallbackClassifier idea): when in doubt, the maatje reads it.
        probs = _force(probs, DEFAULT_INTENT, probs.get(DEFAULT_INTENT, 0.0) + probs[top])
        source = "rule:unsure"

    ranking = _ranked(probs)
    return IntentPrediction(ranking[0][0], ranking[0][1], ranking, source)


# --------------------------------------------------------------------------------------------
# `python -m nlu.intents train --data X --out Y` (used for child-process training)
# --------------------------------------------------------------------------------------------


def _main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m nlu.intents")
    sub = ap.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train", help="train from Rasa YAML and write the extracted model (.npz)")
    tr.add_argument("--data", default=str(DATA_PATH))
    tr.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    model = train_from_files(args.data)
    model.save(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
