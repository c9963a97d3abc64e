"""Safety classifier: the statistical safety net behind the lexicon in `nlu.safety`.

Design
======
- Training data: `nlu/data/safety_train.tsv` (text, level, category; Dutch and English). The
  model is trained with scikit-learn, then *extracted* into plain numpy arrays (vocabularies, idf
  weights, coefficients); prediction below is numpy only and never imports scikit-learn.
  Training runs once, in a short-lived child process (``python -m nlu.classifier train``), and
  the arrays are cached as ``.npz`` keyed by a hash of the training data and FEATURE_VERSION (see
  `nlu.modelcache`, shared with `nlu.intents`), so a serving process stays ~100 MB lighter. If
  the child or the cache fails, the model is trained in-process (correct, just bigger).
- Features: TF-IDF over character n-grams (3-5, within word boundaries) of the folded text, which
  tolerates typos, inflections and Dutch compounds ("geslagen"/"geslage"/"sloeg"), plus TF-IDF
  over word uni- and bigrams. The analysers here reproduce scikit-learn's ``char_wb`` and
  ``word`` analysers exactly and are used for training and prediction alike.
- Models: a multinomial logistic regression for the level (none/concern/acute) with balanced class
  weights, and a second one for the category, trained on the non-`none` rows. Logistic regression
  gives usable probabilities without a separate calibration step, which matters because the
  combiner and the thresholds read them as probabilities.
- Decision: not here. `nlu.safety.gather` asks this model for the whole message (`whole`, no
  threshold) and, where the lexicon found nothing, for its most alarming sentence (`predict`,
  with the high ACUTE_THRESHOLD / CONCERN_THRESHOLD below); `nlu.safety.decide` weighs those
  probabilities with the lexicon and context signals in the combiner fitted by `nlu.safety_tune`.
- Negation is not modelled here (character n-grams cannot see it reliably); that is one reason the
  classifier never overrides a negated lexicon cue.
"""

from __future__ import annotations

import csv
import functools
import json
import logging
import math
import re
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlu import modelcache
from nlu.text import fold

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "data"
TRAIN_PATH = DATA_DIR / "safety_train.tsv"
# Every labelled safety file the model learns from when given the data directory. The first three
# blind sets (safety_blind.tsv, safety_blind2.tsv, safety_blind3.tsv) are no longer blind: each was
# scored once, its errors were studied, and it became training data. safety_gen_*.tsv were written
# by independent writers (sessions 2 and 3) for training and for the leave-one-writer-out tuning in
# `nlu.safety_tune`. The current blind set, safety_blind4*.tsv, is never listed here.
TRAIN_GLOBS = (
    "safety_train.tsv",
    "safety_dev.tsv",
    "safety_probe_*.tsv",
    "safety_blind.tsv",
    "safety_blind2.tsv",
    "safety_blind3.tsv",
    "safety_gen_*.tsv",
)
# Below this many words a message carries too little evidence for the model ("Tweede bericht").
NET_MIN_WORDS = 4
LEVELS = ("none", "concern", "acute")
ACUTE_THRESHOLD = 0.95
CONCERN_THRESHOLD = 0.95
MAX_CHARS = 600  # longer sentences are classified in windows of this size
C = 8.0  # inverse regularisation strength of both logistic regressions

# Bump when featurisation or training changes: it invalidates cached models.
FEATURE_VERSION = 4

_lock = threading.Lock()


@dataclass(frozen=True)
class Prediction:
    level: str  # "none" | "concern" | "acute" after the thresholds
    category: str  # most likely category ("none" when level is none)
    score: float  # P(concern) + P(acute)
    p_acute: float


def load_rows(path: Path = TRAIN_PATH) -> list[tuple[str, str, str]]:
    """Rows of one TSV file, or of every TRAIN_GLOBS file when `path` is a directory."""
    if path.is_dir():
        return [row for pattern in TRAIN_GLOBS for f in sorted(path.glob(pattern)) for row in load_rows(f)]
    rows = []
    with open(path, encoding="utf-8", newline="") as fh:
        for i, rec in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)):
            if not rec or rec[0].startswith("#") or (rec[0] == "text" and len(rec) > 1 and rec[1].strip() == "level"):
                continue
            text, level = rec[0], rec[1].strip()
            category = rec[2].strip() if len(rec) > 2 and rec[2].strip() else "none"
            if level not in LEVELS:
                raise ValueError(f"{path}:{i + 1}: bad level {level!r}")
            rows.append((text, level, category.split(",")[0]))
    return rows


