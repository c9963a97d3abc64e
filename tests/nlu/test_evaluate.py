"""nlu.evaluate: loading test files, metrics, and the shipped intent test set."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlu.evaluate import Row, evaluate_file, format_report, load_rows, score
from nlu.safety import assess

DATA = Path(__file__).resolve().parents[2] / "nlu" / "data"


def test_metrics_are_computed_per_label():
    rows = [Row("a1", "a"), Row("a2", "a"), Row("b1", "b"), Row("b2", "b")]
    predictions = {"a1": "a", "a2": "b", "b1": "b", "b2": "b"}
    report = score(rows, predictions.__getitem__)
    a, b = report.stat("a"), report.stat("b")
    assert (a.precision, a.recall, a.support) == (1.0, 0.5, 2)
    assert a.f1 == pytest.approx(2 / 3)
    assert (b.precision, b.recall, b.support) == (pytest.approx(2 / 3), 1.0, 2)
    assert report.accuracy == 0.75
    assert report.confusion == {("a", "a"): 1, ("a", "b"): 1, ("b", "b"): 2}
    assert report.errors == [("a2", "a", "b")]
    assert report.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)


def test_label_never_predicted_has_zero_precision_not_an_error():
    report = score([Row("x", "a")], lambda _: "b")
    assert report.stat("a").precision == 0.0 and report.stat("b").recall == 0.0


def test_tsv_with_and_without_header(tmp_path):
    plain = tmp_path / "plain.tsv"
    plain.write_text("# comment\nhoi\tgreet\n\nwat is een GI?\texplain_term\n", encoding="utf-8")
    task, rows = load_rows(plain)
    assert task == "intent" and rows == [Row("hoi", "greet"), Row("wat is een GI?", "explain_term")]

    safety = tmp_path / "safety.tsv"
    safety.write_text("id\ttext\tlevel\n1\thoi\tnone\n2\tik wil niet meer leven\tacute\n", encoding="utf-8")
    task, rows = load_rows(safety)
    assert task == "safety" and rows[1] == Row("ik wil niet meer leven", "acute")


def test_bad_tsv_line_is_reported(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("only text here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 1"):
        load_rows(bad)


def test_rasa_yaml_is_loaded_without_markup(tmp_path):
    f = tmp_path / "t.yml"
    f.write_text(
        'version: "3.1"\nnlu:\n- intent: explain_term\n  examples: |\n    - wat is een [GI](jargon_term)?\n'
        "- synonym: gecertificeerde instelling\n  examples: |\n    - GI\n",
        encoding="utf-8",
    )
    task, rows = load_rows(f)
    assert task == "intent" and rows == [Row("wat is een GI?", "explain_term")]
    report = evaluate_file(f)
    assert report.n == 1 and report.accuracy == 1.0


def test_safety_file_evaluates_assess_levels(tmp_path):
    texts = ["hoi", "ik wil niet meer leven", "de zitting is morgen", "hij slaat me"]
    f = tmp_path / "s.tsv"
    f.write_text("text\tlevel\n" + "".join(f"{t}\t{assess(t).level}\n" for t in texts), encoding="utf-8")
    report = evaluate_file(f)
    assert report.task == "safety" and report.n == 4 and report.accuracy == 1.0
    assert set(report.labels) >= {"none", "concern", "acute"}


def test_shipped_intent_test_set_quality():
    """The held-out intent set (nlu/data/intents_test.tsv, not used for training)."""
    report = evaluate_file(DATA / "intents_test.tsv")
    assert report.task == "intent" and report.n >= 150
    assert report.accuracy >= 0.9, format_report(report)
    # precision on explain_* matters most: a story must not be answered with a glossary entry
    assert report.stat("explain_term").precision >= 0.9, format_report(report)
    assert report.stat("explain_procedure").precision >= 0.85, format_report(report)
    assert report.stat("relay").recall >= 0.85, format_report(report)
    assert report.stat("ask_help").recall >= 0.9, format_report(report)


def test_test_set_does_not_overlap_training_data():
    from nlu.intents import load_examples
    from nlu.text import fold

    train = {fold(e.text).strip(" ?!.") for e in load_examples()}
    _, rows = load_rows(DATA / "intents_test.tsv")
    # one- to three-word messages ("hoi", "ik heb hulp nodig") inevitably recur; longer ones must not
    overlap = [r.text for r in rows if len(r.text.split()) > 3 and fold(r.text).strip(" ?!.") in train]
    assert overlap == []


def test_format_report_mentions_every_label():
    report = score([Row("x", "a"), Row("y", "b")], lambda t: "a")
    text = format_report(report)
    assert "precision" in text and "confusion" in text and "b -> a: y" in text
