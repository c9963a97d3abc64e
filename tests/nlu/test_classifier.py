"""The extracted safety classifier (nlu.classifier): numpy prediction equals scikit-learn's,
the model round-trips through the cache, and serving does not import scikit-learn."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nlu import classifier, modelcache

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rows():
    return classifier.load_rows()


@pytest.fixture(scope="module")
def reference(rows):
    """The classifier as scikit-learn sees it, with scikit-learn's own analysers."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    texts = [classifier._prep(t) for t, _, _ in rows]
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2, dtype=np.float32)
    words = TfidfVectorizer(
        analyzer="word", ngram_range=(1, 2), sublinear_tf=True, token_pattern=r"(?u)\b\w[\w']*\b", dtype=np.float32
    )
    x = hstack([chars.fit_transform(texts), words.fit_transform(texts)]).tocsr()
    levels = np.array([lvl for _, lvl, _ in rows])
    level_model = LogisticRegression(C=classifier.C, class_weight="balanced", max_iter=2000).fit(x, levels)
    flagged = levels != "none"
    cats = np.array([c for _, _, c in rows])
    cat_model = LogisticRegression(C=classifier.C, max_iter=2000).fit(x[flagged], cats[flagged])

    def features(batch: list[str]):
        prepped = [classifier._prep(t) for t in batch]
        return hstack([chars.transform(prepped), words.transform(prepped)]).tocsr()

    return chars, words, level_model, cat_model, features


@pytest.fixture(scope="module")
def model(rows):
    return classifier.train(rows)


ODD = [
    "Ik ben zó bang dat hij me weer slaat!!",
    "a b c",
    "hij's weg, we're done",
    "heeeeelp   mij\tnu",
    "Ça va? Geïnformeerd 😟 ok",
    "",
    "x",
]


def test_analysers_equal_scikit_learn(reference, rows):
    chars, words, *_ = reference
    char_an, word_an = chars.build_analyzer(), words.build_analyzer()
    for text in [t for t, _, _ in rows[:300]] + ODD:
        prepped = classifier._prep(text)
        assert classifier.char_ngrams(prepped) == char_an(prepped), text
        assert classifier.word_ngrams(prepped) == word_an(prepped), text


def test_numpy_probabilities_equal_scikit_learn(reference, model, rows):
    chars, words, level_model, cat_model, features = reference
    assert model.char_vocab == chars.vocabulary_ and model.word_vocab == words.vocabulary_
    texts = [t for t, _, _ in rows] + ODD
    x = features(texts)
    order = [list(level_model.classes_).index(lvl) for lvl in classifier.LEVELS]
    expected = level_model.predict_proba(x)[:, order]
    got = model.probabilities(texts)
    assert np.abs(got - expected).max() < 1e-6
    # the category model too (its argmax names the category of a flagged prediction)
    cat_expected = cat_model.predict_proba(x)
    cat_scores = np.array(
        [model.cat_intercept + (v @ model.cat_coef_t[i] if i else 0.0) for i, v in map(model._sparse, texts)]
    )
    cat_got = np.exp(cat_scores - cat_scores.max(axis=1, keepdims=True))
    cat_got /= cat_got.sum(axis=1, keepdims=True)
    assert list(model.cat_classes) == [str(c) for c in cat_model.classes_]
    assert np.abs(cat_got - cat_expected).max() < 1e-6


def test_predictions_are_thresholded_and_windowed(model):
    preds = model.predict(["ik heb alle pillen gespaard en neem ze vanavond", "we gaan pannenkoeken bakken", "  "])
    assert preds[0].level in ("concern", "acute") and preds[0].category != "none"
    assert preds[1].level == "none" and preds[1].category == "none"
    assert preds[2] == classifier.Prediction("none", "none", 0.0, 0.0)
    long = "we gaan morgen naar de dierentuin. " * 40 + "ik heb alle pillen gespaard en neem ze vanavond"
    assert len(long) > classifier.MAX_CHARS
    windows = classifier._windows(long)
    assert len(windows) > 1 and all(len(w) <= classifier.MAX_CHARS for w in windows)
    assert model.predict([long])[0].score == pytest.approx(max(p.score for p in model.predict(windows)))


def test_model_round_trips_through_npz(model, tmp_path):
    path = tmp_path / "safety.npz"
    model.save(path)
    again = classifier.SafetyClassifier.load(path)
    texts = ["hij slaat me", "ik wil dood", "de zitting is morgen", "Ça va?"]
    np.testing.assert_array_equal(again.probabilities(texts), model.probabilities(texts))
    assert again.predict(texts) == model.predict(texts)
    assert again.cat_classes == model.cat_classes


def test_constructor_still_trains_from_rows(rows, model):
    """Backwards compatible: SafetyClassifier(rows) trains in-process like before."""
    direct = classifier.SafetyClassifier(rows)
    np.testing.assert_allclose(direct.probabilities(["hij slaat me"]), model.probabilities(["hij slaat me"]))


def test_cache_key_follows_data_and_version(tmp_path):
    data = tmp_path / "train.tsv"
    data.write_text("text\tlevel\tcategory\nx\tnone\t\n", encoding="utf-8")
    k1 = modelcache.cache_key(data, 1)
    assert k1 == modelcache.cache_key(data, 1)
    assert k1 != modelcache.cache_key(data, 2)
    data.write_text("text\tlevel\tcategory\ny\tnone\t\n", encoding="utf-8")
    assert k1 != modelcache.cache_key(data, 1)


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_serving_loads_cached_arrays_without_scikit_learn(tmp_path):
    code = (
        "import sys\n"
        "from nlu import classifier\n"
        "assert 'sklearn' not in sys.modules and 'scipy' not in sys.modules, 'heavy import'\n"
        "m = classifier.get_model()\n"
        "assert m is not None and m.predict(['ik heb alle pillen gespaard en neem ze vanavond'])[0].level != 'none'\n"
        "assert 'sklearn' not in sys.modules, 'sklearn imported while serving'\n"
    )
    cache = tmp_path / "cache"
    first = _run(code, NAAST_NLU_CACHE_DIR=str(cache))  # trains (child process) and caches
    assert first.returncode == 0, first.stderr
    assert len(list(cache.glob("safety-*.npz"))) == 1
    second = _run(code, NAAST_NLU_CACHE_DIR=str(cache))  # cache hit
    assert second.returncode == 0, second.stderr


def test_in_process_training_fallback(tmp_path):
    code = (
        "import sys\n"
        "from nlu import classifier\n"
        "assert classifier.get_model().predict(['we gaan pannenkoeken bakken'])[0].level == 'none'\n"
        "assert 'sklearn' in sys.modules\n"
    )
    res = _run(code, NAAST_NLU_CACHE_DIR=str(tmp_path), NAAST_NLU_TRAIN_INPROCESS="1")
    assert res.returncode == 0, res.stderr
    assert len(list(tmp_path.glob("safety-*.npz"))) == 1


def test_unreadable_cache_is_retrained(tmp_path, monkeypatch):
    monkeypatch.setenv("NAAST_NLU_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("NAAST_NLU_TRAIN_INPROCESS", "1")
    path = modelcache.cache_path("safety", classifier.DATA_DIR, classifier.FEATURE_VERSION)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not an npz")
    model = classifier.build_model()
    assert model.predict(["we gaan pannenkoeken bakken"])[0].level == "none"
    classifier.SafetyClassifier.load(path)  # rewritten with a readable model
