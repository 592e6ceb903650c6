# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Compiled ``DepthBook``: the same contract as ``_book_py.py`` (its readable twin).

Cython, not Numba, because Python calls this once per WebSocket message: a Cython method
call costs ~50 ns where a Numba dispatch costs ~300 ns, and the message bytes are parsed
here, in C, straight into scaled integers (no orjson, no Python floats or strings).

Each side is a C array of keys (bid prices ascending, negated ask prices ascending) with
the best level last, searched from the end (galloping, then binary) because nearly all
changes happen near the touch.
"""

from libc.stdint cimport INT64_MAX, int64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memmove

import numpy as np

from obcore.errors import InvalidInputError

cimport numpy as cnp

cnp.import_array()

cdef extern from "Python.h":
    char* PyBytes_AS_STRING(object)
    Py_ssize_t PyBytes_GET_SIZE(object)

# The layout of ``_layout.py`` as compile-time C values: Cython cannot take them from a
# Python module. They are exported below and ``tests/obcore/test_kernels.py`` checks each
# one against ``_layout``.
cdef enum:
    S_APPLIED = 0
    S_STALE = 1
    S_GAP = 2
    S_CROSSED = 3
    S_PARSE = 4
    S_PRECISION = 5
    S_NOT_DEPTH = 6
    S_TRADE = 7

cdef enum:
    F_UPDATES = 0
    F_ADDITIONS = 1
    F_REDUCTIONS = 2
    F_CANCELLATIONS = 3
    F_ADDED_QTY = 4
    F_REDUCED_QTY = 5
    F_CANCELLED_QTY = 6
    N_SIDE_FIELDS = 7
    F_TRADES = 14
    F_BUY_TRADES = 15
    F_SELL_TRADES = 16
    F_BUY_QTY = 17
    F_SELL_QTY = 18
    F_MESSAGES = 19
    NFIELDS = 20
    MAX_PENDING = 256
    N_QTY_FIELDS = 8

cdef enum:
    R_SIDE = 0
    R_PRICE = 1
    R_TIME = 2
    R_TRADED = 3
    R_QTY = 4
    R_DISPLAYED = 5
    NREFILL_FIELDS = 6
    MAX_HITS = 64
    REFILL_WINDOW = 5000

cdef int QTY_FIELD_LIST[N_QTY_FIELDS]
QTY_FIELD_LIST[:] = [F_ADDED_QTY, F_REDUCED_QTY, F_CANCELLED_QTY, N_SIDE_FIELDS + F_ADDED_QTY,
                     N_SIDE_FIELDS + F_REDUCED_QTY, N_SIDE_FIELDS + F_CANCELLED_QTY, F_BUY_QTY, F_SELL_QTY]

STATUS_APPLIED = S_APPLIED
STATUS_STALE = S_STALE
STATUS_GAP = S_GAP
STATUS_CROSSED = S_CROSSED
STATUS_PARSE_ERROR = S_PARSE
STATUS_PRECISION = S_PRECISION
STATUS_NOT_DEPTH = S_NOT_DEPTH
STATUS_TRADE = S_TRADE
UPDATES = F_UPDATES
ADDITIONS = F_ADDITIONS
REDUCTIONS = F_REDUCTIONS
CANCELLATIONS = F_CANCELLATIONS
ADDED_QTY = F_ADDED_QTY
REDUCED_QTY = F_REDUCED_QTY
CANCELLED_QTY = F_CANCELLED_QTY
SIDE_FIELDS = N_SIDE_FIELDS
TRADES = F_TRADES
BUY_TRADES = F_BUY_TRADES
SELL_TRADES = F_SELL_TRADES
BUY_QTY = F_BUY_QTY
SELL_QTY = F_SELL_QTY
MESSAGES = F_MESSAGES
N_FIELDS = NFIELDS
MAX_PENDING_TRADES = MAX_PENDING
REFILL_SIDE = R_SIDE
REFILL_PRICE = R_PRICE
REFILL_TIME = R_TIME
REFILL_TRADED = R_TRADED
REFILL_QTY = R_QTY
REFILL_DISPLAYED = R_DISPLAYED
N_REFILL_FIELDS = NREFILL_FIELDS
MAX_HIT_LEVELS = MAX_HITS
REFILL_WINDOW_MS = REFILL_WINDOW
QTY_FIELDS = tuple(QTY_FIELD_LIST[f] for f in range(N_QTY_FIELDS))
BID = 0
ASK = 1

cdef struct Side:
    int64_t* keys
    int64_t* qtys
    Py_ssize_t n
    Py_ssize_t cap


cdef int side_reserve(Side* side, Py_ssize_t need) except -1:
    cdef Py_ssize_t cap = side.cap if side.cap > 0 else 64
    cdef int64_t* keys
    cdef int64_t* qtys
    if need <= side.cap:
        return 0
    while cap < need:
        cap *= 2
    keys = <int64_t*> realloc(side.keys, cap * sizeof(int64_t))
    if keys == NULL:
        raise MemoryError()
    side.keys = keys
    qtys = <int64_t*> realloc(side.qtys, cap * sizeof(int64_t))
    if qtys == NULL:
        raise MemoryError()
    side.qtys = qtys
    side.cap = cap
    return 0


cdef inline Py_ssize_t lower_bound_from_end(const int64_t* keys, Py_ssize_t n, int64_t key) nogil:
    """First index i with keys[i] >= key, galloping from the end (the best level)."""
    cdef Py_ssize_t hi = n, step = 1, lo, mid
    while hi - step >= 0 and keys[hi - step] >= key:
        hi -= step
        step <<= 1
    lo = hi - step if hi - step > 0 else 0
    while lo < hi:
        mid = (lo + hi) >> 1
        if keys[mid] < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


cdef int64_t* int64_rows(object arr, Py_ssize_t columns, bint writeable, Py_ssize_t* rows) except NULL:
    """Data pointer of a C-contiguous int64 array of shape (rows, columns), or (rows,) if
    columns == 0. Checked with numpy's C macros: a memoryview costs ~10x more per call."""
    cdef cnp.ndarray a
    if not cnp.PyArray_Check(arr):
        raise InvalidInputError(f"expected a numpy int64 array, got {type(arr).__name__}")
    a = <cnp.ndarray> arr
    if (cnp.PyArray_TYPE(a) != cnp.NPY_INT64 or not cnp.PyArray_IS_C_CONTIGUOUS(a)
            or cnp.PyArray_NDIM(a) != (2 if columns else 1)
            or (columns and cnp.PyArray_DIM(a, 1) != columns)):
        raise InvalidInputError(f"expected a C-contiguous int64 array with {columns or 'any'} columns, "
                        f"got {arr.dtype} shape {arr.shape}")
    if writeable and not cnp.PyArray_ISWRITEABLE(a):
        raise InvalidInputError("output array is read-only")
    rows[0] = cnp.PyArray_DIM(a, 0)
    return <int64_t*> cnp.PyArray_DATA(a)


