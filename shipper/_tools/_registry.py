"""The tools shipper integrates: one module each in this package, found by name.

A tool is the module ``shipper/_tools/<name>.py`` (``-`` in a name is ``_`` in the module's):
nothing else lists them, so adding a tool adds its module and nothing here. Every module
has ``NAME``, ``TITLE``, ``ORDER`` (its place in lists), ``PREFIX`` (of its events),
``RECORDS`` (what it records, for ``shipper hooks list``), ``ALIASES`` (other spellings of
its name) and ``map_payload``; a tool shipper can install into has ``installer()`` too.

The hook path uses `source_named` and `load`: they import the one module a hook maps with,
and nothing else (an alias is the one case that looks at every module).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PACKAGE = __name__.rpartition(".")[0]
GENERIC = "generic"  # the mapping for anything no tool claims: metadata only, by kind


def module_name(name: str) -> str | None:
    """The module of a tool name, if the name could be one (lower case, digits, ``-``)."""
    module = name.replace("-", "_")
    if not module.isidentifier() or not module.islower() or module.startswith("_"):
        return None
    return module


def load(name: str) -> Any:  # Any: a tool's module (what it must hold: tests/tools)
    """The module of the tool ``name``, imported; None when there is no such tool."""
    module = module_name(name)
    if module is None:
        return None
    full = f"{PACKAGE}.{module}"
    try:
        return __import__(full, fromlist=["NAME"])
    except ModuleNotFoundError as exc:
        if exc.name == full:
            return None
        raise


def names() -> tuple[str, ...]:
    """Every tool's name, in its ``ORDER``."""
    import pkgutil

    from . import __path__ as folders

    found = [load(m.name.replace("_", "-")) for m in pkgutil.iter_modules(folders)
             if not m.name.startswith("_")]
    return tuple(tool.NAME for tool in sorted(found, key=lambda tool: (tool.ORDER, tool.NAME)))


def installable() -> tuple[str, ...]:
    """The tools ``shipper hooks install`` can install into."""
    return tuple(name for name in names() if hasattr(load(name), "installer"))


def source_named(text: str) -> str:
    """The tool a ``--source`` value means: case, ``_``, spaces and a tool's other
    spellings aside (``claude_code``, ``Claude-Code``, ``claudecode``); ``generic``
    otherwise, which ships metadata only unless content is opted in."""
    normal = text.strip().lower().replace("_", "-").replace(" ", "-")
    if load(normal) is not None:
        return normal
    for name in names():
        if normal in load(name).ALIASES:
            return name
    return GENERIC
