"""Run heavy libraries' import code after the editor's first frame, not before.

The window's modules say ``import numpy as np`` at the top, but building and
painting an empty window never calls NumPy, Pillow or asyncio, and importing
them costs about as much CPU as Qt itself. :func:`defer` puts a module object
for each of them in ``sys.modules`` whose code has not run yet; the first
attribute use runs it in place (the same object, like
:class:`importlib.util.LazyLoader`, which cannot be used here because Python's
import statement reads ``__spec__``, and that alone makes LazyLoader load).
:func:`load_all` runs whatever is still pending; the editor calls it on the
main thread right after the first paint, before its event loop or any worker
thread starts, so from then on every module is a plain, fully imported one.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import types

# Read without running the module's code: by the import statement (``__spec__``) and by
# introspection that only wants the source file (PySide's import hook calls
# ``inspect.getsource`` on every module imported after it).
_PASS_THROUGH = frozenset({"__spec__", "__name__", "__class__", "__loader__", "__package__", "__file__",
                           "__dict__"})


class _DeferredModule(types.ModuleType):
    """A module whose code runs on first attribute use (then it is a plain module)."""

    def __getattribute__(self, attr: str):
        if attr in _PASS_THROUGH:
            return object.__getattribute__(self, attr)
        if attr == "__wrapped__":  # inspect.unwrap's test: a module never wraps anything
            raise AttributeError(attr)
        _run(self)
        return getattr(self, attr)

    def __setattr__(self, attr: str, value) -> None:
        # Kept until the code has run, then applied, as if set right after an eager import
        # (Pillow's pixel limit is set this way when the editor's image opener is imported).
        object.__getattribute__(self, "__spec__").loader_state.append((attr, value))

    def __delattr__(self, attr: str) -> None:
        _run(self)
        delattr(self, attr)


def _run(module: types.ModuleType) -> None:
    """Execute a deferred module's code in place, as the import statement would have."""
    if type(module) is not _DeferredModule:
        return
    spec = object.__getattribute__(module, "__spec__")
    object.__setattr__(module, "__class__", types.ModuleType)  # its own code sees a normal module
    spec._initializing = True
    try:
        spec.loader.exec_module(module)
    except BaseException:
        if sys.modules.get(spec.name) is module:
            del sys.modules[spec.name]
        raise
    finally:
        spec._initializing = False
    for attr, value in spec.loader_state:
        setattr(module, attr, value)
    spec.loader_state = None


def defer(*names: str) -> list[str]:
    """Register each not yet imported module in ``names`` as deferred; return those registered.

    A name already imported, unknown, or loaded by a loader that cannot run a module
    in place (extension modules) is left alone: its import then simply happens as usual.
    """
    done = []
    for name in names:
        if name in sys.modules:
            continue
        spec = importlib.util.find_spec(name)  # imports the parent package of a dotted name
        if (spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module")
                or isinstance(spec.loader, importlib.machinery.ExtensionFileLoader)
                or spec.loader in (importlib.machinery.BuiltinImporter, importlib.machinery.FrozenImporter)):
            continue  # creating an extension or built-in module already runs it: nothing to defer
        module = importlib.util.module_from_spec(spec)
        if type(module) is not types.ModuleType:  # a loader with its own module type
            continue
        spec.loader_state = []  # attributes set before the code runs
        object.__setattr__(module, "__class__", _DeferredModule)
        sys.modules[name] = module
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, module)
        done.append(name)
    return done


def pending() -> list[str]:
    """Names of deferred modules whose code has not run yet."""
    return [name for name, module in list(sys.modules.items()) if type(module) is _DeferredModule]


def load_all() -> None:
    """Run every deferred module's code now (main thread, before any worker starts)."""
    for name in pending():
        module = sys.modules.get(name)
        if module is not None:
            _run(module)
