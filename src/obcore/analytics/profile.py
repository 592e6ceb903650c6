"""Volume profile (SPEC.md, Analytics): exact bins, POC, 70 % value area, liquidity vacuums.

Everything that decides something is an integer: prices are ticks at one decimal scale,
the bin size is a whole number of ticks, a trade at price ``p`` is in bin
``floor(p / bin_size)`` (so a bin edge is an exact decimal), volumes are scaled-integer
quantities, "at least 70 %" is ``10 * area >= 7 * total`` and "below 20 % of the median"
is ``10 * volume < 2 * median``. Floats appear only in the presentation fields
(``percentage_of_total``, ``volume_deficit_pct``).

Rules, as SPEC.md states them and where it leaves a choice:

- bin size = max(10 ticks, price range / 100) rounded **up** to a whole tick, unless given
  (then it must be a positive whole number of ticks); the range is highest minus lowest
  traded price, so one price gives a 10-tick bin.
- histogram: every bin from the lowest to the highest traded price, empty ones included;
  a bin's ``price_level`` is its lower edge.
- POC: most volume, the lowest-priced bin on a tie.
- value area: from the POC add the adjacent bin with more volume, the upper one on a tie,
  the only one at an edge, until ``10 * area >= 7 * total``; VAL = lowest bin's level,
  VAH = highest bin's level + bin size.
- vacuums: bins with volume < 20 % of the **median of the non-empty bins** (for an even
  count the median is the mean of the two middle volumes, kept exact as twice the
  median); adjacent ones merged; ``volume_deficit_pct = 100 * (1 - mean / median)`` over
  the range's bins. Empty bins inside the traded range are vacuums too (0 < 20 %).
- fewer than ``minimum_trades`` (1000) trades: :class:`~obcore.errors.InsufficientDataError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np

from obcore._kernels import _profile as _kernels
from obcore._kernels import _profile_py as _slots
from obcore.analytics.trades import TradeArrays
from obcore.errors import InsufficientDataError, InvalidInputError, PrecisionError
from obcore.numbers import MAX_SCALE, decimal_places, format_decimal, parse_decimal

__all__ = [
    "DETAIL_LEVELS",
    "LiquidityVacuum",
    "MINIMUM_TRADES",
    "MAX_BINS",
    "ProfileBin",
    "VolumeProfile",
    "default_bin_size",
    "volume_profile",
]

#: SPEC.md: a profile needs at least this many trades in the window.
MINIMUM_TRADES = 1000
#: Most bins a histogram may have (a given bin size far below the range would need more).
MAX_BINS = 1_000_000
#: ``summary`` (POC, value area, the 20 heaviest bins, vacuums) or ``full`` (every bin).
DETAIL_LEVELS = ("summary", "full")
#: Bins listed in a summary.
SUMMARY_BINS = 20


def _pct(part: int, whole: int) -> float:
    return round(float(Fraction(100 * part, whole)), 4) if whole else 0.0


@dataclass(frozen=True, slots=True)
class ProfileBin:
    """One histogram bin: ``price_level`` (lower edge, scaled int), volume (scaled int)."""

    price_level: int
    volume: int
    trade_count: int
    percentage_of_total: float


@dataclass(frozen=True, slots=True)
class LiquidityVacuum:
    """A run of adjacent low-volume bins, ``[price_low, price_high)`` (scaled ints)."""

    price_low: int
    price_high: int
    bins: int
    volume: int
    volume_deficit_pct: float


@dataclass(frozen=True, slots=True)
class VolumeProfile:
    """A volume profile of one window of trades.

    Attributes
    ----------
    price_scale, qty_scale : int
        Scales of every price / volume below.
    tick_size, bin_size : int
        Scaled ints; ``bin_size`` is a whole number of ticks.
    first_price_level : int
        Lower edge of the first (lowest) bin.
    volumes, trade_counts : ndarray of int64, shape (n_bins,)
        Per bin, lowest price first (read-only).
    trade_count, total_volume : int
    poc_index : int
        Index of the POC bin.
    value_area_low_index, value_area_high_index : int
        First and last bin of the value area.
    value_area_volume : int
    median_twice : int
        Twice the median volume of the non-empty bins (exact).
    vacuums : tuple of LiquidityVacuum
    first_trade_ms, last_trade_ms : int
        Times of the first and last trade in the window.
    start_ms, end_ms : int or None
        The window asked for (half-open), when one was given.
    """

    price_scale: int
    qty_scale: int
    tick_size: int
    bin_size: int
    first_price_level: int
    volumes: np.ndarray
    trade_counts: np.ndarray
    trade_count: int
    total_volume: int
    poc_index: int
    value_area_low_index: int
    value_area_high_index: int
    value_area_volume: int
    median_twice: int
    vacuums: tuple[LiquidityVacuum, ...]
    first_trade_ms: int
    last_trade_ms: int
    start_ms: int | None = None
    end_ms: int | None = None

    # ------------------------------------------------------------- derived
    @property
    def n_bins(self) -> int:
        return int(self.volumes.shape[0])

    def price_level(self, index: int) -> int:
        """Lower edge of bin ``index`` (scaled int)."""
        return self.first_price_level + index * self.bin_size

    @property
    def poc_price(self) -> int:
        return self.price_level(self.poc_index)

    @property
    def poc_volume(self) -> int:
        return int(self.volumes[self.poc_index])

    @property
    def value_area_low(self) -> int:
        """VAL: the lowest value-area bin's price level."""
        return self.price_level(self.value_area_low_index)

    @property
    def value_area_high(self) -> int:
        """VAH: the highest value-area bin's price level plus the bin size."""
        return self.price_level(self.value_area_high_index) + self.bin_size

    @property
    def median_bin_volume(self) -> Fraction:
        """Median volume of the non-empty bins (scaled, exact)."""
        return Fraction(self.median_twice, 2)

    def bin(self, index: int) -> ProfileBin:
        """Bin ``index`` of the histogram."""
        volume = int(self.volumes[index])
        return ProfileBin(self.price_level(index), volume, int(self.trade_counts[index]),
                          _pct(volume, self.total_volume))

    def bins(self) -> tuple[ProfileBin, ...]:
        """The whole histogram, lowest price first."""
        return tuple(self.bin(i) for i in range(self.n_bins))

    def heaviest(self, count: int = SUMMARY_BINS) -> tuple[ProfileBin, ...]:
        """The ``count`` bins with the most volume, heaviest first (lower price first on a tie)."""
        order = np.lexsort((np.arange(self.n_bins), -self.volumes))[:count]
        return tuple(self.bin(int(i)) for i in order)

    # ------------------------------------------------------------- output
    def to_dict(self, detail: str = "summary", symbol: str | None = None) -> dict[str, Any]:
        """A JSON-ready view: prices and volumes as exact decimal strings.

        Parameters
        ----------
        detail : {"summary", "full"}
            ``summary``: POC, value area, vacuums and the 20 heaviest bins; ``full``: the
            same with the whole histogram instead of the heaviest bins.
        symbol : str, optional
            Put in the answer when given.
        """
        if detail not in DETAIL_LEVELS:
            raise InvalidInputError(f"detail must be one of {DETAIL_LEVELS}, got {detail!r}")
        ps, qs = self.price_scale, self.qty_scale

        def bin_dict(b: ProfileBin) -> dict[str, Any]:
            return {"price_level": format_decimal(b.price_level, ps), "volume": format_decimal(b.volume, qs),
                    "trade_count": b.trade_count, "percentage_of_total": b.percentage_of_total}

        out: dict[str, Any] = {} if symbol is None else {"symbol": symbol}
        out.update({
            "detail": detail,
            "trade_count": self.trade_count,
            "total_volume": format_decimal(self.total_volume, qs),
            "tick_size": format_decimal(self.tick_size, ps),
            "bin_size": format_decimal(self.bin_size, ps),
            "bin_count": self.n_bins,
            "price_low": format_decimal(self.first_price_level, ps),
            "price_high": format_decimal(self.price_level(self.n_bins), ps),
            "first_trade_ms": self.first_trade_ms,
            "last_trade_ms": self.last_trade_ms,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "poc": bin_dict(self.bin(self.poc_index)),
            "value_area": {
                "val": format_decimal(self.value_area_low, ps),
                "vah": format_decimal(self.value_area_high, ps),
                "volume": format_decimal(self.value_area_volume, qs),
                "percentage_of_total": _pct(self.value_area_volume, self.total_volume),
                "bins": self.value_area_high_index - self.value_area_low_index + 1,
            },
            # median = median_twice / 2: exact at one more decimal when odd
            "median_bin_volume": format_decimal(self.median_twice // 2, qs) if self.median_twice % 2 == 0
            else format_decimal(self.median_twice * 5, qs + 1),
            "liquidity_vacuums": [
                {"price_low": format_decimal(v.price_low, ps), "price_high": format_decimal(v.price_high, ps),
                 "bins": v.bins, "volume": format_decimal(v.volume, qs), "volume_deficit_pct": v.volume_deficit_pct}
                for v in self.vacuums
            ],
        })
        if detail == "full":
            out["histogram"] = [bin_dict(b) for b in self.bins()]
        else:
            out["heaviest_bins"] = [bin_dict(b) for b in self.heaviest()]
        return out


def _scaled(value: Any, name: str, scale: int) -> int:
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    try:
        return parse_decimal(text, scale)
    except PrecisionError:
        raise
    except (ValueError, InvalidInputError):
        raise InvalidInputError(f"{name} must be a decimal number such as '0.01', got {value!r}") from None


def _places(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (str, Decimal, int)):
        raise InvalidInputError(f"{name} must be a decimal string such as '0.01', got {value!r}")
    text = format(value, "f") if isinstance(value, Decimal) else str(value)
    try:
        places = decimal_places(text)
    except (ValueError, InvalidInputError):
        raise InvalidInputError(f"{name} must be a decimal number such as '0.01', got {value!r}") from None
    if places > MAX_SCALE:
        raise PrecisionError(f"{name} {value!r} has more than {MAX_SCALE} decimals")
    return places


def default_bin_size(price_range: int, tick: int) -> int:
    """SPEC.md's bin size in scaled ints: max(10 ticks, range / 100), rounded up to a whole tick.

    Parameters
    ----------
    price_range : int
        Highest minus lowest traded price (scaled, >= 0).
    tick : int
        Tick size (scaled, > 0).

    Returns
    -------
    int
        A positive multiple of ``tick``.
    """
    ticks_for_range = -(-price_range // (100 * tick))  # ceil(range / (100 * tick))
    return max(10, ticks_for_range) * tick


def volume_profile(
    trades: TradeArrays,
    tick_size: str | Decimal,
    *,
    bin_size: str | Decimal | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    minimum_trades: int = MINIMUM_TRADES,
) -> VolumeProfile:
    """The volume profile of the trades in ``[start_ms, end_ms)``.

    Parameters
    ----------
    trades : TradeArrays
        Trades (live tape, back-fill, files), oldest first.
    tick_size : str or Decimal
        The symbol's tick size (exchangeInfo ``PRICE_FILTER``), e.g. ``"0.01"``.
    bin_size : str or Decimal, optional
        Bin width; a positive whole number of ticks. Default: SPEC.md's rule.
    start_ms, end_ms : int, optional
        Half-open window, Unix ms; all trades when omitted.
    minimum_trades : int
        Fewer trades in the window raise :class:`InsufficientDataError` (SPEC: 1000).

    Returns
    -------
    VolumeProfile

    Raises
    ------
    InvalidInputError
        A non-positive or malformed tick or bin size, a bin size that is not a whole
        number of ticks, a window that is not a range, or more than ``MAX_BINS`` bins.
    PrecisionError
        A tick or bin size with more than 12 decimals.
    InsufficientDataError
        Fewer than ``minimum_trades`` trades in the window (the message gives the count).
    """
    if not isinstance(trades, TradeArrays):
        raise InvalidInputError(f"trades must be TradeArrays, got {type(trades).__name__}")
    if start_ms is not None and end_ms is not None and end_ms < start_ms:
        raise InvalidInputError(f"window end {end_ms} ms is before its start {start_ms} ms")
    if isinstance(minimum_trades, bool) or not isinstance(minimum_trades, int) or minimum_trades < 1:
        raise InvalidInputError(f"minimum_trades must be an int >= 1, got {minimum_trades!r}")
    scale = max(trades.price_scale, _places(tick_size, "tick_size"),
                0 if bin_size is None else _places(bin_size, "bin_size"))
    tick = _scaled(tick_size, "tick_size", scale)
    if tick <= 0:
        raise InvalidInputError(f"tick_size must be > 0, got {tick_size!r}")
    window = trades.between(start_ms, end_ms)
    n = len(window)
    if n < minimum_trades:
        raise InsufficientDataError(
            f"insufficient data for a volume profile: {n} trades in the window, minimum {minimum_trades} trades",
            count=n, minimum=minimum_trades)
    window = window.at_scales(scale, window.qty_scale)
    prices, qtys = window.price, window.qty
    extremes = np.zeros(2, dtype=np.int64)
    _kernels.price_range(prices, extremes)
    low, high = int(extremes[0]), int(extremes[1])
    if bin_size is None:
        size = default_bin_size(high - low, tick)
    else:
        size = _scaled(bin_size, "bin_size", scale)
        if size <= 0 or size % tick:
            raise InvalidInputError(
                f"bin_size must be a positive whole number of ticks ({format_decimal(tick, scale)}), got {bin_size!r}")
    first_bin, last_bin = low // size, high // size
    n_bins = last_bin - first_bin + 1
    if n_bins > MAX_BINS:
        raise InvalidInputError(
            f"bin_size {format_decimal(size, scale)} gives {n_bins} bins over the range "
            f"{format_decimal(low, scale)}..{format_decimal(high, scale)}; at most {MAX_BINS}")
    volumes = np.zeros(n_bins, dtype=np.int64)
    counts = np.zeros(n_bins, dtype=np.int64)
    binned = _kernels.bin_trades(prices, qtys, first_bin, size, volumes, counts)
    if binned != n:  # pragma: no cover - the bins are sized from these very prices
        raise InvalidInputError(f"{n - binned} trades fell outside the bins")
    area = np.zeros(_slots.N_AREA_FIELDS, dtype=np.int64)
    _kernels.value_area(volumes, area)
    filled = np.sort(volumes[volumes > 0])
    middle = filled.shape[0] // 2
    median_twice = 2 * int(filled[middle]) if filled.shape[0] % 2 else int(filled[middle - 1]) + int(filled[middle])
    starts = np.zeros((n_bins + 1) // 2, dtype=np.int64)
    ends = np.zeros_like(starts)
    found = _kernels.find_vacuums(volumes, median_twice, starts, ends)
    vacuums = []
    for k in range(found):
        a, b = int(starts[k]), int(ends[k])
        volume = int(volumes[a : b + 1].sum())
        bins = b - a + 1
        deficit = 100 * (1 - Fraction(2 * volume, bins * median_twice))
        vacuums.append(LiquidityVacuum((first_bin + a) * size, (first_bin + b + 1) * size, bins, volume,
                                       round(float(deficit), 4)))
    volumes.setflags(write=False)
    counts.setflags(write=False)
    return VolumeProfile(
        price_scale=scale, qty_scale=window.qty_scale, tick_size=tick, bin_size=size,
        first_price_level=first_bin * size, volumes=volumes, trade_counts=counts, trade_count=n,
        total_volume=int(area[_slots.TOTAL]), poc_index=int(area[_slots.POC]),
        value_area_low_index=int(area[_slots.AREA_LOW]), value_area_high_index=int(area[_slots.AREA_HIGH]),
        value_area_volume=int(area[_slots.AREA_VOLUME]), median_twice=median_twice, vacuums=tuple(vacuums),
        first_trade_ms=int(window.time_ms[0]), last_trade_ms=int(window.time_ms[-1]),
        start_ms=start_ms, end_ms=end_ms,
    )
