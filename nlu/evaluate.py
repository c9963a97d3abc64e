"""Evaluate the NLU on a labelled file: per-label precision / recall / F1, a confusion table.

Accepted files
    * TSV ``text<TAB>label``, optionally with a header row naming the columns. A header whose
      label column is ``level`` (or labels that are all none/concern/acute) means a *safety* test
      set: the prediction is ``nlu.safety.assess(text).level``. Otherwise labels are intents and
      the prediction is ``nlu.parse(text).intent``. Blank lines and lines starting with ``#``
      are skipped.
    * Rasa NLU YAML (``.yml``/``.yaml``, ``nlu: - intent: ... examples: |``): intents.

    .venv/bin/python -m nlu.evaluate nlu/data/intents_test.tsv
    naast nlu eval nlu/data/intents_test.tsv
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SAFETY_LEVELS = ("none", "concern", "acute")
_TEXT_COLUMNS = ("text", "message", "tekst")
_LABEL_COLUMNS = {"intent": "intent", "label": "intent", "level": "safety"}


@dataclass(frozen=True)
class Row:
    text: str
    label: str


@dataclass(frozen=True)
class LabelStats:
    label: str
    precision: float
    recall: float
    f1: float
    support: int  # gold examples with this label
    predicted: int  # examples predicted as this label


@dataclass
class EvalReport:
    task: str  # "intent" | "safety"
    n: int
    accuracy: float
    labels: list[str]
    stats: list[LabelStats]
    confusion: dict[tuple[str, str], int]  # (gold, predicted) -> count
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (text, gold, predicted)
    source: str = ""
    extra: dict[str, float] = field(default_factory=dict)  # task-specific figures (safety)

    @property
    def macro_f1(self) -> float:
        used = [s for s in self.stats if s.support]
        return sum(s.f1 for s in used) / len(used) if used else 0.0

    def stat(self, label: str) -> LabelStats:
        return next(s for s in self.stats if s.label == label)

    def to_dict(self) -> dict:
        return {
            "task": self.task,
            "source": self.source,
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "labels": {
                s.label: {
                    "precision": round(s.precision, 4),
                    "recall": round(s.recall, 4),
                    "f1": round(s.f1, 4),
                    "support": s.support,
                }
                for s in self.stats
            },
            "confusion": {f"{g} -> {p}": c for (g, p), c in sorted(self.confusion.items())},
            "extra": {k: round(v, 4) for k, v in self.extra.items()},
            "errors": [{"text": t, "gold": g, "predicted": p} for t, g, p in self.errors],
        }


# ------------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------------


def load_tsv(path: str | Path) -> tuple[str, list[Row]]:
    lines = [
        line.rstrip("\r\n")
        for line in Path(path).read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        return "intent", []
    text_col, label_col, task = 0, 1, ""
    head = [c.strip().lower() for c in lines[0].split("\t")]
    if any(c in _LABEL_COLUMNS for c in head) and any(c in _TEXT_COLUMNS for c in head):
        text_col = next(i for i, c in enumerate(head) if c in _TEXT_COLUMNS)
        label_col = next(i for i, c in enumerate(head) if c in _LABEL_COLUMNS)
        task = _LABEL_COLUMNS[head[label_col]]
        lines = lines[1:]
    rows = []
    for n, line in enumerate(lines, 1):
        cols = line.split("\t")
        if len(cols) <= max(text_col, label_col):
            raise ValueError(f"{path}: line {n} needs text<TAB>label, got {line[:60]!r}")
        rows.append(Row(cols[text_col].strip(), cols[label_col].strip()))
    if not task:
        task = "safety" if rows and {r.label for r in rows} <= set(SAFETY_LEVELS) else "intent"
    return task, rows


def load_rows(path: str | Path) -> tuple[str, list[Row]]:
    """(task, rows) of a TSV or Rasa YAML test file."""
    if Path(path).suffix.lower() in (".yml", ".yaml"):
        from nlu.intents import load_examples

        return "intent", [Row(ex.text, ex.intent) for ex in load_examples(path)]
    return load_tsv(path)


# ------------------------------------------------------------------------------------------------
# Scoring
# ------------------------------------------------------------------------------------------------


def score(
    rows: Sequence[Row], predict: Callable[[str], str], task: str = "intent", labels: Iterable[str] = ()
) -> EvalReport:
    """Run `predict` on every row and compute the report."""
    pairs = [(r, predict(r.text)) for r in rows]
    confusion: Counter[tuple[str, str]] = Counter((r.label, p) for r, p in pairs)
    seen = list(dict.fromkeys([*labels, *(r.label for r in rows), *(p for _, p in pairs)]))
    stats = []
    for label in seen:
        tp = confusion[(label, label)]
        support = sum(c for (g, _), c in confusion.items() if g == label)
        predicted = sum(c for (_, p), c in confusion.items() if p == label)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        stats.append(LabelStats(label, precision, recall, f1, support, predicted))
    correct = sum(1 for r, p in pairs if r.label == p)
    return EvalReport(
        task=task,
        n=len(rows),
        accuracy=correct / len(rows) if rows else 0.0,
        labels=seen,
        stats=stats,
        confusion=dict(confusion),
        errors=[(r.text, r.label, p) for r, p in pairs if r.label != p],
    )


def _predict_intent(text: str) -> str:
    import nlu

    return nlu.parse(text).intent


def _predict_level(text: str) -> str:
    from nlu.safety import assess

    return assess(text).level


def evaluate_file(path: str | Path) -> EvalReport:
    task, rows = load_rows(path)
    if task == "safety":
        levels: dict[str, str] = {}

        def predict(text: str) -> str:
            if text not in levels:
                levels[text] = _predict_level(text)
            return levels[text]

        report = score(rows, predict, "safety", SAFETY_LEVELS)
        report.extra = _safety_extras(rows, predict)
    else:
        from nlu.intents import INTENTS

        used = {r.label for r in rows}
        report = score(rows, _predict_intent, "intent", [i for i in INTENTS if i in used])
    report.source = str(path)
    return report


def _safety_extras(rows: Sequence[Row], predict: Callable[[str], str]) -> dict[str, float]:
    """Safety-specific figures from nlu.safety_eval (false alarms, "flagged at all" recall)."""
    try:
        from nlu.safety_eval import evaluate as safety_evaluate
    except ImportError:
        return {}
    rep = safety_evaluate([(r.text, r.label) for r in rows], predict)
    extra = {"false_alarm_rate_on_none": rep.false_alarm_rate}
    extra.update({f"flagged_recall_{k}": v for k, v in rep.flagged_recall.items()})
    return extra


# ------------------------------------------------------------------------------------------------
# Plain-text rendering (the CLI renders the same data with rich)
# ------------------------------------------------------------------------------------------------


def format_report(report: EvalReport, max_errors: int = 20) -> str:
    width = max([len(lbl) for lbl in report.labels] + [12])
    out = [f"{report.task} evaluation of {report.source or 'rows'}: n={report.n}"]
    out.append(f"{'label':<{width}}  precision  recall     f1  support")
    for s in report.stats:
        out.append(f"{s.label:<{width}}  {s.precision:9.3f}  {s.recall:6.3f}  {s.f1:5.3f}  {s.support:7d}")
    out.append(f"{'accuracy':<{width}}  {report.accuracy:9.3f}   macro-F1 {report.macro_f1:.3f}")
    out.extend(f"{k}: {v:.3f}" for k, v in report.extra.items())
    out.append("")
    out.append("confusion (rows = gold, columns = predicted)")
    short = [lbl[:8] for lbl in report.labels]
    out.append(" " * width + "  " + " ".join(f"{s:>8}" for s in short))
    for g in report.labels:
        cells = " ".join(f"{report.confusion.get((g, p), 0):>8}" for p in report.labels)
        out.append(f"{g:<{width}}  {cells}")
    if report.errors and max_errors:
        out.append("")
        out.append(f"errors ({len(report.errors)}):")
        for text, gold, pred in report.errors[:max_errors]:
            out.append(f"  {gold} -> {pred}: {text[:100]}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python -m nlu.evaluate FILE [FILE...]", file=sys.stderr)
        return 2
    for path in args:
        print(format_report(evaluate_file(path)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
