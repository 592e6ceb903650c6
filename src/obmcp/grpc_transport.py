"""The gRPC transport of the tool catalog: ``provider.v1.Provider`` on a ``grpc.aio`` server.

Room: a transport, like :mod:`obmcp.server` for MCP — no tool logic and no per-tool code.
The tools are the entries :func:`obmcp.catalog.select` keeps from
``obmcp.tools.catalog_for(enable_trading)`` (the same the MCP server lists), under the same wire names,
with the same JSON Schemas and annotations; ``Invoke`` runs one through
:func:`obmcp.catalog.invoke` with the MCP server's own :class:`~obmcp.catalog.ToolContext`
(one ``orderbook_l1`` cache per server), so a tool added to the catalog later is served
here with no change. Resources and prompts are whatever the MCP server registers, read
through its public ``list_resources`` / ``read_resource`` / ``list_prompts`` /
``get_prompt`` (an unknown URI or name is ``NOT_FOUND``).

The wire contract is ``proto/provider/v1/provider.proto`` (docs/GRPC.md). A tool error
is a non-OK status whose details are the MCP error text (``<code>: <message>``), with
the code also in the trailing metadata ``obmcp-error-code``; :data:`STATUS_BY_CODE` maps
the codes. Beside the provider the server runs the standard health service
(``grpc.health.v1.Health``, answered without a token) and server reflection. A bearer
token (``OBMCP_TOKEN``, the rule of :class:`obmcp.config.ServerSettings`: required for any
non-loopback bind) is checked on every other call as ``authorization: Bearer <token>``
metadata. Deadlines are honoured (the call stops when its deadline passes), a cancelled
call cancels its tool, and SIGTERM stops accepting calls and lets those in flight finish
(up to :data:`SHUTDOWN_GRACE_SECONDS`).

Needs the ``obcore[grpc]`` extra (grpcio, grpcio-health-checking, grpcio-reflection,
protobuf); :mod:`obmcp.cli` reports its absence in one line.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

import grpc
from grpc import aio
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from obcore.errors import InvalidInputError

from obmcp._proto.provider.v1 import provider_pb2 as pb
from obmcp._proto.provider.v1 import provider_pb2_grpc as pb_grpc
from obmcp.catalog import ToolContext, ToolEntry, invoke, select, wire_name
from obmcp.config import ServerSettings

logger = logging.getLogger(__name__)

__all__ = [
    "ERROR_CODE_KEY",
    "SERVICE_NAME",
    "SHUTDOWN_GRACE_SECONDS",
    "STATUS_BY_CODE",
    "ProviderService",
    "build_provider",
    "error_code",
    "serve_grpc",
    "serve_provider",
    "status_for",
]

#: ``provider.v1.Provider``, as reflection and the health service name it.
SERVICE_NAME: str = pb.DESCRIPTOR.services_by_name["Provider"].full_name
#: Trailing metadata key carrying a failed call's error code (``invalid_input`` …).
ERROR_CODE_KEY = "obmcp-error-code"
#: Seconds calls in flight may take to finish after SIGTERM (the longest tool wait is 30 s).
SHUTDOWN_GRACE_SECONDS = 35.0

_UNAUTHORIZED = "Unauthorized: missing or wrong bearer token"

#: gRPC status of each error code an :class:`~obcore.errors.ObcoreError` (or the
#: catalog) can answer with; a code not listed is ``UNKNOWN``.
STATUS_BY_CODE: Mapping[str, grpc.StatusCode] = {
    "invalid_input": grpc.StatusCode.INVALID_ARGUMENT,
    "invalid_precision": grpc.StatusCode.INVALID_ARGUMENT,
    "invalid_symbol": grpc.StatusCode.INVALID_ARGUMENT,
    "invalid_interval": grpc.StatusCode.INVALID_ARGUMENT,
    "filter_failure": grpc.StatusCode.INVALID_ARGUMENT,
    "filter_violation": grpc.StatusCode.INVALID_ARGUMENT,
    "trading_disabled": grpc.StatusCode.FAILED_PRECONDITION,
    "missing_credentials": grpc.StatusCode.FAILED_PRECONDITION,
    "authentication_failed": grpc.StatusCode.FAILED_PRECONDITION,
    "invalid_signature": grpc.StatusCode.FAILED_PRECONDITION,
    "order_rejected": grpc.StatusCode.FAILED_PRECONDITION,
    "order_refused": grpc.StatusCode.FAILED_PRECONDITION,
    "confirmation_refused": grpc.StatusCode.FAILED_PRECONDITION,
    "insufficient_historical_data": grpc.StatusCode.FAILED_PRECONDITION,
    "book_not_ready": grpc.StatusCode.UNAVAILABLE,
    "book_error": grpc.StatusCode.UNAVAILABLE,
    "websocket_disconnected": grpc.StatusCode.UNAVAILABLE,
    "network_error": grpc.StatusCode.UNAVAILABLE,
    "timestamp_out_of_window": grpc.StatusCode.UNAVAILABLE,
    "store_locked": grpc.StatusCode.UNAVAILABLE,
    "rate_limited": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "ip_banned": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "symbol_limit_reached": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "storage_limit_exceeded": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "internal_error": grpc.StatusCode.INTERNAL,
    "store_error": grpc.StatusCode.INTERNAL,
    "order_outcome_unknown": grpc.StatusCode.UNKNOWN,
    "binance_error": grpc.StatusCode.UNKNOWN,
}

# The catalog's error texts start with the code: "<code>: …" or "<code> (Binance code …".
_CODE = re.compile(r"([a-z][a-z0-9_]*)(?::| \()")


def error_code(text: str) -> str:
    """The error code an error text of :func:`obmcp.catalog.invoke` starts with (else ``unknown``)."""
    match = _CODE.match(text)
    return match.group(1) if match else "unknown"


def status_for(code: str) -> grpc.StatusCode:
    """The gRPC status of an error code (:data:`STATUS_BY_CODE`; ``UNKNOWN`` if unlisted)."""
    return STATUS_BY_CODE.get(code, grpc.StatusCode.UNKNOWN)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_arguments(text: str) -> Any:
    """The arguments JSON (strict: no NaN/Infinity); empty text is no arguments."""
    if not text.strip():
        return None
    return json.loads(text, parse_constant=_reject_constant)


def _hints(entry: ToolEntry[Any, Any]) -> pb.ToolAnnotations:
    hints = entry.hints
    return pb.ToolAnnotations(
        read_only=hints.read_only, destructive=hints.destructive, idempotent=hints.idempotent,
        open_world=hints.open_world,
    )  # fmt: skip


def _tool(entry: ToolEntry[Any, Any], wire_name: str) -> pb.Tool:
    return pb.Tool(
        name=wire_name,
        title=entry.title,
        description=entry.description,
        input_schema_json=json.dumps(entry.input_schema, separators=(",", ":")),
        output_schema_json=json.dumps(entry.output_schema, separators=(",", ":")),
        annotations=_hints(entry),
        group=entry.group,
    )


class ProviderService(pb_grpc.ProviderServicer):
    """``provider.v1.Provider`` over catalog entries (and an MCP server's resources/prompts).

    Parameters
    ----------
    entries : sequence of ToolEntry
        The tools to serve (already filtered by :func:`obmcp.catalog.select`).
    context : ToolContext
        Handed to every entry's ``run`` (share the MCP server's: one cache per server).
    tool_name : callable
        Maps an entry's Python name to its wire name (``ServerSettings.tool_name``).
    mcp : object, optional
        An ``MCPServer`` whose resources and prompts are served; None: none.
    server_name, server_version, instructions : str
        Reported by ``ListCapabilities``.
    """

    def __init__(
        self,
        entries: Sequence[ToolEntry[Any, Any]],
        context: ToolContext,
        tool_name: Callable[[str], str],
        *,
        mcp: Any = None,
        server_name: str = "obmcp",
        server_version: str = "",
        instructions: str = "",
    ) -> None:
        self._entries = {wire_name(entry, tool_name): entry for entry in entries}
        if len(self._entries) != len(entries):
            raise ValueError("two catalog entries have the same wire name")
        self._context = context
        self._mcp = mcp
        self._tools = [_tool(entry, name) for name, entry in self._entries.items()]
        self._identity = {"server_name": server_name, "server_version": server_version, "instructions": instructions}

    @property
    def tool_names(self) -> tuple[str, ...]:
        """Wire names of the tools served, in listing order."""
        return tuple(self._entries)

    async def ListCapabilities(self, request: pb.ListCapabilitiesRequest, context: aio.ServicerContext) -> pb.ListCapabilitiesResponse:
        """Tools (with schemas and annotations), resources and prompts."""
        resources: list[pb.Resource] = []
        templates: list[pb.ResourceTemplate] = []
        prompts: list[pb.Prompt] = []
        if self._mcp is not None:
            for item in await self._mcp.list_resource_templates():
                templates.append(pb.ResourceTemplate(
                    uri_template=item.uri_template, name=item.name, title=item.title or "",
                    description=item.description or "", mime_type=item.mime_type or "",
                ))  # fmt: skip
            for item in await self._mcp.list_resources():
                resources.append(pb.Resource(
                    uri=str(item.uri), name=item.name, title=item.title or "", description=item.description or "",
                    mime_type=item.mime_type or "",
                ))  # fmt: skip
            for item in await self._mcp.list_prompts():
                arguments = [
                    pb.PromptArgument(name=a.name, description=a.description or "", required=bool(a.required))
                    for a in item.arguments or ()
                ]
                prompts.append(pb.Prompt(
                    name=item.name, title=item.title or "", description=item.description or "", arguments=arguments,
                ))  # fmt: skip
        return pb.ListCapabilitiesResponse(
            **self._identity, tools=self._tools, resources=resources, prompts=prompts, resource_templates=templates
        )

    async def Invoke(self, request: pb.InvokeRequest, context: aio.ServicerContext) -> pb.InvokeResponse:
        """Run one tool through :func:`obmcp.catalog.invoke`; errors as statuses (or results)."""
        entry = self._entries.get(request.tool)
        if entry is None:
            known = ", ".join(self._entries)
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown tool {request.tool[:80]!r}; this server has: {known}")
        try:
            arguments = _parse_arguments(request.arguments_json)
        except ValueError as exc:
            message = f"invalid_input: arguments_json is not a JSON object ({str(exc)[:80]})"
            await self._fail(context, request, "invalid_input", message)
            return pb.InvokeResponse(text=message, is_error=True, error_code="invalid_input")
        try:
            # None (no deadline) waits as long as the tool takes.
            async with asyncio.timeout(context.time_remaining()):
                outcome = await invoke(entry, self._context, arguments)
        except TimeoutError:
            await context.abort(
                grpc.StatusCode.DEADLINE_EXCEEDED, f"deadline_exceeded: {request.tool} did not finish before the call's deadline"
            )
        if outcome.is_error or outcome.result is None:
            code = error_code(outcome.text)
            await self._fail(context, request, code, outcome.text)
            return pb.InvokeResponse(text=outcome.text, is_error=True, error_code=code)
        images = [pb.Image(mime_type="image/png", data=png) for png in getattr(outcome, "images", ())]
        return pb.InvokeResponse(structured_json=outcome.result.model_dump_json(), text=outcome.text, images=images)

    async def _fail(self, context: aio.ServicerContext, request: pb.InvokeRequest, code: str, message: str) -> None:
        """Abort with the code's status, unless the caller asked for errors as results."""
        if not request.errors_as_results:
            await context.abort(status_for(code), message, trailing_metadata=((ERROR_CODE_KEY, code),))

    async def ReadResource(self, request: pb.ReadResourceRequest, context: aio.ServicerContext) -> pb.ReadResourceResponse:
        """A registered resource's contents; an unknown URI is ``NOT_FOUND``."""
        if self._mcp is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown resource {request.uri[:120]!r}; this server has none")
        from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

        try:
            contents = await self._mcp.read_resource(request.uri)
        except ResourceNotFoundError:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown resource {request.uri[:120]!r}")
        except ResourceError as exc:
            logger.warning("resource %r failed: %s", request.uri[:120], exc)
            await context.abort(grpc.StatusCode.INTERNAL, f"internal_error: reading {request.uri[:120]!r} failed")
        if not isinstance(contents, Iterable):
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this resource needs a multi-round-trip MCP client")
        answer = []
        for item in contents:
            part = pb.ResourceContents(uri=request.uri, mime_type=item.mime_type or "")
            if isinstance(item.content, bytes):
                part.blob = item.content
            else:
                part.text = item.content
            answer.append(part)
        return pb.ReadResourceResponse(contents=answer)

    async def GetPrompt(self, request: pb.GetPromptRequest, context: aio.ServicerContext) -> pb.GetPromptResponse:
        """A registered prompt rendered with the arguments; an unknown name is ``NOT_FOUND``."""
        known = {item.name for item in await self._mcp.list_prompts()} if self._mcp is not None else set()
        if request.name not in known:
            have = ", ".join(sorted(known)) or "none"
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown prompt {request.name[:80]!r}; this server has {have}")
        try:
            result = await self._mcp.get_prompt(request.name, dict(request.arguments))
        except ValueError as exc:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"invalid_input: {str(exc)[:200]}")
        messages = getattr(result, "messages", None)
        if messages is None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, "this prompt needs a multi-round-trip MCP client")
        answer = []
        for message in messages:
            content = message.content
            text = content.text if getattr(content, "type", "") == "text" else content.model_dump_json(by_alias=True)
            answer.append(pb.PromptMessage(role=message.role, text=text))
        return pb.GetPromptResponse(description=result.description or "", messages=answer)


