"""`naast nlu ...` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import nlu
from nlu.cli import app
from nlu.glossary import default_glossary
from nlu.procedures import default_procedures

runner = CliRunner()
DATA = Path(__file__).resolve().parents[2] / "nlu" / "data"


def test_parse_prints_json():
    res = runner.invoke(app, ["parse", "wat betekent OTS?"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data == nlu.parse("wat betekent OTS?").to_dict()
    assert data["intent"]["name"] == "explain_term"


def test_parse_with_lang_and_verbose():
    res = runner.invoke(app, ["parse", "wat betekent OTS?", "--lang", "en", "--verbose"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["language"] == "en"
    assert data["naast"]["term_id"] == default_glossary().lookup("OTS").term_id


def test_explain_term():
    g = default_glossary()
    tid = g.lookup("OTS").term_id
    res = runner.invoke(app, ["explain", "OTS"])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == g.explain(tid, lang="nl").strip()
    res = runner.invoke(app, ["explain", "wat is een ots?", "--lang", "en", "--long"])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == g.explain(tid, lang="en", long=True).strip()


def test_explain_procedure_lists_the_steps():
    procs = default_procedures()
    proc = procs.lookup("hoe dien ik een klacht in")
    res = runner.invoke(app, ["explain", "hoe dien ik een klacht in"])
    assert res.exit_code == 0, res.output
    assert proc.title["nl"] in res.output
    for i in range(len(proc.steps)):
        assert procs.step_text(proc.id, i, "nl") in res.output


def test_explain_unknown_term_is_kind_and_suggests():
    res = runner.invoke(app, ["explain", "flurbeldegrap"])
    assert res.exit_code == 1
    assert "ken ik (nog) niet" in res.output and "maatje" in res.output
    res = runner.invoke(app, ["explain", "what is a flurbeldegrap", "--lang", "en"])
    assert "I don't know that term" in res.output


def test_explain_unknown_but_close_word_gets_a_suggestion(monkeypatch):
    import nlu.cli as cli

    glossary = default_glossary()
    monkeypatch.setattr(type(glossary), "lookup", lambda self, q: None)  # force "unknown"
    monkeypatch.setattr(type(glossary), "spot", lambda self, text: [])
    res = runner.invoke(app, ["explain", "ondertoezichtstellin"])
    assert res.exit_code == 1
    assert "Bedoel je misschien" in res.output and "ondertoezichtstelling" in res.output.lower()
    assert cli._suggestions("xyzzy-plugh") == []


def test_eval_prints_report():
    res = runner.invoke(app, ["eval", str(DATA / "intents_test.tsv")])
    assert res.exit_code == 0, res.output
    for word in ("precision", "recall", "explain_term", "relay", "accuracy", "confusion"):
        assert word in res.output


def test_eval_json_and_missing_file(tmp_path):
    f = tmp_path / "t.tsv"
    f.write_text("text\tintent\nhoi\tgreet\n", encoding="utf-8")
    res = runner.invoke(app, ["eval", str(f), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["accuracy"] == 1.0
    assert runner.invoke(app, ["eval", str(tmp_path / "nope.tsv")]).exit_code != 0


def test_bench_runs():
    res = runner.invoke(app, ["bench", "--n", "40", "--letters", "5", "--no-memory", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    for key in ("short_p50_ms", "short_p99_ms", "letter_p99_ms", "msgs_per_s", "rss_mb"):
        assert data[key] > 0
    assert data["letter_chars"] == 5000
