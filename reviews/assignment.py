"""The exact reviewer assignment, as a min-cost flow solved with NumPy alone.

Drafts send review slots through draft → reviewer arcs (capacity one, so reviewers are distinct)
into reviewer → sink arcs (capacity the reviewer's room, each further review costing a little
more, so that the penalties add up to the squared loads). Costs are integers, so the plan is
exactly optimal rather than optimal up to a solver's tolerance: affinities are compared on a grid
of 2**-30 of their range for 500 x 400 (finer for smaller rounds), and one grid step outweighs
all load penalties together, so an even load only ever breaks ties.
"""

import heapq
import math
from collections.abc import Sequence

import numpy as np

_BIG = np.int64(1 << 61)  # the cost of a missing arc; real distances stay below 2**57
_UNREACHED = 1 << 60
_BUDGET_BITS = 57
_DRIFT = 1 << 50
_MAX_GRID_BITS = 40  # finer than this only splits float rounding noise
_NAMES_SHOWN = 8


class Infeasible(Exception):
    """No assignment meets the numbers. `partial` is still the best plan that does not break them.

    `partial` fills as many review slots as can be filled; then, if the minimum loads can be met at
    all, it meets them; then it has the greatest total affinity, then the most even load. `drafts`
    and `reviewers` are the indices the message names.
    """

    def __init__(self, message: str, *, partial: np.ndarray | None = None, drafts=(), reviewers=()):
        super().__init__(message)
        self.partial = partial
        self.drafts = tuple(int(i) for i in drafts)
        self.reviewers = tuple(int(j) for j in reviewers)


def solve(
    affinity,
    reviewers_per_draft,
    max_load,
    min_load=0,
    *,
    fixed=None,
    owed=0,
    past=0,
    draft_names: Sequence[str] | None = None,
    reviewer_names: Sequence[str] | None = None,
) -> np.ndarray:
    """The best assignment of reviewers to drafts, as a boolean drafts x reviewers array.

    `affinity` is a float array with `nan` where a reviewer may not review a draft. Every draft
    gets exactly its `reviewers_per_draft` distinct reviewers, every reviewer's `owed` (reviews
    from earlier rounds) plus new reviews stays within `max_load` and reaches `min_load`, and the
    total affinity is the greatest such plans can have; among equals, the sum of squared loads
    (owed and `past` included: reviews done before, which weigh on the even load but take no
    room under `max_load`) is the smallest. The numbers are ints or arrays (per draft, per reviewer).
    `fixed` pairs (reviews already started) stay in the plan and count in both numbers. Raises
    `Infeasible` naming the drafts or loads in the way (as "draft 3", or by `draft_names` and
    `reviewer_names`), with the best partial plan attached.
    """
    affinity = np.asarray(affinity, dtype=float)
    if affinity.ndim != 2:
        raise ValueError("affinity must be a drafts x reviewers array")
    m, n = affinity.shape
    if np.isinf(affinity).any():
        raise ValueError("affinity must be finite or nan")
    need = _counts("reviewers_per_draft", reviewers_per_draft, m)
    most = _counts("max_load", max_load, n)
    least = _counts("min_load", min_load, n)
    owed = _counts("owed", owed, n)
    past = _counts("past", past, n)
    allowed = ~np.isnan(affinity)
    fixed = np.zeros((m, n), dtype=bool) if fixed is None else np.asarray(fixed, dtype=bool)
    if fixed.shape != (m, n):
        raise ValueError("fixed must have the shape of affinity")
    if (fixed & ~allowed).any():
        i, j = np.argwhere(fixed & ~allowed)[0]
        raise ValueError(f"fixed pair (draft {i}, reviewer {j}) has no affinity: it may not be assigned")
    draft = _labeller(draft_names, "draft", m)
    reviewer = _labeller(reviewer_names, "reviewer", n)

    started_by_draft, started_by_reviewer = fixed.sum(axis=1), fixed.sum(axis=0)
    room = np.maximum(most - owed, 0)
    demand = np.maximum(need - started_by_draft, 0)
    capacity = np.maximum(room - started_by_reviewer, 0)
    floor = np.maximum(least - owed - started_by_reviewer, 0)
    base = owed + started_by_reviewer + past
    open_ = allowed & ~fixed

    problems = _Problems(draft, reviewer)
    problems.check_drafts(need, started_by_draft, demand, capacity, open_)
    problems.check_reviewers(most, least, owed, room, started_by_reviewer, floor, demand, open_)
    problems.check_totals(demand, capacity, floor, open_)

    cost = _costs(affinity, open_, demand, capacity, base)
    if not problems.messages:
        plan = _assign(cost, demand, capacity, floor, base, problems, open_)
        if plan is not None:
            return plan | fixed
    if floor.any() and not problems.reviewers:
        # Whether the minimum loads can be met at all decides what the best partial plan is.
        first = _Flow(cost.T, floor, np.zeros(m, dtype=np.int64), slope=0)
        short = first.fill(demand)
        if short is not None:
            problems.unmet_floors(first.used.T, open_, np.arange(n) == short, floor, demand)
    # The partial plan searches from all drafts at once, so that the slots left empty are the
    # ones that cost least to leave (draft by draft, they would fall wherever the order put them).
    flow = _Flow(cost, demand, base, slope=2)
    if floor.any() and not problems.reviewers:
        flow.fill_most(floor)
    flow.fill_most(capacity)
    if sum(flow.filled) < demand.sum() and not problems.drafts:
        problems.unfilled_drafts(flow.used, open_, np.array(flow.filled) < demand, demand, capacity)
    raise Infeasible(
        "No assignment exists: " + "; ".join(problems.messages) + ".",
        partial=flow.used | fixed,
        drafts=sorted(problems.drafts),
        reviewers=sorted(problems.reviewers),
    )


