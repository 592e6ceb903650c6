"""Public surface of obcore.store: complete, unique exports; no server code pulled in."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

MODULES = ["obcore.store", "obcore.store.codec", "obcore.store.decode", "obcore.store.keys",
           "obcore.store.snapshot", "obcore.store.store", "obcore.store.writer", "obcore.store.recorded",
           "obcore.store.__main__"]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist_and_are_unique(name):
    module = importlib.import_module(name)
    assert len(module.__all__) == len(set(module.__all__))
    for export in module.__all__:
        assert hasattr(module, export), f"{name}.{export}"


def test_importing_the_store_pulls_in_no_server_code_or_numba():
    code = "import sys, obcore.store; print(sorted(m for m in sys.modules if m.split('.')[0] in ('obmcp', 'mcp', 'hypercorn', 'numba')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         env={"PYTHONPATH": ":".join(sys.path)})
    assert out.stdout.strip() == "[]", out.stderr
