"""The emulator's server dependencies are an extra: never imported by ``import obcore`` or
``import obcore.emulator``, and a clear message naming the extra when they are missing."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[3]


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={"PYTHONPATH": ":".join(sys.path)})


def test_importing_obcore_and_the_emulator_pulls_in_no_server_package():
    code = ("import sys, obcore, obcore.book, obcore.session, obcore.streams, obcore.store, obcore.emulator;"
            "from obcore.emulator import Emulator;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'hypercorn')))")
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_starting_without_the_extra_names_it():
    # A finder that refuses starlette stands in for an install without obcore[emulator].
    code = """
import asyncio, sys
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'starlette':
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, Refuse())
from obcore.emulator import Emulator
try:
    asyncio.run(Emulator().start())
except ImportError as exc:
    print("ImportError:", exc)
"""
    result = _run(code)
    assert "ImportError:" in result.stdout, result.stdout + result.stderr
    assert "'starlette'" in result.stdout and "obcore[emulator]" in result.stdout


def test_the_extra_is_declared_and_pulled_in_by_dev_and_mcp():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = " ".join(project["dependencies"])
    assert "starlette" not in base and "hypercorn" not in base
    extras = project["optional-dependencies"]
    assert any(dep.startswith("starlette") for dep in extras["emulator"])
    assert any(dep.startswith("hypercorn") for dep in extras["emulator"])
    assert "obcore[emulator]" in extras["mcp"] and "obcore[emulator]" in extras["dev"]