def build_provider(settings: ServerSettings, mcp: Any) -> ProviderService:
    """The provider serving what ``mcp`` (from :func:`obmcp.server.build_server`) serves.

    Parameters
    ----------
    settings : ServerSettings
        Tool wire names and switched-off groups.
    mcp : obmcp.server.CatalogServer
        Its tool context is shared (one cache per server); its resources and prompts are served.
    """
    from obmcp import __version__
    from obmcp.server import INSTRUCTIONS, SERVER_NAME
    from obmcp.tools import catalog_for

    return ProviderService(
        select(catalog_for(settings.enable_trading), settings.disabled_groups),
        mcp.tool_context,
        settings.tool_name,
        mcp=mcp,
        server_name=SERVER_NAME,
        server_version=__version__,
        instructions=INSTRUCTIONS,
    )


def _authorized(metadata: Iterable[tuple[str, Any]] | None, token: bytes) -> bool:
    for key, value in metadata or ():
        if key == "authorization":
            raw = value if isinstance(value, bytes) else str(value).encode()
            scheme, _, credential = raw.partition(b" ")
            return scheme.lower() == b"bearer" and hmac.compare_digest(credential.strip(), token)
    return False


def _refusal(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """A handler of ``handler``'s shape that answers ``UNAUTHENTICATED``."""

    async def deny(request: Any, context: aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, _UNAUTHORIZED)

    kinds = {
        (False, False): grpc.unary_unary_rpc_method_handler,
        (False, True): grpc.unary_stream_rpc_method_handler,
        (True, False): grpc.stream_unary_rpc_method_handler,
        (True, True): grpc.stream_stream_rpc_method_handler,
    }
    make = kinds[(bool(handler.request_streaming), bool(handler.response_streaming))]
    return make(deny, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer)


class _BearerToken(aio.ServerInterceptor):
    """Every call but the health service must carry ``authorization: Bearer <token>``."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(f"/{health.SERVICE_NAME}/"):
            return handler
        if _authorized(handler_call_details.invocation_metadata, self._token):
            return handler
        return _refusal(handler)


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


async def serve_grpc(
    service: ProviderService,
    settings: ServerSettings,
    shutdown_trigger: Callable[[], Awaitable[Any]],
    on_bound: Callable[[list[str]], None] | None = None,
    *,
    grace: float = SHUTDOWN_GRACE_SECONDS,
) -> None:
    """Serve ``service``, health and reflection on ``settings.host:port`` until ``shutdown_trigger`` returns.

    Then new calls are refused (health answers NOT_SERVING) and calls in flight get
    ``grace`` seconds to finish before they are cancelled.

    Parameters
    ----------
    service : ProviderService
        The provider.
    settings : ServerSettings
        ``host``, ``port`` (0: any free port) and ``token``.
    shutdown_trigger : callable
        Awaited; the server stops when it returns (``obmcp.http.wait_for_signal``).
    on_bound : callable, optional
        Called with ``["host:port"]`` once listening.
    grace : float
        Seconds calls in flight may take after the trigger.

    Raises
    ------
    InvalidInputError
        The address cannot be bound (port in use, unknown host).
    """
    interceptors = [_BearerToken(settings.token)] if settings.token else []
    # so_reuseport off: a second server on the same port must fail, not share it.
    server = aio.server(interceptors=interceptors, options=[("grpc.so_reuseport", 0)])
    pb_grpc.add_ProviderServicer_to_server(service, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    await health_servicer.set(SERVICE_NAME, health_pb2.HealthCheckResponse.SERVING)
    reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    address = _address(settings.host, settings.port)
    try:
        port = server.add_insecure_port(address)
    except RuntimeError:
        port = 0
    if port == 0:
        raise InvalidInputError(f"cannot listen for gRPC on {address}: the port is in use or the host is not this machine's")
    await server.start()
    try:
        if on_bound is not None:
            on_bound([_address(settings.host, port)])
        await shutdown_trigger()
    finally:
        await health_servicer.enter_graceful_shutdown()
        await server.stop(grace)


async def serve_provider(mcp: Any, settings: ServerSettings) -> None:
    """``obmcp serve --mode grpc``: serve what ``mcp`` serves until SIGTERM/SIGINT."""
    import sys

    from obmcp.http import wait_for_signal

    def announce(addresses: list[str]) -> None:
        for address in addresses:
            print(f"obmcp: serving gRPC {SERVICE_NAME} at {address}", file=sys.stderr, flush=True)

    await serve_grpc(build_provider(settings, mcp), settings, wait_for_signal, on_bound=announce)
