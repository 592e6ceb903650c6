"""The analytics room's surface: exports complete and unique, no I/O modules pulled in by
the package, nothing compiled at import, and the twins serving when extensions are off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import obcore.analytics as analytics

SRC = str(Path(__file__).resolve().parents[3] / "src")


def _python(code: str, **env: str) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("OBCORE_NO_EXTENSIONS", "NUMBA_DISABLE_JIT")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**base, "PYTHONPATH": SRC, **env})
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_exports_complete_and_unique():
    assert len(analytics.__all__) == len(set(analytics.__all__))
    for name in analytics.__all__:
        assert getattr(analytics, name) is not None
    import types

    public = {n for n, v in vars(analytics).items()
              if not n.startswith("_") and not isinstance(v, types.ModuleType) and n != "annotations"}
    assert public == set(analytics.__all__)


def test_the_package_does_no_io_and_compiles_nothing():
    out = _python(
        "import sys, obcore.analytics\n"
        "import json\n"
        "from numba.core.registry import CPUDispatcher\n"
        "from obcore._kernels import _profile\n"
        "print(json.dumps({'io': sorted(m for m in ('httpx', 'obcore.client', 'websockets', 'obcore.streams',"
        " 'obcore.analytics.backfill', 'obcore.analytics.tradefiles') if m in sys.modules),"
        " 'compiled': len(_profile.bin_trades.signatures)}))")
    assert json.loads(out) == {"io": [], "compiled": 0}


def test_import_obcore_pulls_in_no_analytics_or_numba():
    out = _python("import sys, obcore; print(sorted(m for m in ('numba', 'obcore.analytics') if m in sys.modules))")
    assert out == "[]"


def test_twins_serve_when_extensions_are_off():
    code = (
        "import numpy as np, json\n"
        "from obcore._kernels import _profile, _flow\n"
        "from obcore.analytics import TradeArrays, volume_profile\n"
        "n = 3000\n"
        "p = (100000 + np.cumsum(np.tile([1, -1, 1, 1, -1], n // 5))).astype(np.int64)\n"
        "t = TradeArrays(p, np.arange(1, n + 1), np.arange(n), np.ones(n, np.int8), np.arange(n), 2, 0)\n"
        "r = volume_profile(t, '0.01')\n"
        "print(json.dumps([_profile.IMPLEMENTATION, _flow.IMPLEMENTATION, r.to_dict('full')]))")
    twin = json.loads(_python(code, OBCORE_NO_EXTENSIONS="1"))
    compiled = json.loads(_python(code))
    assert twin[:2] == ["python", "python"] and compiled[:2] == ["numba", "numba"]
    assert twin[2] == compiled[2]


def test_importing_the_room_registers_every_kernel_warm_up():
    out = _python("import obcore.analytics\nfrom obcore._kernels import _numba\n"
                  "print(sorted(f.__module__ for f in _numba._WARM_UPS))")
    assert "obcore._kernels._profile" in out and "obcore._kernels._flow" in out