def _assign(cost, demand, capacity, floor, base, problems, open_) -> np.ndarray | None:
    """The optimal plan, or None with the reason added to `problems`.

    Each draft fills its slots along shortest paths from it, which gives the best plan without
    minimum loads; then each reviewer below the minimum takes reviews along shortest paths from
    the reviewers above it. No cheaper rerouting is left after either step, so the plan is the
    best among those that meet the minimum loads.
    """
    m, n = cost.shape
    flow = _Flow(cost, demand, base, slope=2)
    short = flow.fill(capacity)
    if short is not None:
        problems.unfilled_drafts(flow.used, open_, np.arange(m) == short, demand, capacity)
        return None
    short = flow.raise_to(floor)
    if short is not None:
        problems.unmet_floors(flow.used, open_, np.arange(n) == short, floor, demand)
        return None
    return flow.used


class _Flow:
    """Successive shortest paths: rows send their supply along arcs of capacity one to columns,
    whose arcs to the sink cost `slope` x (load) + `slope` / 2, which sums to the squared load.

    Every arc of the residual network keeps a non-negative reduced cost under the potentials of
    rows and columns, so Dijkstra finds each shortest path, and after each path the flow is the
    cheapest one for what it carries. A search keeps columns in a vector (a row's arcs are one
    vectorised relaxation) and rows in a heap: a column leads back only to the few rows using it.
    """

    def __init__(self, cost: np.ndarray, supply: np.ndarray, base: np.ndarray, *, slope: int):
        m, n = cost.shape
        self.cost = cost
        self.free = cost.copy()  # arcs not in use; _BIG once used
        self.used = np.zeros((m, n), dtype=bool)
        self.users: list[list[int]] = [[] for _ in range(n)]  # rows using each column
        self.uses: list[list[int]] = [[] for _ in range(m)]  # columns each row uses
        self.supply = supply.tolist()
        self.filled = [0] * m
        self.load = [0] * n
        self.base = base.tolist()
        self.slope = slope
        self.potential = np.zeros(n, dtype=np.int64)
        self.row_potential = np.zeros(m, dtype=np.int64)
        self.sink_potential = 0
        self.col_row = self.col_cost = self.open_rows = None  # fill_most's column minima

    def _unit_cost(self, j: int, load: int) -> int:
        """What the sink arc charges a column for its review number `load` + 1."""
        return self.slope * (self.base[j] + load) + self.slope // 2

    def _open_sink(self, capacity: np.ndarray) -> bool:
        # Arcs into the sink may be new: lower its potential below all of them. No arc leaves
        # the sink for a load met in an earlier phase, so nothing bounds it from below.
        load = np.array(self.load)
        spare = load < capacity
        if spare.any():
            through = self.slope * (np.array(self.base) + load) + self.slope // 2 + self.potential
            self.sink_potential = min(self.sink_potential, int(through[spare].min()))
        return bool(spare.any())

    def _rebase(self, level: int) -> None:
        # Only differences of potentials matter, and they stay within a path's cost. Each search
        # lifts all it does not reach, so now and then measure them from the search's start
        # again, before the drift comes anywhere near the 64 bits.
        if abs(level) > _DRIFT:
            self.potential -= level
            self.row_potential -= level
            self.sink_potential -= level

    def fill(self, capacity: np.ndarray) -> int | None:
        """Send every row's whole supply, searching from one row at a time; else the row that
        cannot."""
        self._open_sink(capacity)
        capacity = capacity.tolist()
        for row, supply in enumerate(self.supply):
            while self.filled[row] < supply:
                self._rebase(int(self.row_potential[row]))
                queue = self.free[row] - self.potential
                queue += self.row_potential[row]
                found = self._search(queue, {row: 0}, capacity=capacity)
                if found is None:
                    return row
                self._shift(found, row)
        return None

    def fill_most(self, capacity: np.ndarray) -> None:
        """The greatest flow within `capacity`, and the cheapest of its size: searching from
        all rows still short at once (a source before them), so any row may be the one left
        short. Those rows sit at the source's potential, 0, so a path's first step is a column
        minimum over them, kept up to date."""
        if not self._open_sink(capacity):
            return
        if self.open_rows is None:
            m, n = self.cost.shape
            self.open_rows = self.cost.copy()
            self.open_rows[np.array(self.supply) == 0] = _BIG
            self.col_row = self.open_rows.argmin(axis=0) if m else np.zeros(n, dtype=np.intp)
            self.col_cost = self.open_rows[self.col_row, np.arange(n)] if m else np.full(n, _BIG)
        capacity = capacity.tolist()
        for _ in range(sum(self.supply) - sum(self.filled)):
            found = self._search(self.col_cost - self.potential, None, capacity=capacity)
            if found is None:
                return
            i, j = self._shift(found, int(self.col_row[found[1]]))
            self._row_took(i, j)

    def _search(self, queue, settled, *, capacity):
        """Dijkstra over reduced costs from `queue` (each column's distance through the start)
        to the sink, through a column with room within `capacity`. `settled` holds the rows at
        the start (None: every row short of supply, at the source)."""
        cost, free, users, potential = self.cost, self.free, self.users, self.potential
        load, filled, supply, row_potential = self.load, self.filled, self.supply, self.row_potential
        from_source = settled is None
        settled = {} if from_source else settled
        shift = -potential  # a popped column's entry becomes _BIG, so no relaxation reaches it
        start = queue.copy()
        popped: dict[int, int] = {}  # column -> distance
        heap: list[tuple[int, int, int, int]] = []  # (distance, row, column it gives up, offset)
        trail = _Trail(start, popped)
        relaxed, made = trail.relaxed, trail.made
        slope, half, base = self.slope, self.slope // 2, self.base
        best, last = _UNREACHED, -1
        while True:
            j = int(queue.argmin())
            dj = int(queue[j])
            if heap and heap[0][0] < dj:
                di, i, via, offset = heapq.heappop(heap)
                if di >= best:
                    break
                if i not in settled:
                    settled[i] = di
                    relaxed.append((i, offset, via))
                    candidate = free[i] + shift
                    candidate += offset
                    np.minimum(queue, candidate, out=queue)
                continue
            if dj >= best:
                break
            queue[j] = shift[j] = _BIG
            popped[j], made[j] = dj, len(relaxed)
            if load[j] < capacity[j]:
                through = dj + slope * (base[j] + load[j]) + half + int(potential[j]) - self.sink_potential
                if through < best:
                    best, last = through, j
            lift = dj + int(potential[j])
            for i in users[j]:
                if i in settled or (from_source and filled[i] < supply[i]):
                    continue  # a row short of supply sits at the source: nothing is nearer
                offset = lift - int(cost[i, j])
                heapq.heappush(heap, (offset - int(row_potential[i]), i, j, offset))
        if last < 0:
            return None
        # Walk back before anything changes.
        path, j = [], last
        while (step := trail.back(j, free)) is not None:
            path.append((step[0], j, step[1]))
            j = step[1]
        self._lift(potential, popped, best)
        self._lift(row_potential, settled, best)
        self.sink_potential += best
        return path, j, last

    @staticmethod
    def _lift(potential, distances: dict[int, int], best: int, sign: int = 1) -> None:
        """Raise (with sign -1: lower) each potential by its distance, capped at `best`."""
        potential += sign * best
        if len(distances) < 32:  # most searches end after a few nodes; numpy would cost more
            for node, distance in distances.items():
                potential[node] += sign * (distance - best)
        else:
            nodes = np.fromiter(distances, dtype=np.intp, count=len(distances))
            found = np.fromiter(distances.values(), dtype=np.int64, count=len(distances))
            potential[nodes] += sign * (found - best)

    def raise_to(self, floor: np.ndarray) -> int | None:
        """Bring every column up to `floor`, each review taken from a column above its own
        floor; else the column that cannot reach it. Each search runs backwards, from the
        column short of reviews, so that it stays near it."""
        floor = floor.tolist()
        short = [j for j, f in enumerate(floor) if self.load[j] < f]
        if short:
            free_by_column = self.free.T.copy()
            for target in short:
                while self.load[target] < floor[target]:
                    if not self._raise_one(target, floor, free_by_column):
                        return target
        return None

    def _raise_one(self, target, floor, free_by_column) -> bool:
        self._rebase(self.sink_potential)
        cost, uses, load, potential = self.cost, self.uses, self.load, self.potential
        row_potential = self.row_potential
        # Backwards, distances run to the target; rows come as a vector, columns from a heap.
        shift = row_potential.copy()
        queue = free_by_column[target] + shift
        queue -= int(potential[target])
        start = queue.copy()
        popped: dict[int, int] = {}  # row -> distance
        settled: dict[int, int] = {target: 0}  # column -> distance
        gives_to: dict[int, int] = {}  # column -> the row that would give it up
        heap: list[tuple[int, int, int]] = []  # (distance, column, row that gives it up)
        trail = _Trail(start, popped)
        relaxed, made = trail.relaxed, trail.made
        best, last = _UNREACHED, -1
        while True:
            i = int(queue.argmin())
            di = int(queue[i])
            if heap and heap[0][0] < di:
                dk, k, row = heapq.heappop(heap)
                if dk >= best:
                    break
                if k in settled:
                    continue
                settled[k] = dk
                gives_to[k] = row
                if load[k] > floor[k]:
                    through = dk - self._unit_cost(k, load[k] - 1) + self.sink_potential - int(potential[k])
                    if through < best:
                        best, last = through, k
                offset = dk - int(potential[k])
                relaxed.append((k, offset, k))
                candidate = free_by_column[k] + shift
                candidate += offset
                np.minimum(queue, candidate, out=queue)
                continue
            if di >= best:
                break
            queue[i] = shift[i] = _BIG
            popped[i], made[i] = di, len(relaxed)
            lift = di - int(row_potential[i])
            for k in uses[i]:
                if k not in settled:
                    heapq.heappush(heap, (lift - int(cost[i, k]) + int(potential[k]), k, i))
        if last < 0:
            return False

        # The column `last` gives up a review to row r1, which gives up its column to the next
        # row back, and so on to a row that takes the target.
        moves = []
        k = last
        while k != target:
            row = gives_to[k]
            step = trail.back(row, free_by_column)
            takes = target if step is None else step[0]
            moves.append((row, k, takes))
            k = takes
        self._lift(row_potential, popped, best, sign=-1)
        self._lift(potential, settled, best, sign=-1)
        self.sink_potential -= best

        load[last] -= 1
        load[target] += 1
        for row, gives, takes in moves:
            self.used[row, gives], self.used[row, takes] = False, True
            self.free[row, gives] = free_by_column[gives, row] = cost[row, gives]
            self.free[row, takes] = free_by_column[takes, row] = _BIG
            self.users[gives].remove(row)
            self.users[takes].append(row)
            self.uses[row].remove(gives)
            self.uses[row].append(takes)
        return True

    def _shift(self, found, row):
        """Move the reviews along a path found: `row` takes the first column."""
        path, first, last = found
        path.append((row, first, -1))
        self.filled[row] += 1
        self.load[last] += 1
        for i, j, via in path:
            self.used[i, j] = True
            self.free[i, j] = _BIG
            self.users[j].append(i)
            self.uses[i].append(j)
            if via >= 0:
                self.used[i, via] = False
                self.free[i, via] = self.cost[i, via]
                self.users[via].remove(i)
                self.uses[i].remove(via)
        return row, first

    def _row_took(self, i: int, j: int) -> None:
        rows = self.open_rows
        rows[i, j] = _BIG
        if self.filled[i] == self.supply[i]:
            self.row_potential[i] = 0  # the source's potential
            rows[i] = _BIG
            columns = np.flatnonzero(self.col_row == i)
        elif self.col_row[j] == i:
            columns = np.array([j])
        else:
            return
        best = rows[:, columns].argmin(axis=0)
        self.col_row[columns] = best
        self.col_cost[columns] = rows[best, columns]