cdef inline Py_ssize_t first_bad_row(const int64_t* rows, Py_ssize_t n) noexcept nogil:
    """Index of the first (side, price, qty) row the book cannot take, or -1.

    The side indexes a C array: anything but 0/1 would write outside it.
    """
    cdef Py_ssize_t j
    for j in range(n):
        if (rows[3 * j] != 0 and rows[3 * j] != 1) or rows[3 * j + 1] <= 0 or rows[3 * j + 2] < 0:
            return j
    return -1


cdef int check_side(int side) except -1:
    if side != 0 and side != 1:
        raise InvalidInputError(f"side must be 0 (bid) or 1 (ask), got {side}")
    return 0


def _bad_row_error(Py_ssize_t index, int64_t side, int64_t price, int64_t qty):
    return InvalidInputError(
        f"level row {index} (side {side}, price {price}, qty {qty}): side must be 0 (bid) or 1 (ask), "
        "price > 0 and qty >= 0")


# ---------------------------------------------------------------- JSON scanning
cdef inline Py_ssize_t skip_ws(const char* s, Py_ssize_t i, Py_ssize_t n) nogil:
    while i < n and (s[i] == 32 or s[i] == 10 or s[i] == 13 or s[i] == 9):
        i += 1
    return i


cdef Py_ssize_t skip_string(const char* s, Py_ssize_t i, Py_ssize_t n) nogil:
    """s[i] is the opening quote; return the index after the closing quote, or -1."""
    i += 1
    while i < n:
        if s[i] == 92:  # backslash
            i += 2
            continue
        if s[i] == 34:
            return i + 1
        i += 1
    return -1


cdef Py_ssize_t skip_value(const char* s, Py_ssize_t i, Py_ssize_t n) nogil:
    cdef int depth = 0
    cdef char c
    if i >= n:
        return -1
    c = s[i]
    if c == 34:
        return skip_string(s, i, n)
    if c == 123 or c == 91:
        while i < n:
            c = s[i]
            if c == 34:
                i = skip_string(s, i, n)
                if i < 0:
                    return -1
                continue
            if c == 123 or c == 91:
                depth += 1
            elif c == 125 or c == 93:
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return -1
    while i < n and s[i] != 44 and s[i] != 125 and s[i] != 93 and s[i] != 32:
        i += 1
    return i


cdef inline int parse_scaled(const char* s, Py_ssize_t start, Py_ssize_t end, int scale, int64_t* out) nogil:
    """Decimal text s[start:end] -> integer scaled by 10**scale. Returns a status."""
    cdef int64_t value = 0
    cdef Py_ssize_t i = start
    cdef int digits = 0, frac = 0, d
    cdef bint finer = False
    while i < end and s[i] != 46:
        d = s[i] - 48
        if d < 0 or d > 9 or value > (INT64_MAX - d) // 10:
            return S_PARSE
        value = value * 10 + d
        digits += 1
        i += 1
    if i < end:
        i += 1
        while i < end:
            d = s[i] - 48
            if d < 0 or d > 9:
                return S_PARSE
            if frac < scale:
                if value > (INT64_MAX - d) // 10:
                    return S_PARSE
                value = value * 10 + d
                frac += 1
            elif d != 0:
                finer = True
            digits += 1
            i += 1
    if digits == 0:
        return S_PARSE
    if finer:
        return S_PRECISION
    while frac < scale:
        if value > INT64_MAX // 10:
            return S_PARSE
        value *= 10
        frac += 1
    out[0] = value
    return S_APPLIED


cdef inline Py_ssize_t parse_quoted(const char* s, Py_ssize_t i, Py_ssize_t n, int scale,
                                    int64_t* out, int* status) noexcept nogil:
    """s[i] opens a quoted decimal: parse it in one pass into an integer scaled by
    10**scale; return the index after the closing quote, or -1 if malformed. Sets
    status to S_PRECISION (leaving it otherwise) when it has non-zero digits past scale."""
    cdef int64_t value = 0
    cdef Py_ssize_t start = i + 1
    cdef int whole = 0, frac = -1, d
    cdef bint finer = False
    cdef char c
    i = start
    while i < n:
        c = s[i]
        if c == 34:
            break
        if c == 46:
            if frac >= 0:
                return -1
            frac = 0
        else:
            d = c - 48
            if d < 0 or d > 9:
                return -1
            if frac < 0:
                value = value * 10 + d
                whole += 1
            elif frac < scale:
                value = value * 10 + d
                frac += 1
            elif d != 0:
                finer = True
        i += 1
    if i >= n or i == start or (whole == 0 and frac <= 0):
        return -1
    if whole + scale > 18:
        # Up to 18 digits cannot overflow int64; past that, redo it with checks.
        if parse_scaled(s, start, i, scale, out) == S_PARSE:
            return -1
    else:
        if frac < 0:
            frac = 0
        while frac < scale:
            value *= 10
            frac += 1
        out[0] = value
    if finer:
        status[0] = S_PRECISION
    return i + 1


