"""Extract the words to translate, make the pseudo-locale from them, and
bring every language's catalog up to date with them.

    .venv/bin/python scripts/translations.py          # write messages.pot, en_XA, and update de (and any other)
    .venv/bin/python scripts/translations.py --check  # exit 1 if any is out of date (a test runs this)
    .venv/bin/python scripts/translations.py --merge de words.po ...  # take translations from .po files

The same as ``pybabel extract -F babel.cfg -k _l -k N_ --add-location=file
-o translations/messages.pot .`` (``_``, ``ngettext`` and ``N_`` are among
Babel's default keywords; ``_l`` is ours), then every message of the template
in accented, bracketed English ("Sign in" reads "[Ŝîĝñ îñ]"), placeholders
kept. A real language starts from the template with ``pybabel init -i
translations/messages.pot -d translations -l de``; the app reads the .po files
(app/i18n.py), so nothing needs compiling.
"""

from __future__ import annotations

import io
import os
import re
import sys
import tempfile
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "translations" / "messages.pot"
PSEUDO = ROOT / "translations" / "en_XA" / "LC_MESSAGES" / "messages.po"

_ACCENTS = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "âƀĉđêƒĝĥîĵķļɱñôƥʠŕŝţûṽŵẋŷẑÂƁĈĐÊƑĜĤÎĴĶĻṀÑÔƤɊŔŜŢÛṼŴẊŶẐ")
# Python's %-placeholders stay as they are: "%(num)s seats left" must still format.
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[a-zA-Z%]")


def pseudo(text: str) -> str:
    """"Sign in" as "[Ŝîĝñ îñ]": every letter accented, placeholders kept, in brackets."""
    if not text:
        return text
    parts = _PLACEHOLDER.split(text)
    kept = _PLACEHOLDER.findall(text) + [""]
    return "[" + "".join(part.translate(_ACCENTS) + placeholder for part, placeholder in zip(parts, kept)) + "]"


def extract() -> bytes:
    """The message template of the code as it is now."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "messages.pot"
        CommandLineInterface().run(["pybabel", "--quiet", "extract", "-F", "babel.cfg", "-k", "_l", "-k", "N_",
                                    "--add-location=file", "--project=Communitarium",
                                    "--header-comment=# The words of Communitarium to translate: made by scripts/translations.py.",
                                    "-o", str(out), "."])
        return out.read_bytes()


def pseudo_catalog(template: bytes) -> bytes:
    catalog = read_po(io.BytesIO(template))
    catalog.header_comment = ("# Communitarium in accented, bracketed English, to see words that escape\n"
                              "# translation: made by scripts/translations.py from messages.pot; do not edit.")
    catalog.language_team = "Pseudo-locale en-XA"
    catalog.fuzzy = False
    for message in catalog:
        if not message.id:
            continue
        message.string = tuple(pseudo(i) for i in message.id) if message.pluralizable else pseudo(message.id)
    out = io.BytesIO()
    # No locale (Babel has no CLDR data for en_XA), so no Plural-Forms header:
    # gettext's default is English's rule (one, other).
    write_po(out, catalog, include_previous=False)
    return out.getvalue()


def languages() -> list[Path]:
    """The catalog of every real language (not the pseudo-locale, which is made)."""
    return sorted(p for p in (ROOT / "translations").glob("*/LC_MESSAGES/messages.po") if p != PSEUDO)


def _code(path: Path) -> str:
    return path.parent.parent.name


def updated(path: Path, template: bytes) -> bytes:
    """A language's catalog with the template's words: as ``pybabel update``."""
    with path.open("rb") as po:
        catalog = read_po(po, locale=_code(path))
    catalog.update(read_po(io.BytesIO(template)), update_creation_date=False)
    out = io.BytesIO()
    write_po(out, catalog, width=120, include_previous=False, ignore_obsolete=True)
    return out.getvalue()


def merge(code: str, fragments: list[str]) -> int:
    """Take the translations of the fragments' words into a language's catalog."""
    path = ROOT / "translations" / code / "LC_MESSAGES" / "messages.po"
    taken, unknown = merge_into(path, code, fragments)
    print(f"{path.relative_to(ROOT)}: {taken} translations taken")
    for msgid in unknown:
        print(f"  not in the catalog (run scripts/translations.py first?): {msgid!r}", file=sys.stderr)
    return 0


def merge_into(path: Path, code: str, fragments: list) -> tuple[int, list]:
    """(how many translations were taken, the fragments' words the catalog does not have)."""
    with path.open("rb") as po:
        catalog = read_po(po, locale=code)
    taken, unknown = 0, []
    for fragment in fragments:
        with open(fragment, "rb") as po:
            for message in read_po(po, locale=code):
                if not message.id or not message.string or (message.pluralizable and not all(message.string)):
                    continue
                found = catalog.get(message.id, message.context)
                if found is None:
                    unknown.append(message.id)
                    continue
                found.string, found.flags = message.string, found.flags - {"fuzzy"}
                taken += 1
    out = io.BytesIO()
    write_po(out, catalog, width=120, include_previous=False, ignore_obsolete=True)
    path.write_bytes(out.getvalue())
    return taken, unknown


def _same(a: bytes, b: bytes) -> bool:
    """The same messages, translations and places: dates, Babel's version and
    line wrapping change from run to run without anything worth committing."""
    def messages(po: bytes) -> list:
        return [(m.id, m.string, m.context, sorted(m.locations), sorted(m.flags)) for m in read_po(io.BytesIO(po))
                if m.id]
    return messages(a) == messages(b)


def main(argv: list[str]) -> int:
    os.chdir(ROOT)  # so the template names files as app/..., templates/...
    if argv[:1] == ["--merge"]:
        return merge(argv[1], argv[2:])
    template = extract()
    wanted = {TEMPLATE: template, PSEUDO: pseudo_catalog(template)}
    wanted |= {path: updated(path, template) for path in languages()}
    stale = [path for path, content in wanted.items() if not path.exists() or not _same(path.read_bytes(), content)]
    if "--check" in argv:
        for path in stale:
            print(f"{path.relative_to(ROOT)} is out of date: run scripts/translations.py", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(wanted[path])
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
