"""Where telejt's data folders are: bundled in the installed package, or in the checkout.

A checkout (and an editable install) reads ``migrations/``, ``protocols/`` and
``translations/`` at the repository's top level. The wheel carries copies of them
under ``telejt/_bundled/`` (the build puts them there, with the catalogs compiled),
so an installed ``telejt`` works from any directory.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
#: filled by the wheel build (setup.py); absent in a checkout
BUNDLED = PACKAGE / "_bundled"
#: the repository's top level, when telejt runs from a checkout
CHECKOUT = PACKAGE.parent
DATA_FOLDERS = ("migrations", "protocols", "translations")


def is_checkout() -> bool:
    """Whether telejt runs from a source checkout (or an editable install of one)."""
    return (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / "migrations").is_dir()


def data_dir(name: str) -> Path:
    """One of the data folders: the bundled copy in a wheel, else the checkout's."""
    if name not in DATA_FOLDERS:
        raise ValueError(f"no data folder {name!r}")
    bundled = BUNDLED / name
    return bundled if bundled.is_dir() else CHECKOUT / name


def default_instance_dir() -> Path:
    """Where the SQLite file and the development secret go by default.

    A checkout keeps them in its own ``instance/``; an installed telejt in ``instance/``
    under the directory it is started from (``TELEJT_INSTANCE_DIR`` overrides both).
    """
    return CHECKOUT / "instance" if is_checkout() else Path.cwd() / "instance"
