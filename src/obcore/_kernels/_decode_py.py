"""Block decoder kernel, plain Python (the readable specification and the test oracle).

``obcore._kernels._decode`` compiles this very function with the one Numba config
(``_numba.compile_kernel``); ``obcore.store.decode`` is the facade that calls it, and
tests run both builds and compare. Written in the subset Numba accepts: flat arrays in, caller-allocated outputs,
no allocation, no exceptions; it returns 0 or ``-(block index + 1)`` for a corrupt block.
"""

from __future__ import annotations

__all__ = ["decode_blocks"]


def decode_blocks(
    buf,  # IN uint8 (nbytes,): decompressed payloads, concatenated
    payload_starts,  # IN int64 (nblocks,): offset of each block's payload in buf
    stream_lengths,  # IN int64 (nblocks, nstreams): byte length of each stream
    stream_kinds,  # IN int64 (nstreams,): 0 varints, 1 low byte plane, 2 second byte plane, 3 ``>> 16`` varints
    logical_first,  # IN int64 (9,): first stream of each value run
    n_rows,  # IN int64 (nblocks,)
    n_fields,  # IN int64 (nblocks,): counter fields stored in each block
    block_starts,  # IN int64 (nblocks,): first second of each block
    ref_bids,  # IN int64 (nblocks,): reference best bid of row 0
    ref_asks,  # IN int64 (nblocks,)
    row_offsets,  # IN int64 (nblocks,): first output row of each block
    cache_levels,  # IN int64 (nblocks,): levels each side remembers (>= depth)
    scratch,  # SCRATCH int64 (>= nbytes,): decoded varints of one block
    value_starts,  # SCRATCH int64 (10,): where each value run starts in scratch
    change_prices,  # SCRATCH int64 (>= depth + max cache,)
    change_qtys,  # SCRATCH int64 (>= depth + max cache,)
    known_prices,  # SCRATCH int64 (>= max cache,)
    known_qtys,  # SCRATCH int64 (>= max cache,)
    merged_prices,  # SCRATCH int64 (>= max cache,)
    merged_qtys,  # SCRATCH int64 (>= max cache,)
    times,  # OUT int64 (nrows,)
    bid_prices,  # OUT int64 (nrows, depth), zero-filled by the caller
    bid_qtys,  # OUT int64 (nrows, depth)
    ask_prices,  # OUT int64 (nrows, depth)
    ask_qtys,  # OUT int64 (nrows, depth)
    bid_levels,  # OUT int64 (nrows,)
    ask_levels,  # OUT int64 (nrows,)
    scalars,  # OUT int64 (nrows, 7)
    counters,  # OUT int64 (nrows, max n_fields), zero-filled by the caller
):
    depth = bid_prices.shape[1]
    for block in range(payload_starts.shape[0]):
        bad = -(block + 1)
        # 1. every stream of the block into scratch as unsigned values. A byte-plane triple
        # (low byte, second byte, varints of the rest) rebuilds one run of values.
        pos = payload_starts[block]
        count = 0
        run_start = 0
        run_length = 0
        logical = 0
        for stream in range(stream_kinds.shape[0]):
            if logical < 9 and logical_first[logical] == stream:
                value_starts[logical] = count
                logical += 1
            end = pos + stream_lengths[block, stream]
            if end > buf.shape[0]:
                return bad
            kind = stream_kinds[stream]
            if kind == 1:
                run_start = count
                run_length = end - pos
                while pos < end:
                    scratch[count] = int(buf[pos])
                    pos += 1
                    count += 1
                continue
            if kind == 2:
                if end - pos != run_length:
                    return bad
                for i in range(run_length):
                    scratch[run_start + i] |= int(buf[pos + i]) << 8
                pos = end
                continue
            index = 0
            while pos < end:
                result = 0
                shift = 0
                while True:
                    if pos >= end or shift > 63:
                        return bad
                    byte = int(buf[pos])
                    pos += 1
                    result |= (byte & 0x7F) << shift
                    shift += 7
                    if byte < 128:
                        break
                if kind == 3:
                    if index >= run_length:
                        return bad
                    scratch[run_start + index] |= result << 16
                else:
                    scratch[count] = result
                    count += 1
                index += 1
            if kind == 3 and index != run_length:
                return bad
        if logical != 9:
            return bad
        value_starts[9] = count
        n = n_rows[block]
        first = row_offsets[block]
        fields = n_fields[block]
        if value_starts[1] - value_starts[0] != n:
            return bad
        if value_starts[9] - value_starts[8] != fields * n or value_starts[8] - value_starts[7] != 7 * n:
            return bad
        # 2. times
        second = block_starts[block]
        for row in range(n):
            step = scratch[value_starts[0] + row]
            second = second + step if row == 0 else second + step + 1
            times[first + row] = second
        # 3. levels, one side at a time. ``known`` holds up to ``cache`` levels: the row's
        # top `depth` plus levels that fell out of it (their sizes may be stale; the
        # encoder re-sends a size whenever such a level comes back into the top).
        cache = cache_levels[block]
        if cache > known_prices.shape[0] or cache < depth:
            return bad
        for side in range(2):
            counts_at = value_starts[1 + 3 * side]
            steps_at = value_starts[2 + 3 * side]
            qtys_at = value_starts[3 + 3 * side]
            if value_starts[2 + 3 * side] - counts_at != n:
                return bad
            steps_end = value_starts[3 + 3 * side]
            qtys_end = value_starts[4 + 3 * side]
            if side == 0:
                ref = ref_bids[block]
                sign = 1
                prices = bid_prices
                qtys = bid_qtys
                levels = bid_levels
            else:
                ref = ref_asks[block]
                sign = -1
                prices = ask_prices
                qtys = ask_qtys
                levels = ask_levels
            known = 0
            for row in range(n):
                out = first + row
                k = scratch[counts_at + row]
                if k > change_prices.shape[0] or steps_at + k > steps_end:
                    return bad
                distance = 0
                for j in range(k):
                    value = scratch[steps_at + j]
                    step = value >> 1
                    if j == 0:
                        distance = (step >> 1) ^ -(step & 1)
                    else:
                        distance = distance + step + 1
                    change_prices[j] = ref - sign * distance
                    if value & 1:
                        change_qtys[j] = 0
                    else:
                        if qtys_at >= qtys_end:
                            return bad
                        change_qtys[j] = scratch[qtys_at]
                        qtys_at += 1
                steps_at += k
                # merge known + changes (both best first: ascending sign * (ref - price))
                i = 0
                j = 0
                m = 0
                while m < cache and (i < known or j < k):
                    if i < known and j < k:
                        old_distance = sign * (ref - known_prices[i])
                        new_distance = sign * (ref - change_prices[j])
                    elif i < known:
                        old_distance = 0
                        new_distance = 1
                    else:
                        old_distance = 1
                        new_distance = 0
                    if old_distance < new_distance:
                        merged_prices[m] = known_prices[i]
                        merged_qtys[m] = known_qtys[i]
                        m += 1
                        i += 1
                    else:
                        if old_distance == new_distance:
                            i += 1
                        if change_qtys[j] > 0:
                            merged_prices[m] = change_prices[j]
                            merged_qtys[m] = change_qtys[j]
                            m += 1
                        j += 1
                for i in range(m):
                    known_prices[i] = merged_prices[i]
                    known_qtys[i] = merged_qtys[i]
                known = m
                top = m if m < depth else depth
                for i in range(top):
                    prices[out, i] = merged_prices[i]
                    qtys[out, i] = merged_qtys[i]
                levels[out] = top
                if m > 0:
                    ref = merged_prices[0]
            if steps_at != steps_end or qtys_at != qtys_end:
                return bad
        # 4. scalars: column-wise zigzag deltas; event time is stored relative to the second
        at = value_starts[7]
        for column in range(7):
            total = 0
            for row in range(n):
                raw = scratch[at]
                at += 1
                total += (raw >> 1) ^ -(raw & 1)
                scalars[first + row, column] = total
        for row in range(n):
            scalars[first + row, 2] += 1000 * times[first + row]
        # 5. counters: column-wise zigzag values
        at = value_starts[8]
        for column in range(fields):
            for row in range(n):
                raw = scratch[at]
                at += 1
                counters[first + row, column] = (raw >> 1) ^ -(raw & 1)
    return 0
