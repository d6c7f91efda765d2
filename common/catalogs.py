"""Translation catalogues: locale/<lang>/LC_MESSAGES/django.po compiled to the .mo Django reads.

Babel's pure-Python compiler, so neither `make run` nor the tests need GNU gettext's msgfmt
(`makemessages`, which extracts the strings, still does).
"""

import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po


def catalogs_compile(root: Path) -> list[Path]:
    """Compile every django.po under `root` whose .mo is missing or older; the .mo files written."""
    written = []
    for po in sorted(root.glob("*/LC_MESSAGES/django.po")):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        part = mo.with_suffix(f".{os.getpid()}.part")  # written whole, then renamed: parallel test workers
        with part.open("wb") as f:
            write_mo(f, catalog)
        part.replace(mo)
        written.append(mo)
    return written
