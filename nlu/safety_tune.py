"""Fit the safety combiner and choose its thresholds by leave-one-writer-out cross-validation.

    python -m nlu.safety_tune            # print the cross-validated figures per threshold choice
    python -m nlu.safety_tune --write    # ...and write nlu/data/safety_combiner.json

Why this shape: the detector must work on wording nobody here has seen, and a model scored on
sentences like its training sentences looks far better than it is. The sets in `nlu/data/` were
written by different people; the *held-out writers* (HELD_OUT: written independently, their errors
never shaped the lexicon) are each predicted by a classifier trained on every other file. The
combiner (`nlu.safety.decide`) learns from that evidence how far the lexicon, the classifier and
the context signals can be trusted on unseen wording; its thresholds are chosen on the same
evidence, with the combiner itself also fitted leave-one-writer-out (nested), so the printed
figures are on writers neither model had seen.

Choice of thresholds: the highest acute recall (exact level, then flagged at all) among settings
whose false-alarm rate stays at or under MAX_FAR; when none does, the lowest false-alarm rate among
settings that flag at least MIN_ACUTE_FLAGGED of acute and MIN_CONCERN_FLAGGED of concern messages,
or just under the best any setting reaches when that is lower (recall comes first: a false alarm
costs a regisseur a look, a miss can cost a child).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np

from nlu import classifier, safety

HELD_OUT = ("safety_gen_*.tsv", "safety_blind2.tsv", "safety_blind3.tsv")
MAX_FAR = 0.05
MIN_ACUTE_FLAGGED = 0.97
MIN_CONCERN_FLAGGED = 0.90
C = 1.0
ACUTE_GRID = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6)
FLAG_GRID = (0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)


def gather_folds(data: Path = classifier.DATA_DIR):
    """(evidence, text, gold, group) for every row of each held-out file, the classifier of each
    row trained on all other files."""
    files = classifier.data_files(data)
    held = [f for pattern in HELD_OUT for f in sorted(data.glob(pattern))]
    out = []
    for g, f in enumerate(held):
        train = [row for other in files if other != f for row in classifier.load_rows(other)]
        fold = classifier.train(classifier.augment(train))
        for text, gold, _ in classifier.load_rows(f):
            text = text[: safety.MAX_CHARS]
            out.append((safety.gather(text, fold), text, gold, g))
        print(f"{f.name}: held out, classifier trained on {len(train)} rows", file=sys.stderr, flush=True)
    return out, [f.name for f in held]


def fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Combiner coefficients (n_features, 3) and intercepts, columns none/concern/acute."""
    from sklearn.linear_model import LogisticRegression

    m = LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit(x, y)
    order = [list(m.classes_).index(c) for c in classifier.LEVELS]
    return np.ascontiguousarray(m.coef_[order].T), m.intercept_[order].copy()


def figures(rows, combiners: dict[int, safety.Combiner]) -> dict[str, float]:
    got: dict[str, list[str]] = {"none": [], "concern": [], "acute": []}
    for ev, text, gold, g in rows:
        got[gold].append(safety.decide(ev, text, combiners[g]).level)

    def share(gold: str, ok) -> float:
        return sum(1 for p in got[gold] if ok(p)) / max(1, len(got[gold]))

    return {
        "acute": share("acute", lambda p: p == "acute"),
        "acute_flagged": share("acute", lambda p: p != "none"),
        "concern": share("concern", lambda p: p == "concern"),
        "concern_flagged": share("concern", lambda p: p != "none"),
        "far": share("none", lambda p: p != "none"),
    }


def fmt(f: dict[str, float]) -> str:
    return (
        f"acute {f['acute']:.3f} (flagged {f['acute_flagged']:.3f})  "
        f"concern {f['concern']:.3f} (flagged {f['concern_flagged']:.3f})  false alarms {f['far']:.3f}"
    )


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m nlu.safety_tune")
    ap.add_argument("--write", action="store_true", help=f"write {safety.COMBINER_PATH}")
    args = ap.parse_args(argv)
    rows, names = gather_folds()
    usable = [(ev.features(), gold, g) for ev, _, gold, g in rows if ev.whole is not None]
    x = np.array([f for f, _, _ in usable])
    y = np.array([gold for _, gold, _ in usable])
    groups = np.array([g for _, _, g in usable])
    nested = {g: fit(x[groups != g], y[groups != g]) for g in range(len(names))}
    results = []
    for acute in ACUTE_GRID:
        for flag in FLAG_GRID:
            combiners = {g: safety.Combiner(c, i, acute, flag) for g, (c, i) in nested.items()}
            f = figures(rows, combiners)
            results.append(((acute, flag), f))
            print(f"acute>={acute:<4} flag>={flag:<4}  {fmt(f)}")
    ok = [r for r in results if r[1]["far"] <= MAX_FAR]
    if ok:
        best = max(ok, key=lambda r: (r[1]["acute"] + r[1]["acute_flagged"], r[1]["concern_flagged"]))
        why = f"highest acute recall with false alarms <= {MAX_FAR}"
    else:
        # the recall floors, lowered to just under the best any setting reaches
        amin = min(MIN_ACUTE_FLAGGED, max(r[1]["acute_flagged"] for r in results) - 0.01)
        cmin = min(MIN_CONCERN_FLAGGED, max(r[1]["concern_flagged"] for r in results) - 0.02)
        safe = [r for r in results if r[1]["acute_flagged"] >= amin and r[1]["concern_flagged"] >= cmin]
        low = min(r[1]["far"] for r in safe)
        # among the settings within half a point of the lowest false alarms, the best exact levels
        best = max((r for r in safe if r[1]["far"] <= low + 0.005), key=lambda r: r[1]["acute"] + r[1]["concern"])
        why = (
            f"no setting reaches {MAX_FAR} false alarms; the lowest false alarms flagging >= {amin:.3f} "
            f"of acute and >= {cmin:.3f} of concern"
        )
    (acute, flag), f = best
    print(f"\nchosen: acute>={acute} flag>={flag} ({why})\n  {fmt(f)}")
    if args.write:
        coef_t, intercept = fit(x, y)
        spec = {
            "about": "Written by python -m nlu.safety_tune --write; do not edit by hand.",
            "written": dt.date.today().isoformat(),
            "held_out_writers": names,
            "rows": len(y),
            "acute": acute,
            "flag": flag,
            "choice": why,
            "cross_validated": {k: round(v, 3) for k, v in f.items()},
            "features": list(safety.COMBINER_FEATURES),
            "context_digest": safety.context_digest(),
            "intercept": [round(float(v), 6) for v in intercept],
            "coefficients": {
                name: [round(float(v), 6) for v in coef_t[i]] for i, name in enumerate(safety.COMBINER_FEATURES)
            },
        }
        safety.COMBINER_PATH.write_text(json.dumps(spec, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {safety.COMBINER_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
