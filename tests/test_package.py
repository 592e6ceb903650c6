"""Package surface: exports complete and unique; `import obcore` pulls in no server code."""

from __future__ import annotations

import subprocess
import sys

import obcore


def test_exports_resolve_and_are_unique():
    assert len(obcore.__all__) == len(set(obcore.__all__))
    for name in obcore.__all__:
        assert getattr(obcore, name) is not None, name


def test_import_obcore_pulls_no_server_modules():
    code = (
        "import sys, obcore, obcore.book, obcore.session, obcore.replay;"
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('obmcp', 'mcp', 'hypercorn', 'starlette', 'numba')];"
        "print(','.join(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert result.stdout.strip() == ""


def test_bad_attribute_is_an_attribute_error():
    try:
        obcore.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")
