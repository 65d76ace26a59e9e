"""A package's public names, each imported from its module on first use (PEP 562).

Packages whose ``__init__`` should stay cheap to import (the document model at the
editor's start-up, the edit engine when the window only asks whether its model is
installed) list each name with the submodule that defines it and take their
module-level ``__getattr__`` and ``__dir__`` from :func:`lazy_names`.
"""

from __future__ import annotations

from importlib import import_module


def lazy_names(package: str, table: dict[str, str], namespace: dict):
    """``__getattr__`` and ``__dir__`` for ``package``: a name in ``table`` imports its
    submodule (``table[name]``, relative to ``package``) on first use and is then kept in
    ``namespace`` (the package's globals), so later lookups are plain attribute reads."""

    def __getattr__(name: str):
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f".{module}", package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
