"""Every tool's answer within client budgets, measured against the emulator (the whole
catalog: a later tool is covered without touching this test; scripts/answer_sizes.py).

Default arguments: at most DEFAULT_BUDGET_TOKENS (chars / 4) and a text part that is a
summary, not a second copy of the structured payload. The largest explicit arguments:
under Claude Code's 25,000-token limit even at chars / 3.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from mcp import Client

from obmcp.tools import CATALOG

ROOT = Path(__file__).resolve().parents[2]


def _load_script():
    spec = importlib.util.spec_from_file_location("answer_sizes", ROOT / "scripts" / "answer_sizes.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["answer_sizes"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.anyio
async def test_every_answer_within_its_budget():
    sizes = _load_script()
    async with sizes.emulator_server() as url, Client(url) as client:
        rows = await sizes.measure(client)
    defaults = [row for row in rows if row.default]
    assert len(defaults) == len(CATALOG)
    for row in defaults:
        assert not row.is_error, row
        assert row.tokens <= sizes.DEFAULT_BUDGET_TOKENS, (row.tool, row.tokens)
        if row.tool in sizes.TEXT_IS_THE_PAYLOAD:
            continue  # ChatGPT's connector contract: the text is the result object, JSON-encoded
        # The text is a summary: never more than a quarter of the answer, nor 2,000 chars.
        assert row.text_chars <= max(400, min(2_000, row.chars // 4)), (row.tool, row.text_chars, row.chars)
    for row in rows:
        assert not row.is_error, row
        assert row.tokens_conservative < sizes.CLIENT_LIMIT_TOKENS, (row.tool, row.arguments, row.tokens_conservative)
    # The growing lists were projected from items actually returned.
    assert any(row.projected_chars > row.chars for row in rows)
