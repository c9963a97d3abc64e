"""Text normalisation shared by every NLU matcher.

Parents type fast on phones: capitals, accents, stretched letters and emoji vary freely. Matchers
compare folded text, but report character offsets into the *original* text, so `fold_with_map`
keeps a map from folded positions back to original ones.

Folding a 5,000-character letter character by character costs ~1 ms, so `fold_with_map` works on
whole ASCII runs at C speed (only non-ASCII characters are decomposed one by one, through a cache;
`_fold_reference` is the definition it reproduces exactly). It also remembers its last 8 results,
since glossary spotting, intents and the parse rules fold the same (short) message in one parse;
the results are immutable (a str and a tuple) because callers share them.
"""

from __future__ import annotations

import functools
import re
import unicodedata

_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_STRETCH = re.compile(r"(.)\1{2,}")  # "hellllp" -> "hellp" (keep two: "helpp" still fuzzy-matches)

_ASCII_SPACE = {c: " " for c in range(128) if chr(c).isspace()}  # str.translate table
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_TRIPLE = re.compile(r"(.)\1\1", re.DOTALL)  # start of a run of 3+ equal characters


def fold(text: str) -> str:
    """Lowercase, strip accents, collapse letters repeated 3+ times and runs of whitespace."""
    return fold_with_map(text)[0]


@functools.lru_cache(maxsize=8)
def fold_with_map(text: str) -> tuple[str, tuple[int, ...]]:
    """Fold `text` and return (folded, positions) where positions[i] is the index in `text`
    of folded character i. Characters that vanish (combining accents) map nowhere.

    Cached (last 8 texts); the returned values are shared, hence immutable."""
    if text.isascii():
        units = text.lower().translate(_ASCII_SPACE)
        pos: list[int] | range = range(len(text))
    else:
        split = _split_units(text)
        if split is None:
            return _fold_reference(text)
        units, pos = split
    cuts = _collapsible(units)
    if not cuts:
        return units, tuple(pos)
    out: list[str] = []
    keep: list[int] = []
    last = 0
    for start, end in cuts:
        out.append(units[last:start])
        keep.extend(pos[last:start])
        last = end
    out.append(units[last:])
    keep.extend(pos[last:])
    return "".join(out), tuple(keep)


def _collapsible(units: str) -> list[tuple[int, int]]:
    """Sorted (start, end) ranges of `units` that folding drops: all but the first of a run of
    spaces, all but the first two of a run of 3+ equal letters."""
    cuts: list[tuple[int, int]] = []
    n = len(units)
    i = units.find("  ")
    while i >= 0:
        j = i + 2
        while j < n and units[j] == " ":
            j += 1
        cuts.append((i + 1, j))
        i = units.find("  ", j)
    spaces = bool(cuts)
    run_end = 0
    for m in _TRIPLE.finditer(units):
        start = m.start()
        if start < run_end:  # inside a run already handled
            continue
        ch = m.group(1)
        j = m.end()
        while j < n and units[j] == ch:
            j += 1
        run_end = j
        if ch.isalpha():
            cuts.append((start + 2, j))
    if spaces and len(cuts) > 1:
        cuts.sort()
    return cuts


def _split_units(text: str) -> tuple[str, list[int]] | None:
    """The folding units of `text` before collapsing, one character each, and their positions:
    ASCII runs are lowercased in bulk, other characters decomposed one by one. None when some
    character lowercases to more than one character (then only the reference is exact)."""
    parts: list[str] = []
    pos: list[int] = []
    last = 0
    for m in _NON_ASCII.finditer(text):
        i = m.start()
        if i > last:
            parts.append(text[last:i].lower().translate(_ASCII_SPACE))
            pos.extend(range(last, i))
        units = _fold_char(m.group())
        if units is None:
            return None
        parts.append(units)
        pos.extend([i] * len(units))
        last = i + 1
    if last < len(text):
        parts.append(text[last:].lower().translate(_ASCII_SPACE))
        pos.extend(range(last, len(text)))
    return "".join(parts), pos


@functools.lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str | None:
    """Folding units of one character (decomposed, combining marks dropped, lowercased, any
    space as " "), or None when a component lowercases to several characters."""
    out = []
    for c in unicodedata.normalize("NFKD", ch):
        if unicodedata.combining(c):
            continue
        low = c.lower()
        if len(low) != 1:
            return None
        out.append(" " if low.isspace() else low)
    return "".join(out)


def _fold_reference(text: str) -> tuple[str, tuple[int, ...]]:
    """Character-by-character folding: the definition `fold_with_map` reproduces faster."""
    out: list[str] = []
    pos: list[int] = []
    for i, ch in enumerate(text):
        for c in unicodedata.normalize("NFKD", ch):
            if unicodedata.combining(c):
                continue
            low = c.lower()
            if low.isspace():
                low = " "
                if out and out[-1] == " ":
                    continue
            if len(out) >= 2 and out[-1] == low and out[-2] == low and low.isalpha():
                continue
            out.append(low)
            pos.append(i)
    return "".join(out), tuple(pos)


def words(folded: str) -> list[str]:
    """Word tokens of already-folded text."""
    return _WORD.findall(folded)


def collapse_stretch(word: str) -> str:
    return _STRETCH.sub(r"\1\1", word)
