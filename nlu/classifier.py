"""Safety classifier: the statistical safety net behind the lexicon in `nlu.safety`.

Design
======
- Training data: `nlu/data/safety_train.tsv` (text, level, category; Dutch and English). The model
  is trained on first use, in well under a second, and cached for the process. Nothing is pickled,
  so there is no model file to keep in sync with the data.
- Features: TF-IDF over character n-grams (3-5, within word boundaries) of the folded text, which
  tolerates typos, inflections and Dutch compounds ("geslagen"/"geslage"/"sloeg"), plus TF-IDF
  over word uni- and bigrams.
- Models: a multinomial logistic regression for the level (none/concern/acute) with balanced class
  weights, and a second one for the category, trained on the non-`none` rows. Logistic regression
  gives usable probabilities without a separate calibration step, which matters because the
  decision below is a probability threshold.
- Decision (the hybrid rule, applied by `nlu.safety`): lexicon hits decide. The classifier is only
  asked when the lexicon found nothing, sentence by sentence, and skips sentences where a lexicon
  cue was negated or declared figurative. It may raise `none` to `acute` when P(acute) >=
  ACUTE_THRESHOLD, or to `concern` when P(concern) + P(acute) >= CONCERN_THRESHOLD. Both
  thresholds are high on purpose: the lexicon carries recall, the classifier only adds what it is
  very sure about, so false alarms stay low.
- Negation is not modelled here (character n-grams cannot see it reliably); that is one reason the
  classifier never overrides a negated lexicon cue.
"""

from __future__ import annotations

import csv
import functools
import logging
import math
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from nlu.text import fold

log = logging.getLogger(__name__)

TRAIN_PATH = Path(__file__).parent / "data" / "safety_train.tsv"
LEVELS = ("none", "concern", "acute")
ACUTE_THRESHOLD = 0.95
CONCERN_THRESHOLD = 0.95
MAX_CHARS = 600  # longer sentences are classified in windows of this size

_lock = threading.Lock()


@dataclass(frozen=True)
class Prediction:
    level: str  # "none" | "concern" | "acute" after the thresholds
    category: str  # most likely category ("none" when level is none)
    score: float  # P(concern) + P(acute)
    p_acute: float


def load_rows(path: Path = TRAIN_PATH) -> list[tuple[str, str, str]]:
    rows = []
    with open(path, encoding="utf-8", newline="") as fh:
        for i, rec in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)):
            if not rec or (i == 0 and rec[0] == "text"):
                continue
            text, level = rec[0], rec[1].strip()
            category = rec[2].strip() if len(rec) > 2 and rec[2].strip() else "none"
            if level not in LEVELS:
                raise ValueError(f"{path}:{i + 1}: bad level {level!r}")
            rows.append((text, level, category.split(",")[0]))
    return rows


_STRETCH = re.compile(r"([a-z])\1{2,}")


def _prep(text: str) -> str:
    """Folded text (as nlu.text.fold) with single spaces; plain ASCII takes a fast path."""
    if text.isascii():
        return " ".join(_STRETCH.sub(r"\1\1", text.lower()).split())
    return " ".join(fold(text).split())


