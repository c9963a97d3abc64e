"""NLU benchmark: p50/p99 latency of nlu.parse() (short messages and a 5,000-character letter),
messages per second and the process's peak RSS (VmHWM) with everything loaded, the safety
classifier included, measured after warm-up and all timed parses.

    .venv/bin/python benchmarks/nlu_bench.py [--n 2000] [--json]

The same code runs as `naast nlu bench`; the logic lives in nlu/bench.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nlu.bench import format_result, run_bench  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2000, help="number of short messages to parse")
    ap.add_argument("--letters", type=int, default=None, help="number of letters to parse (default n/10)")
    ap.add_argument("--no-memory-steps", action="store_true", help="skip the per-component RSS breakdown")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = ap.parse_args()
    result = run_bench(n=args.n, n_letter=args.letters, memory_steps=not args.no_memory_steps)
    print(json.dumps(result.to_dict(), indent=2) if args.json else format_result(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
