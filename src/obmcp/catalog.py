"""The tool catalog: one declaration per tool, from which every transport is generated.

Room: obmcp's tool layer, between the service functions (plain typed functions over
obcore) and the transports. A :class:`ToolEntry` says everything about a tool — wire
name, title, description, closed input model, output model, behaviour hints, the async
service call and the summary formatter — and :func:`invoke` runs one the same way for
every transport: validate the arguments, call the service, build the summary, map
errors. ``obmcp.server`` turns the catalog into the MCP registration (``tools/list``
and ``tools/call``); a gRPC transport and the parity test read the same entries. No
tool logic lives in a transport.

Adding a tool
-------------
1. Write the service function (``obmcp.service`` / ``obmcp.book_service`` or a new
   module): plain, typed, async, no MCP; it checks its own arguments
   (``obmcp.validation.check_*``) and returns a pydantic model from ``obmcp.models``.
   Analytics come from obcore (a function returning a frozen dataclass); the service
   only converts it.
2. Add one entry to a ``obmcp/tools/*.py`` module's ``ENTRIES``: an input model
   subclassing :class:`Arguments` (fields from ``obmcp.validation``), the output model,
   :data:`READ_ONLY_LOCAL` or :data:`READ_ONLY_REMOTE` (or explicit :class:`Hints`),
   a ``run(context, args)`` that calls the service function, and a
   ``summary(args, result)`` returning the readable text line(s).
3. A new ``obmcp/tools`` module is listed once in ``obmcp.tools.CATALOG``.
4. A tool that belongs to a feature that can be switched off names its ``group``
   (:data:`ANALYTICS`); :func:`select` drops the switched-off groups before any
   transport lists anything, so such a tool is then served nowhere.
Nothing else changes: the MCP listing, schema, argument refusal and error mapping follow.

Arguments
---------
Input models are closed (``extra="forbid"``): an unknown argument is refused, naming it
and the arguments the tool takes. Every value follows the one coercion rule of
:mod:`obmcp.validation`: it must already have its schema's JSON type (integers are
JSON integers, ``5`` or ``5.0``; numbers are finite JSON numbers; nothing is converted
from a string; booleans are never numbers). A refusal is one short message per bad
argument — ``invalid_input: top_n 101: expected an integer from 1 to 100`` — naming the
argument, the value and what the schema expects (no pydantic dump).

Errors
------
An :class:`obcore.errors.ObcoreError` from the service is a tool error result
(``isError``) of the form ``<code>: <message>``; an unexpected exception is logged and
answered as ``internal_error`` without its text. An unknown tool name is not a result:
each transport reports it as a protocol error (MCP: JSON-RPC −32602).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Collection, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from obcore.errors import BinanceError, ObcoreError, TransportError

from obmcp.backend import Backend
from obmcp.book_service import L1Cache
from obmcp.service import MarketClient
from obmcp.validation import symbol_hint

logger = logging.getLogger(__name__)

__all__ = [
    "ANALYTICS",
    "CORE",
    "READ_ONLY_LOCAL",
    "READ_ONLY_REMOTE",
    "Arguments",
    "Hints",
    "Outcome",
    "ToolContext",
    "ToolEntry",
    "attach_image",
    "current_progress",
    "describe_arguments_error",
    "describe_error",
    "invoke",
    "reporting_progress",
    "select",
    "wire_name",
]

In = TypeVar("In", bound="Arguments")
Out = TypeVar("Out", bound=BaseModel)


#: ``await report(progress, total, message)`` for the call being run: MCP progress
#: notifications (a no-op when the client sent no progress token), set by the transport.
ProgressReport = Callable[[float, "float | None", "str | None"], Awaitable[None]]
_PROGRESS: ContextVar[ProgressReport | None] = ContextVar("obmcp_progress", default=None)


def current_progress() -> ProgressReport | None:
    """The running call's progress reporter, or None (a tool's ``run`` reads it)."""
    return _PROGRESS.get()


@contextlib.contextmanager
def reporting_progress(report: ProgressReport | None) -> Iterator[None]:
    """Make ``report`` the progress reporter of the calls run inside (a transport sets it)."""
    token = _PROGRESS.set(report)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


_IMAGES: ContextVar[list[bytes] | None] = ContextVar("obmcp_images", default=None)


def attach_image(png: bytes) -> None:
    """Add a PNG to the running call's answer (an ``image/png`` block beside the structure).

    A tool's ``run`` calls it (``chart=true``); outside a call it does nothing.
    """
    images = _IMAGES.get()
    if images is not None:
        images.append(bytes(png))


class Arguments(BaseModel):
    """Base of every tool's input model: closed, so an unknown argument is refused."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True)