cdef inline bint value_ends(const char* s, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """A JSON value parsed in place ended at s[i] (a delimiter, or the end)."""
    return i >= n or s[i] == 44 or s[i] == 125 or s[i] == 93 or s[i] == 32 or s[i] == 10 or s[i] == 13 or s[i] == 9


cdef inline bint text_at(const char* s, Py_ssize_t i, Py_ssize_t n, const char* text, Py_ssize_t length) noexcept nogil:
    """s[i:i + length] == text."""
    cdef Py_ssize_t j
    if n - i < length:
        return False
    for j in range(length):
        if s[i + j] != text[j]:
            return False
    return True


cdef inline Py_ssize_t parse_int(const char* s, Py_ssize_t i, Py_ssize_t n, int64_t* out) nogil:
    cdef int64_t value = 0
    cdef Py_ssize_t start = i
    cdef int d
    while i < n:
        d = s[i] - 48
        if d < 0 or d > 9:
            break
        if value > (INT64_MAX - d) // 10:
            return -1
        value = value * 10 + d
        i += 1
    if i == start:
        return -1
    out[0] = value
    return i


cdef class DepthBook:
    """One symbol's book, continuity state and per-second counters (compiled)."""

    cdef Side sides[2]
    cdef int64_t[:, ::1] _ring
    cdef object _ring_array
    cdef Py_ssize_t capacity
    cdef public int price_scale, qty_scale
    cdef public int64_t current_second, last_update_id, last_event_time
    cdef public int64_t event_first_id, event_last_id, event_time
    cdef public int64_t events_applied, events_stale
    cdef int64_t pend_price[MAX_PENDING]
    cdef int64_t pend_qty[MAX_PENDING]
    cdef int64_t pend_time[MAX_PENDING]
    cdef int pend_side[MAX_PENDING]
    cdef int n_pend
    cdef int64_t acc[2 * N_SIDE_FIELDS]
    cdef int64_t* scratch
    cdef Py_ssize_t scratch_cap
    # The trade tape (a TradeTape's arrays) trade frames are written to, if attached.
    cdef bint has_tape
    cdef int64_t[::1] tape_price, tape_qty, tape_time, tape_id, tape_total
    cdef signed char[::1] tape_side
    cdef Py_ssize_t tape_cap
    # Levels a trade hit and not topped up yet, oldest first; [lo, hi] bounds their prices
    # per side (a filter: a level change outside it cannot be a refill).
    cdef int64_t hit_price[MAX_HITS]
    cdef int64_t hit_traded[MAX_HITS]
    cdef int64_t hit_time[MAX_HITS]
    cdef int hit_side[MAX_HITS]
    cdef int n_hit
    cdef int64_t hit_lo[2]
    cdef int64_t hit_hi[2]
    # The refill ring (a RefillRing's arrays), if attached.
    cdef bint has_refills
    cdef int64_t[:, ::1] refill_ring
    cdef int64_t[::1] refill_total
    cdef Py_ssize_t refill_cap

    def __cinit__(self, int price_scale, int qty_scale, ring):
        cdef int j
        self.sides[0].keys = NULL
        self.sides[0].qtys = NULL
        self.sides[0].n = 0
        self.sides[0].cap = 0
        self.sides[1] = self.sides[0]
        self.scratch = NULL
        self.scratch_cap = 0
        self.n_pend = 0
        self.has_tape = False
        self.tape_cap = 0
        self.n_hit = 0
        self.has_refills = False
        self.refill_cap = 0
        for j in range(2 * N_SIDE_FIELDS):
            self.acc[j] = 0

    def __init__(self, int price_scale, int qty_scale, ring):
        self.price_scale = price_scale
        self.qty_scale = qty_scale
        self._ring_array = ring
        self._ring = ring
        self.capacity = ring.shape[1] // 2
        self.current_second = -1
        self.last_update_id = 0
        self.last_event_time = 0
        self.event_first_id = 0
        self.event_last_id = 0
        self.event_time = 0
        self.events_applied = 0
        self.events_stale = 0
        side_reserve(&self.sides[0], 1024)
        side_reserve(&self.sides[1], 1024)
        self._reserve_scratch(256)

    def __dealloc__(self):
        free(self.sides[0].keys)
        free(self.sides[0].qtys)
        free(self.sides[1].keys)
        free(self.sides[1].qtys)
        free(self.scratch)

    cdef int _reserve_scratch(self, Py_ssize_t need) except -1:
        cdef int64_t* grown
        if need <= self.scratch_cap:
            return 0
        grown = <int64_t*> realloc(self.scratch, need * 3 * sizeof(int64_t))  # (side, price, qty) rows
        if grown == NULL:
            raise MemoryError()
        self.scratch = grown
        self.scratch_cap = need
        return 0

    @property
    def ring(self):
        return self._ring_array

    # ------------------------------------------------------------- loading
    def load(self, bid_prices, bid_qtys, ask_prices, ask_qtys, int64_t last_update_id):
        """Replace the book with a snapshot given best-first (as Binance sends it)."""
        cdef int side
        cdef Py_ssize_t j, n
        for side, prices, qtys, sign in ((0, bid_prices, bid_qtys, 1), (1, ask_prices, ask_qtys, -1)):
            keys = np.asarray(prices, dtype=np.int64) * sign
            amounts = np.asarray(qtys, dtype=np.int64)
            keep = amounts > 0
            keys = keys[keep]
            amounts = amounts[keep]
            order = np.argsort(keys, kind="stable")
            keys = np.ascontiguousarray(keys[order])
            amounts = np.ascontiguousarray(amounts[order])
            n = keys.shape[0]
            side_reserve(&self.sides[side], n + 1)
            for j in range(n):
                self.sides[side].keys[j] = keys[j]
                self.sides[side].qtys[j] = amounts[j]
            self.sides[side].n = n
        self.last_update_id = last_update_id
        self.n_pend = 0
        self.n_hit = 0

    def clear(self):
        self.sides[0].n = 0
        self.sides[1].n = 0
        self.n_pend = 0
        self.n_hit = 0

    def rescale(self, int price_scale, int qty_scale):
        """Move to finer scales (both must be >= the current ones); the ring's quantity
        fields move too, so a window spanning the rescale reads one scale."""
        cdef int64_t price_factor = int(10) ** int(price_scale - self.price_scale)
        cdef int64_t qty_factor = int(10) ** int(qty_scale - self.qty_scale)
        cdef Py_ssize_t j
        cdef int side, f
        if qty_factor != 1:
            for f in range(N_QTY_FIELDS):
                for j in range(2 * self.capacity):
                    self._ring[QTY_FIELD_LIST[f], j] *= qty_factor
        for side in range(2):
            for j in range(self.sides[side].n):
                self.sides[side].keys[j] *= price_factor
                self.sides[side].qtys[j] *= qty_factor
        for j in range(self.n_pend):
            self.pend_price[j] *= price_factor
            self.pend_qty[j] *= qty_factor
        for j in range(self.n_hit):
            self.hit_price[j] *= price_factor
            self.hit_traded[j] *= qty_factor
        for side in range(2):
            self.hit_lo[side] *= price_factor
            self.hit_hi[side] *= price_factor
        if self.has_refills:
            for j in range(2 * self.refill_cap):
                self.refill_ring[R_PRICE, j] *= price_factor
                self.refill_ring[R_TRADED, j] *= qty_factor
                self.refill_ring[R_QTY, j] *= qty_factor
                self.refill_ring[R_DISPLAYED, j] *= qty_factor
        self.price_scale = price_scale
        self.qty_scale = qty_scale

    # ------------------------------------------------------------ counters
    cdef inline Py_ssize_t _slot(self, int64_t second) noexcept:
        cdef int64_t start, s
        cdef Py_ssize_t column, f, capacity = self.capacity
        if second > self.current_second:
            # Zero every second we skip so a quiet second reads as zero, not as old data.
            start = self.current_second + 1
            if start < second - capacity + 1:
                start = second - capacity + 1
            for s in range(start, second + 1):
                column = s % capacity
                for f in range(NFIELDS):
                    self._ring[f, column] = 0
                    self._ring[f, column + capacity] = 0
            self.current_second = second
        elif self.current_second - second >= capacity:
            return -1
        return second % capacity

    cdef inline void _count(self, Py_ssize_t column, int field, int64_t amount) noexcept:
        if column >= 0:
            self._ring[field, column] += amount
            self._ring[field, column + self.capacity] += amount

    # -------------------------------------------------------------- trades
    def attach_tape(self, price, qty, time_ms, side, trade_id, total):
        """Write the trades ``apply_json`` parses into these arrays (a ``TradeTape``'s):
        row ``total[0] % len(price)``, then ``total[0] += 1``."""
        cdef Py_ssize_t cap = len(price)
        if cap < 1 or len(qty) != cap or len(time_ms) != cap or len(side) != cap or len(trade_id) != cap or len(total) != 1:
            raise InvalidInputError(f"tape arrays disagree: {cap} prices, {len(qty)} qtys, {len(time_ms)} times, "
                                    f"{len(side)} sides, {len(trade_id)} ids, {len(total)} totals (expected 1)")
        self.tape_price = price
        self.tape_qty = qty
        self.tape_time = time_ms
        self.tape_side = side
        self.tape_id = trade_id
        self.tape_total = total
        self.tape_cap = cap
        self.has_tape = True

    def attach_refills(self, ring, total):
        """Write the refills the book sees into ``ring`` (int64, (N_REFILL_FIELDS, 2 *
        capacity)): column ``total[0] % capacity`` and ``+ capacity``, then ``total[0] += 1``."""
        if (not isinstance(ring, np.ndarray) or ring.dtype != np.int64 or ring.ndim != 2
                or ring.shape[0] != NREFILL_FIELDS or ring.shape[1] < 2 or ring.shape[1] % 2 or len(total) != 1):
            raise InvalidInputError(
                f"refill ring must be int64 ({NREFILL_FIELDS}, 2 * capacity) with a 1-cell total, "
                f"got {getattr(ring, 'dtype', None)} {getattr(ring, 'shape', None)} and {len(total)} totals")
        self.refill_ring = ring
        self.refill_total = total
        self.refill_cap = ring.shape[1] // 2
        self.has_refills = True

    def add_trade(self, int64_t price, int64_t qty, int64_t time_ms, int taker_side):
        """Count a trade; remember it so the depth reduction it causes is not a cancel."""
        self._add_trade(price, qty, time_ms, taker_side)

    cdef int _apply_trade(self, const char* s, Py_ssize_t n, Py_ssize_t price_at, Py_ssize_t qty_at,
                          Py_ssize_t time_at, Py_ssize_t maker_at, Py_ssize_t id_at) except -1:
        """Parse a trade's fields (found by the scan at these offsets), count and tape it.

        Anything but the exact Binance form (quoted decimals, integer ``T`` and id, boolean
        ``m``) is S_PARSE, left to the facade's general path; a too-fine number is
        S_PRECISION (the facade rescales, then counts it).
        """
        cdef int64_t price = 0, qty = 0, time_ms = 0, trade_id = 0, total
        cdef int status = S_APPLIED, side
        cdef Py_ssize_t j, row
        if price_at < 0 or qty_at < 0 or time_at < 0 or maker_at < 0 or id_at < 0:
            return S_PARSE
        if s[price_at] != 34 or parse_quoted(s, price_at, n, self.price_scale, &price, &status) < 0:
            return S_PARSE
        if s[qty_at] != 34 or parse_quoted(s, qty_at, n, self.qty_scale, &qty, &status) < 0:
            return S_PARSE
        j = parse_int(s, time_at, n, &time_ms)
        if j < 0 or not value_ends(s, j, n):
            return S_PARSE
        j = parse_int(s, id_at, n, &trade_id)
        if j < 0 or not value_ends(s, j, n):
            return S_PARSE
        if text_at(s, maker_at, n, b"true", 4) and value_ends(s, maker_at + 4, n):
            side = -1  # m: the buyer is the maker, so the taker sold
        elif text_at(s, maker_at, n, b"false", 5) and value_ends(s, maker_at + 5, n):
            side = 1
        else:
            return S_PARSE
        if status == S_PRECISION:
            return S_PRECISION
        self._add_trade(price, qty, time_ms, side)
        total = self.tape_total[0]
        row = total % self.tape_cap
        self.tape_price[row] = price
        self.tape_qty[row] = qty
        self.tape_time[row] = time_ms
        self.tape_side[row] = <signed char> side
        self.tape_id[row] = trade_id
        self.tape_total[0] = total + 1
        return S_TRADE

    cdef void _add_trade(self, int64_t price, int64_t qty, int64_t time_ms, int taker_side) noexcept:
        cdef Py_ssize_t column = self._slot(time_ms // 1000)
        self._count(column, F_TRADES, 1)
        if taker_side > 0:
            self._count(column, F_BUY_TRADES, 1)
            self._count(column, F_BUY_QTY, qty)
        else:
            self._count(column, F_SELL_TRADES, 1)
            self._count(column, F_SELL_QTY, qty)
        if self.n_pend >= MAX_PENDING:
            memmove(&self.pend_price[0], &self.pend_price[1], (MAX_PENDING - 1) * sizeof(int64_t))
            memmove(&self.pend_qty[0], &self.pend_qty[1], (MAX_PENDING - 1) * sizeof(int64_t))
            memmove(&self.pend_time[0], &self.pend_time[1], (MAX_PENDING - 1) * sizeof(int64_t))
            memmove(&self.pend_side[0], &self.pend_side[1], (MAX_PENDING - 1) * sizeof(int))
            self.n_pend -= 1
        self.pend_price[self.n_pend] = price
        self.pend_qty[self.n_pend] = qty
        self.pend_time[self.n_pend] = time_ms
        self.pend_side[self.n_pend] = 1 if taker_side > 0 else 0
        self.n_pend += 1

    cdef inline int64_t _traded_at(self, int side, int64_t price, int64_t event_time) noexcept:
        # Take (and return) the qty of the pending trades at this level the event reflects.
        cdef int64_t traded = 0
        cdef int j
        for j in range(self.n_pend):
            if (self.pend_side[j] == side and self.pend_price[j] == price
                    and self.pend_time[j] <= event_time and self.pend_qty[j] > 0):
                traded += self.pend_qty[j]
                self.pend_qty[j] = 0
        return traded

    cdef inline void _drop_hit(self, int j) noexcept:
        cdef int k = self.n_hit - j - 1
        memmove(&self.hit_price[j], &self.hit_price[j + 1], k * sizeof(int64_t))
        memmove(&self.hit_traded[j], &self.hit_traded[j + 1], k * sizeof(int64_t))
        memmove(&self.hit_time[j], &self.hit_time[j + 1], k * sizeof(int64_t))
        memmove(&self.hit_side[j], &self.hit_side[j + 1], k * sizeof(int))
        self.n_hit -= 1

    cdef void _record_refill(self, int side, int64_t price, int64_t time_ms, int64_t traded,
                             int64_t refilled, int64_t displayed) noexcept:
        cdef Py_ssize_t column, k
        if not self.has_refills:
            return
        column = self.refill_total[0] % self.refill_cap
        for k in range(2):
            self.refill_ring[R_SIDE, column] = side
            self.refill_ring[R_PRICE, column] = price
            self.refill_ring[R_TIME, column] = time_ms
            self.refill_ring[R_TRADED, column] = traded
            self.refill_ring[R_QTY, column] = refilled
            self.refill_ring[R_DISPLAYED, column] = displayed
            column += self.refill_cap
        self.refill_total[0] += 1

    cdef void _refill(self, int side, int64_t price, int64_t old, int64_t qty, int64_t traded,
                      int64_t event_time) noexcept:
        # The twin's ``_refill`` (its docstring is the rule), on fixed arrays.
        cdef int j, hit = -1
        cdef int64_t refilled
        for j in range(self.n_hit):
            if self.hit_side[j] == side and self.hit_price[j] == price:
                hit = j
                break
        if hit >= 0 and event_time - self.hit_time[hit] > REFILL_WINDOW:
            self._drop_hit(hit)
            hit = -1
        if traded > 0:
            refilled = qty - (old - traded)
            if refilled > 0:
                self._record_refill(side, price, event_time,
                                    traded + (self.hit_traded[hit] if hit >= 0 else 0), refilled, qty)
                if hit >= 0:
                    self._drop_hit(hit)
            elif hit >= 0:
                self.hit_traded[hit] += traded
                self.hit_time[hit] = event_time
            else:
                if self.n_hit >= MAX_HITS:
                    self._drop_hit(0)
                if self.n_hit == 0:
                    self.hit_lo[0] = self.hit_lo[1] = price
                    self.hit_hi[0] = self.hit_hi[1] = price
                if price < self.hit_lo[side]:
                    self.hit_lo[side] = price
                if price > self.hit_hi[side]:
                    self.hit_hi[side] = price
                j = self.n_hit
                self.hit_side[j] = side
                self.hit_price[j] = price
                self.hit_traded[j] = traded
                self.hit_time[j] = event_time
                self.n_hit += 1
        elif hit >= 0 and qty > old:
            self._record_refill(side, price, event_time, self.hit_traded[hit], qty - old, qty)
            self._drop_hit(hit)

    cdef inline void _drop_seen_trades(self, int64_t event_time) noexcept:
        # A depth event at time E already reflects every trade up to E.
        cdef int j, k = 0
        for j in range(self.n_pend):
            if self.pend_time[j] > event_time:
                self.pend_price[k] = self.pend_price[j]
                self.pend_qty[k] = self.pend_qty[j]
                self.pend_time[k] = self.pend_time[j]
                self.pend_side[k] = self.pend_side[j]
                k += 1
        self.n_pend = k

    # --------------------------------------------------------------- depth
    cdef int _set_level(self, int side, int64_t price, int64_t qty, Py_ssize_t column,
                        int64_t event_time) except -1:
        cdef Side* book = &self.sides[side]
        cdef int64_t key = price if side == 0 else -price
        cdef Py_ssize_t i = lower_bound_from_end(book.keys, book.n, key)
        cdef bint found = i < book.n and book.keys[i] == key
        cdef int64_t old = book.qtys[i] if found else 0
        cdef int64_t reduced, cancelled, traded = 0
        cdef int base = side * N_SIDE_FIELDS
        if self.n_pend > 0:
            traded = self._traded_at(side, price, event_time)
        if traded > 0 or (self.n_hit > 0 and self.hit_lo[side] <= price <= self.hit_hi[side]):
            self._refill(side, price, old, qty, traded, event_time)
        self.acc[base + F_UPDATES] += 1
        if qty > old:
            self.acc[base + F_ADDITIONS] += 1
            self.acc[base + F_ADDED_QTY] += qty - old
        elif qty < old:
            reduced = old - qty
            self.acc[base + F_REDUCTIONS] += 1
            self.acc[base + F_REDUCED_QTY] += reduced
            cancelled = reduced - (traded if traded < reduced else reduced)
            if cancelled > 0:
                self.acc[base + F_CANCELLATIONS] += 1
                self.acc[base + F_CANCELLED_QTY] += cancelled
        if qty == 0:
            if found:
                memmove(&book.keys[i], &book.keys[i + 1], (book.n - i - 1) * sizeof(int64_t))
                memmove(&book.qtys[i], &book.qtys[i + 1], (book.n - i - 1) * sizeof(int64_t))
                book.n -= 1
        elif found:
            book.qtys[i] = qty
        else:
            if book.n + 1 > book.cap:
                side_reserve(book, book.n + 1)
            memmove(&book.keys[i + 1], &book.keys[i], (book.n - i) * sizeof(int64_t))
            memmove(&book.qtys[i + 1], &book.qtys[i], (book.n - i) * sizeof(int64_t))
            book.keys[i] = key
            book.qtys[i] = qty
            book.n += 1
        return 0

    cdef inline int _check(self, int64_t first_id, int64_t last_id) noexcept:
        # Binance spot: ignore u <= bookId; U > bookId + 1 means events were missed.
        if last_id <= self.last_update_id:
            self.events_stale += 1
            return S_STALE
        if first_id > self.last_update_id + 1:
            return S_GAP
        return S_APPLIED

    cdef inline int _finish(self, int64_t last_id, int64_t event_time, Py_ssize_t column) noexcept:
        # The side counters of one event are summed in ``acc`` and written to the ring
        # once here: two ring cells per field instead of two per level change.
        cdef int f
        for f in range(2 * N_SIDE_FIELDS):
            if self.acc[f] != 0:
                if column >= 0:
                    self._ring[f, column] += self.acc[f]
                    self._ring[f, column + self.capacity] += self.acc[f]
                self.acc[f] = 0
        if self.n_pend > 0:
            self._drop_seen_trades(event_time)
        self.last_update_id = last_id
        self.last_event_time = event_time
        self.events_applied += 1
        if (self.sides[0].n > 0 and self.sides[1].n > 0
                and self.sides[0].keys[self.sides[0].n - 1] >= -self.sides[1].keys[self.sides[1].n - 1]):
            return S_CROSSED
        return S_APPLIED

    cdef int _apply_rows(self, int64_t first_id, int64_t last_id, int64_t event_time,
                         const int64_t* rows, Py_ssize_t n) except -1:
        """Apply ``n`` (side, price, qty) rows as one event: the one write path."""
        cdef Py_ssize_t j, column
        cdef int status = self._check(first_id, last_id)
        if status != S_APPLIED:
            return status
        column = self._slot(event_time // 1000)
        self._count(column, F_MESSAGES, 1)
        for j in range(n):
            self._set_level(<int> rows[3 * j], rows[3 * j + 1], rows[3 * j + 2], column, event_time)
        return self._finish(last_id, event_time, column)

    def apply_levels(self, int64_t first_id, int64_t last_id, int64_t event_time, levels):
        """Apply one event whose levels are rows (side 0 bid / 1 ask, price, qty)."""
        cdef Py_ssize_t n
        cdef int64_t* rows = int64_rows(levels, 3, False, &n)
        cdef Py_ssize_t bad = first_bad_row(rows, n)
        if bad >= 0:
            raise _bad_row_error(bad, rows[3 * bad], rows[3 * bad + 1], rows[3 * bad + 2])
        return self._apply_rows(first_id, last_id, event_time, rows, n)

    def read_top(self, out):
        """Fill ``out`` (int64, shape (4, n)) with bid prices, bid qtys, ask prices, ask
        qtys best first; returns (bid levels written, ask levels written)."""
        cdef Py_ssize_t depth, j, n_bids, n_asks
        cdef int64_t* data
        cdef cnp.ndarray a
        if not cnp.PyArray_Check(out):
            raise InvalidInputError(f"expected a numpy int64 array, got {type(out).__name__}")
        a = <cnp.ndarray> out
        if (cnp.PyArray_TYPE(a) != cnp.NPY_INT64 or not cnp.PyArray_IS_C_CONTIGUOUS(a)
                or cnp.PyArray_NDIM(a) != 2 or cnp.PyArray_DIM(a, 0) != 4 or not cnp.PyArray_ISWRITEABLE(a)):
            raise InvalidInputError(
                f"expected a writeable C-contiguous int64 array of shape (4, n), got {out.dtype} {out.shape}")
        depth = cnp.PyArray_DIM(a, 1)
        data = <int64_t*> cnp.PyArray_DATA(a)
        cdef Side* bids = &self.sides[0]
        cdef Side* asks = &self.sides[1]
        n_bids = bids.n if bids.n < depth else depth
        n_asks = asks.n if asks.n < depth else depth
        for j in range(n_bids):
            data[j] = bids.keys[bids.n - 1 - j]
            data[depth + j] = bids.qtys[bids.n - 1 - j]
        for j in range(n_asks):
            data[2 * depth + j] = -asks.keys[asks.n - 1 - j]
            data[3 * depth + j] = asks.qtys[asks.n - 1 - j]
        return n_bids, n_asks

    def apply_batch(self, const int64_t[:, ::1] ids, const int64_t[::1] offsets,
                    const int64_t[:, ::1] levels, int64_t[:, :, ::1] tops_out, signed char[::1] statuses_out):
        """Apply many events; after each, write the top levels into ``tops_out``.

        ``ids`` rows are (U, u, E); event k's levels are rows offsets[k]:offsets[k+1] of
        ``levels``; ``tops_out[k]`` gets (bid prices, bid qtys, ask prices, ask qtys), zero
        padded. Stops after the first gap or crossed book; returns events processed.
        """
        cdef Py_ssize_t k, j, depth = tops_out.shape[2], n, m = ids.shape[0], bad
        cdef int status
        cdef Side* bids = &self.sides[0]
        cdef Side* asks = &self.sides[1]
        # Bounds are checked here once: the loop below indexes without checks.
        if offsets.shape[0] != m + 1 or tops_out.shape[0] < m or statuses_out.shape[0] < m or tops_out.shape[1] != 4:
            raise InvalidInputError(f"batch shapes disagree: {m} events, {offsets.shape[0]} offsets, "
                                    f"tops {tuple(tops_out.shape)[:3]}, statuses {statuses_out.shape[0]}")
        if levels.shape[1] != 3:
            raise InvalidInputError(f"levels must have 3 columns, got {levels.shape[1]}")
        for k in range(m):
            if offsets[k] < 0 or offsets[k] > offsets[k + 1] or offsets[k + 1] > levels.shape[0]:
                raise InvalidInputError(f"offsets[{k}:{k + 2}] = {offsets[k]}, {offsets[k + 1]} out of 0..{levels.shape[0]}")
        if levels.shape[0] > 0:
            bad = first_bad_row(&levels[0, 0], levels.shape[0])
            if bad >= 0:
                raise _bad_row_error(bad, levels[bad, 0], levels[bad, 1], levels[bad, 2])
        for k in range(m):
            n = offsets[k + 1] - offsets[k]
            status = self._apply_rows(ids[k, 0], ids[k, 1], ids[k, 2],
                                      &levels[offsets[k], 0] if n > 0 else NULL, n)
            statuses_out[k] = status
            n = bids.n if bids.n < depth else depth
            for j in range(n):
                tops_out[k, 0, j] = bids.keys[bids.n - 1 - j]
                tops_out[k, 1, j] = bids.qtys[bids.n - 1 - j]
            for j in range(n, depth):
                tops_out[k, 0, j] = 0
                tops_out[k, 1, j] = 0
            n = asks.n if asks.n < depth else depth
            for j in range(n):
                tops_out[k, 2, j] = -asks.keys[asks.n - 1 - j]
                tops_out[k, 3, j] = asks.qtys[asks.n - 1 - j]
            for j in range(n, depth):
                tops_out[k, 2, j] = 0
                tops_out[k, 3, j] = 0
            if status == S_GAP or status == S_CROSSED:
                return k + 1
        return m

    def apply_event(self, int64_t first_id, int64_t last_id, int64_t event_time, bids, asks):
        """Apply one parsed depthUpdate (levels as (price_int, qty_int) pairs)."""
        cdef Py_ssize_t j = 0
        self._reserve_scratch(len(bids) + len(asks))
        for side, levels in ((0, bids), (1, asks)):
            for price, qty in levels:
                if price <= 0 or qty < 0:
                    raise _bad_row_error(j, side, price, qty)
                self.scratch[3 * j] = side
                self.scratch[3 * j + 1] = price
                self.scratch[3 * j + 2] = qty
                j += 1
        return self._apply_rows(first_id, last_id, event_time, self.scratch, j)

    cdef Py_ssize_t _parse_levels(self, const char* s, Py_ssize_t i, Py_ssize_t n, int side,
                                  Py_ssize_t* count, int* status) except -2:
        """Parse [["p","q"],...] appending (side, price, qty) rows to scratch after
        ``count[0]`` rows."""
        cdef Py_ssize_t start, end, k
        cdef int64_t value
        cdef int result
        if i >= n or s[i] != 91:
            status[0] = S_PARSE
            return -1
        i = skip_ws(s, i + 1, n)
        if i < n and s[i] == 93:
            return i + 1
        while i < n:
            if s[i] != 91:
                status[0] = S_PARSE
                return -1
            if count[0] >= self.scratch_cap:
                self._reserve_scratch(2 * self.scratch_cap)
            self.scratch[3 * count[0]] = side
            for k in range(2):
                i = skip_ws(s, i + 1, n)
                if i >= n or s[i] != 34:
                    status[0] = S_PARSE
                    return -1
                i = parse_quoted(s, i, n, self.price_scale if k == 0 else self.qty_scale,
                                 &self.scratch[3 * count[0] + 1 + k], status)
                if i < 0:
                    status[0] = S_PARSE
                    return -1
                i = skip_ws(s, i, n)
                if k == 0:
                    if i >= n or s[i] != 44:
                        status[0] = S_PARSE
                        return -1
            while i < n and s[i] == 44:  # extra elements in a level (none on spot)
                i = skip_value(s, skip_ws(s, i + 1, n), n)
                if i < 0:
                    status[0] = S_PARSE
                    return -1
                i = skip_ws(s, i, n)
            if i >= n or s[i] != 93:
                status[0] = S_PARSE
                return -1
            count[0] += 1
            i = skip_ws(s, i + 1, n)
            if i < n and s[i] == 44:
                i = skip_ws(s, i + 1, n)
                continue
            if i < n and s[i] == 93:
                return i + 1
            status[0] = S_PARSE
            return -1
        status[0] = S_PARSE
        return -1

    def apply_json(self, raw):
        """Parse a depthUpdate frame (bare payload or combined envelope) and apply it; with
        a tape attached, a trade frame (``aggTrade`` / ``trade``) is counted and taped."""
        if isinstance(raw, str):
            raw = (<str> raw).encode()
        return self._apply_json(PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw))

    def apply_json_batch(self, list frames, Py_ssize_t start=0):
        """Apply ``frames[start:]`` until a frame needs the caller (any status but
        APPLIED, STALE or TRADE) or the end. Returns (next_index, last_status, applied)."""
        cdef Py_ssize_t i, n = len(frames)
        cdef int status = S_APPLIED
        cdef int64_t before = self.events_applied
        cdef object raw
        for i in range(start, n):
            raw = frames[i]
            if isinstance(raw, str):
                raw = (<str> raw).encode()
            elif not isinstance(raw, bytes):
                raw = bytes(raw)
            status = self._apply_json(PyBytes_AS_STRING(raw), PyBytes_GET_SIZE(raw))
            if status != S_APPLIED and status != S_STALE and status != S_TRADE:
                return i + 1, status, self.events_applied - before
        return n, status, self.events_applied - before

    cdef int _apply_json(self, const char* s, Py_ssize_t n) except -1:
        cdef Py_ssize_t i = skip_ws(s, 0, n), key_start, key_end, key_len
        cdef int status = S_APPLIED
        cdef bint is_depth = False, seen_event = False, is_agg = False, is_trade = False
        cdef Py_ssize_t price_at = -1, qty_at = -1, time_at = -1, maker_at = -1, trade_id_at = -1
        cdef int64_t first_id = -1, last_id = -1, event_time = -1
        cdef Py_ssize_t n_bids = 0, n_asks = 0
        cdef Py_ssize_t bid_start = -1, ask_start = -1
        cdef bint bids_done = False, asks_done = False
        if i >= n or s[i] != 123:
            return S_PARSE
        i = skip_ws(s, i + 1, n)
        while i < n:
            if s[i] == 125:
                break
            if s[i] != 34:
                return S_PARSE
            key_start = i + 1
            i = skip_string(s, i, n)
            if i < 0:
                return S_PARSE
            key_end = i - 1
            key_len = key_end - key_start
            i = skip_ws(s, i, n)
            if i >= n or s[i] != 58:
                return S_PARSE
            i = skip_ws(s, i + 1, n)
            if key_len == 4 and s[key_start] == 100 and s[key_start + 1] == 97 and s[key_start + 2] == 116:
                # "data": the payload of a combined envelope; scan into it.
                if i >= n or s[i] != 123:
                    return S_PARSE
                i = skip_ws(s, i + 1, n)
                continue
            if key_len == 1:
                if s[key_start] == 101:  # "e"
                    seen_event = True
                    is_depth = (n - i > 13 and s[i] == 34 and s[i + 1] == 100 and s[i + 6] == 85
                                and s[i + 12] == 34)
                    if not is_depth and self.has_tape:
                        is_agg = text_at(s, i, n, b'"aggTrade"', 10)
                        is_trade = text_at(s, i, n, b'"trade"', 7)
                    i = skip_value(s, i, n)
                elif s[key_start] == 112:  # "p"
                    price_at = i
                    i = skip_value(s, i, n)
                elif s[key_start] == 113:  # "q"
                    qty_at = i
                    i = skip_value(s, i, n)
                elif s[key_start] == 84:  # "T"
                    time_at = i
                    i = skip_value(s, i, n)
                elif s[key_start] == 109:  # "m"
                    maker_at = i
                    i = skip_value(s, i, n)
                elif s[key_start] == 116:  # "t"
                    trade_id_at = i
                    i = skip_value(s, i, n)
                elif s[key_start] == 69:  # "E"
                    i = parse_int(s, i, n, &event_time)
                elif s[key_start] == 85:  # "U"
                    i = parse_int(s, i, n, &first_id)
                elif s[key_start] == 117:  # "u"
                    i = parse_int(s, i, n, &last_id)
                elif s[key_start] == 98:  # "b"
                    if is_depth and ask_start < 0 and not asks_done:
                        # Binance's order (e, E, s, U, u, b, a): parse in place, one pass.
                        i = self._parse_levels(s, i, n, 0, &n_bids, &status)
                        bids_done = True
                    else:
                        bid_start = i
                        i = skip_value(s, i, n)
                elif s[key_start] == 97:  # "a"
                    if is_depth and bids_done:
                        n_asks = n_bids
                        i = self._parse_levels(s, i, n, 1, &n_asks, &status)
                        asks_done = True
                    else:
                        ask_start = i
                        i = skip_value(s, i, n)
                else:
                    i = skip_value(s, i, n)
            else:
                i = skip_value(s, i, n)
            if i < 0:
                return S_PARSE
            i = skip_ws(s, i, n)
            if i < n and s[i] == 44:
                i = skip_ws(s, i + 1, n)
            elif i < n and s[i] == 125:
                # end of one object (the payload, or the envelope after its data)
                i = skip_ws(s, i + 1, n)
                if i < n and s[i] == 44:
                    i = skip_ws(s, i + 1, n)
        if not seen_event:
            return S_PARSE
        if not is_depth:
            if is_agg:  # an aggTrade's id is "a"
                return self._apply_trade(s, n, price_at, qty_at, time_at, maker_at, ask_start)
            if is_trade:
                return self._apply_trade(s, n, price_at, qty_at, time_at, maker_at, trade_id_at)
            return S_NOT_DEPTH
        if status == S_PARSE or first_id < 0 or last_id < 0 or event_time < 0:
            return S_PARSE
        if not bids_done:
            if bid_start < 0 or self._parse_levels(s, bid_start, n, 0, &n_bids, &status) < 0 or status == S_PARSE:
                return S_PARSE
        if not asks_done:
            n_asks = n_bids
            if ask_start < 0 or self._parse_levels(s, ask_start, n, 1, &n_asks, &status) < 0 or status == S_PARSE:
                return S_PARSE
        self.event_first_id = first_id
        self.event_last_id = last_id
        self.event_time = event_time
        if status == S_PRECISION:
            return S_PRECISION
        # The asks were appended after the bids: n_asks counts every row.
        return self._apply_rows(first_id, last_id, event_time, self.scratch, n_asks)

    # --------------------------------------------------------------- reads
    def count(self, int side):
        check_side(side)
        return self.sides[side].n

    def best(self, int side):
        check_side(side)
        cdef Side* book = &self.sides[side]
        if book.n == 0:
            return None
        price = book.keys[book.n - 1]
        return (price if side == 0 else -price), book.qtys[book.n - 1]

    def best_bid(self):
        cdef Side* book = &self.sides[0]
        if book.n == 0:
            return None
        return book.keys[book.n - 1], book.qtys[book.n - 1]

    def best_ask(self):
        cdef Side* book = &self.sides[1]
        if book.n == 0:
            return None
        return -book.keys[book.n - 1], book.qtys[book.n - 1]

    def top(self, int side, prices_out, qtys_out):
        """Fill the OUT arrays best-first; return how many levels were written."""
        check_side(side)
        cdef Side* book = &self.sides[side]
        cdef Py_ssize_t n_prices, n_qtys
        cdef int64_t* prices = int64_rows(prices_out, 0, True, &n_prices)
        cdef int64_t* qtys = int64_rows(qtys_out, 0, True, &n_qtys)
        cdef Py_ssize_t n = book.n if book.n < n_prices else n_prices
        cdef Py_ssize_t j
        if n_qtys < n:
            n = n_qtys
        cdef int64_t sign = 1 if side == 0 else -1
        for j in range(n):
            prices[j] = sign * book.keys[book.n - 1 - j]
            qtys[j] = book.qtys[book.n - 1 - j]
        return n

    def depth_until(self, int side, int64_t limit_price):
        """Total qty of the side's levels at or better than ``limit_price``."""
        check_side(side)
        cdef Side* book = &self.sides[side]
        cdef int64_t key = limit_price if side == 0 else -limit_price
        cdef Py_ssize_t i = lower_bound_from_end(book.keys, book.n, key), j
        cdef object total = 0
        cdef int64_t part = 0
        for j in range(i, book.n):
            if part > INT64_MAX - book.qtys[j]:
                total += part
                part = 0
            part += book.qtys[j]
        return total + part

    def sweep(self, int side, double notional, double price_divisor, double qty_divisor):
        """Walk the side best-first until ``notional`` (quote) is filled."""
        check_side(side)
        cdef Side* book = &self.sides[side]
        cdef double sign = 1.0 if side == 0 else -1.0
        cdef double filled_qty = 0.0, filled_notional = 0.0, worst = 0.0, price, qty, take
        cdef Py_ssize_t j
        cdef int used = 0
        for j in range(book.n - 1, -1, -1):
            if filled_notional >= notional:
                break
            price = sign * book.keys[j] / price_divisor
            qty = book.qtys[j] / qty_divisor
            take = (notional - filled_notional) / price
            if qty < take:
                take = qty
            filled_qty += take
            filled_notional += take * price
            worst = price
            used += 1
        return filled_qty, filled_notional, worst, used