class _Trail:
    """The relaxations of one search, in order, to find each node's predecessor afterwards:
    the relaxation, made before the node was popped, that gave its distance."""

    def __init__(self, start: np.ndarray, popped: dict[int, int]):
        self.start, self.distance = start, popped
        self.relaxed: list[tuple[int, int, int]] = []  # (node relaxed from, its offset, via)
        self.made: dict[int, int] = {}  # node -> relaxations made before it was popped
        self.arrays = None

    def back(self, node: int, matrix: np.ndarray) -> tuple[int, int] | None:
        """(node relaxed from, via) of the relaxation that reached `node`, or None if the
        start did."""
        if self.start[node] == self.distance[node]:
            return None
        if self.arrays is None:
            sources, offsets, _ = zip(*self.relaxed, strict=True)
            self.arrays = np.array(sources, dtype=np.intp), np.array(offsets, dtype=np.int64)
        sources, offsets = self.arrays
        made = self.made[node]
        k = int((offsets[:made] + matrix[sources[:made], node]).argmin())
        return self.relaxed[k][0], self.relaxed[k][2]


def _costs(affinity, open_, demand, capacity, base) -> np.ndarray:
    """Integer costs: affinity steps on a grid, each worth more than all load penalties together."""
    m, n = affinity.shape
    values = affinity[open_]
    low = float(values.min()) if values.size else 0.0
    span = float(values.max()) - low if values.size else 0.0
    # A load penalty of 2·(load) - 1 per review sums to the squared loads; over any plan it stays
    # below `weight`, so one grid step of affinity outweighs every difference in evenness.
    worst_unit = 2 * int((base + np.minimum(capacity, int(demand.sum()))).max(initial=0)) + 1
    weight = int(demand.sum()) * worst_unit + 1
    # Distances and potentials are sums along simple paths of at most 2·min(m, n) + 2 arcs.
    headroom = _BUDGET_BITS - math.log2(weight * (2 * (m + n) + 4) * 4)
    bits = min(_MAX_GRID_BITS, math.floor(headroom))
    if bits < 16:
        raise ValueError(f"{m} x {n} is too large to assign exactly with 64-bit costs")
    top = 1 << bits
    steps = np.rint((affinity - low) / (span or 1.0) * top)
    cost = np.full((m, n), _BIG, dtype=np.int64)
    cost[open_] = (top - steps[open_].astype(np.int64)) * weight
    return cost


