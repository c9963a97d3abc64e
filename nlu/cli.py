"""`naast nlu ...`: try the NLU from a terminal.

    naast nlu parse "wat betekent OTS?"           # the parse result as JSON
    naast nlu explain OTS [--lang en] [--long]    # the explanation a parent would get
    naast nlu eval nlu/data/intents_test.tsv      # precision / recall / F1 + confusion table
    naast nlu bench [--n 2000]                    # latency and memory figures

The lead mounts `app` under the main CLI; `python -m nlu.cli ...` works too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    name="nlu",
    help="Naast NLU: parse, explain, evaluate, benchmark.",
    no_args_is_help=True,
    add_completion=False,
)

LangOption = Annotated[str | None, typer.Option("--lang", "-l", help="nl or en (default: detect)")]


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


@app.command("parse")
def parse_cmd(
    text: Annotated[str, typer.Argument(help="the message to parse")],
    lang: LangOption = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="add term/procedure ids")] = False,
) -> None:
    """Parse TEXT and print the result as JSON (Rasa /model/parse shape + safety + language)."""
    import nlu

    result = nlu.parse(text, lang)
    data: dict[str, Any] = result.to_dict()
    if verbose:
        data["naast"] = {
            "term_id": result.term_id,
            "procedure_id": result.procedure_id,
            "source": result.source,
            "rule": result.rule,
        }
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


_UNKNOWN = {
    "nl": "Dat woord ken ik (nog) niet: “{query}”. Probeer een ander woord, of vraag het aan je maatje.",
    "en": "I don't know that term (yet): “{query}”. Try another word, or ask your maatje.",
}
_SUGGEST = {"nl": "Bedoel je misschien: {terms}?", "en": "Did you mean: {terms}?"}
_STEPS = {"nl": "Stappen", "en": "Steps"}


def _suggestions(query: str, limit: int = 3) -> list[str]:
    import nlu
    from nlu.text import fold

    glossary = nlu._glossary()
    if glossary is None or not query.strip():
        return []
    try:
        from rapidfuzz import fuzz, process

        choices: dict[str, str] = {}
        for term in glossary:
            for form in (term.term, term.en, *term.variants):
                choices.setdefault(fold(form), term.term)
        hits = process.extract(fold(query), list(choices), scorer=fuzz.ratio, limit=10, score_cutoff=72)
    except Exception:
        return []
    return list(dict.fromkeys(choices[h[0]] for h in hits))[:limit]


def explain_text(query: str, lang: str | None = None, long: bool = False) -> tuple[bool, str]:
    """(found, text): the explanation of the best term or the steps of the best procedure."""
    import nlu
    from nlu.language import detect, normalise

    lang = normalise(lang) or detect(query)
    result = nlu.parse(query, lang)
    glossary, procedures = nlu._glossary(), nlu._procedures()
    query_words = nlu.question_query(query)

    term_id = result.term_id or next(iter(result.term_ids), None)
    if term_id is None and glossary is not None:
        match = glossary.lookup(query_words or query) or glossary.lookup(query)
        term_id = match.term_id if match else None
    proc_id = result.procedure_id
    if proc_id is None and procedures is not None and (term_id is None or result.intent == "explain_procedure"):
        proc = procedures.lookup(query) or (procedures.lookup(query_words) if query_words else None)
        proc_id = proc.id if proc else None

    if proc_id is not None and (result.intent == "explain_procedure" or term_id is None):
        proc = procedures.get(proc_id)
        lines = [proc.title.get(lang) or proc.title.get("nl", proc_id), ""]
        lines.extend(procedures.step_text(proc_id, i, lang) for i in range(len(proc.steps)))
        return True, "\n".join(lines)
    if term_id is not None and glossary is not None:
        return True, glossary.explain(term_id, lang=lang, long=long)
    msg = _UNKNOWN[lang].format(query=query.strip())
    suggestions = _suggestions(query_words or query)
    if suggestions:
        msg += "\n" + _SUGGEST[lang].format(terms=", ".join(suggestions))
    return False, msg


@app.command("explain")
def explain_cmd(
    query: Annotated[str, typer.Argument(help="a term (OTS) or question (hoe werkt een zitting?)")],
    lang: LangOption = None,
    long: Annotated[bool, typer.Option("--long", help="the longer explanation")] = False,
) -> None:
    """Explain a jargon term, or list the steps of a procedure."""
    found, text = explain_text(query, lang, long)
    typer.echo(text)
    if not found:
        raise typer.Exit(1)


@app.command("eval")
def eval_cmd(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="TSV or Rasa YAML test file")],
    errors: Annotated[int, typer.Option("--errors", help="how many misclassified examples to show")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Evaluate intents (label = intent) or safety (header column `level`) on FILE."""
    from nlu.evaluate import evaluate_file

    report = evaluate_file(file)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    console = _console()
    table = Table(title=f"{report.task} evaluation: {file} (n={report.n})")
    table.add_column("label")
    for col in ("precision", "recall", "F1", "support"):
        table.add_column(col, justify="right")
    for s in report.stats:
        table.add_row(s.label, f"{s.precision:.3f}", f"{s.recall:.3f}", f"{s.f1:.3f}", str(s.support))
    table.add_section()
    table.add_row("accuracy", "", "", f"{report.accuracy:.3f}", str(report.n))
    table.add_row("macro avg", "", "", f"{report.macro_f1:.3f}", "")
    for key, value in report.extra.items():
        table.add_row(key.replace("_", " "), "", "", f"{value:.3f}", "")
    console.print(table)

    conf = Table(title="confusion (rows: gold, columns: predicted)")
    conf.add_column("gold \\ pred")
    for p in report.labels:
        conf.add_column(p, justify="right")
    for g in report.labels:
        conf.add_row(g, *(str(report.confusion.get((g, p), 0) or "·") for p in report.labels))
    console.print(conf)
    if report.errors and errors > 0:
        console.print(f"errors ({len(report.errors)}):")
        for text, gold, pred in report.errors[:errors]:
            console.print(f"  {gold} → {pred}: {text[:100]}", markup=False)


