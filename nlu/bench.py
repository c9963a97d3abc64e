"""NLU benchmark: latency of `nlu.parse()` and the memory of a process with everything loaded.

Used by ``python benchmarks/nlu_bench.py`` and ``naast nlu bench``. Targets on the reference
machine: p99 <= 2 ms for short messages, <= 10 ms for a 5,000-character letter, RSS <= 150 MB.
"""

from __future__ import annotations

import gc
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

TARGETS = {"short_p99_ms": 2.0, "letter_p99_ms": 10.0, "rss_mb": 150.0}

SHORT_MESSAGES = (
    "wat betekent OTS?",
    "Wat is een GI eigenlijk",
    "hoe dien ik een klacht in",
    "what does machtiging mean",
    "hoi",
    "dank je wel!",
    "doei, tot morgen",
    "ik heb hulp nodig",
    "de jeugdbeschermer kwam vandaag langs en ik was zo boos",
    "Morgen is de zitting en ik slaap er slecht van 😟",
    "kun je me bellen vanavond?",
    "mijn zoon wil niet meer naar het pleeggezin",
    "de OTS is weer verlengd, ik ben er klaar mee",
    "how do I appeal",
    "ik snap die brief van de raad niet",
    "ok",
    "ik ben zo bang dat hij me weer slaat",
    "uitleg zienswijze",
    "Goedemorgen! Hoe gaat het met je?",
    "we hebben een nieuwe gezinsvoogd gekregen",
)

_LETTER_PARAGRAPHS = (
    "Geachte ouder, hierbij ontvangt u de beschikking van de kinderrechter over de "
    "ondertoezichtstelling (OTS) van uw kinderen. De gecertificeerde instelling (GI) heeft een "
    "verzoek tot verlenging ingediend. De Raad voor de Kinderbescherming heeft een raadsonderzoek "
    "gedaan en adviseert de rechter om de OTS met twaalf maanden te verlengen.",
    "Tijdens de zitting heeft u uw zienswijze kunnen geven. De jeugdbeschermer heeft toegelicht "
    "dat het plan van aanpak nog niet is afgerond. De doelen over school en de omgangsregeling "
    "met vader zijn nog niet behaald. Ook is er gesproken over een machtiging uithuisplaatsing "
    "voor de oudste zoon, die nu tijdelijk in een pleeggezin verblijft.",
    "De rechter overweegt dat de ontwikkeling van de kinderen ernstig wordt bedreigd en dat "
    "vrijwillige hulp onvoldoende is gebleken. Het gezag van de ouders blijft bestaan. Tegen deze "
    "beschikking kunt u binnen drie maanden hoger beroep instellen via een advocaat. Heeft u "
    "vragen over deze brief, neem dan contact op met uw gezinsvoogd of met Veilig Thuis.",
    "Wij wijzen u erop dat een schriftelijke aanwijzing kan worden gegeven als afspraken niet "
    "worden nagekomen. Het perspectiefbesluit wordt binnen zes maanden genomen. Wij vertrouwen "
    "erop u hiermee voldoende te hebben geïnformeerd. Met vriendelijke groet, de griffier.",
)


_NAMES = ("Sanne", "Noor", "Daan", "Fatima", "Mark", "Yusuf", "Lotte", "Sem", "Anouk", "Bram")


def short_messages(n: int, seed: int = 0) -> list[str]:
    """`n` short messages: the SHORT_MESSAGES varied with names, numbers and typos, so caches
    keyed on words or texts do not make every message look familiar."""
    import random

    rng = random.Random(seed)
    out = []
    for i in range(n):
        msg = SHORT_MESSAGES[i % len(SHORT_MESSAGES)]
        r = rng.random()
        if r < 0.3:
            msg = f"{rng.choice(_NAMES)}, {msg[0].lower()}{msg[1:]}"
        elif r < 0.5:
            msg = f"{msg} ({rng.randint(1, 9999)})"
        elif r < 0.6 and len(msg) > 6:
            k = rng.randrange(1, len(msg) - 1)
            msg = msg[:k] + msg[k + 1 :]  # drop one character: a typo
        out.append(msg)
    return out


def make_letter(n_chars: int = 5000) -> str:
    """A deterministic official-sounding Dutch letter of exactly `n_chars` characters."""
    parts: list[str] = []
    size = 0
    i = 0
    while size < n_chars:
        p = _LETTER_PARAGRAPHS[i % len(_LETTER_PARAGRAPHS)]
        parts.append(p)
        size += len(p) + 2
        i += 1
    return "\n\n".join(parts)[:n_chars]


def _letter_variant(letter: str, i: int) -> str:
    head = f"Kenmerk {i:06d}. "
    return (head + letter)[: len(letter)]


def memory_mb() -> dict[str, float]:
    """Peak and current resident memory of this process in MB (VmHWM/VmRSS; ru_maxrss)."""
    out: dict[str, float] = {}
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    out[key] = int(rest.split()[0]) / 1024.0
    except OSError:
        pass
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out["ru_maxrss"] = maxrss / (1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0)
    return out