class Hints:
    """What a tool does to the world, for clients deciding whether to ask before calling.

    Attributes
    ----------
    read_only : bool
        It changes nothing.
    destructive : bool
        It may undo or overwrite something (meaningful only when not read-only).
    idempotent : bool
        Calling it twice with the same arguments has no further effect.
    open_world : bool
        It talks to something outside this server (Binance).
    """

    read_only: bool
    destructive: bool
    idempotent: bool
    open_world: bool


#: Group of the tools always served.
CORE = "core"
#: Group of the order-flow / volume-profile analytics tools (``--no-analytics`` drops them).
ANALYTICS = "analytics"


def select(entries: Sequence[ToolEntry[Any, Any]], disabled_groups: Collection[str] = ()) -> tuple[ToolEntry[Any, Any], ...]:
    """The entries to serve: those whose ``group`` is not switched off, in catalog order.

    Every transport (MCP over stdio and HTTP, gRPC) lists and calls only these, so a
    switched-off tool is listed nowhere and is an unknown tool everywhere.
    """
    off = frozenset(disabled_groups)
    return tuple(entry for entry in entries if entry.group not in off)


#: Reads local state only (the live books): no side effects, same effect on repeat.
READ_ONLY_LOCAL = Hints(read_only=True, destructive=False, idempotent=True, open_world=False)
#: Reads from Binance over the network: no side effects.
READ_ONLY_REMOTE = Hints(read_only=True, destructive=False, idempotent=True, open_world=True)


@dataclass
class ToolContext:
    """What a tool's ``run`` may use: the backend and the server's per-instance state.

    Attributes
    ----------
    backend : Backend
        Client, stream manager and limits; read at call time, so it may be filled later.
    l1_cache : L1Cache
        ``orderbook_l1`` answers per book state, one per server.
    """

    backend: Backend
    l1_cache: L1Cache = field(default_factory=L1Cache)

    @property
    def client(self) -> MarketClient:
        """The backend's REST client.

        Raises
        ------
        TransportError
            The server runs without one.
        """
        client = self.backend.client
        if client is None:
            raise TransportError("no REST client: the server runs without a data source")
        return client


