"""Per-client sufficient statistics from raw activity arrays, in one vectorised pass.

The customer-base models (BG/NBD, Pareto/NBD, Gamma-Gamma) only need, per client, the
frequency ``x`` (number of repeat purchases), the recency ``t_x`` (time of the last purchase,
measured from the first) and the age ``T`` (time from the first purchase to the end of the
observation period), plus the mean spend per repeat purchase. Following Fader, Hardie & Lee
(2005, "Counting your customers the easy way", Marketing Science 24(2)) repeat
purchases are counted per *distinct day*: several records on one day are one purchase, and
their amounts are added up.

Day numbers are non-negative integers (e.g. days since 1970-01-01). ``T`` is measured up to
``as_of_day`` itself: a client whose first purchase is 1997-01-01, scored as of 1997-09-30,
has ``T = 272 / 7 = 38.86`` weeks, the convention of the published CDNOW analysis.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["ClientSummary", "summarise"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True, eq=False)
class ClientSummary:
    """What one pass over the activities learned about each client (arrays of ``n_clients``).

    Clients without any activity up to ``as_of_day`` have ``has_activity == False``,
    ``first_day == last_day == -1`` and zeros everywhere else, so nothing derived from them is
    NaN. Gap statistics are 0.0 for clients with fewer gaps than they need (``gap_count``).

    The ``recent_*`` and ``base_*`` fields split the *repeat* purchase days (the first day is
    never counted: it starts the client's observation) into the trend window
    ``(as_of_day - window_days, as_of_day]`` and the baseline before it.

    The ``trend_*`` fields make the same split with a window fitted to each client's own
    rhythm (``trend_window_days``: about ``trend_visits`` usual gaps, clamped to
    ``[trend_min_days, trend_max_days]``), so a monthly client's window holds enough visits to
    show a change; ``trend_base_gap_sum`` and ``trend_base_gap_sq`` sum the gaps (days) and
    their squares ending on the baseline repeat days, from which the trend estimates how
    irregular the client is.
    """

    n_clients: int
    as_of_day: int
    unit_days: float
    window_days: int
    has_activity: BoolArray
    first_day: IntArray
    last_day: IntArray
    n_days: IntArray
    total_cents: IntArray
    first_cents: IntArray
    gap_median_days: FloatArray
    gap_iqr_days: FloatArray
    recent_n_days: IntArray
    recent_cents: IntArray
    recent_sq_cents: FloatArray
    base_n_days: IntArray
    base_cents: IntArray
    base_sq_cents: FloatArray
    trend_window_days: IntArray
    trend_recent_n_days: IntArray
    trend_recent_cents: IntArray
    trend_recent_sq_cents: FloatArray
    trend_base_gap_sum: FloatArray
    trend_base_gap_sq: FloatArray

    @property
    def frequency(self) -> IntArray:
        """``x``: repeat purchases, i.e. distinct activity days minus one (0 for no activity)."""
        return np.maximum(self.n_days - 1, 0)

    @property
    def gap_count(self) -> IntArray:
        """Number of gaps between consecutive distinct activity days (equals ``frequency``)."""
        return self.frequency

    @property
    def recency_days(self) -> IntArray:
        """Days from first to last activity (0 for a single visit or no activity)."""
        return np.where(self.has_activity, self.last_day - self.first_day, 0)

    @property
    def age_days(self) -> IntArray:
        """Days from first activity to ``as_of_day`` (0 for no activity)."""
        return np.where(self.has_activity, self.as_of_day - self.first_day, 0)

    @property
    def days_since_last(self) -> IntArray:
        """Days from the last activity to ``as_of_day`` (0 for no activity)."""
        return np.where(self.has_activity, self.as_of_day - self.last_day, 0)

    @property
    def t_x(self) -> FloatArray:
        """Recency in model time units (``recency_days / unit_days``)."""
        return self.recency_days / self.unit_days

    @property
    def T(self) -> FloatArray:
        """Age in model time units (``age_days / unit_days``)."""
        return self.age_days / self.unit_days

    @property
    def repeat_cents(self) -> IntArray:
        """Total spend on repeat purchase days (all days except the first)."""
        return self.total_cents - self.first_cents

    @property
    def mean_repeat_spend(self) -> FloatArray:
        """Mean spend per repeat purchase in cents (the Gamma-Gamma input); 0 where x == 0."""
        x = self.frequency
        return np.where(x > 0, self.repeat_cents / np.maximum(x, 1), 0.0)

    @property
    def mean_spend(self) -> FloatArray:
        """Mean spend per purchase day in cents, first purchase included; 0 with no activity."""
        return np.where(self.n_days > 0, self.total_cents / np.maximum(self.n_days, 1), 0.0)


def _as_int64(name: str, values: ArrayLike) -> IntArray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise ValueError(f"{name} must hold integers, got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)


def _segment_quantile(
    sorted_values: FloatArray, starts: IntArray, counts: IntArray, q: float
) -> FloatArray:
    """Linear-interpolation quantile (numpy's default) of each sorted segment; 0 if empty."""
    out = np.zeros(counts.shape, dtype=np.float64)
    ok = counts > 0
    position = q * (counts[ok] - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, counts[ok] - 1)
    frac = position - low
    base = starts[ok]
    lo_val = sorted_values[base + low]
    hi_val = sorted_values[base + high]
    out[ok] = lo_val + frac * (hi_val - lo_val)
    return out


def _sorted_by_client_day(
    clients: IntArray, days: IntArray, amounts: IntArray, n_clients: int, day_bits: int
) -> tuple[IntArray, IntArray]:
    """Sort activities by the key ``client << day_bits | day``; return the keys and amounts.

    Skips the sort when the input is already ordered (as a database query returns it). When
    the key and the row index fit together in 62 bits, sorting the packed integer (a plain
    SIMD sort) replaces a slower ``argsort``.
    """
    key = (clients << day_bits) | days
    n = key.size
    head = min(n, 64)  # most unsorted inputs show it at once; skip the full check for them
    if n < 2 or (
        bool(np.all(key[1:head] >= key[: head - 1])) and bool(np.all(key[1:] >= key[:-1]))
    ):
        return key, amounts
    index_bits = n.bit_length()
    if max(n_clients, 1).bit_length() + day_bits + index_bits <= 62:
        packed = np.sort((key << index_bits) | np.arange(n, dtype=np.int64))
        order = packed & ((1 << index_bits) - 1)
        return packed >> index_bits, amounts[order]
    order = np.argsort(key)
    return key[order], amounts[order]


def _segment_sum(values: FloatArray, offsets: IntArray, has: BoolArray) -> FloatArray:
    """Per-client sums of values laid out client after client (0 for no activity)."""
    out = np.zeros(has.shape, dtype=np.float64)
    if values.size:
        out[has] = np.add.reduceat(values, offsets[has])
    return out


def _range_sum(padded: FloatArray, start: IntArray, end: IntArray) -> FloatArray:
    """Per-client sums of ``padded[start:end]`` (0 where empty), each added up from zero in
    one ``reduceat`` over the interleaved bounds; ``padded`` ends with one extra 0 so a range
    may start at the end."""
    out = np.zeros(start.shape, dtype=np.float64)
    ok = start < end
    if ok.any():
        bounds = np.empty(2 * int(ok.sum()), dtype=np.int64)
        bounds[0::2] = start[ok]
        bounds[1::2] = end[ok]
        out[ok] = np.add.reduceat(padded, bounds)[0::2]
    return out


def _gap_statistics(
    p_client: IntArray, p_day: IntArray, n_days: IntArray, offsets: IntArray, has: BoolArray
) -> tuple[FloatArray, FloatArray]:
    """Median and interquartile range of each client's gaps between purchase days.

    Each purchase day is given the gap since the client's previous one; a client's first day
    gets a sentinel larger than any gap. Sorting ``client << bits | gap`` then leaves, in each
    client's own run of rows, the sorted gaps followed by the sentinel: no filtering needed.
    """
    gaps = np.empty_like(p_day)
    if p_day.size:
        gaps[0] = 0
        np.subtract(p_day[1:], p_day[:-1], out=gaps[1:])
    sentinel = int(gaps.max()) + 1 if gaps.size else 1
    gaps[offsets[has]] = sentinel
    gap_bits = sentinel.bit_length()
    keyed = (p_client << gap_bits) | gaps
    if keyed.size and int(keyed[-1]) < 2**32:  # p_client is sorted: the last key is the largest
        keyed = keyed.astype(np.uint32)  # sorts about twice as fast as int64
    keyed.sort()
    sorted_gaps = (keyed & ((1 << gap_bits) - 1)).astype(np.float64)
    count = np.maximum(n_days - 1, 0)
    median = _segment_quantile(sorted_gaps, offsets, count, 0.5)
    iqr = _segment_quantile(sorted_gaps, offsets, count, 0.75) - _segment_quantile(
        sorted_gaps, offsets, count, 0.25
    )
    return median, iqr


def summarise(
    client: ArrayLike,
    day: ArrayLike,
    amount_cents: ArrayLike,
    n_clients: int,
    as_of_day: int,
    *,
    unit_days: float = 7.0,
    window_days: int = 90,
    trend_visits: float = 26.0,
    trend_min_days: int = 91,
    trend_max_days: int = 182,
) -> ClientSummary:
    """Summarise activities per client as of ``as_of_day`` (inclusive).

    Args:
        client: client index of each activity, ``0 <= client < n_clients``.
        day: day number of each activity (non-negative integers); days after ``as_of_day``
            are ignored, so a future-dated mistake never counts.
        amount_cents: amount of each activity in integer cents; zero and negative amounts
            (free check-ups, refunds) are kept as they are.
        n_clients: number of clients (the length of every output array).
        as_of_day: the scoring day; ``T`` is measured up to this day.
        unit_days: length of the model time unit in days (7 = weeks, the literature's unit).
        window_days: length of the fixed recent window (the ``recent_*`` fields).
        trend_visits, trend_min_days, trend_max_days: each client's own trend window is
            ``trend_visits`` median gaps, clamped to ``[trend_min_days, trend_max_days]``
            (``trend_max_days`` for clients without gaps).

    Returns:
        A :class:`ClientSummary`. Cost: one sort of the activities (skipped when they already
        come ordered by client then day) and a few linear passes; no per-client Python loop.

    Raises:
        ValueError: if the arrays differ in length, are not integers, or a client index or
            day number is out of range.
    """
    clients = _as_int64("client", client)
    days = _as_int64("day", day)
    amounts = _as_int64("amount_cents", amount_cents)
    if not clients.shape == days.shape == amounts.shape:
        raise ValueError("client, day and amount_cents must have the same length")
    if n_clients < 0 or unit_days <= 0 or window_days <= 0:
        raise ValueError("n_clients must be >= 0, unit_days and window_days > 0")
    if not 0 < trend_min_days <= trend_max_days or trend_visits <= 0:
        raise ValueError("need 0 < trend_min_days <= trend_max_days and trend_visits > 0")
    if clients.size and (clients.min() < 0 or clients.max() >= n_clients):
        raise ValueError("client indices must lie in [0, n_clients)")
    if days.size and days.min() < 0:
        raise ValueError("day numbers must be non-negative")
    if as_of_day < 0:
        raise ValueError("as_of_day must be non-negative")

    options: dict[str, Any] = dict(
        unit_days=unit_days,
        window_days=window_days,
        trend_visits=trend_visits,
        trend_min_days=trend_min_days,
        trend_max_days=trend_max_days,
    )
    if clients.size > 2 * BLOCK_ACTIVITIES and n_clients > 1:
        return _summarise_in_blocks(clients, days, amounts, n_clients, as_of_day, options)
    return _summarise(clients, days, amounts, n_clients, as_of_day, **options)


BLOCK_ACTIVITIES = 4_000_000
"""Above twice this many activities, clients are summarised in blocks of about this many
activities, two or more at a time: a client's summary does not depend on the others', the
sorts and passes release the GIL, and the working memory is a block's, not the whole's."""


def _summarise_in_blocks(
    clients: IntArray,
    days: IntArray,
    amounts: IntArray,
    n_clients: int,
    as_of_day: int,
    options: dict[str, Any],
) -> ClientSummary:
    k = min(-(-clients.size // BLOCK_ACTIVITIES), 255, n_clients)
    block = ((clients * k) // n_clients).astype(np.uint8)
    order = np.argsort(block, kind="stable")  # a radix sort for one-byte keys: linear
    ends = np.cumsum(np.bincount(block, minlength=k))
    del block
    first_client = [-(-b * n_clients // k) for b in range(k + 1)]

    def one(b: int) -> tuple[int, ClientSummary]:
        rows = order[(ends[b - 1] if b else 0) : ends[b]]
        low, high = first_client[b], first_client[b + 1]
        part = _summarise(
            clients[rows] - low, days[rows], amounts[rows], high - low, as_of_day, **options
        )
        return low, part

    out: dict[str, Any] = {}
    workers = max(min(os.cpu_count() or 1, 4), 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for low, part in pool.map(one, range(k)):
            for f in fields(ClientSummary):
                value = getattr(part, f.name)
                if isinstance(value, np.ndarray):
                    if f.name not in out:
                        out[f.name] = np.empty(n_clients, dtype=value.dtype)
                    out[f.name][low : low + value.size] = value
    return ClientSummary(
        n_clients=int(n_clients),
        as_of_day=int(as_of_day),
        unit_days=float(options["unit_days"]),
        window_days=int(options["window_days"]),
        **out,
    )


def _summarise(
    clients: IntArray,
    days: IntArray,
    amounts: IntArray,
    n_clients: int,
    as_of_day: int,
    *,
    unit_days: float,
    window_days: int,
    trend_visits: float,
    trend_min_days: int,
    trend_max_days: int,
) -> ClientSummary:
    keep = days <= as_of_day
    if not keep.all():
        clients, days, amounts = clients[keep], days[keep], amounts[keep]
    day0 = int(days.min()) if days.size else 0
    day_bits = max(as_of_day - day0, 1).bit_length()
    key, amounts = _sorted_by_client_day(clients, days - day0, amounts, n_clients, day_bits)

    # Distinct (client, day) purchases and their day totals.
    if key.size:
        starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        day_key = key[starts]
        day_total = np.add.reduceat(amounts, starts)
    else:
        day_key = np.zeros(0, dtype=np.int64)
        day_total = np.zeros(0, dtype=np.int64)
    p_client = day_key >> day_bits
    p_day = (day_key & ((1 << day_bits) - 1)) + day0

    n_days = np.bincount(p_client, minlength=n_clients).astype(np.int64)
    has = n_days > 0
    offsets = (np.cumsum(n_days) - n_days).astype(np.int64)
    ends: IntArray = offsets + n_days
    first_day = np.full(n_clients, -1, dtype=np.int64)
    last_day = np.full(n_clients, -1, dtype=np.int64)
    first_cents = np.zeros(n_clients, dtype=np.int64)
    first_day[has] = p_day[offsets[has]]
    last_day[has] = p_day[ends[has] - 1]
    first_cents[has] = day_total[offsets[has]]
    # Exact integer sums of contiguous runs as differences of one cumulative sum.
    cum = np.concatenate(([0], np.cumsum(day_total)))
    total_cents = cum[ends] - cum[offsets]
    squares = day_total.astype(np.float64) ** 2
    total_sq = _segment_sum(squares, offsets, has)
    first_sq = first_cents.astype(np.float64) ** 2

    gap_median, gap_iqr = _gap_statistics(p_client, p_day, n_days, offsets, has)

    def first_after(cutoff: IntArray | int) -> IntArray:
        # Index of each client's first purchase day after its cutoff. Days are sorted within a
        # client, so the days after the cutoff are a suffix of the client's run: its length is
        # a difference of one running count (no per-client search, no boolean selection).
        after = p_day > (cutoff[p_client] if isinstance(cutoff, np.ndarray) else cutoff)
        running = np.zeros(after.size + 1, dtype=np.int32)
        np.cumsum(after, out=running[1:], dtype=np.int32)
        return ends - (running[ends] - running[offsets]).astype(np.int64)

    padded_squares = np.append(squares, 0.0)  # reduceat may start a segment at the very end

    def tail(start: IntArray, cutoff: IntArray | int) -> tuple[IntArray, IntArray, FloatArray]:
        # Purchase days after the cutoff form the tail of each client's run; the first day
        # (which starts the client's observation) never counts as a repeat purchase. Integer
        # sums are differences of one running sum (exact); the sums of squares are added up
        # per client from zero, so a client's value never depends on who came before them
        # in the array (a running float sum would: the Spark engine summarises in pieces).
        first_in = has & (first_day > cutoff)
        return (
            ends - start - first_in,
            cum[ends] - cum[start] - np.where(first_in, first_cents, 0),
            np.maximum(
                _range_sum(padded_squares, start, ends) - np.where(first_in, first_sq, 0.0), 0.0
            ),
        )

    recent_cutoff = as_of_day - window_days
    recent_n, recent_cents, recent_sq = tail(first_after(recent_cutoff), recent_cutoff)
    repeat_n = np.maximum(n_days - 1, 0)

    trend_window = np.where(
        repeat_n > 0,
        np.clip(np.rint(trend_visits * gap_median), trend_min_days, trend_max_days),
        trend_max_days,
    ).astype(np.int64)
    trend_cutoff = as_of_day - trend_window
    trend_start = first_after(trend_cutoff)
    trend_n, trend_cents, trend_sq = tail(trend_start, trend_cutoff)
    # The gaps ending on baseline repeat days (the client's regularity before the window): their
    # sum telescopes to the last baseline day minus the first; their squares are a difference
    # of one running sum (a client's first day has no gap).
    cum_gap_sq = np.zeros(p_day.size + 1, dtype=np.int64)
    gap_sq = cum_gap_sq[1:]  # the squared gaps, then summed in place
    if p_day.size:
        np.subtract(p_day[1:], p_day[:-1], out=gap_sq[1:])
        gap_sq[offsets[has]] = 0
        np.multiply(gap_sq, gap_sq, out=gap_sq)
        np.cumsum(gap_sq, out=gap_sq)
    two_base = trend_start - offsets >= 2
    base_gap_sum = np.zeros(n_clients, dtype=np.float64)
    base_gap_sum[two_base] = p_day[trend_start[two_base] - 1] - first_day[two_base]
    base_gap_sq = (cum_gap_sq[trend_start] - cum_gap_sq[offsets]).astype(np.float64)

    return ClientSummary(
        n_clients=int(n_clients),
        as_of_day=int(as_of_day),
        unit_days=float(unit_days),
        window_days=int(window_days),
        has_activity=has,
        first_day=first_day,
        last_day=last_day,
        n_days=n_days,
        total_cents=total_cents,
        first_cents=first_cents,
        gap_median_days=gap_median,
        gap_iqr_days=gap_iqr,
        recent_n_days=recent_n,
        recent_cents=recent_cents,
        recent_sq_cents=recent_sq,
        base_n_days=repeat_n - recent_n,
        base_cents=total_cents - first_cents - recent_cents,
        base_sq_cents=np.maximum(total_sq - first_sq - recent_sq, 0.0),
        trend_window_days=trend_window,
        trend_recent_n_days=trend_n,
        trend_recent_cents=trend_cents,
        trend_recent_sq_cents=trend_sq,
        trend_base_gap_sum=base_gap_sum,
        trend_base_gap_sq=base_gap_sq,
    )
