"""Give every empty entry of the English catalog its own msgid as translation; run by `make extract`.

English is the source language, so a new string needs no translator; an English entry someone reworded on purpose is
kept. Written with the same options as `pybabel update` in the Makefile, so the file does not churn.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po


def fill(path: Path) -> int:
    """Fill the empty (or fuzzy) entries of the catalog at `path` in place; return how many changed."""
    with path.open("rb") as fp:
        catalog = read_po(fp)
    filled = 0
    for message in catalog:
        if not message.id:  # the header
            continue
        if isinstance(message.id, (list, tuple)):
            singular, plural = message.id[0], message.id[1]
            current = message.string if isinstance(message.string, (list, tuple)) else ()
            if not current or not all(current):
                # English has two forms: n == 1, and everything else
                message.string = (singular, plural)
                filled += 1
        elif not message.string:
            message.string = message.id
            filled += 1
        if message.fuzzy:  # the English text is the msgid itself: never a guess
            message.flags.discard("fuzzy")
            filled += 1
    if filled:
        with path.open("wb") as fp:
            write_po(fp, catalog, width=None, ignore_obsolete=True)  # type: ignore[arg-type]
    return filled


def main(argv: list[str]) -> int:
    for name in argv or ["i18n/en/LC_MESSAGES/messages.po"]:
        print(f"{name}: {fill(Path(name))} English entries filled from their msgid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