# --------------------------------------------------------------------------------------------
# Features (shared by training and prediction)
# --------------------------------------------------------------------------------------------

_STRETCH = re.compile(r"([a-z])\1{2,}")
_WORD_TOKEN = re.compile(r"(?u)\b\w[\w']*\b")


def _prep(text: str) -> str:
    """Folded text (as nlu.text.fold) with single spaces; plain ASCII takes a fast path."""
    if text.isascii():
        return " ".join(_STRETCH.sub(r"\1\1", text.lower()).split())
    return " ".join(fold(text).split())


def char_ngrams(prepped: str) -> list[str]:
    """Character 3-5-grams inside space-padded words: scikit-learn's ``char_wb`` analyser with
    ``ngram_range=(3, 5)`` (a word shorter than n counts once, as the whole padded word)."""
    out: list[str] = []
    append = out.append
    for w in prepped.lower().split():
        w = f" {w} "
        n_w = len(w)
        for n in (3, 4, 5):
            if n_w <= n:
                append(w)
                break
            for i in range(n_w - n + 1):
                append(w[i : i + n])
    return out


def word_ngrams(prepped: str) -> list[str]:
    """Word uni- and bigrams: scikit-learn's ``word`` analyser with this token pattern."""
    toks = _WORD_TOKEN.findall(prepped.lower())
    return toks + [f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)]


_ANALYSERS = (char_ngrams, word_ngrams)


def _block(feats: list[str], vocab: dict[str, int], idf: np.ndarray, offset: int, idx: list[int], val: list[float]):
    """Append the L2-normalised sublinear TF-IDF entries of one feature block."""
    cols: list[int] = []
    tfs: list[float] = []
    for gram, count in Counter(feats).items():
        j = vocab.get(gram)
        if j is not None:
            cols.append(j)
            tfs.append(1.0 + math.log(count))
    if not cols:
        return
    v = np.asarray(tfs) * idf[cols]
    v /= math.sqrt(float(v @ v))
    idx.extend(offset + j for j in cols)
    val.extend(v.tolist())


# --------------------------------------------------------------------------------------------
# The extracted model (numpy only)
# --------------------------------------------------------------------------------------------