@app.command("bench")
def bench_cmd(
    n: Annotated[int, typer.Option("--n", help="number of short messages")] = 2000,
    letters: Annotated[int | None, typer.Option("--letters", help="number of letters (default n/10)")] = None,
    memory: Annotated[bool, typer.Option("--memory/--no-memory", help="RSS per component")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print the figures as JSON")] = False,
) -> None:
    """Benchmark parse(): p50/p99 latency (short, 5,000-char letter), msg/s, RSS."""
    from nlu.bench import TARGETS, run_bench

    r = run_bench(n=n, n_letter=letters, memory_steps=memory)
    if as_json:
        typer.echo(json.dumps(r.to_dict(), indent=2))
        return
    ok = r.passed()
    table = Table(title="NLU benchmark")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_column("", justify="left")

    def verdict(key: str) -> str:
        return "ok" if ok[key] else "OVER"

    table.add_row("load (warm_up)", f"{r.load_s * 1000:.0f} ms", "", "")
    table.add_row("short p50", f"{r.short_p50_ms:.3f} ms", "", "")
    table.add_row("short p99", f"{r.short_p99_ms:.3f} ms", f"≤ {TARGETS['short_p99_ms']} ms", verdict("short_p99_ms"))
    table.add_row(f"letter ({r.letter_chars} chars) p50", f"{r.letter_p50_ms:.3f} ms", "", "")
    table.add_row(
        f"letter ({r.letter_chars} chars) p99",
        f"{r.letter_p99_ms:.3f} ms",
        f"≤ {TARGETS['letter_p99_ms']} ms",
        verdict("letter_p99_ms"),
    )
    table.add_row("throughput", f"{r.msgs_per_s:.0f} msg/s", "", "")
    table.add_row("RSS peak (VmHWM)", f"{r.rss_mb:.1f} MB", f"≤ {TARGETS['rss_mb']} MB", verdict("rss_mb"))
    table.add_row("RSS now", f"{r.rss_now_mb:.1f} MB", "", "")
    for k, v in r.components_short_p50_ms.items():
        table.add_row(f"  stage {k} (short p50)", f"{v:.3f} ms", "", "")
    for k, v in r.components_letter_p50_ms.items():
        table.add_row(f"  stage {k} (letter p50)", f"{v:.3f} ms", "", "")
    table.add_row("scikit-learn in process", str(r.sklearn_loaded), "", "")
    prev = 0.0
    for label, mb in r.memory_steps_mb:
        table.add_row(f"  RSS {label}", f"{mb:.1f} MB", f"+{mb - prev:.1f}", "")
        prev = mb
    console = _console()
    console.print(table)
    for note in r.notes:
        console.print(f"note: {note}", markup=False)


if __name__ == "__main__":
    app()
