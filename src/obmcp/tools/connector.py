"""Catalog entries of ChatGPT's connector contract: ``search(query)`` and ``fetch(id)``.

Room: obmcp's tool layer. ChatGPT connectors and deep research call exactly two tools,
named exactly ``search`` and ``fetch`` (so these entries opt out of the ``binance_``
prefix: ``exact_name``). ``search`` answers ``{results: [{id, title, text, url}]}`` and
``fetch`` ``{id, title, text, url, metadata}``; per that contract the text content is the
same object JSON-encoded (ChatGPT reads the text), the one exception to "the text is a
summary" (docs/CHATGPT.md).

Documents, by id (stable, parseable: ``<kind>:<SYMBOL>``):

- ``symbol:ETHUSDT`` — a spot symbol from exchangeInfo: its trading rules and the 24 h
  ticker (REST);
- ``book:ETHUSDT`` — the live order book's summary (best bid/ask, spread, depth,
  imbalance, walls, slippage, data quality); fetching one subscribes the symbol like
  ``orderbook_l1`` does;
- ``history:ETHUSDT`` — what the snapshot store holds for the symbol (time range, count),
  only when the server runs with ``--data-dir``.

``search`` matches the query's words against symbols, base and quote assets of the whole
exchange (exchangeInfo, cached for :data:`SYMBOLS_TTL_SECONDS`) and never subscribes
anything; it lists at most :data:`MAX_RESULTS` documents.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Annotated, Any

from pydantic import BaseModel, Field

from obcore.errors import InvalidInputError
from obcore.validation import SYMBOL_CHARS

from obmcp import book_service, service
from obmcp.catalog import Arguments, Hints, ToolContext, ToolEntry

__all__ = [
    "DOCUMENT_KINDS",
    "ENTRIES",
    "MAX_RESULTS",
    "SYMBOLS_TTL_SECONDS",
    "Document",
    "FetchArguments",
    "SearchArguments",
    "SearchHit",
    "SearchResults",
    "parse_id",
]

#: Most documents one search lists.
MAX_RESULTS = 10
#: How long the exchange's symbol list is reused before asking Binance again.
SYMBOLS_TTL_SECONDS = 600.0
DOCUMENT_KINDS = ("symbol", "book", "history")
_ID = re.compile(rf"^(symbol|book|history):({SYMBOL_CHARS})$")
#: A live book's fetch waits at most this long for the book to go live.
FETCH_WAIT_SECONDS = 10.0
#: Reads Binance (exchangeInfo, ticker) and live books; fetch may subscribe a symbol,
#: which changes nothing outside this server.
CONNECTOR_HINTS = Hints(read_only=True, destructive=False, idempotent=True, open_world=True)


class SearchArguments(Arguments):
    query: Annotated[
        str,
        Field(
            min_length=1, max_length=200,
            description="Words to look for: a symbol (ETHUSDT), an asset (ETH, BTC, USDT) or a pair (ETH/USDT).",
            examples=["ETH USDT"],
        ),
    ]  # fmt: skip


class FetchArguments(Arguments):
    id: Annotated[
        str,
        Field(
            pattern=_ID.pattern, max_length=29,
            description="A document id from search: symbol:<SYMBOL>, book:<SYMBOL> or history:<SYMBOL>.",
            examples=["book:ETHUSDT"],
        ),
    ]  # fmt: skip


class SearchHit(BaseModel):
    id: str = Field(description="symbol:<SYMBOL>, book:<SYMBOL> or history:<SYMBOL>; pass it to fetch")
    title: str
    text: str = Field(description="a one-line snippet")
    url: str


class SearchResults(BaseModel):
    results: list[SearchHit]


class Document(BaseModel):
    id: str
    title: str
    text: str = Field(description="the document, as readable text")
    url: str
    metadata: dict[str, Any] = Field(description="the document's figures, as structured data")


def parse_id(document_id: str) -> tuple[str, str]:
    """``(kind, symbol)`` of a document id such as ``book:ETHUSDT``.

    Raises
    ------
    InvalidInputError
        Not ``<kind>:<SYMBOL>`` with a kind of :data:`DOCUMENT_KINDS`.
    """
    match = _ID.match(document_id) if isinstance(document_id, str) else None
    if match is None:
        raise InvalidInputError(
            f"document id {str(document_id)[:40]!r}: expected symbol:<SYMBOL>, book:<SYMBOL> or history:<SYMBOL>"
        )
    return match.group(1), match.group(2)


def _web_url(symbol: str, base: str | None, quote: str | None) -> str:
    if base and quote and symbol == base + quote:
        return f"https://www.binance.com/en/trade/{base}_{quote}?type=spot"
    return f"https://www.binance.com/en/trade/{symbol}?type=spot"


# --------------------------------------------------------------- the symbol list
_symbols_cache: dict[int, tuple[float, list[tuple[str, str, str, str]]]] = {}


async def _all_symbols(context: ToolContext) -> list[tuple[str, str, str, str]]:
    """``(symbol, base, quote, status)`` of every spot symbol, cached per REST client."""
    client = context.client
    key = id(client)
    cached = _symbols_cache.get(key)
    now = time.monotonic()
    if cached is not None and now - cached[0] < SYMBOLS_TTL_SECONDS:
        return cached[1]
    data = await client.exchange_info()
    rows = []
    for item in data.get("symbols", []) if isinstance(data, dict) else []:
        symbol = item.get("symbol")
        if isinstance(symbol, str) and symbol:
            rows.append((symbol, str(item.get("baseAsset", "")), str(item.get("quoteAsset", "")), str(item.get("status", ""))))
    _symbols_cache[key] = (now, rows)
    return rows


def _score(words: list[str], symbol: str, base: str, quote: str) -> int:
    """How well a symbol matches every word (0: not at all)."""
    total = 0
    for word in words:
        if word == symbol:
            total += 100
        elif word in (base, quote):
            total += 40 if word == base else 30
        elif symbol.startswith(word):
            total += 20
        elif word in symbol:
            total += 5
        else:
            return 0
    return total


def _words(query: str) -> list[str]:
    return [w for w in re.split(r"[^A-Z0-9]+", query.upper()) if w]


# ------------------------------------------------------------------------ search
async def _search(context: ToolContext, args: SearchArguments) -> SearchResults:
    words = _words(args.query)
    if not words:
        return SearchResults(results=[])
    symbols = await _all_symbols(context)
    ranked = sorted(
        ((score, symbol, base, quote, status) for symbol, base, quote, status in symbols
         if (score := _score(words, symbol, base, quote)) > 0),
        key=lambda row: (-row[0], row[4] != "TRADING", len(row[1]), row[1]),
    )  # fmt: skip
    tracked = set(await _tracked(context))
    stored = set(await _stored_symbols(context))
    hits: list[SearchHit] = []
    for _, symbol, base, quote, status in ranked:
        if len(hits) >= MAX_RESULTS:
            break
        url = _web_url(symbol, base, quote)
        hits.append(SearchHit(
            id=f"symbol:{symbol}", title=f"{symbol} — {base}/{quote} spot ({status})",
            text=f"Trading rules and 24 h ticker of {symbol} ({base}/{quote}, {status}).", url=url,
        ))  # fmt: skip
        if status == "TRADING" and len(hits) < MAX_RESULTS:
            live = "kept live now" if symbol in tracked else "subscribed on fetch"
            hits.append(SearchHit(
                id=f"book:{symbol}", title=f"{symbol} live order book",
                text=f"Best bid/ask, spread, depth, imbalance, walls and slippage of the {symbol} book ({live}).",
                url=f"binance://book/{symbol}",
            ))  # fmt: skip
        if symbol in stored and len(hits) < MAX_RESULTS:
            hits.append(SearchHit(
                id=f"history:{symbol}", title=f"{symbol} stored book history",
                text=f"The 1-second book snapshots this server stored for {symbol}: time range and count.",
                url=f"binance://history/{symbol}",
            ))  # fmt: skip
    return SearchResults(results=hits)


async def _tracked(context: ToolContext) -> list[str]:
    """Symbols whose books are kept live now (never subscribes anything)."""
    if context.backend.streams is None:
        return []
    return (await book_service.orderbook_health(context.backend.streams)).symbols_tracked


async def _stored_symbols(context: ToolContext) -> list[str]:
    store = context.backend.store
    if store is None:
        return []
    return await asyncio.to_thread(store.symbols)


# ------------------------------------------------------------------------- fetch
async def _fetch(context: ToolContext, args: FetchArguments) -> Document:
    kind, symbol = parse_id(args.id)
    if kind == "symbol":
        return await _symbol_document(context, symbol)
    if kind == "book":
        return await _book_document(context, symbol)
    return await _history_document(context, symbol)


async def _symbol_document(context: ToolContext, symbol: str) -> Document:
    info, ticker = await asyncio.gather(
        service.get_exchange_info(context.client, symbol), service.get_ticker(context.client, symbol)
    )
    if not info.symbols:
        raise InvalidInputError(f"symbol {symbol!r}: Binance returned no trading rules for it")
    s = info.symbols[0]
    text = (
        f"{s.symbol} is a Binance spot symbol trading {s.base_asset} against {s.quote_asset}; status {s.status}.\n"
        f"Trading rules: tick size {s.tick_size}, lot step {s.step_size}, quantity {s.min_qty} to {s.max_qty}, "
        f"minimum order value {s.min_notional} {s.quote_asset}; order types {', '.join(s.order_types) or '-'}.\n"
        f"Last 24 h: last price {ticker.last_price} ({ticker.price_change_percent}%), high {ticker.high_price}, "
        f"low {ticker.low_price}, volume {ticker.volume} {s.base_asset}, best bid {ticker.bid_price} / "
        f"ask {ticker.ask_price}."
    )
    rules = s.model_dump(mode="json", exclude={"filters"})
    return Document(
        id=f"symbol:{symbol}", title=f"{symbol} — {s.base_asset}/{s.quote_asset} spot ({s.status})", text=text,
        url=_web_url(symbol, s.base_asset, s.quote_asset),
        metadata={"kind": "symbol", "symbol": symbol, "rules": rules, "ticker": ticker.model_dump(mode="json")},
    )  # fmt: skip


async def _book_document(context: ToolContext, symbol: str) -> Document:
    l1 = await book_service.orderbook_l1(
        context.backend.streams, symbol, top_n=10, notionals=list(book_service.DEFAULT_NOTIONALS),
        wait_seconds=FETCH_WAIT_SECONDS, cache=context.l1_cache,
    )  # fmt: skip
    quality = l1.data_quality
    state = f"live, {quality.book_age_ms} ms old" if quality.ok else "NOT reliable: " + "; ".join(quality.warnings)
    sweeps = "; ".join(
        f"{s.side} {s.notional:,.0f}: {s.slippage_bps if s.slippage_bps is not None else '-'} bps"
        + ("" if s.complete else " (book too thin)")
        for s in l1.slippage
    )
    walls = ", ".join(f"{w.side} {w.qty} @ {w.price}" for w in l1.walls) or "none"
    text = (
        f"Live order book of {symbol} (update id {l1.last_update_id}; {state}).\n"
        f"Best bid {l1.best_bid} x {l1.best_bid_qty}, best ask {l1.best_ask} x {l1.best_ask_qty}; "
        f"mid {l1.mid}, spread {l1.spread} ({l1.spread_bps:.3f} bps), microprice {l1.microprice}.\n"
        f"Top {l1.top_n} levels: bid volume {l1.bid_volume_top_n}, ask volume {l1.ask_volume_top_n}, "
        f"imbalance {l1.imbalance_top_n:+.3f} (positive: more bids). Book depth {l1.bid_levels} bid / "
        f"{l1.ask_levels} ask levels.\nWalls: {walls}.\nEstimated slippage of market orders: {sweeps}."
    )
    return Document(
        id=f"book:{symbol}", title=f"{symbol} live order book", text=text, url=f"binance://book/{symbol}",
        metadata={"kind": "book", **l1.model_dump(mode="json")},
    )  # fmt: skip


async def _history_document(context: ToolContext, symbol: str) -> Document:
    store = context.backend.store
    if store is None:
        raise InvalidInputError(
            f"history:{symbol}: this server keeps no history (start it with --data-dir to store books)"
        )
    info = await asyncio.to_thread(store.info)
    figures = info.get("symbols", {}).get(symbol)
    if not figures or figures.get("snapshots", 0) == 0:
        raise InvalidInputError(f"history:{symbol}: nothing is stored for {symbol}")
    first, last = figures["first_s"], figures["last_s"]
    text = (
        f"The snapshot store holds {figures['snapshots']:,} one-second book snapshots of {symbol}, from "
        f"{_utc(first)} to {_utc(last)} (exchange time), about {figures.get('bytes_per_snapshot')} bytes each."
    )
    return Document(
        id=f"history:{symbol}", title=f"{symbol} stored book history", text=text,
        url=f"binance://history/{symbol}", metadata={"kind": "history", "symbol": symbol, **figures},
    )  # fmt: skip


def _utc(second: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(second))


def _as_json(_: Any, result: BaseModel) -> str:
    """The connector contract: the text content is the result object, JSON-encoded."""
    return json.dumps(result.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=False)


ENTRIES: tuple[ToolEntry, ...] = (
    ToolEntry(
        name="search",
        title="Search Binance spot symbols and books",
        description=(
            "Search the Binance spot market by symbol (ETHUSDT), asset (ETH, USDT) or pair (ETH/USDT). "
            "Returns up to 10 documents: symbol:<SYMBOL> (trading rules, 24 h ticker), book:<SYMBOL> (live "
            "order-book summary) and, when history is stored, history:<SYMBOL>. Read one with fetch(id)."
        ),
        input_model=SearchArguments, output_model=SearchResults, hints=CONNECTOR_HINTS, run=_search,
        summary=_as_json, exact_name=True,
    ),
    ToolEntry(
        name="fetch",
        title="Fetch a Binance market document",
        description=(
            "Read one document found by search: symbol:<SYMBOL>, book:<SYMBOL> (subscribes the symbol's live "
            "book on first use) or history:<SYMBOL>. Returns its text, a citation URL and the figures as metadata."
        ),
        input_model=FetchArguments, output_model=Document, hints=CONNECTOR_HINTS, run=_fetch,
        summary=_as_json, exact_name=True,
    ),
)  # fmt: skip