def _percentile(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return 0.0
    k = min(len(sorted_ms) - 1, max(0, round(q / 100.0 * (len(sorted_ms) - 1))))
    return sorted_ms[k]


def _timings(fn: Callable[[str], object], texts: list[str], cpu: list[float] | None = None) -> list[float]:
    """Sorted wall-clock milliseconds of fn(t) for each t; with `cpu`, also fill it with the
    sorted CPU milliseconds of this thread (what the code costs when it is not preempted)."""
    out = []
    for t in texts:
        c0 = time.thread_time_ns()
        t0 = time.perf_counter_ns()
        fn(t)
        out.append((time.perf_counter_ns() - t0) / 1e6)
        if cpu is not None:
            cpu.append((time.thread_time_ns() - c0) / 1e6)
    out.sort()
    if cpu is not None:
        cpu.sort()
    return out


# Memory attribution: each step runs in a fresh interpreter, cumulatively, and reports VmHWM.
MEMORY_STEPS: tuple[tuple[str, str], ...] = (
    ("python", "pass"),
    ("import nlu", "import nlu"),
    ("+ intent model (numpy)", "from nlu import intents; intents.get_model()"),
    ("+ glossary, procedures", "nlu._knowledge_source('glossary'); nlu._knowledge_source('procedures')"),
    ("+ safety lexicon", "from nlu import safety; safety.load_lexicon()"),
    ("+ safety classifier", "from nlu import classifier; classifier.get_model()"),
    ("+ parse() warm", "nlu.warm_up()"),
)


def memory_breakdown() -> list[tuple[str, float]]:
    """Peak RSS (MB) after each cumulative step of MEMORY_STEPS, each in a fresh process."""
    import os
    import subprocess
    from pathlib import Path

    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root}
    out: list[tuple[str, float]] = []
    code: list[str] = []
    for label, step in MEMORY_STEPS:
        code.append(step)
        script = "\n".join(
            [
                "import logging; logging.disable(logging.CRITICAL)",
                *code,
                "hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM')]",
                "print(int(hwm[0].split()[1]) / 1024.0)",
            ]
        )
        try:
            res = subprocess.run(
                [sys.executable, "-c", script], env=env, cwd=root, capture_output=True, text=True, timeout=300
            )
            value = float(res.stdout.strip().splitlines()[-1]) if res.returncode == 0 else float("nan")
        except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
            value = float("nan")
        out.append((label, value))
    return out


