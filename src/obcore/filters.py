"""Pre-checks of an order against a symbol's exchangeInfo filters, exact, before sending.

Room: sans-I/O order rules of obcore. :class:`SymbolFilters` reads the ``filters`` list
of one exchangeInfo symbol (PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE, NOTIONAL,
MIN_NOTIONAL, PERCENT_PRICE, PERCENT_PRICE_BY_SIDE, MAX_NUM_ORDERS, MAX_NUM_ALGO_ORDERS)
as Decimals; :func:`check_order` applies them the way Binance does and raises
:class:`FilterViolationError` naming the filter, the value and the nearest valid value.
All arithmetic is Decimal (no float): a price is on the tick grid or it is not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_DOWN, Context, Decimal, localcontext
from typing import Any

from obcore.errors import InvalidInputError

__all__ = ["FilterViolationError", "SymbolFilters", "check_order", "nearest_on_grid"]

_ZERO = Decimal(0)
_LIMIT_PRICED = ("LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
_ALGO = ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
_CONTEXT = Context(prec=60)


class FilterViolationError(InvalidInputError):
    """An order breaks one exchangeInfo filter; nothing was sent.

    Attributes
    ----------
    filter : str
        The filter's name (``PRICE_FILTER``, ``LOT_SIZE`` …).
    field : str
        The order field at fault (``price``, ``quantity``, ``notional`` …).
    value : Decimal
        The offending value.
    suggested : Decimal or None
        The nearest value that passes this filter (None when no change of this field can).
    """

    code = "filter_violation"

    def __init__(self, filter_name: str, field_name: str, value: Decimal, suggested: Decimal | None, why: str):
        self.filter = filter_name
        self.field = field_name
        self.value = value
        self.suggested = suggested
        hint = f"; nearest valid {field_name}: {_text(suggested)}" if suggested is not None else ""
        super().__init__(f"{filter_name}: {field_name} {_text(value)} {why}{hint}")


def _text(value: Decimal | None) -> str:
    if value is None:
        return "-"
    text = format(value.normalize(), "f") if value != 0 else "0"
    return text


def _dec(raw: Mapping[str, Any], key: str) -> Decimal:
    value = raw.get(key)
    return _ZERO if value is None else Decimal(str(value))


def nearest_on_grid(value: Decimal, low: Decimal, step: Decimal, high: Decimal, rounding: str = ROUND_HALF_DOWN) -> Decimal:
    """The grid point ``low + k*step`` nearest to ``value`` (``rounding`` breaks ties), within [low, high].

    Parameters
    ----------
    value, low, step, high : Decimal
        ``step`` 0 means no grid; ``high`` 0 means no upper bound.
    rounding : str
        A :mod:`decimal` rounding mode for ``(value - low) / step``.

    Returns
    -------
    Decimal
    """
    with localcontext(_CONTEXT):
        if high and value > high:
            value = high
            rounding = ROUND_FLOOR
        if value < low:
            value = low
            rounding = ROUND_CEILING
        if not step:
            return value
        k = ((value - low) / step).quantize(Decimal(1), rounding=rounding)
        point = low + k * step
        if high and point > high:
            point -= step
        if point < low:
            point += step
        return point.normalize() if point else _ZERO


@dataclass(frozen=True, slots=True)
class SymbolFilters:
    """A symbol's exchangeInfo filters as Decimals (a missing filter is not enforced).

    Attributes
    ----------
    symbol : str
    filters : dict
        ``filterType`` -> the filter's raw fields.
    """

    symbol: str
    filters: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_symbol_info(cls, info: Mapping[str, Any]) -> SymbolFilters:
        """Read one entry of exchangeInfo's ``symbols`` list.

        Raises
        ------
        InvalidInputError
            ``info`` has no ``symbol`` or no ``filters`` list.
        """
        symbol = info.get("symbol")
        rows = info.get("filters")
        if not isinstance(symbol, str) or not isinstance(rows, Sequence):
            raise InvalidInputError("exchangeInfo symbol entry: expected 'symbol' and a 'filters' list")
        return cls(symbol, {str(row["filterType"]): dict(row) for row in rows if "filterType" in row})

    def get(self, name: str) -> dict[str, Any] | None:
        """The raw fields of filter ``name``, or None."""
        return self.filters.get(name)


def _check_grid(filter_name: str, field_name: str, value: Decimal, low: Decimal, high: Decimal, step: Decimal) -> None:
    with localcontext(_CONTEXT):
        if value <= 0:
            raise FilterViolationError(filter_name, field_name, value, nearest_on_grid(low or step, low, step, high),
                                       "must be > 0")
        if low and value < low:
            raise FilterViolationError(filter_name, field_name, value, nearest_on_grid(value, low, step, high),
                                       f"is below the minimum {_text(low)}")
        if high and value > high:
            raise FilterViolationError(filter_name, field_name, value, nearest_on_grid(value, low, step, high),
                                       f"is above the maximum {_text(high)}")
        if step and (value - low) % step != 0:
            raise FilterViolationError(filter_name, field_name, value, nearest_on_grid(value, low, step, high),
                                       f"is not on the grid {_text(low)} + k * {_text(step)}")


def check_order(
    filters: SymbolFilters,
    *,
    side: str,
    order_type: str,
    quantity: Decimal | None = None,
    quote_order_qty: Decimal | None = None,
    price: Decimal | None = None,
    stop_price: Decimal | None = None,
    average_price: Decimal | None = None,
    open_orders: int | None = None,
    open_algo_orders: int | None = None,
) -> tuple[str, ...]:
    """Check one order against ``filters`` as Binance would; return the filters passed.

    Parameters
    ----------
    filters : SymbolFilters
    side : {"BUY", "SELL"}
    order_type : str
        ``LIMIT``, ``MARKET``, ``LIMIT_MAKER``, ``STOP_LOSS_LIMIT`` …
    quantity, quote_order_qty, price, stop_price : Decimal, optional
        The order's numbers.
    average_price : Decimal, optional
        Binance's average price (``/avgPrice``): the reference of NOTIONAL for MARKET
        orders and of the PERCENT_PRICE filters; without it those checks are skipped.
    open_orders, open_algo_orders : int, optional
        Open orders (and stop orders) on the symbol now, for MAX_NUM_ORDERS /
        MAX_NUM_ALGO_ORDERS; None skips those checks.

    Returns
    -------
    tuple of str
        The names of the filters checked and passed.

    Raises
    ------
    FilterViolationError
        The first filter broken, with the nearest valid value of the field at fault.
    """
    passed: list[str] = []
    is_market = order_type == "MARKET"
    with localcontext(_CONTEXT):
        f = filters.get("PRICE_FILTER")
        if f is not None:
            low, high, tick = _dec(f, "minPrice"), _dec(f, "maxPrice"), _dec(f, "tickSize")
            for name, value in (("price", price), ("stop_price", stop_price)):
                if value is not None:
                    _check_grid("PRICE_FILTER", name, value, low, high, tick)
            passed.append("PRICE_FILTER")
        f = filters.get("LOT_SIZE")
        if f is not None and quantity is not None:
            _check_grid("LOT_SIZE", "quantity", quantity, _dec(f, "minQty"), _dec(f, "maxQty"), _dec(f, "stepSize"))
            passed.append("LOT_SIZE")
        f = filters.get("MARKET_LOT_SIZE")
        if f is not None and is_market and quantity is not None:
            low, high, step = _dec(f, "minQty"), _dec(f, "maxQty"), _dec(f, "stepSize")
            _check_grid("MARKET_LOT_SIZE", "quantity", quantity, low, high, step)
            passed.append("MARKET_LOT_SIZE")
        reference = average_price if is_market else price
        for name in ("NOTIONAL", "MIN_NOTIONAL"):
            f = filters.get(name)
            if f is None:
                continue
            apply_min = f.get("applyMinToMarket", f.get("applyToMarket", True)) if is_market else True
            apply_max = f.get("applyMaxToMarket", False) if is_market else True
            if is_market and quote_order_qty is not None:
                notional: Decimal | None = quote_order_qty
                field_name, unit = "quote_order_qty", None
            elif quantity is not None and reference is not None:
                notional = quantity * reference
                field_name, unit = "quantity", reference
            else:
                notional = None
            if notional is None:
                continue
            low, high = _dec(f, "minNotional"), _dec(f, "maxNotional")
            step = _dec(filters.get("LOT_SIZE") or {}, "stepSize")
            if apply_min and low and notional < low:
                suggested = low if unit is None else _qty_for(low / unit, step, ROUND_CEILING)
                raise FilterViolationError(name, field_name, quantity if unit is not None else notional, suggested,
                                           f"gives notional {_text(notional)}, below the minimum {_text(low)}")
            if apply_max and high and notional > high:
                suggested = high if unit is None else _qty_for(high / unit, step, ROUND_FLOOR)
                raise FilterViolationError(name, field_name, quantity if unit is not None else notional, suggested,
                                           f"gives notional {_text(notional)}, above the maximum {_text(high)}")
            passed.append(name)
        if average_price is not None and price is not None and order_type in _LIMIT_PRICED:
            tick = _dec(filters.get("PRICE_FILTER") or {}, "tickSize")
            f = filters.get("PERCENT_PRICE_BY_SIDE")
            if f is not None:
                key = "bid" if side == "BUY" else "ask"
                _check_band("PERCENT_PRICE_BY_SIDE", price, average_price * _dec(f, f"{key}MultiplierDown"),
                            average_price * _dec(f, f"{key}MultiplierUp"), tick)
                passed.append("PERCENT_PRICE_BY_SIDE")
            f = filters.get("PERCENT_PRICE")
            if f is not None:
                _check_band("PERCENT_PRICE", price, average_price * _dec(f, "multiplierDown"),
                            average_price * _dec(f, "multiplierUp"), tick)
                passed.append("PERCENT_PRICE")
        f = filters.get("MAX_NUM_ORDERS")
        if f is not None and open_orders is not None:
            limit = int(_dec(f, "maxNumOrders"))
            if open_orders + 1 > limit:
                raise FilterViolationError("MAX_NUM_ORDERS", "open orders", Decimal(open_orders + 1), None,
                                           f"would exceed the maximum {limit} on {filters.symbol}: cancel one first")
            passed.append("MAX_NUM_ORDERS")
        f = filters.get("MAX_NUM_ALGO_ORDERS")
        if f is not None and open_algo_orders is not None and order_type in _ALGO:
            limit = int(_dec(f, "maxNumAlgoOrders"))
            if open_algo_orders + 1 > limit:
                raise FilterViolationError("MAX_NUM_ALGO_ORDERS", "open stop orders", Decimal(open_algo_orders + 1),
                                           None, f"would exceed the maximum {limit} on {filters.symbol}")
            passed.append("MAX_NUM_ALGO_ORDERS")
    return tuple(passed)


def _qty_for(raw: Decimal, step: Decimal, rounding: str) -> Decimal:
    if not step:
        return raw
    return ((raw / step).quantize(Decimal(1), rounding=rounding) * step).normalize()


def _check_band(name: str, price: Decimal, low: Decimal, high: Decimal, tick: Decimal) -> None:
    if price > high:
        suggested = _qty_for(high, tick, ROUND_FLOOR) if tick else high
        raise FilterViolationError(name, "price", price, suggested,
                                   f"is above {_text(high)} (average price times the up multiplier)")
    if price < low:
        suggested = _qty_for(low, tick, ROUND_CEILING) if tick else low
        raise FilterViolationError(name, "price", price, suggested,
                                   f"is below {_text(low)} (average price times the down multiplier)")