class _Problems:
    """The reasons no assignment exists, in words a lead can act on."""

    def __init__(self, draft, reviewer):
        self.draft, self.reviewer = draft, reviewer
        self.messages: list[str] = []
        self.drafts: set[int] = set()
        self.reviewers: set[int] = set()

    def _drafts(self, indices, message):
        self.drafts.update(int(i) for i in indices)
        self.messages.append(message)

    def _reviewers(self, indices, message):
        self.reviewers.update(int(j) for j in indices)
        self.messages.append(message)

    def check_drafts(self, need, started, demand, capacity, open_):
        for i in np.flatnonzero(started > need):
            self._drafts(
                [i],
                f"{self.draft(i)} has {started[i]} started reviews but needs only {_n(need[i], 'reviewer')}",
            )
        willing = (open_ & (capacity > 0)).sum(axis=1)
        for i in np.flatnonzero(willing < demand):
            self._drafts(
                [i],
                f"{self.draft(i)} needs {_n(need[i], 'reviewer')} but only {willing[i] + started[i]} "
                "may review it",
            )

    def check_reviewers(self, most, least, owed, room, started, floor, demand, open_):
        for j in np.flatnonzero(least > most):
            self._reviewers(
                [j], f"{self.reviewer(j)} has a minimum load of {least[j]}, above the maximum of {most[j]}"
            )
        for j in np.flatnonzero(started > room):
            owing = f" and owes {owed[j]} from earlier rounds" if owed[j] else ""
            self._reviewers(
                [j],
                f"{self.reviewer(j)} has {started[j]} started reviews{owing}, "
                f"above the maximum load of {most[j]}",
            )
        drafts_open = (open_ & (demand > 0)[:, None]).sum(axis=0)
        for j in np.flatnonzero((floor > drafts_open) & (least <= most)):
            self._reviewers(
                [j],
                f"{self.reviewer(j)} needs {_n(floor[j], 'more review')} to reach the minimum load "
                f"but may review only {_n(drafts_open[j], 'draft')} in this round",
            )

    def check_totals(self, demand, capacity, floor, open_):
        takes = np.minimum(capacity, (open_ & (demand > 0)[:, None]).sum(axis=0)).sum()
        if demand.sum() > takes:
            self._drafts(
                np.flatnonzero(demand),
                f"the drafts need {_n(demand.sum(), 'review')} but the reviewers can take only {takes}",
            )
        if floor.sum() > demand.sum():
            self._reviewers(
                np.flatnonzero(floor),
                f"the minimum loads add up to {_n(floor.sum(), 'review')} "
                f"but the drafts need only {demand.sum()}",
            )

    def unmet_floors(self, used, open_, start, floor, demand):
        group, _ = _closure(used.T, open_.T, start)
        members = np.flatnonzero(group)
        most = np.minimum(demand, open_[:, group].sum(axis=1)).sum()
        self._reviewers(
            members,
            f"{_names(self.reviewer, members)} need {_n(floor[group].sum(), 'review')} between them to "
            f"reach their minimum loads, but the drafts they may review can give them only {most}",
        )

    def unfilled_drafts(self, used, open_, start, demand, capacity):
        drafts, _ = _closure(used, open_, start)
        members = np.flatnonzero(drafts)
        most = np.minimum(capacity, open_[drafts].sum(axis=0)).sum()
        self._drafts(
            members,
            f"{_names(self.draft, members)} need {_n(demand[drafts].sum(), 'review')} between them, "
            f"but the reviewers who may review them can take only {most}",
        )