@dataclass(frozen=True)
class ToolEntry(Generic[In, Out]):
    """One tool, declared once.

    Attributes
    ----------
    name : str
        Python name (``get_ticker``); the transport maps it to its wire name
        (``binance_get_ticker`` …).
    title : str
        Short human title.
    description : str
        What the tool does, for the model choosing tools.
    input_model : type of Arguments
        The arguments; its JSON Schema is the tool's input schema.
    output_model : type of pydantic.BaseModel
        The answer; its JSON Schema is the tool's output schema.
    hints : Hints
        Behaviour hints (read-only, destructive, idempotent, open world).
    run : callable
        ``async run(context, args) -> output_model``: calls the service function.
    summary : callable
        ``summary(args, result) -> str``: the readable text next to the structure.
    group : str
        Feature group (:data:`CORE`, :data:`ANALYTICS`): a switched-off group is not
        served (:func:`select`).
    exact_name : bool
        The wire name is ``name`` itself, without the server's prefix (``binance_``):
        ChatGPT's connectors require tools named exactly ``search`` and ``fetch``. Use
        :func:`wire_name` to get a tool's wire name.
    """

    name: str
    title: str
    description: str
    input_model: type[In]
    output_model: type[Out]
    hints: Hints
    run: Callable[[ToolContext, In], Awaitable[Out]]
    summary: Callable[[In, Out], str]
    group: str = "core"
    exact_name: bool = False

    @cached_property
    def input_schema(self) -> dict[str, Any]:
        """The input model's JSON Schema (closed: ``additionalProperties: false``)."""
        return self.input_model.model_json_schema()

    @cached_property
    def output_schema(self) -> dict[str, Any]:
        """The output model's JSON Schema, as its answers are serialised."""
        return self.output_model.model_json_schema(mode="serialization")

    @cached_property
    def argument_names(self) -> tuple[str, ...]:
        """The arguments the tool takes, sorted."""
        return tuple(sorted(self.input_model.model_fields))


def wire_name(entry: ToolEntry[Any, Any], tool_name: Callable[[str], str]) -> str:
    """The name a transport lists ``entry`` under: ``tool_name(entry.name)`` (the server's
    naming style), or ``entry.name`` itself for an entry with ``exact_name``."""
    return entry.name if entry.exact_name else tool_name(entry.name)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What :func:`invoke` hands a transport.

    Attributes
    ----------
    result : pydantic.BaseModel or None
        The answer (None on error).
    text : str
        The summary, or the error message.
    is_error : bool
        True when the call was refused or failed.
    images : tuple of bytes
        PNGs the call attached (:func:`attach_image`), sent as ``image/png`` blocks.
    """

    result: BaseModel | None
    text: str
    is_error: bool = False
    images: tuple[bytes, ...] = ()


def describe_error(exc: ObcoreError) -> str:
    """``<code>: <message>``; Binance errors also name the Binance code and message."""
    if isinstance(exc, BinanceError):
        status = f", HTTP {exc.http_status}" if exc.http_status else ""
        return f"{exc.code} (Binance code {exc.binance_code}{status}): {exc.binance_message}"
    return f"{exc.code}: {exc}"


_MAX_VALUE_TEXT = 40
_MAX_REPORTED = 3


def _value_text(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_VALUE_TEXT else text[: _MAX_VALUE_TEXT - 1] + "…"


def _bound(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _non_null(schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """An optional value's schema (``anyOf: [X, null]``) as X, keeping the outer examples."""
    options = [s for s in schema.get("anyOf", ()) if s.get("type") != "null"]
    if len(options) != 1:
        return schema
    return {**options[0], **({"examples": schema["examples"]} if "examples" in schema else {})}


def _expected(schema: Mapping[str, Any]) -> str:
    """What a JSON Schema accepts, in a few words (only the keywords our models use)."""
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        return " or ".join(_expected(s) for s in options) or "null"
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type")
    low, high = schema.get("minimum"), schema.get("maximum")
    bounds = ""
    if low is not None and high is not None:
        bounds = f" from {_bound(low)} to {_bound(high)}"
    elif low is not None:
        bounds = f" >= {_bound(low)}"
    elif high is not None:
        bounds = f" <= {_bound(high)}"
    if kind == "integer":
        return "an integer" + bounds
    if kind == "number":
        return "a number" + bounds
    if kind == "string":
        text = "a string"
        if "pattern" in schema:
            text += f" matching {schema['pattern']}"
        if schema.get("examples"):
            text += f", e.g. {schema['examples'][0]!r}"
        return text
    if kind == "array":
        count = f" of {schema.get('minItems', 0)} to {schema['maxItems']}" if "maxItems" in schema else ""
        items = f" items, each {_expected(schema['items'])}" if "items" in schema else " items"
        return f"a list{count}{items}"
    if kind == "object":
        return "an object"
    return "a valid value"