def _softmax(scores: np.ndarray) -> np.ndarray:
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class SafetyClassifier:
    """Extracted TF-IDF + logistic regressions (level and category); numpy only.

    ``SafetyClassifier(rows)`` still trains from `rows` (in-process, with scikit-learn), as it
    always did; the serving path builds it from cached arrays with `from_arrays` / `load`."""

    def __init__(self, rows: Sequence[tuple[str, str, str]] | None = None, /, **arrays: object) -> None:
        if rows is not None:
            arrays = _fit_arrays(rows)
        self.char_vocab: dict[str, int] = arrays["char_vocab"]  # type: ignore[assignment]
        self.char_idf: np.ndarray = arrays["char_idf"]  # type: ignore[assignment]
        self.word_vocab: dict[str, int] = arrays["word_vocab"]  # type: ignore[assignment]
        self.word_idf: np.ndarray = arrays["word_idf"]  # type: ignore[assignment]
        # coefficients as (n_features, n_classes): rows of the active features are gathered
        self.level_coef_t: np.ndarray = arrays["level_coef_t"]  # type: ignore[assignment]  # columns in LEVELS order
        self.level_intercept: np.ndarray = arrays["level_intercept"]  # type: ignore[assignment]
        self.cat_coef_t: np.ndarray = arrays["cat_coef_t"]  # type: ignore[assignment]
        self.cat_intercept: np.ndarray = arrays["cat_intercept"]  # type: ignore[assignment]
        self.cat_classes: tuple[str, ...] = tuple(arrays["cat_classes"])  # type: ignore[arg-type]
        self.meta: dict = dict(arrays.get("meta") or {})  # type: ignore[call-overload]
        self._blocks = (
            (self.char_vocab, self.char_idf, 0),
            (self.word_vocab, self.word_idf, len(self.char_vocab)),
        )

    @classmethod
    def from_arrays(cls, **arrays: object) -> SafetyClassifier:
        return cls(None, **arrays)

    # -- prediction ---------------------------------------------------------------------------

    def _sparse(self, text: str) -> tuple[list[int], np.ndarray]:
        """Column indices and values of the TF-IDF row of `text` (each block L2-normalised)."""
        prepped = _prep(text)
        idx: list[int] = []
        val: list[float] = []
        for analyse, (vocab, idf, offset) in zip(_ANALYSERS, self._blocks, strict=True):
            _block(analyse(prepped), vocab, idf, offset, idx, val)
        return idx, np.asarray(val)

    def _level_proba(self, idx: list[int], val: np.ndarray) -> np.ndarray:
        """P(none), P(concern), P(acute)."""
        scores = self.level_intercept + (val @ self.level_coef_t[idx] if idx else 0.0)
        return _softmax(scores)

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Rows of P(none), P(concern), P(acute)."""
        out = np.zeros((len(texts), 3))
        for i, t in enumerate(texts):
            out[i] = self._level_proba(*self._sparse(t))
        return out

    def predict(self, texts: list[str]) -> list[Prediction]:
        """Thresholded predictions; long texts are scored in windows and the worst window counts."""
        windows: list[str] = []
        owner: list[int] = []
        for i, t in enumerate(texts):
            for w in _windows(t):
                windows.append(w)
                owner.append(i)
        out = [Prediction("none", "none", 0.0, 0.0) for _ in texts]
        if not windows:
            return out
        rows = [self._sparse(w) for w in windows]
        p = np.array([self._level_proba(idx, val) for idx, val in rows])
        p_acute = p[:, 2]
        p_flag = p_acute + p[:, 1]
        for j, i in enumerate(owner):
            if p_acute[j] >= ACUTE_THRESHOLD:
                level = "acute"
            elif p_flag[j] >= CONCERN_THRESHOLD:
                level = "concern"
            else:
                level = "none"
            best = out[i]
            if (LEVELS.index(level), float(p_flag[j])) <= (LEVELS.index(best.level), best.score):
                continue
            category = "none"
            if level != "none":
                idx, val = rows[j]
                scores = self.cat_intercept + (val @ self.cat_coef_t[idx] if idx else 0.0)
                category = str(self.cat_classes[int(np.argmax(scores))])
            out[i] = Prediction(level, category, float(p_flag[j]), float(p_acute[j]))
        return out

    def whole(self, text: str) -> Prediction | None:
        """The whole message (windowed when long; the most alarming window counts), with no
        threshold applied: `level` is the likelier of concern and acute, `score` is
        P(concern) + P(acute). None for a message under NET_MIN_WORDS words (too little evidence)."""
        if len(text.split()) < NET_MIN_WORDS:
            return None
        best: Prediction | None = None
        for w in _windows(text):
            idx, val = self._sparse(w)
            p = self._level_proba(idx, val)
            flag = float(p[1] + p[2])
            if best is not None and flag <= best.score:
                continue
            scores = self.cat_intercept + (val @ self.cat_coef_t[idx] if idx else 0.0)
            category = str(self.cat_classes[int(np.argmax(scores))])
            best = Prediction("acute" if p[2] >= p[1] else "concern", category, flag, float(p[2]))
        return best

    # -- persistence (plain arrays, no pickle) --------------------------------------------------

    def save(self, path: str | Path) -> None:
        modelcache.save_npz(
            path,
            char_terms=np.array(_terms(self.char_vocab)),
            char_idf=self.char_idf,
            word_terms=np.array(_terms(self.word_vocab)),
            word_idf=self.word_idf,
            level_coef_t=self.level_coef_t,
            level_intercept=self.level_intercept,
            cat_coef_t=self.cat_coef_t,
            cat_intercept=self.cat_intercept,
            cat_classes=np.array(self.cat_classes),
            meta=np.array(json.dumps(self.meta)),
        )

    @classmethod
    def load(cls, path: str | Path) -> SafetyClassifier:
        with np.load(path, allow_pickle=False) as z:
            return cls.from_arrays(
                char_vocab={str(t): i for i, t in enumerate(z["char_terms"].tolist())},
                char_idf=z["char_idf"].astype(np.float64),
                word_vocab={str(t): i for i, t in enumerate(z["word_terms"].tolist())},
                word_idf=z["word_idf"].astype(np.float64),
                level_coef_t=np.ascontiguousarray(z["level_coef_t"], dtype=np.float64),
                level_intercept=z["level_intercept"].astype(np.float64),
                cat_coef_t=np.ascontiguousarray(z["cat_coef_t"], dtype=np.float64),
                cat_intercept=z["cat_intercept"].astype(np.float64),
                cat_classes=tuple(str(c) for c in z["cat_classes"].tolist()),
                meta=json.loads(str(z["meta"])),
            )


def _terms(vocab: dict[str, int]) -> list[str]:
    terms = [""] * len(vocab)
    for t, i in vocab.items():
        terms[i] = t
    return terms


def _windows(text: str) -> list[str]:
    if len(text) <= MAX_CHARS:
        return [text] if text.strip() else []
    step = MAX_CHARS // 2
    return [text[i : i + MAX_CHARS] for i in range(0, len(text) - step, step)]


# --------------------------------------------------------------------------------------------
# Training (scikit-learn, imported only here)
# --------------------------------------------------------------------------------------------


def fit_sklearn(rows: Sequence[tuple[str, str, str]]):
    """Fit the vectorisers and both logistic regressions with scikit-learn.
    Returns (char_vectorizer, word_vectorizer, level_model, category_model)."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts = [_prep(t) for t, _, _ in rows]
    # float32 features, as the model has always been trained (the fitted weights are used in float64)
    chars = TfidfVectorizer(analyzer=char_ngrams, sublinear_tf=True, min_df=2, dtype=np.float32)
    words = TfidfVectorizer(analyzer=word_ngrams, sublinear_tf=True, dtype=np.float32)
    x = hstack([chars.fit_transform(texts), words.fit_transform(texts)]).tocsr()
    levels = np.array([lvl for _, lvl, _ in rows])
    missing = set(LEVELS) - set(levels.tolist())
    if missing:
        raise ValueError(f"safety training data has no {sorted(missing)} rows")
    level_model = LogisticRegression(C=C, class_weight="balanced", max_iter=2000)
    level_model.fit(x, levels)
    flagged = levels != "none"
    cats = np.array([c for _, _, c in rows])
    category_model = LogisticRegression(C=C, max_iter=2000)
    category_model.fit(x[flagged], cats[flagged])
    return chars, words, level_model, category_model


