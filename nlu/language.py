"""Cheap language detection: Dutch or English.

Parents write Dutch by default; some write English. We count frequent function words and a few
chat words of each language in the folded text. Ties (including empty text and single shared
words such as "help") go to Dutch.
"""

from __future__ import annotations

from nlu.text import words

# Words that are frequent in one language and (nearly) absent in the other. Shared or ambiguous
# words ("help", "in", "is", "was", "had", "over", "me", "we", "hi") are left out on purpose.
_NL = frozenset(
    """
    de het een en van ik je jij jou jouw u uw mijn zijn haar hun ons onze wij zij ze hij niet
    geen wel ook nog maar dat die dit deze wat wie waar waarom hoe wanneer welke met voor naar
    bij uit aan op om te tot door zonder heb hebt heeft hebben ben bent kan kun kunt kunnen
    moet moeten mag mogen wil wilt willen zal zou zouden wordt worden werd ga gaat gaan doe
    doet doen weet weten zeg zegt er hier daar nu dan als omdat want toen al heel erg echt
    even graag alstublieft alsjeblieft bedankt dank hoi hallo doei dag goedemorgen goedemiddag
    goedenavond ja nee betekent betekenis uitleg snap begrijp kind kinderen zoon dochter mama
    papa moeder vader jeugdbeschermer rechter zitting klacht hulp nodig iemand niemand
    """.split()
)
_EN = frozenset(
    """
    the a an and of i you your my our their they she he it its not no yes what who where why
    how when which with for to at from by about without have has having am are were be been
    can could should would will shall must do does did don't doesn't didn't i'm it's can't
    this that these those there here now then because if so very really just please thanks
    thank hello hey bye goodbye morning evening mean means meaning explain understand child
    children son daughter mother father mom mum dad court judge hearing complaint appeal need
    someone anyone nobody get got want know tell
    """.split()
)

_SUPPORTED = ("nl", "en")
MAX_CHARS = 2000  # enough words to decide


def detect(text: str) -> str:
    """Return "nl" or "en" for `text`. Defaults to "nl" when there is no clear English majority."""
    if not text:
        return "nl"
    # Plain lowercase is enough for function words (and much cheaper than fold on a long letter).
    toks = words(text[:MAX_CHARS].lower())
    nl = en = 0
    for t in toks:
        if t in _NL:
            nl += 1
        if t in _EN:
            en += 1
    return "en" if en > nl else "nl"


def normalise(lang: str | None) -> str | None:
    """Map a caller-supplied language code ("NL", "en-GB", "nl_NL") to "nl"/"en", else None."""
    if not lang:
        return None
    code = lang.strip().lower().replace("_", "-").split("-")[0]
    return code if code in _SUPPORTED else None
