"""The wheel carries telejt's data folders (everything else is in pyproject.toml).

``migrations/``, ``protocols/`` and ``translations/`` live at the repository's top
level; the build copies them into ``telejt/_bundled/`` (compiling the catalogs to
``.mo``), so an installed telejt upgrades its database, loads its protocols and
speaks Spanish from any directory. An editable install reads them in place
(telejt.resources).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
COPIED = ("migrations", "protocols")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")


class BuildWithData(build_py):
    """build_py, then the data folders into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's own folders
        target = Path(self.build_lib) / "telejt" / "_bundled"
        for name in COPIED:
            shutil.copytree(ROOT / name, target / name, ignore=IGNORED, dirs_exist_ok=True)
        for po in sorted((ROOT / "translations").glob("*/LC_MESSAGES/messages.po")):
            locale = po.parent.parent.name
            mo = target / "translations" / locale / "LC_MESSAGES" / "messages.mo"
            mo.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as source:
                catalog = read_po(source, locale=locale)
            with mo.open("wb") as compiled:
                write_mo(compiled, catalog)


setup(cmdclass={"build_py": BuildWithData})