def _coef_t(model, order: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(n_features, n_classes) coefficients and intercepts with columns in `order`. A binary
    model's single decision function z becomes the equivalent softmax over scores (0, z)."""
    classes = [str(c) for c in model.classes_]
    coef = np.asarray(model.coef_, dtype=np.float64)
    intercept = np.asarray(model.intercept_, dtype=np.float64)
    if coef.shape[0] == 1 and len(classes) == 2:
        coef = np.vstack([np.zeros_like(coef), coef])
        intercept = np.array([0.0, intercept[0]])
    cols = [classes.index(c) for c in order]
    return np.ascontiguousarray(coef[cols].T), intercept[cols].copy()


def train(rows: Sequence[tuple[str, str, str]]) -> SafetyClassifier:
    """Train with scikit-learn and extract the model to numpy arrays."""
    return SafetyClassifier.from_arrays(**_fit_arrays(rows))


def _fit_arrays(rows: Sequence[tuple[str, str, str]]) -> dict[str, object]:
    chars, words, level_model, category_model = fit_sklearn(rows)
    level_coef_t, level_intercept = _coef_t(level_model, LEVELS)
    cat_classes = tuple(str(c) for c in category_model.classes_)
    cat_coef_t, cat_intercept = _coef_t(category_model, cat_classes)
    return {
        "char_vocab": {str(k): int(v) for k, v in chars.vocabulary_.items()},
        "char_idf": np.asarray(chars.idf_, dtype=np.float64),
        "word_vocab": {str(k): int(v) for k, v in words.vocabulary_.items()},
        "word_idf": np.asarray(words.idf_, dtype=np.float64),
        "level_coef_t": level_coef_t,
        "level_intercept": level_intercept,
        "cat_coef_t": cat_coef_t,
        "cat_intercept": cat_intercept,
        "cat_classes": cat_classes,
        "meta": {"n_rows": len(rows), "feature_version": FEATURE_VERSION, "C": C},
    }


def train_from_file(path: str | Path = DATA_DIR) -> SafetyClassifier:
    return train(augment(load_rows(Path(path))))


def data_files(path: Path = DATA_DIR) -> list[Path]:
    """The TRAIN_GLOBS files of a data directory, each once."""
    return list(dict.fromkeys(f for pattern in TRAIN_GLOBS for f in sorted(path.glob(pattern))))


# --------------------------------------------------------------------------------------------
# Augmentation: parents' texting style and danger buried in chatter
# --------------------------------------------------------------------------------------------

# Chat spellings parents use (also normalised by the lexicon's tokenizer; the model sees raw text).
_CHAT_SPELLINGS = tuple(
    (re.compile(rf"\b{a}\b"), b)
    for a, b in (
        ("mijn", "mn"),
        ("zijn", "zn"),
        ("niet", "nie"),
        ("even", "ff"),
        ("het", "t"),
        ("ik", "k"),
        ("gewoon", "gwn"),
        ("echt", "egt"),
        ("you", "u"),
        ("are", "r"),
        ("please", "pls"),
        ("right now", "rn"),
        ("don't", "dont"),
        ("i'm", "im"),
        ("can't", "cant"),
    )
)
_PUNCT = re.compile(r"[.,!?;:]")
AUGMENT_SEED = 7


def _texting(text: str, rng) -> str:
    """`text` as a hurried parent might type it: lowercase, often no punctuation, chat spellings,
    and up to two typos (a dropped or swapped letter)."""
    t = text.lower()
    if rng.random() < 0.7:
        t = _PUNCT.sub("", t)
    for pattern, short in _CHAT_SPELLINGS:
        if rng.random() < 0.6:
            t = pattern.sub(short, t)
    words = t.split()
    for _ in range(rng.randint(0, 2)):
        i = rng.randrange(len(words)) if words else 0
        w = words[i] if words else ""
        if len(w) > 4:
            j = rng.randrange(1, len(w) - 1)
            words[i] = w[:j] + w[j + 1 :] if rng.random() < 0.5 else w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def augment(rows: Sequence[tuple[str, str, str]], seed: int = AUGMENT_SEED) -> list[tuple[str, str, str]]:
    """The rows plus, for each, a texting-style copy and (half the time) a copy buried between
    short ordinary messages, with the same label: real messages bury danger in the middle of talk
    about school or visits. Deterministic for a seed. Measured on the second blind set (model
    trained without it): flagged recall acute 0.92 -> 0.97, concern 0.83 -> 0.88, same false alarms."""
    import random

    rng = random.Random(seed)
    ordinary = [t for t, level, _ in rows if level == "none" and len(t) < 200]
    out = list(rows)
    for text, level, category in rows:
        out.append((_texting(text, rng), level, category))
        if ordinary and rng.random() < 0.5:
            before, after, where = rng.choice(ordinary), rng.choice(ordinary), rng.random()
            buried = (
                f"{before} {text}"
                if where < 0.33
                else f"{text} {after}"
                if where < 0.66
                else f"{before} {text} {after}"
            )
            out.append((buried if rng.random() < 0.5 else _texting(buried, rng), level, category))
    return out


# --------------------------------------------------------------------------------------------
# Cache + lazy singleton
# --------------------------------------------------------------------------------------------


def build_model(path: str | Path = DATA_DIR, *, use_cache: bool = True) -> SafetyClassifier:
    """Load the cached model for `path`, training (in a child process) when needed."""
    if not use_cache:
        return train_from_file(path)
    return modelcache.load_or_train(
        "safety",
        path,
        FEATURE_VERSION,
        module="nlu.classifier",
        load=SafetyClassifier.load,
        train=train_from_file,
        save=SafetyClassifier.save,
        label="safety classifier",
    )


@functools.lru_cache(maxsize=1)
def _train() -> SafetyClassifier | None:
    try:
        return build_model()
    except Exception:  # pragma: no cover - missing data must not break safety detection
        log.exception("safety classifier could not be trained; lexicon only")
        return None


def get_model() -> SafetyClassifier | None:
    """The trained classifier (loaded or trained once, on first use), or None if that failed."""
    with _lock:
        return _train()


# --------------------------------------------------------------------------------------------
# `python -m nlu.classifier train --data X --out Y` (used for child-process training)
# --------------------------------------------------------------------------------------------


def _main(argv: list[str]) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m nlu.classifier")
    sub = ap.add_subparsers(dest="cmd", required=True)
    tr = sub.add_parser("train", help="train from the safety TSV and write the extracted model (.npz)")
    tr.add_argument("--data", default=str(DATA_DIR))
    tr.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    train_from_file(args.data).save(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
