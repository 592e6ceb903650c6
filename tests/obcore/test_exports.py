"""Every obcore module's ``__all__`` is complete and unique; the exception tree is one tree,
drawn in ``errors.py``'s docstring exactly as the classes are built; one rule, one place."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import pytest

import obcore
from obcore import errors

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(obcore.__path__, "obcore.")
    if info.name.rsplit(".", 1)[-1] != "_book"  # the compiled kernel (its .pyi lists the names)
)


def test_the_walk_finds_the_packages():
    assert {"obcore.errors", "obcore.session", "obcore._kernels._layout", "obcore.store.keys"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_all_is_complete_and_unique(name):
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert isinstance(exported, list), f"{name} has no __all__ list"
    duplicates = sorted({export for export in exported if exported.count(export) > 1})
    assert not duplicates, f"{name}.__all__ repeats {duplicates}"
    missing = [export for export in exported if not hasattr(module, export)]
    assert not missing, f"{name}.__all__ names missing attributes {missing}"


def _exception_classes():
    return {
        name: value
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == errors.__name__
    }


def _drawn_tree() -> dict[str, str | None]:
    """Child -> parent as drawn in the docstring (each level indents by 4 columns)."""
    parents: dict[str, str | None] = {}
    stack: list[str] = []
    for line in errors.__doc__.splitlines():
        found = re.match(r"^(\s*)([│ ]*)(?:├── |└── )?([A-Z]\w*Error)\b", line)
        if not found:
            continue
        column = len(found.group(1)) + len(found.group(2))  # where the branch starts
        depth = (column - 4) // 4 + 1 if "──" in line else 0
        del stack[depth:]
        parents[found.group(3)] = stack[-1] if stack else None
        stack.append(found.group(3))
    return parents


def test_every_exception_is_exported_in_the_tree_and_drawn_where_it_is():
    classes = _exception_classes()
    drawn = _drawn_tree()
    assert len(classes) > 20 and "MissingCredentialsError" in classes
    assert set(classes) == set(errors.__all__), "errors.__all__ and the classes differ"
    assert set(drawn) == set(classes), f"drawn {sorted(set(drawn) ^ set(classes))} differ from the classes"
    for name, cls in classes.items():
        assert issubclass(cls, errors.ObcoreError), f"{name} is outside the ObcoreError tree"
        tree_bases = [base.__name__ for base in cls.__bases__ if base.__name__ in classes]
        expected = tree_bases[0] if tree_bases else None
        assert drawn[name] == expected, f"{name} is drawn under {drawn[name]}, but its base is {expected}"


def test_the_client_re_exports_the_same_missing_credentials_error():
    from obcore.client import MissingCredentialsError

    assert MissingCredentialsError is errors.MissingCredentialsError


def test_one_symbol_rule():
    from obcore.session import BookSession
    from obcore.store import keys
    from obcore.validation import SYMBOL_PATTERN, SYMBOL_RE, check_symbol

    assert SYMBOL_PATTERN == r"^[A-Z0-9]{2,20}$" and SYMBOL_RE.pattern == SYMBOL_PATTERN
    for good in ("ETHUSDT", "BTC", "1000SATSUSDT", "AB", "A" * 20):
        assert check_symbol(good) == keys.check_symbol(good) == BookSession(good).symbol
    for bad in ("A", "A" * 21, "ethusdt", "ETH-USDT", "", None):
        for check in (check_symbol, keys.check_symbol, BookSession):
            with pytest.raises(errors.InvalidInputError):
                check(bad)


def test_one_form_of_sync_state_names():
    from obcore.session import BookSession, SyncState
    from obcore.store.snapshot import STATE_CODES, STATE_NAMES, state_code

    assert [state.value for state in SyncState] == [state.name for state in SyncState] == list(STATE_NAMES)
    assert all(state_code(state) == STATE_CODES[state.value] for state in SyncState)
    assert BookSession("ETHUSDT").status()["state"] == "SYNCING"


def test_one_stale_limit():
    from obcore import quality
    from obcore.session import STALE_AFTER_MS, BookSession
    from obcore.streams import StreamManager

    assert STALE_AFTER_MS == 5_000 and quality.STALE_AFTER_MS is STALE_AFTER_MS
    assert inspect.signature(BookSession.mark_stale).parameters["limit_ms"].default is STALE_AFTER_MS
    assert inspect.signature(StreamManager).parameters["stale_after_ms"].default is STALE_AFTER_MS