class SafetyClassifier:
    def __init__(self, rows: list[tuple[str, str, str]]):
        texts = [_prep(t) for t, _, _ in rows]
        self.chars = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2, dtype=np.float32
        )
        self.words = TfidfVectorizer(
            analyzer="word",
            ngram_range=(1, 2),
            sublinear_tf=True,
            token_pattern=r"(?u)\b\w[\w']*\b",
            dtype=np.float32,
        )
        x = hstack([self.chars.fit_transform(texts), self.words.fit_transform(texts)]).tocsr()
        levels = np.array([lvl for _, lvl, _ in rows])
        self.level_model = LogisticRegression(C=8.0, class_weight="balanced", max_iter=2000)
        self.level_model.fit(x, levels)
        flagged = levels != "none"
        cats = np.array([c for _, _, c in rows])
        self.category_model = LogisticRegression(C=8.0, max_iter=2000)
        self.category_model.fit(x[flagged], cats[flagged])
        self._level_index = {c: i for i, c in enumerate(self.level_model.classes_)}
        # fast inference: the same TF-IDF + logistic-regression arithmetic without sklearn's
        # per-call validation (a chat message is a handful of short sentences)
        self._blocks = []
        offset = 0
        for vec in (self.chars, self.words):
            vocab = vec.vocabulary_
            self._blocks.append((vec.build_analyzer(), vocab, vec.idf_.astype(np.float64), offset))
            offset += len(vocab)
        self._level_coef = self.level_model.coef_.astype(np.float64)
        self._level_intercept = self.level_model.intercept_.astype(np.float64)
        self._cat_coef = self.category_model.coef_.astype(np.float64)
        self._cat_intercept = self.category_model.intercept_.astype(np.float64)
        self._cat_classes = list(self.category_model.classes_)

    def _features(self, texts: list[str]):
        prepped = [_prep(t) for t in texts]
        return hstack([self.chars.transform(prepped), self.words.transform(prepped)]).tocsr()

    def _sparse(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """Column indices and values of the TF-IDF row of `text` (each block L2-normalised)."""
        prepped = _prep(text)
        idx: list[int] = []
        val: list[float] = []
        for analyzer, vocab, idf, offset in self._blocks:
            counts: dict[int, int] = {}
            for gram in analyzer(prepped):
                j = vocab.get(gram)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            if not counts:
                continue
            block = [(j, (1.0 + math.log(c)) * idf[j]) for j, c in counts.items()]
            norm = math.sqrt(sum(v * v for _, v in block))
            for j, v in block:
                idx.append(offset + j)
                val.append(v / norm)
        return np.asarray(idx, dtype=np.intp), np.asarray(val)

    @staticmethod
    def _softmax(scores: np.ndarray) -> np.ndarray:
        scores = scores - scores.max()
        e = np.exp(scores)
        return e / e.sum()

    def _level_proba(self, idx: np.ndarray, val: np.ndarray) -> np.ndarray:
        coef = self._level_coef
        if coef.shape[0] == 1:  # binary problem (never with three levels, kept for safety)
            z = float(coef[0, idx] @ val + self._level_intercept[0])
            return np.array([1 - 1 / (1 + math.exp(-z)), 1 / (1 + math.exp(-z))])
        return self._softmax(coef[:, idx] @ val + self._level_intercept)

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Rows of P(none), P(concern), P(acute)."""
        out = np.zeros((len(texts), 3))
        order = [self._level_index[lvl] for lvl in LEVELS]
        for i, t in enumerate(texts):
            out[i] = self._level_proba(*self._sparse(t))[order]
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
        p_acute = p[:, self._level_index["acute"]]
        p_flag = p_acute + p[:, self._level_index["concern"]]
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
                scores = self._cat_coef[:, idx] @ val + self._cat_intercept
                category = str(self._cat_classes[int(np.argmax(scores))])
            out[i] = Prediction(level, category, float(p_flag[j]), float(p_acute[j]))
        return out


def _windows(text: str) -> list[str]:
    if len(text) <= MAX_CHARS:
        return [text] if text.strip() else []
    step = MAX_CHARS // 2
    return [text[i : i + MAX_CHARS] for i in range(0, len(text) - step, step)]


@functools.lru_cache(maxsize=1)
def _train() -> SafetyClassifier | None:
    try:
        return SafetyClassifier(load_rows())
    except Exception:  # pragma: no cover - missing data must not break safety detection
        log.exception("safety classifier could not be trained; lexicon only")
        return None


def get_model() -> SafetyClassifier | None:
    """The trained classifier (trained once, on first use), or None if training failed."""
    with _lock:
        return _train()
