"""Evaluate safety-level predictions against gold labels.

    rows = load_tsv("nlu/data/safety_dev.tsv")      # [(text, gold_level), ...]
    report = evaluate(rows)                          # uses nlu.safety.assess by default
    print(report.format())

Small and reusable: `evaluate` takes any iterable of (text, gold_level) pairs (extra columns are
ignored) and an optional `predict` callable returning a level string or an object with `.level`.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LEVELS = ("none", "concern", "acute")


@dataclass(frozen=True)
class LabelScore:
    precision: float
    recall: float
    f1: float
    support: int  # number of gold rows with this label
    predicted: int  # number of rows predicted with this label


@dataclass(frozen=True)
class SafetyReport:
    per_label: dict[str, LabelScore]
    false_alarm_rate: float  # share of gold `none` rows predicted concern or acute
    confusion: dict[str, dict[str, int]]  # confusion[gold][predicted] = count
    n: int
    errors: tuple[tuple[str, str, str], ...] = field(default=())  # (text, gold, predicted)

    @property
    def flagged_recall(self) -> dict[str, float]:
        """Per label: share of gold rows predicted at least `concern` (any alarm at all)."""
        out = {}
        for gold in ("concern", "acute"):
            row = self.confusion.get(gold, {})
            total = sum(row.values())
            out[gold] = (row.get("concern", 0) + row.get("acute", 0)) / total if total else 0.0
        return out

    def format(self) -> str:
        lines = [f"{'label':<9} {'prec':>6} {'recall':>6} {'f1':>6} {'n':>5} {'pred':>5}"]
        for label in LEVELS:
            s = self.per_label[label]
            lines.append(
                f"{label:<9} {s.precision:>6.3f} {s.recall:>6.3f} {s.f1:>6.3f} {s.support:>5} {s.predicted:>5}"
            )
        lines.append("")
        lines.append(f"false-alarm rate on none: {self.false_alarm_rate:.3f}")
        fr = self.flagged_recall
        lines.append(f"flagged at all: concern {fr['concern']:.3f}, acute {fr['acute']:.3f}")
        lines.append("")
        lines.append("confusion (rows = gold, columns = predicted)")
        lines.append(f"{'':<9}" + "".join(f"{p:>9}" for p in LEVELS))
        for gold in LEVELS:
            lines.append(f"{gold:<9}" + "".join(f"{self.confusion[gold][p]:>9}" for p in LEVELS))
        lines.append(f"n = {self.n}")
        return "\n".join(lines)


def _default_predict(text: str) -> str:
    from nlu.safety import assess

    return assess(text).level


def _level_of(pred: Any) -> str:
    level = getattr(pred, "level", pred)
    if level not in LEVELS:
        raise ValueError(f"unknown predicted level {level!r}")
    return level


def evaluate(
    rows: Iterable[Sequence[str]],
    predict: Callable[[str], Any] | None = None,
) -> SafetyReport:
    """Score predictions on (text, gold_level) rows."""
    predict = predict or _default_predict
    confusion = {g: {p: 0 for p in LEVELS} for g in LEVELS}
    errors: list[tuple[str, str, str]] = []
    n = 0
    for row in rows:
        text, gold = row[0], row[1]
        if gold not in LEVELS:
            raise ValueError(f"unknown gold level {gold!r} for {text!r}")
        pred = _level_of(predict(text))
        confusion[gold][pred] += 1
        if pred != gold:
            errors.append((text, gold, pred))
        n += 1
    per_label = {}
    for label in LEVELS:
        tp = confusion[label][label]
        support = sum(confusion[label].values())
        predicted = sum(confusion[g][label] for g in LEVELS)
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = LabelScore(precision, recall, f1, support, predicted)
    none_total = sum(confusion["none"].values())
    false_alarms = confusion["none"]["concern"] + confusion["none"]["acute"]
    far = false_alarms / none_total if none_total else 0.0
    return SafetyReport(per_label, far, confusion, n, tuple(errors))


def load_tsv(path: str | Path) -> list[tuple[str, str]]:
    """Read (text, level) rows from a TSV with columns text, level[, categories]; a header line
    starting with "text" is skipped."""
    rows: list[tuple[str, str]] = []
    with open(path, encoding="utf-8", newline="") as fh:
        for i, rec in enumerate(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)):
            if not rec or not rec[0].strip():
                continue
            if i == 0 and rec[0].strip().lower() == "text":
                continue
            if len(rec) < 2:
                raise ValueError(f"{path}:{i + 1}: expected text<TAB>level")
            rows.append((rec[0], rec[1].strip()))
    return rows
