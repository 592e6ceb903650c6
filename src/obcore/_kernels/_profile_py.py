"""Volume-profile kernels, plain Python (the readable specification and the fallback).

Numba compiles these same functions (``obcore._kernels._profile``). Rules: int64 arrays
in, caller-allocated outputs (``# OUT``), no allocation in loops, never raise — a kernel
returns a count or a status and the public function (``obcore.analytics.profile``) has
validated everything before calling it.

Prices are int64 ticks at one price scale, quantities int64 at one quantity scale; a
bin is ``price // bin_size`` (prices are >= 0, so floor division is exact truncation and
no float ever decides a bin).
"""

from __future__ import annotations

import numpy as np

__all__ = ["STATUS_EMPTY", "STATUS_OK", "bin_trades", "find_vacuums", "price_range", "value_area"]

STATUS_OK = 0
STATUS_EMPTY = 1  # no volume at all: no POC, no value area

# value_area output slots
POC = 0
AREA_LOW = 1  # index of the lowest bin in the value area
AREA_HIGH = 2  # index of the highest bin in the value area
AREA_VOLUME = 3
TOTAL = 4
N_AREA_FIELDS = 5


def bin_trades(
    prices: np.ndarray,  # IN int64 (n,) ticks
    qtys: np.ndarray,  # IN int64 (n,) scaled quantities
    first_bin: int,  # IN index of the bin in volumes[0] (= lowest price // bin_size)
    bin_size: int,  # IN ticks per bin, > 0
    volumes: np.ndarray,  # OUT int64 (n_bins,), zeroed by the caller
    counts: np.ndarray,  # OUT int64 (n_bins,), zeroed by the caller
) -> int:
    """Add every trade's quantity and one count to its bin; returns trades binned.

    A trade outside ``volumes`` (it cannot happen when ``first_bin`` and the length come
    from the same prices) is skipped and not counted, so the caller can check the result.
    """
    n_bins = volumes.shape[0]
    binned = 0
    base = first_bin * bin_size
    inverse = 1.0 / bin_size
    # Consecutive trades mostly share a bin: sum the run in registers and write it once
    # (a store per trade would chain every add through memory).
    current = -1
    run_volume = 0
    run_count = 0
    for i in range(prices.shape[0]):
        offset = prices[i] - base
        # The float product only guesses floor(offset / bin_size) (an integer division is
        # slower); the integer comparisons below decide, so the bin is exact.
        index = int(offset * inverse)
        while index * bin_size > offset:
            index -= 1
        while (index + 1) * bin_size <= offset:
            index += 1
        if index == current:
            run_volume += qtys[i]
            run_count += 1
            continue
        if 0 <= current < n_bins:
            volumes[current] += run_volume
            counts[current] += run_count
            binned += run_count
        current = index
        run_volume = qtys[i]
        run_count = 1
    if 0 <= current < n_bins:
        volumes[current] += run_volume
        counts[current] += run_count
        binned += run_count
    return binned


def price_range(
    prices: np.ndarray,  # IN int64 (n,), n >= 1
    out: np.ndarray,  # OUT int64 (2,): lowest, highest
) -> int:
    """Lowest and highest price in one pass; returns the number of prices."""
    low = prices[0]
    high = prices[0]
    for i in range(1, prices.shape[0]):
        p = prices[i]
        if p < low:
            low = p
        elif p > high:
            high = p
    out[0] = low
    out[1] = high
    return prices.shape[0]


def value_area(
    volumes: np.ndarray,  # IN int64 (n_bins,) volume per bin, lowest price first
    out: np.ndarray,  # OUT int64 (N_AREA_FIELDS,): POC, AREA_LOW, AREA_HIGH, AREA_VOLUME, TOTAL
) -> int:
    """POC and the 70 % value area of a histogram; returns STATUS_OK or STATUS_EMPTY.

    POC: the bin with the most volume, the lowest-priced one on a tie. The area starts at
    the POC and repeatedly takes the adjacent bin (just below or just above it) with more
    volume, the upper one on a tie and the only one at an edge, until it holds at least
    70 % of the total: ``10 * area >= 7 * total``, tested as ``area >= total - floor(3 *
    total / 10)`` so that no product can overflow.
    """
    n = volumes.shape[0]
    total = 0
    poc = 0
    best = -1
    for i in range(n):
        v = volumes[i]
        total += v
        if v > best:  # strict: the lowest bin wins a tie
            best = v
            poc = i
    out[POC] = poc
    out[AREA_LOW] = poc
    out[AREA_HIGH] = poc
    out[TOTAL] = total
    if n == 0 or total <= 0:
        out[AREA_VOLUME] = 0
        return STATUS_EMPTY
    # ceil(7 * total / 10) without forming 7 * total
    needed = total - ((total // 10) * 3 + ((total % 10) * 3) // 10)
    low = poc
    high = poc
    area = volumes[poc]
    while area < needed and (low > 0 or high < n - 1):
        if low == 0:
            high += 1
            area += volumes[high]
        elif high == n - 1:
            low -= 1
            area += volumes[low]
        elif volumes[high + 1] >= volumes[low - 1]:  # upper one on a tie
            high += 1
            area += volumes[high]
        else:
            low -= 1
            area += volumes[low]
    out[AREA_LOW] = low
    out[AREA_HIGH] = high
    out[AREA_VOLUME] = area
    return STATUS_OK


def find_vacuums(
    volumes: np.ndarray,  # IN int64 (n_bins,)
    median_twice: int,  # IN twice the median volume of the non-empty bins (exact for even counts)
    starts: np.ndarray,  # OUT int64 (>= (n_bins + 1) // 2,) first bin index of each range
    ends: np.ndarray,  # OUT int64 (same,) last bin index of each range (inclusive)
) -> int:
    """Runs of adjacent bins with volume < 20 % of the median; returns how many.

    ``volume < median / 5`` is ``10 * volume < 2 * median``, exact in integers.
    A run is written only while ``starts`` has room (the caller sizes it for the worst
    case, alternate bins).
    """
    count = 0
    capacity = starts.shape[0]
    inside = False
    for i in range(volumes.shape[0]):
        low = 10 * volumes[i] < median_twice
        if low and not inside:
            if count < capacity:
                starts[count] = i
            inside = True
        elif not low and inside:
            if count < capacity:
                ends[count] = i - 1
            count += 1
            inside = False
    if inside:
        if count < capacity:
            ends[count] = volumes.shape[0] - 1
        count += 1
    return count
