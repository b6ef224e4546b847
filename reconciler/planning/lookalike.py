"""An id that only looks like one the console has: a hyphen that is U+2010, a Cyrillic a (U+0430).

On screen SUB-1001 written with U+2010 HYPHEN and SUB-1001 are the same; to the console they are two ids,
and the plan said only that the first does not exist. Where the console has the id the declared
one spells with look-alike characters, the message names both and the characters that differ.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Container

#: Characters no decomposition maps to ASCII that are drawn like an ASCII one in common fonts.
_DRAWN_ALIKE = {
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d", "-"),
    **dict(
        zip(
            "\u0410\u0412\u0415\u041a\u041c\u041d\u041e\u0420\u0421\u0422\u0425\u0405\u0406\u0408"
            "\u0430\u0435\u043e\u0440\u0441\u0443\u0445\u0456\u0458\u0455",
            "ABEKMHOPCTXSIJaeopcyxijs",
            strict=True,
        )
    ),
    **dict(
        zip(
            "\u0391\u0392\u0395\u0396\u0397\u0399\u039a\u039c\u039d\u039f\u03a1\u03a4\u03a5\u03a7\u03bf",
            "ABEZHIKMNOPTYXo",
            strict=True,
        )
    ),
}
_INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff")


def ascii_lookalike(text: str) -> str | None:
    """`text` with each character drawn like an ASCII one replaced by it (and invisible ones
    dropped); None when that leaves a character outside ASCII, or `text` was ASCII already."""
    if text.isascii():
        return None
    out = []
    for character in text:
        if character.isascii():
            out.append(character)
        elif character in _INVISIBLE:
            continue
        elif character in _DRAWN_ALIKE:
            out.append(_DRAWN_ALIKE[character])
        else:
            folded = unicodedata.normalize("NFKD", character)
            base = "".join(c for c in folded if not unicodedata.combining(c))
            if not base.isascii() or not base:
                return None
            out.append(base)
    return "".join(out)


def lookalike_note(declared: str, known: Container[str]) -> str:
    """`; SUB-1001 does (...)` when the console has the id `declared` spells with look-alikes, else ""."""
    alike = ascii_lookalike(declared)
    if alike is None or alike not in known:
        return ""
    odd = [c for c in dict.fromkeys(declared) if not c.isascii()]
    names = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'UNNAMED')}" for c in odd)
    return f"; {alike} does, which it is drawn like: it holds {names} where {alike} has ASCII"
