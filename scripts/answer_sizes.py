"""Measure every tool's answer size, in tokens, against the local emulator.

Starts ``obmcp serve --mode http --source emulator`` (the bundled ETHUSDT recording replayed
through obcore's Binance emulator on 127.0.0.1; nothing reaches Binance), calls every tool of
``tools/list`` with its DEFAULT arguments (only the required ones given) and, for the tools
whose answer grows with an argument, at that argument's largest value, and prints a Markdown
table (the one in docs/ANSWER_SIZES.md).

Size = the ``CallToolResult`` as the server sends it (text content + ``structuredContent``),
serialised as compact JSON. Tokens are estimated two ways: ``chars / 4`` (the usual rule of
thumb) and ``chars / 3`` (conservative: digit-heavy JSON tokenises worse than prose). Claude
Code refuses a tool result over 25,000 tokens. Budgets, asserted over the whole catalog by
tests/obmcp/test_answer_sizes.py: a DEFAULT answer at most :data:`DEFAULT_BUDGET_TOKENS`
(chars / 4), any answer (the largest explicit arguments) under :data:`CLIENT_LIMIT_TOKENS`
even by chars / 3. Lists the emulator returns short (see :data:`GROWS`) are projected to
the full count asked for.

    PYTHONPATH=src .venv/bin/python scripts/answer_sizes.py [--markdown]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Claude Code's limit on one tool result.
CLIENT_LIMIT_TOKENS = 25_000
#: What a default answer may cost (conservative estimate, chars / 3).
DEFAULT_BUDGET_TOKENS = 10_000
#: Arguments a tool needs beyond a symbol to be called at all (a new tool adds its own).
REQUIRED_SAMPLES: dict[str, dict[str, Any]] = {"fetch": {"id": "book:ETHUSDT"}, "search": {"query": "ETH"}}
#: Tools whose text content is, by their client's contract, the result object JSON-encoded
#: (ChatGPT's search/fetch, docs/CHATGPT.md); every other tool's text is a short summary.
TEXT_IS_THE_PAYLOAD = frozenset({"search", "fetch"})
#: The explicit arguments that make an answer larger than the default (largest allowed).
LARGEST: dict[str, list[dict[str, Any]]] = {
    "get_orderbook": [{"limit": 1000}],
    "get_recent_trades": [{"limit": 500}],
    "get_klines": [{"limit": 200}],
    "orderbook_l1": [{"top_n": 100}],
    "orderbook_l2": [{"depth": 100}],
    "fetch": [{"id": "symbol:ETHUSDT"}],  # the other document kind (history needs --data-dir)
}
#: Lists that grow with an argument: tool -> (argument, list fields of structuredContent).
#: The emulator replays ~12 minutes of one symbol, so it returns fewer trades and candles
#: (and a shallower book) than Binance would; such an answer is projected to the full count
#: the argument asks for, at the average size of the items it did return.
GROWS: dict[str, tuple[str, tuple[str, ...]]] = {
    "get_orderbook": ("limit", ("bids", "asks")),
    "get_recent_trades": ("limit", ("trades",)),
    "get_klines": ("limit", ("klines",)),
}  # orderbook_l2 is not projected: the emulator's live book is deeper than 100 levels
#: Live-book tools wait for the emulator's book to go live.
WAIT = {"wait_seconds": 20}


@dataclass(frozen=True)
class Measurement:
    tool: str
    arguments: dict[str, Any]
    default: bool
    chars: int
    text_chars: int
    is_error: bool
    #: the size at the full count the arguments ask for (== chars when nothing is projected)
    projected_chars: int
    #: items returned / asked for, for the growing lists ("" when none)
    items: str = ""

    @property
    def tokens(self) -> int:
        """Estimated tokens of the (projected) answer, chars / 4."""
        return -(-self.projected_chars // 4)

    @property
    def tokens_conservative(self) -> int:
        """Estimated tokens of the (projected) answer, chars / 3."""
        return -(-self.projected_chars // 3)


def _png_tokens(data: str) -> int:
    """Image tokens of a base64 PNG: width x height / 750 (Anthropic's published estimate)."""
    import base64
    import struct

    head = base64.b64decode(data[:64] + "=" * (-len(data[:64]) % 4))
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return -(-len(data) // 4)  # not a PNG: count it as text
    width, height = struct.unpack(">II", head[16:24])
    return -(-width * height // 750)


def result_chars(result: Any) -> tuple[int, int]:
    """Compact-JSON size of a ``CallToolResult`` as sent, and of its text content alone.

    An image block counts as ``4 x`` its image tokens (so ``chars / 4`` gives them), not as
    its base64 length: clients bill images by pixels.
    """
    wire = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    text = sum(len(block.get("text", "")) for block in wire.get("content", ()))
    images = [block for block in wire.get("content", ()) if block.get("type") == "image"]
    image_chars = sum(4 * _png_tokens(block.get("data", "")) for block in images)
    for block in images:
        block["data"] = ""
    return len(json.dumps(wire, separators=(",", ":"), ensure_ascii=False)) + image_chars, text


def projection(tool: Any, arguments: dict[str, Any], structured: dict[str, Any] | None, chars: int) -> tuple[int, str]:
    """``(projected chars, "returned/asked")`` for a tool in :data:`GROWS`, else ``(chars, "")``."""
    grows = GROWS.get(_base_name(tool.name))
    if grows is None or structured is None:
        return chars, ""
    argument, fields = grows
    asked = arguments.get(argument, tool.input_schema["properties"][argument].get("default"))
    projected, counts = chars, []
    for name in fields:
        items = structured.get(name) or []
        counts.append(len(items))
        if items and asked > len(items):
            per_item = len(json.dumps(items, separators=(",", ":"), ensure_ascii=False)) / len(items)
            projected += round((asked - len(items)) * per_item)
    return projected, f"{'+'.join(map(str, counts))} of {asked}{' per side' if len(fields) > 1 else ''}"


def _base_name(wire_name: str) -> str:
    for prefix in ("binance_", "binance."):
        if wire_name.startswith(prefix):
            return wire_name[len(prefix) :]
    return wire_name


def default_arguments(tool: Any) -> dict[str, Any]:
    """Only what the tool requires: a symbol, or its entry in :data:`REQUIRED_SAMPLES`."""
    name = _base_name(tool.name)
    properties = tool.input_schema.get("properties", {})
    arguments = dict(REQUIRED_SAMPLES.get(name, {}))
    if "symbol" in properties and "symbol" in tool.input_schema.get("required", ()):
        arguments.setdefault("symbol", "ETHUSDT")
    if "wait_seconds" in properties:
        arguments.update(WAIT)  # a wait changes when, not what, the tool answers
    missing = set(tool.input_schema.get("required", ())) - set(arguments)
    if missing:
        raise SystemExit(f"{tool.name} requires {sorted(missing)}: add a sample to REQUIRED_SAMPLES")
    return arguments


async def measure(client: Any) -> list[Measurement]:
    """Call every listed tool with default arguments, then with its :data:`LARGEST` ones."""
    rows = []
    # Bring the book live and let the store hold a few seconds (the heatmap reads them).
    tools = (await client.list_tools()).tools
    l1 = next((t.name for t in tools if t.name.endswith("orderbook_l1")), None)
    if l1 is not None:
        await client.call_tool(l1, {"symbol": "ETHUSDT", **WAIT})
        await asyncio.sleep(3)
    for tool in tools:
        base = default_arguments(tool)
        variants = [(base, True)] + [({**base, **extra}, False) for extra in LARGEST.get(_base_name(tool.name), ())]
        for arguments, default in variants:
            result = await client.call_tool(tool.name, arguments)
            chars, text = result_chars(result)
            projected, items = projection(tool, arguments, result.structured_content, chars)
            rows.append(Measurement(tool.name, arguments, default, chars, text, bool(result.is_error), projected, items))
    return rows


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def emulator_server():
    """``obmcp serve --mode http --source emulator`` on a free port; yields its URL."""
    import tempfile

    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    data_dir = tempfile.mkdtemp(prefix="obmcp-answer-sizes-")  # a store: the heatmap reads it
    command = [sys.executable, "-m", "obmcp.cli", "serve", "--mode", "http", "--host", "127.0.0.1",
               "--port", str(port), "--source", "emulator", "--data-dir", data_dir]  # fmt: skip
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                raise RuntimeError(f"obmcp serve exited with {proc.returncode}")
            if "serving MCP at" in line:
                break
        else:
            raise RuntimeError("obmcp serve did not start in 30 s")
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        import shutil

        shutil.rmtree(data_dir, ignore_errors=True)


def table(rows: list[Measurement]) -> str:
    lines = [
        "| Tool | Arguments | Default? | items (emulator) | JSON chars (emulator) | of which text | "
        "JSON chars (full) | tokens (chars/4) | tokens (chars/3) |",
        "|---|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        shown = {k: v for k, v in row.arguments.items() if k != "wait_seconds"}
        args = ", ".join(f"{k}={json.dumps(v)}" for k, v in shown.items()) or "(none)"
        flag = "default" if row.default else "explicit"
        error = " (error)" if row.is_error else ""
        over = " **over 25k**" if row.tokens_conservative > CLIENT_LIMIT_TOKENS else ""
        lines.append(
            f"| {row.tool}{error} | {args} | {flag} | {row.items} | {row.chars:,} | {row.text_chars:,} | "
            f"{row.projected_chars:,} | {row.tokens:,} | {row.tokens_conservative:,}{over} |"
        )
    return "\n".join(lines)


async def main(argv: list[str] | None = None) -> None:
    from mcp import Client

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    async with emulator_server() as url, Client(url) as client:
        rows = await measure(client)
    print(table(rows))
    worst = max((r for r in rows if r.default), key=lambda r: r.projected_chars)
    largest = max(rows, key=lambda r: r.projected_chars)
    print(f"\nlargest default answer: {worst.tool}, {worst.tokens:,} tokens (chars/4), "
          f"{worst.tokens_conservative:,} (chars/3); default budget {DEFAULT_BUDGET_TOKENS:,} (chars/4)")
    print(f"largest explicit answer: {largest.tool} {largest.arguments}, {largest.tokens_conservative:,} tokens "
          f"(chars/3); client limit {CLIENT_LIMIT_TOKENS:,}")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