def _closure(used, open_, start):
    """Rows and columns an augmenting path from the `start` rows can reach.

    When no path from them reaches the sink, every column reached is full and takes reviews only
    from rows reached, so the rows reached ask for more than those columns can give: a proof.
    """
    rows, columns = start.copy(), np.zeros(used.shape[1], dtype=bool)
    unused = open_ & ~used
    while True:
        new_columns = unused[rows].any(axis=0) & ~columns
        columns |= new_columns
        new_rows = used[:, new_columns].any(axis=1) & ~rows
        if not new_rows.any():
            return rows, columns
        rows |= new_rows


def _counts(name: str, value, size: int) -> np.ndarray:
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{name} must be an int or an array of ints")
    if array.dtype.kind == "f" and not np.array_equal(array, np.round(array)):
        raise ValueError(f"{name} must be whole numbers")
    if array.ndim == 0:
        array = np.full(size, array)
    if array.shape != (size,):
        raise ValueError(f"{name} must be an int or an array of {size}")
    if (array < 0).any():
        raise ValueError(f"{name} must not be negative")
    return array.astype(np.int64)


def _labeller(names, kind: str, size: int):
    if names is None:
        return lambda index: f"{kind} {index}"
    names = list(names)
    if len(names) != size:
        raise ValueError(f"{kind}_names must have {size} names")
    return lambda index: str(names[index])


def _names(label, indices) -> str:
    shown = [label(i) for i in indices[:_NAMES_SHOWN]]
    if len(indices) > _NAMES_SHOWN:
        return ", ".join(shown) + f" and {len(indices) - _NAMES_SHOWN} more"
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _n(count, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
