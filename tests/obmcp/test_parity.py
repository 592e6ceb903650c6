"""One tool surface: every listed tool, resource and prompt answers the same over stdio,
HTTP and gRPC (issue 13 item 4).

One server process (:mod:`tests.obmcp.parity_server`) serves the same MCP server over all
three transports against one emulator state (the bundled ETHUSDT recording, paused after
the book went LIVE, clock held). This process is the client of all three: the SDK's
stdio client (which starts that process), the SDK's HTTP client, and the generated gRPC
stub. The tools come from the listings (which must agree), not from a hand list; each
tool's arguments are generated from its input model (defaults, a field's first example
for a required one); the bad inputs are generated from its input schema. Results must
be equal field by field; fields that are times or ages only present in all three and
plausible. Errors must be the same text (gRPC: the status details, with the status the
error code maps to).
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import grpc
import pytest
from mcp import Client, StdioServerParameters
from mcp.shared.exceptions import MCPError

from obmcp._proto.provider.v1 import provider_pb2 as pb
from obmcp._proto.provider.v1 import provider_pb2_grpc as pb_grpc
from obmcp.catalog import wire_name
from obmcp.config import ServerSettings
from obmcp.grpc_transport import error_code, status_for
from obmcp.tools import CATALOG

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT), os.environ.get("PYTHONPATH", "")])}
# Times and ages: *_time*, *_ms (epoch ms or a duration), *_s (epoch seconds or seconds), age.
_TIME_KEY = re.compile(r"(^|_)(time|timestamp)($|_)|_ms$|_s$|(^|_)age($|_)")
_DAY_MS = 86_400_000
_AGE_TEXT = re.compile(r"\b\d+ ms\b")
_ENTRIES = {wire_name(entry, ServerSettings().tool_name): entry for entry in CATALOG}


def sample_arguments(schema: dict[str, Any]) -> dict[str, Any]:
    """A valid arguments object from a tool's input schema: every default, and the first
    example of each required property (symbols have ``ETHUSDT``)."""
    arguments: dict[str, Any] = {}
    for name, prop in schema.get("properties", {}).items():
        if "default" in prop:
            arguments[name] = prop["default"]
        elif name in schema.get("required", ()):
            examples = prop.get("examples") or [s for option in prop.get("anyOf", ()) for s in option.get("examples", ())]
            assert examples, f"required argument {name!r} has no example to call the tool with"
            arguments[name] = examples[0]
    return arguments


def bad_inputs(schema: dict[str, Any], good: dict[str, Any]) -> list[dict[str, Any]]:
    """Arguments every tool must refuse: an unknown argument, and a wrong JSON type for each
    property (a number where a string is expected, a string elsewhere)."""
    cases = [{**good, "no_such_argument": 1}]
    for name, prop in schema.get("properties", {}).items():
        kinds = {prop.get("type")} | {option.get("type") for option in prop.get("anyOf", ())}
        cases.append({**good, name: 12345 if "string" in kinds else "not-a-number"})
    return cases


def _plausible_time(key: str, value: Any, now_ms: int) -> bool:
    if value is None:
        return True
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
        return False
    if key.endswith("_s"):  # epoch seconds (after 2017, not in the future) or a duration up to a week
        return value <= 7 * 86_400 or 1_500_000_000 <= value <= now_ms / 1000 + 86_400
    if "age" in key or value < 1_500_000_000_000:  # a duration in ms, at most a week
        return value <= 7 * _DAY_MS
    return value <= now_ms + _DAY_MS  # epoch ms after 2017, not in the future


def normalise(value: Any, now_ms: int, key: str = "", *, plausible: bool = True) -> Any:
    """``value`` with every time/age field replaced by a marker, after checking it is
    plausible (unless ``plausible`` is False: data recorded long ago, as in the fakes)."""
    if isinstance(value, dict):
        return {k: normalise(v, now_ms, k, plausible=plausible) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise(v, now_ms, key, plausible=plausible) for v in value]
    if key and _TIME_KEY.search(key) and not isinstance(value, (dict, list, str)):
        assert not plausible or _plausible_time(key, value, now_ms), f"{key} = {value!r} is not a plausible time/age"
        return "<time>" if value is not None else None
    if isinstance(value, str):
        return _AGE_TEXT.sub("<n> ms", value)  # "book is stale: last depth update 5512 ms ago"
    return value


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two answers differ, as ``path: a != b`` lines (for the failure message)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {a!r:.80} != {b!r:.80}"]


def normalise_text(text: str) -> str:
    """A summary with timestamps (13-digit ms, Unix seconds) and ages (``N ms``) masked."""
    return _AGE_TEXT.sub("<n> ms", re.sub(r"\b\d{10,13}\b", "<t>", text))


class Transports:
    def __init__(self, stdio: Client, http: Client, grpc_stub: Any) -> None:
        self.stdio, self.http, self.grpc = stdio, http, grpc_stub

    async def call_mcp(self, client: Client, name: str, arguments: dict[str, Any]) -> tuple[Any, ...]:
        """("ok", structured, text, images) | ("error", None, text) | ("protocol", code, message)."""
        try:
            result = await client.call_tool(name, arguments)
        except MCPError as exc:
            return "protocol", exc.error.code, exc.error.message
        text = result.content[0].text
        if result.is_error:
            return "error", None, text
        images = [(c.mime_type, base64.b64decode(c.data)) for c in result.content if c.type == "image"]
        return "ok", result.structured_content, text, images

    async def call_grpc(self, name: str, arguments: dict[str, Any]) -> tuple[str, Any, str, Any]:
        request = pb.InvokeRequest(tool=name, arguments_json=json.dumps(arguments))
        try:
            response = await self.grpc.Invoke(request, timeout=30)
        except grpc.aio.AioRpcError as exc:
            return "status", exc.code(), exc.details(), dict(exc.trailing_metadata() or ())
        assert not response.is_error
        return "ok", json.loads(response.structured_json), response.text, [(i.mime_type, i.data) for i in response.images]


@pytest.fixture
async def transports(tmp_path: Path):
    ports_file = tmp_path / "ports.json"
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "tests.obmcp.parity_server", str(ports_file)], env=ENV, cwd=str(ROOT)
    )
    async with Client(params, mode="legacy") as stdio:
        with anyio.fail_after(30):
            while not ports_file.exists() or not ports_file.read_text():
                await anyio.sleep(0.05)
        ports = json.loads(ports_file.read_text())
        async with Client(ports["http"], mode="legacy") as http, grpc.aio.insecure_channel(ports["grpc"]) as channel:
            yield Transports(stdio, http, pb_grpc.ProviderStub(channel))


async def test_every_tool_resource_and_prompt_answers_the_same(transports: Transports):
    now_ms = int(time.time() * 1000)
    # ---------------------------------------------------------------- the listings agree
    stdio_tools = (await transports.stdio.list_tools()).tools
    http_tools = (await transports.http.list_tools()).tools
    caps = await transports.grpc.ListCapabilities(pb.ListCapabilitiesRequest(), timeout=10)
    assert [t.model_dump() for t in stdio_tools] == [t.model_dump() for t in http_tools]
    assert [t.name for t in caps.tools] == [t.name for t in stdio_tools]
    assert len(stdio_tools) == len(CATALOG) >= 9
    for mcp_tool, grpc_tool in zip(stdio_tools, caps.tools, strict=True):
        assert grpc_tool.title == mcp_tool.title and grpc_tool.description == mcp_tool.description
        assert json.loads(grpc_tool.input_schema_json) == mcp_tool.input_schema
        assert json.loads(grpc_tool.output_schema_json) == mcp_tool.output_schema
        hints = mcp_tool.annotations
        assert (grpc_tool.annotations.read_only, grpc_tool.annotations.destructive, grpc_tool.annotations.idempotent,
                grpc_tool.annotations.open_world) == (hints.read_only_hint, hints.destructive_hint,
                                                      hints.idempotent_hint, hints.open_world_hint)  # fmt: skip

    # ---------------------------------------------------------------- every tool, same answer
    called = 0
    for tool in stdio_tools:
        arguments = sample_arguments(tool.input_schema)
        answers = [
            await transports.call_mcp(transports.stdio, tool.name, arguments),
            await transports.call_mcp(transports.http, tool.name, arguments),
            await transports.call_grpc(tool.name, arguments),
        ]
        for kind, structured, text, *_ in answers:
            assert kind == "ok", (tool.name, arguments, kind, text)
        structured = [normalise(a[1], now_ms) for a in answers]
        assert structured[0] == structured[1] == structured[2], (
            tool.name, differences(structured[0], structured[1]), differences(structured[0], structured[2]))
        texts = [normalise_text(a[2]) for a in answers]
        assert texts[0] == texts[1] == texts[2], tool.name
        images = [a[3] for a in answers]
        assert [len(i) for i in images] == [len(images[0])] * 3, tool.name
        for picture in zip(*images):  # PNGs on every transport (drawn "now": the axes move, bytes differ)
            assert all(mime == "image/png" and data.startswith(b"\x89PNG\r\n\x1a\n") for mime, data in picture)
        called += 1

        # ------------------------------------------------------------ same refusals
        bad_cases = bad_inputs(tool.input_schema, arguments)
        entry = _ENTRIES[tool.name]
        if entry.hints.open_world and "symbol" in tool.input_schema.get("properties", {}):
            bad_cases.append({**arguments, "symbol": "NOPEUSDT"})  # refused by Binance (the emulator)
        for bad in bad_cases:
            over_stdio = await transports.call_mcp(transports.stdio, tool.name, bad)
            over_http = await transports.call_mcp(transports.http, tool.name, bad)
            kind, status, details, trailers = await transports.call_grpc(tool.name, bad)
            assert over_stdio[0] == "error", (tool.name, bad, over_stdio)
            assert over_stdio == over_http, (tool.name, bad)
            assert kind == "status" and details == over_stdio[2], (tool.name, bad, details, over_stdio[2])
            code = error_code(details)
            assert code in ("invalid_input", "invalid_symbol"), details
            assert status == status_for(code) == grpc.StatusCode.INVALID_ARGUMENT
            assert trailers["obmcp-error-code"] == code
    assert called == len(CATALOG)

    # ---------------------------------------------------------------- an unknown tool
    unknown = [await transports.call_mcp(c, "binance_no_such_tool", {}) for c in (transports.stdio, transports.http)]
    kind, status, details, _ = await transports.call_grpc("binance_no_such_tool", {})
    assert unknown[0] == unknown[1] and unknown[0][:2] == ("protocol", -32602)
    assert (kind, status, details) == ("status", grpc.StatusCode.NOT_FOUND, unknown[0][2])

    # ---------------------------------------------------------------- resources and prompts
    resources = [(await c.list_resources()).resources for c in (transports.stdio, transports.http)]
    prompts = [(await c.list_prompts()).prompts for c in (transports.stdio, transports.http)]
    assert [r.uri for r in resources[0]] == [r.uri for r in resources[1]] == [r.uri for r in caps.resources]
    assert [p.name for p in prompts[0]] == [p.name for p in prompts[1]] == [p.name for p in caps.prompts]
    templates = [(await c.list_resource_templates()).resource_templates for c in (transports.stdio, transports.http)]
    assert [t.uri_template for t in templates[0]] == [t.uri_template for t in templates[1]] == [
        t.uri_template for t in caps.resource_templates]
    symbol_uris = [t.uri_template.replace("{symbol}", "ETHUSDT") for t in templates[0]]
    for uri in [u for u in symbol_uris if "{" not in u]:  # templates whose only parameter is a symbol
        contents = [[c.model_dump() for c in (await cl.read_resource(uri)).contents]
                    for cl in (transports.stdio, transports.http)]  # fmt: skip
        answer = await transports.grpc.ReadResource(pb.ReadResourceRequest(uri=uri), timeout=30)
        # Live charts drawn at read time: the same kind of content everywhere, not the same bytes.
        kinds = [[(c.get("mimeType") or c.get("mime_type"), "blob" in c and c["blob"] is not None) for c in cs]
                 for cs in contents]  # fmt: skip
        assert kinds[0] == kinds[1], uri
        assert [(c.mime_type, c.HasField("blob")) for c in answer.contents] == kinds[0], uri
    for resource in resources[0]:
        mcp_contents = [[c.model_dump() for c in (await cl.read_resource(resource.uri)).contents]
                        for cl in (transports.stdio, transports.http)]  # fmt: skip
        answer = await transports.grpc.ReadResource(pb.ReadResourceRequest(uri=str(resource.uri)), timeout=10)
        assert mcp_contents[0] == mcp_contents[1]
        assert [c.text or c.blob for c in answer.contents] == [c.get("text") or c.get("blob") for c in mcp_contents[0]]
    for prompt in prompts[0]:
        if any(a.required for a in prompt.arguments or ()):
            continue  # no generated arguments for a prompt that requires some
        rendered = [await cl.get_prompt(prompt.name) for cl in (transports.stdio, transports.http)]
        answer = await transports.grpc.GetPrompt(pb.GetPromptRequest(name=prompt.name), timeout=10)
        assert rendered[0].model_dump() == rendered[1].model_dump()
        assert [m.role for m in answer.messages] == [m.role for m in rendered[0].messages]
    # Unknown ones are refused everywhere (gRPC: NOT_FOUND).
    for client in (transports.stdio, transports.http):
        with pytest.raises(MCPError):
            await client.read_resource("obmcp://no-such-resource")
        with pytest.raises(MCPError):
            await client.get_prompt("no_such_prompt")
    for call, request in ((transports.grpc.ReadResource, pb.ReadResourceRequest(uri="obmcp://no-such-resource")),
                          (transports.grpc.GetPrompt, pb.GetPromptRequest(name="no_such_prompt"))):  # fmt: skip
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call(request, timeout=10)
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND
