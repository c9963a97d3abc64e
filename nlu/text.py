"""Text normalisation shared by every NLU matcher.

Parents type fast on phones: capitals, accents, stretched letters and emoji vary freely. Matchers
compare folded text, but report character offsets into the *original* text, so `fold_with_map`
keeps a map from folded positions back to original ones.
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_STRETCH = re.compile(r"(.)\1{2,}")  # "hellllp" -> "hellp" (keep two: "helpp" still fuzzy-matches)


def fold(text: str) -> str:
    """Lowercase, strip accents, collapse letters repeated 3+ times and runs of whitespace."""
    return fold_with_map(text)[0]


def fold_with_map(text: str) -> tuple[str, list[int]]:
    """Fold `text` and return (folded, positions) where positions[i] is the index in `text`
    of folded character i. Characters that vanish (combining accents) map nowhere."""
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
    return "".join(out), pos


def words(folded: str) -> list[str]:
    """Word tokens of already-folded text."""
    return _WORD.findall(folded)


def collapse_stretch(word: str) -> str:
    return _STRETCH.sub(r"\1\1", word)