def _schema_at(schema: Mapping[str, Any], loc: tuple[int | str, ...]) -> Mapping[str, Any] | None:
    node: Mapping[str, Any] | None = schema.get("properties", {}).get(loc[0]) if loc else None
    for part in loc[1:]:
        if node is None:
            return None
        node = _non_null(node)  # an optional list: look inside its non-null branch
        node = node.get("items") if isinstance(part, int) else node.get("properties", {}).get(part)
    return None if node is None else _non_null(node)


def _loc_name(loc: tuple[int | str, ...]) -> str:
    return str(loc[0]) + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:])


def describe_arguments_error(entry: ToolEntry[Any, Any], error: ValidationError) -> str:
    """One short ``invalid_input`` message for refused arguments: each bad argument named
    with its value and what the schema expects (at most three, then a count).

    Parameters
    ----------
    entry : ToolEntry
        The tool the arguments were for.
    error : pydantic.ValidationError
        From ``entry.input_model.model_validate``.

    Returns
    -------
    str
    """
    clauses: list[str] = []
    unknown: list[str] = []
    for detail in error.errors():
        loc = tuple(detail["loc"])
        if not loc:
            clauses.append(f"arguments {_value_text(detail.get('input'))}: expected an object")
            continue
        if detail["type"] == "extra_forbidden":
            unknown.append(str(loc[0]))
            continue
        name = _loc_name(loc)
        schema = _schema_at(entry.input_schema, loc)
        expected = _expected(schema) if schema is not None else "a valid value"
        if detail["type"] == "missing":
            clauses.append(f"missing argument {name}: expected {expected}")
            continue
        value = detail.get("input")
        hint = symbol_hint(value) if schema is not None and "pattern" in schema else ""
        if isinstance(value, str) and schema is not None and schema.get("type") in ("integer", "number"):
            hint = " (a JSON number, not a string)"
        clauses.append(f"{name} {_value_text(value)}: expected {expected}{hint}")
    if unknown:
        takes = ", ".join(entry.argument_names) or "no arguments"
        clauses.append(f"unknown argument(s) {', '.join(map(repr, sorted(unknown)))}; {entry.name} takes {takes}")
    shown = clauses[:_MAX_REPORTED]
    more = f" (and {len(clauses) - len(shown)} more)" if len(clauses) > len(shown) else ""
    return "invalid_input: " + "; ".join(shown) + more


async def invoke(entry: ToolEntry[Any, Any], context: ToolContext, arguments: Mapping[str, Any] | None) -> Outcome:
    """Run one tool call: validate ``arguments``, call the service, summarise.

    Parameters
    ----------
    entry : ToolEntry
        The tool.
    context : ToolContext
        Backend and per-server state.
    arguments : mapping or None
        The call's arguments as decoded JSON (None: no arguments).

    Returns
    -------
    Outcome
        The answer and its summary, or ``is_error`` with the message: refused
        arguments (``invalid_input``), an ``ObcoreError`` (``<code>: <message>``), or
        ``internal_error`` for anything unexpected (logged with its traceback, its text
        not sent).
    """
    try:
        args = entry.input_model.model_validate({} if arguments is None else arguments)
    except ValidationError as exc:
        message = describe_arguments_error(entry, exc)
        logger.info("tool %r refused arguments %r", entry.name, sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]}))
        return Outcome(None, message, True)
    images: list[bytes] = []
    token = _IMAGES.set(images)
    try:
        result = await entry.run(context, args)
    except ObcoreError as exc:
        logger.info("tool %r failed: %s", entry.name, exc.code)
        return Outcome(None, describe_error(exc), True)
    except Exception:
        logger.exception("tool %r raised an unexpected exception", entry.name)
        return Outcome(None, f"internal_error: {entry.name} failed unexpectedly; the server log has the details", True)
    finally:
        _IMAGES.reset(token)
    return Outcome(result, entry.summary(args, result), images=tuple(images))