@dataclass
class BenchResult:
    n_short: int
    n_letter: int
    letter_chars: int
    load_s: float
    short_p50_ms: float
    short_p99_ms: float
    letter_p50_ms: float
    letter_p99_ms: float
    msgs_per_s: float
    rss_mb: float  # peak resident set (VmHWM) of this process since start: everything loaded, all parses done
    rss_now_mb: float
    short_p99_cpu_ms: float = 0.0  # CPU time of the parsing thread (diagnostic; targets are wall-clock)
    letter_p99_cpu_ms: float = 0.0
    components_letter_p50_ms: dict[str, float] = field(default_factory=dict)
    components_short_p50_ms: dict[str, float] = field(default_factory=dict)
    sklearn_loaded: bool = False
    memory_steps_mb: list[tuple[str, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def passed(self) -> dict[str, bool]:
        return {
            "short_p99_ms": self.short_p99_ms <= TARGETS["short_p99_ms"],
            "letter_p99_ms": self.letter_p99_ms <= TARGETS["letter_p99_ms"],
            "rss_mb": self.rss_mb <= TARGETS["rss_mb"],
        }

    def to_dict(self) -> dict:
        d = asdict(self)
        d["targets"] = dict(TARGETS)
        d["passed"] = self.passed()
        return d


def run_bench(
    n: int = 2000, n_letter: int | None = None, letter_chars: int = 5000, memory_steps: bool = False
) -> BenchResult:
    """Warm everything up, then time `n` short parses and `n_letter` letter parses.
    With `memory_steps`, also attribute peak RSS to each component (fresh processes)."""
    import nlu
    from nlu import classifier, intents, safety

    t0 = time.perf_counter()
    nlu.warm_up()
    # everything a parse may need, loaded up front so the RSS below counts it whatever the
    # inputs happen to trigger (the classifier only runs when the lexicon finds nothing)
    safety.load_lexicon()
    if classifier.get_model() is None:
        raise RuntimeError("safety classifier unavailable: the benchmark would under-report RSS")
    load_s = time.perf_counter() - t0

    n = max(1, int(n))
    n_letter = max(1, int(n_letter if n_letter is not None else max(50, n // 10)))
    n_stage = min(n_letter, 50)
    letter = make_letter(letter_chars)
    short = short_messages(n)

    for t in SHORT_MESSAGES:  # warm caches and branch paths
        nlu.parse(t)
    nlu.parse(letter)
    gc.collect()

    t_all = time.perf_counter()
    short_cpu: list[float] = []
    letter_cpu: list[float] = []
    short_ms = _timings(nlu.parse, short, short_cpu)
    elapsed = time.perf_counter() - t_all
    # distinct letters (same length and content but for a reference number): a cache keyed on
    # the text must not make every timed letter look familiar
    letters = [_letter_variant(letter, i) for i in range(n_letter)]
    letter_ms = _timings(nlu.parse, letters, letter_cpu)

    # Where does the time go? (p50 of each stage, same inputs)
    from nlu.safety import assess

    stage_letters = letters[:n_stage]
    spans = {t: [(e.start, e.end) for e in nlu.spot_entities(t)] for t in (*stage_letters, *SHORT_MESSAGES)}

    def classify(text: str) -> object:
        return intents.classify(text, spans[text])

    def rest(text: str) -> object:  # language + term/procedure resolution + result
        pred = intents.classify(text, spans[text])
        ranking = [nlu.IntentScore(k, v) for k, v in pred.ranking]
        return nlu.assemble(text, None, ranking, (), safety=safety_none)

    safety_none = assess("")
    stages: dict[str, Callable[[str], object]] = {
        "safety": assess,
        "glossary_spot": nlu.spot_entities,
        "intent": classify,
        "intent+resolve": rest,
    }
    comp_letter = {k: _percentile(_timings(fn, stage_letters), 50) for k, fn in stages.items()}
    comp_short = {k: _percentile(_timings(fn, list(SHORT_MESSAGES)[:n_stage]), 50) for k, fn in stages.items()}

    mem = memory_mb()  # after warm-up and every timed parse: the peak covers all of it
    notes = []
    sk = "sklearn" in sys.modules
    if sk:
        notes.append("scikit-learn is imported in this process (in-process training or another module)")
    load = _load_note()
    if load:
        notes.append(load)
    if "VmHWM" not in mem:
        notes.append("no /proc/self/status: RSS is ru_maxrss")
    return BenchResult(
        n_short=n,
        n_letter=n_letter,
        letter_chars=len(letter),
        load_s=load_s,
        short_p50_ms=_percentile(short_ms, 50),
        short_p99_ms=_percentile(short_ms, 99),
        letter_p50_ms=_percentile(letter_ms, 50),
        letter_p99_ms=_percentile(letter_ms, 99),
        short_p99_cpu_ms=_percentile(short_cpu, 99),
        letter_p99_cpu_ms=_percentile(letter_cpu, 99),
        msgs_per_s=n / elapsed if elapsed > 0 else 0.0,
        rss_mb=mem.get("VmHWM", mem["ru_maxrss"]),
        rss_now_mb=mem.get("VmRSS", 0.0),
        components_letter_p50_ms=comp_letter,
        components_short_p50_ms=comp_short,
        sklearn_loaded=sk,
        memory_steps_mb=memory_breakdown() if memory_steps else [],
        notes=notes,
    )


def _load_note() -> str:
    """A warning when other processes compete for the CPUs (wall-clock p99 then measures them)."""
    import os

    try:
        load1 = os.getloadavg()[0]
    except OSError:
        return ""
    cpus = os.cpu_count() or 1
    if load1 < 0.75 * cpus:
        return ""
    return (
        f"load average {load1:.2f} on {cpus} CPUs during the run: wall-clock percentiles include time waiting for a CPU"
    )


def format_result(r: BenchResult) -> str:
    ok = r.passed()

    def mark(key: str) -> str:
        return "ok" if ok[key] else "OVER TARGET"

    lines = [
        f"load (warm_up):          {r.load_s * 1000:8.1f} ms",
        f"short  p50 / p99:        {r.short_p50_ms:8.3f} / {r.short_p99_ms:.3f} ms"
        f"   (target p99 <= {TARGETS['short_p99_ms']} ms: {mark('short_p99_ms')})  n={r.n_short}",
        f"letter p50 / p99:        {r.letter_p50_ms:8.3f} / {r.letter_p99_ms:.3f} ms"
        f"   (target p99 <= {TARGETS['letter_p99_ms']} ms: {mark('letter_p99_ms')})"
        f"  n={r.n_letter}, {r.letter_chars} chars",
        f"p99 CPU time short / letter: {r.short_p99_cpu_ms:.3f} / {r.letter_p99_cpu_ms:.3f} ms"
        "   (this thread only; wall-clock above includes waiting for a CPU)",
        f"throughput (short):      {r.msgs_per_s:8.0f} msg/s (one thread)",
        f"RSS peak / now:          {r.rss_mb:8.1f} / {r.rss_now_mb:.1f} MB"
        f"   (target <= {TARGETS['rss_mb']} MB: {mark('rss_mb')})",
        "stage p50, short:        " + ", ".join(f"{k} {v:.3f} ms" for k, v in r.components_short_p50_ms.items()),
        "stage p50, letter:       " + ", ".join(f"{k} {v:.3f} ms" for k, v in r.components_letter_p50_ms.items()),
        f"scikit-learn loaded:     {r.sklearn_loaded}",
    ]
    if r.memory_steps_mb:
        lines.append("peak RSS by component (fresh process per row, cumulative):")
        prev = 0.0
        for label, mb in r.memory_steps_mb:
            lines.append(f"  {label:<26} {mb:7.1f} MB  (+{mb - prev:5.1f})")
            prev = mb
    lines.extend(f"note: {n}" for n in r.notes)
    return "\n".join(lines)
