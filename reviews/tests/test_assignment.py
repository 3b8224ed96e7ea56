"""`reviews.assignment.solve` against an independent linear program (scipy's HiGHS).

The assignment polytope is totally unimodular, so the LP's optimum is the integer optimum. The
oracle solves the same numbers in stages, each keeping the previous optimum: slots filled, then
affinity, then the squared loads (one variable per load step, its cost rising with the step, so
the LP takes the cheap steps first). Affinities sit on a 1/1000 grid unless a test says
otherwise, so ties in the oracle are exact ties.
"""

import pickle

import numpy as np
import pytest
from scipy import sparse
from scipy.optimize import linprog

from reviews import assignment
from reviews.assignment import Infeasible, solve


def effective(affinity, need, most, least, fixed, owed):
    """The round's numbers once started reviews (`fixed`) and owed reviews are taken off."""
    m, n = affinity.shape
    need, most, least, owed = (
        np.broadcast_to(v, s).astype(int) for v, s in ((need, m), (most, n), (least, n), (owed, n))
    )
    started_by_draft, started_by_reviewer = fixed.sum(axis=1), fixed.sum(axis=0)
    room = np.maximum(most - owed, 0)
    return {
        "need": need,
        "most": most,
        "least": least,
        "room": room,
        "started_by_draft": started_by_draft,
        "started_by_reviewer": started_by_reviewer,
        "demand": np.maximum(need - started_by_draft, 0),
        "capacity": np.maximum(room - started_by_reviewer, 0),
        "floor": np.maximum(least - owed - started_by_reviewer, 0),
        "base": owed + started_by_reviewer,
        "open": ~np.isnan(affinity) & ~fixed,
    }


def lexicographic_optimum(affinity, need, most, least=0, fixed=None, owed=0):
    """By LP: whether a full plan exists, and the best plan's slots filled, affinity of its new
    pairs and sum of squared loads (less the squares of started and owed reviews)."""
    fixed = np.zeros(affinity.shape, dtype=bool) if fixed is None else fixed
    numbers = effective(affinity, need, most, least, fixed, owed)
    m, n = affinity.shape
    drafts, reviewers = np.nonzero(numbers["open"])
    pairs = len(drafts)
    step_reviewer = np.repeat(np.arange(n), numbers["capacity"])
    base = numbers["base"]
    step_cost = [2 * (base[j] + k) - 1 for j, c in enumerate(numbers["capacity"]) for k in range(1, c + 1)]
    size = pairs + len(step_reviewer)

    def incidence(index, count, offset=0):
        return sparse.csr_matrix(
            (np.ones(len(index)), (index, offset + np.arange(len(index)))), shape=(count, size)
        )

    per_draft = incidence(drafts, m)
    per_reviewer = incidence(reviewers, n)
    # A reviewer's load is the sum of their load steps, each taken at most once.
    load_is_steps = per_reviewer - incidence(step_reviewer, n, offset=pairs)
    gain = np.concatenate([affinity[drafts, reviewers], np.zeros(len(step_reviewer))])
    slots = np.concatenate([np.ones(pairs), np.zeros(len(step_reviewer))])
    penalty = np.concatenate([np.zeros(pairs), step_cost])

    def best(objective, *, floors, equal=(), at_least=()):
        a_ub, b_ub = [per_draft], [numbers["demand"]]
        if floors:
            a_ub.append(-per_reviewer)
            b_ub.append(-numbers["floor"])
        for row, bound in at_least:
            a_ub.append(sparse.csr_matrix(-row))
            b_ub.append([-bound])
        a_eq, b_eq = [load_is_steps], [np.zeros(n)]
        for row, value in equal:
            a_eq.append(sparse.csr_matrix(row))
            b_eq.append([value])
        return linprog(
            objective,
            A_ub=sparse.vstack(a_ub),
            b_ub=np.concatenate(b_ub),
            A_eq=sparse.vstack(a_eq),
            b_eq=np.concatenate(b_eq),
            bounds=(0, 1),
            method="highs",
        )

    floors = (
        (numbers["least"] <= numbers["most"]).all()
        and (numbers["started_by_reviewer"] <= numbers["room"]).all()
        and best(np.zeros(size), floors=True).status == 0
    )
    filled = round(-best(-slots, floors=floors).fun)
    total = -best(-gain, floors=floors, equal=[(slots, filled)]).fun
    squares = best(penalty, floors=floors, equal=[(slots, filled)], at_least=[(gain, total - 1e-6)]).fun
    feasible = (
        floors
        and filled == numbers["demand"].sum()
        and (numbers["started_by_draft"] <= numbers["need"]).all()
    )
    return feasible, filled, total, round(squares)


def achieved(plan, affinity, fixed=None, owed=0):
    fixed = np.zeros(plan.shape, dtype=bool) if fixed is None else fixed
    new = plan & ~fixed
    owed = np.broadcast_to(owed, plan.shape[1])
    base = owed + fixed.sum(axis=0)
    squares = ((owed + plan.sum(axis=0)) ** 2 - base**2).sum()
    return int(new.sum()), float(affinity[new].sum()), int(squares)


def assert_keeps_the_rules(plan, affinity, need, most, fixed, owed, *, full):
    assert plan.dtype == bool and plan.shape == affinity.shape
    assert not (plan & np.isnan(affinity)).any()
    assert (plan | ~fixed).all()
    counts = plan.sum(axis=1)
    need = np.broadcast_to(need, counts.shape)
    if full:
        assert (counts == need).all()
    else:
        assert (counts <= np.maximum(need, fixed.sum(axis=1))).all()
    room = np.maximum(np.broadcast_to(most, plan.shape[1]) - owed, fixed.sum(axis=0))
    assert (plan.sum(axis=0) <= room).all()


def certified(exc, affinity, need, most, least, fixed, owed):
    """Each side the exception names holds a reason no plan exists, checked from the numbers:
    a group of drafts that asks for more reviews than the reviewers who may review them can
    take (or the mirror for minimum loads), or a single contradiction."""
    numbers = effective(affinity, need, most, least, fixed, owed)
    open_, demand, capacity, floor = numbers["open"], numbers["demand"], numbers["capacity"], numbers["floor"]

    def drafts_short(group):
        return demand[group].sum() > np.minimum(capacity, open_[group].sum(axis=0)).sum()

    def reviewers_short(group):
        return floor[group].sum() > np.minimum(demand, open_[:, group].sum(axis=1)).sum()

    def draft_contradiction(i):
        return numbers["started_by_draft"][i] > numbers["need"][i]

    def reviewer_contradiction(j):
        return (
            numbers["least"][j] > numbers["most"][j] or numbers["started_by_reviewer"][j] > numbers["room"][j]
        )

    drafts, reviewers = list(exc.drafts), list(exc.reviewers)
    drafts_ok = (
        not drafts or drafts_short(drafts) or any(drafts_short([i]) or draft_contradiction(i) for i in drafts)
    )
    reviewers_ok = (
        not reviewers
        or reviewers_short(reviewers)
        or any(reviewers_short([j]) or reviewer_contradiction(j) for j in reviewers)
    )
    return (drafts or reviewers) and drafts_ok and reviewers_ok


def mixed_instance(seed):
    """Small rounds with everything at once: nan pairs, per-draft and per-reviewer numbers,
    minimum loads, started reviews and reviews owed from earlier rounds."""
    rng = np.random.default_rng(seed)
    m, n = rng.integers(1, 10), rng.integers(1, 12)
    affinity = rng.integers(0, 1000, (m, n)) / 1000
    affinity[rng.random((m, n)) < rng.choice([0.0, 0.1, 0.3])] = np.nan
    need = rng.integers(0, 4, m) if rng.random() < 0.5 else int(rng.integers(1, 4))
    most = rng.integers(0, 5, n) if rng.random() < 0.5 else int(rng.integers(1, 5))
    if rng.random() < 0.5:  # room to spare, so that both outcomes are common
        most = np.maximum(most, -(-int(np.broadcast_to(need, m).sum()) // n) + int(rng.integers(1, 3)))
    least = 0 if rng.random() < 0.4 else (rng.integers(0, 3, n) if rng.random() < 0.5 else 1)
    owed = rng.integers(0, 3, n) if rng.random() < 0.3 else np.zeros(n, dtype=int)
    fixed = np.zeros((m, n), dtype=bool)
    if rng.random() < 0.4:
        fixed = ~np.isnan(affinity) & (rng.random((m, n)) < 0.12)
    return affinity, need, most, least, fixed, owed


def blocked_instance(seed):
    """Rounds where a group of drafts may be reviewed only by a group of reviewers (or a group
    of reviewers may review only a group of drafts), often too small for what it must carry,
    while every draft and reviewer alone and the totals look fine."""
    rng = np.random.default_rng(seed)
    m, n = rng.integers(3, 10), rng.integers(4, 10)
    affinity = rng.integers(0, 1000, (m, n)) / 1000
    if rng.random() < 0.5:
        a, b = rng.integers(1, max(2, m // 2)), rng.integers(3, n)
        affinity[:a, b:] = np.nan
        need = np.where(np.arange(m) < a, rng.integers(2, 4, m), 2)
        most = np.where(np.arange(n) < b, 1, 9)
        least = np.zeros(n, dtype=int)
    else:
        a, b = rng.integers(1, m), rng.integers(1, n - 2)
        affinity[a:, :b] = np.nan
        need = np.where(np.arange(m) < a, rng.integers(1, 3, m), 3)
        most = np.where(np.arange(n) < b, 6, m)
        least = np.where(np.arange(n) < b, rng.integers(1, 4, n), 0)
    drafts, reviewers = rng.permutation(m), rng.permutation(n)
    affinity = affinity[drafts][:, reviewers]
    fixed = np.zeros((m, n), dtype=bool)
    return affinity, need[drafts], most[reviewers], least[reviewers], fixed, np.zeros(n, dtype=int)


@pytest.mark.parametrize(
    ("family", "block"), [("mixed", block) for block in range(8)] + [("blocked", block) for block in range(4)]
)
def test_solve_matches_linear_program_on_random_rounds(family, block):
    make = mixed_instance if family == "mixed" else blocked_instance
    outcomes = {"solved": 0, "infeasible": 0}
    for seed in range(block * 40, block * 40 + 40):
        affinity, need, most, least, fixed, owed = make(seed)
        feasible, filled, total, squares = lexicographic_optimum(affinity, need, most, least, fixed, owed)

        try:
            plan = solve(affinity, need, most, least, fixed=fixed, owed=owed)
        except Infeasible as exc:
            assert not feasible, f"seed {seed}: {exc}"
            assert certified(exc, affinity, need, most, least, fixed, owed), f"seed {seed}: {exc}"
            plan, outcome = exc.partial, "infeasible"
        else:
            assert feasible, f"seed {seed}"
            outcome = "solved"

        assert_keeps_the_rules(plan, affinity, need, most, fixed, owed, full=outcome == "solved")
        assert achieved(plan, affinity, fixed, owed) == (filled, pytest.approx(total, abs=1e-6), squares), (
            f"seed {seed}"
        )
        outcomes[outcome] += 1

    assert outcomes["solved"] >= 5 and outcomes["infeasible"] >= 5, outcomes


def test_solve_results_do_not_depend_on_where_potentials_are_measured_from(monkeypatch):
    # Large rounds re-measure the potentials now and then; here every search does.
    monkeypatch.setattr(assignment, "_DRIFT", 0)

    test_solve_matches_linear_program_on_random_rounds("mixed", 0)
    test_solve_matches_linear_program_on_random_rounds("blocked", 0)


@pytest.mark.parametrize("seed", range(3))
def test_solve_matches_linear_program_on_lab_sized_rounds(seed):
    rng = np.random.default_rng(seed)
    affinity = rng.integers(0, 1000, (40, 60)) / 1000
    affinity[rng.random(affinity.shape) < 0.1] = np.nan
    fixed = np.zeros(affinity.shape, dtype=bool)
    for draft in range(10):  # a quarter of the drafts have a review started
        fixed[draft, rng.choice(np.flatnonzero(~np.isnan(affinity[draft])))] = True
    owed = rng.integers(0, 2, 60)
    most = np.maximum(rng.integers(3, 5, 60), owed + fixed.sum(axis=0) + 1)

    plan = solve(affinity, 3, most, 1, fixed=fixed, owed=owed)

    feasible, filled, total, squares = lexicographic_optimum(affinity, 3, most, 1, fixed, owed)
    assert feasible
    assert_keeps_the_rules(plan, affinity, 3, most, fixed, owed, full=True)
    assert achieved(plan, affinity, fixed, owed) == (filled, pytest.approx(total, abs=1e-6), squares)


def test_solve_is_exact_on_float_affinities():
    rng = np.random.default_rng(7)
    affinity = rng.random((60, 80)) ** 3  # crowded near zero, where rounding would show
    affinity[rng.random(affinity.shape) < 0.05] = np.nan

    plan = solve(affinity, 3, 4, 1)

    _, _, total, _ = lexicographic_optimum(affinity, 3, 4, 1)
    assert achieved(plan, affinity)[1] == pytest.approx(total, rel=1e-12, abs=1e-9)


def test_solve_breaks_ties_towards_even_load():
    affinity = np.full((6, 4), 0.5)

    plan = solve(affinity, 2, 6)

    assert plan.sum(axis=0).tolist() == [3, 3, 3, 3]


def test_solve_counts_owed_reviews_in_the_load():
    affinity = np.full((4, 4), 0.5)

    plan = solve(affinity, 2, 4, owed=[3, 1, 0, 0])

    # 12 reviews in all, 3 each: the reviewer who owes 3 gets none, and no one passes 4 in all.
    assert plan.sum(axis=0).tolist() == [0, 2, 3, 3]
    assert solve(affinity, 2, 3, owed=[3, 1, 0, 0]).sum(axis=0).tolist() == [0, 2, 3, 3]


def test_solve_never_trades_affinity_for_even_load():
    affinity = np.full((6, 3), 0.5)
    affinity[:, 0] += 1e-6  # a millionth of the range is still far above the grid
    affinity[0, 1] = 1.0

    plan = solve(affinity, 1, 6)

    assert plan[1:, 0].all()
    assert plan[0, 1]


def test_solve_keeps_started_reviews_and_counts_them():
    affinity = np.array([[0.9, 0.1, 0.8], [0.9, 0.7, 0.2]])
    fixed = np.array([[False, True, False], [False, False, False]])

    roomy = solve(affinity, 2, 2, fixed=fixed)
    tight = solve(affinity, 2, [2, 1, 2], fixed=fixed)

    assert roomy.tolist() == [[True, True, False], [True, True, False]]
    # Reviewer 1's started review fills their one seat, so draft 1 must do with reviewer 2.
    assert tight.tolist() == [[True, True, False], [True, False, True]]


def test_solve_meets_minimum_loads_at_the_least_cost():
    affinity = np.array([[0.9, 0.8, 0.1], [0.9, 0.8, 0.2], [0.9, 0.1, 0.3]])

    plan = solve(affinity, 1, 3, [0, 0, 1])

    # Reviewer 2 must get one review; draft 2 loses the least by giving it (0.9 - 0.3).
    assert plan.tolist() == [[True, False, False], [True, False, False], [False, False, True]]


def test_solve_takes_per_draft_numbers():
    affinity = np.full((3, 4), 0.5)

    plan = solve(affinity, [0, 1, 4], 2)

    assert plan.sum(axis=1).tolist() == [0, 1, 4]


def test_solve_handles_empty_rounds():
    assert solve(np.empty((0, 3)), 3, 2).shape == (0, 3)
    assert solve(np.empty((2, 0)), 0, 2).shape == (2, 0)
    assert not solve(np.full((2, 2), 0.5), 0, 2).any()


def test_infeasible_names_a_draft_with_too_few_reviewers():
    affinity = np.full((3, 4), 0.5)
    affinity[1, :2] = np.nan

    with pytest.raises(Infeasible) as caught:
        solve(affinity, 3, 3, draft_names=["Diffusion priors", "Sparse MoE", "Speech LM"])

    assert str(caught.value) == "No assignment exists: Sparse MoE needs 3 reviewers but only 2 may review it."
    assert caught.value.drafts == (1,)
    assert caught.value.reviewers == ()
    assert caught.value.partial.sum(axis=1).tolist() == [3, 2, 3]


def test_infeasible_counts_only_reviewers_with_room():
    affinity = np.full((2, 3), 0.5)

    assert not solve(affinity, 2, [3, 0, 3])[:, 1].any()
    with pytest.raises(Infeasible) as caught:
        solve(affinity, 3, [3, 0, 3])

    assert str(caught.value).startswith(
        "No assignment exists: draft 0 needs 3 reviewers but only 2 may review it; "
        "draft 1 needs 3 reviewers but only 2 may review it"
    )
    assert caught.value.partial[:, [0, 2]].all()


def test_infeasible_names_the_total_load():
    affinity = np.full((5, 4), 0.5)

    with pytest.raises(Infeasible) as caught:
        solve(affinity, 3, 3)

    assert (
        str(caught.value)
        == "No assignment exists: the drafts need 15 reviews but the reviewers can take only 12."
    )
    assert caught.value.partial.sum(axis=0).tolist() == [3, 3, 3, 3]


def test_infeasible_names_minimum_loads_above_the_demand():
    affinity = np.full((2, 4), 0.5)

    with pytest.raises(Infeasible) as caught:
        solve(affinity, 2, 3, 2)

    assert str(caught.value) == (
        "No assignment exists: the minimum loads add up to 8 reviews but the drafts need only 4."
    )
    assert caught.value.reviewers == (0, 1, 2, 3)
    # The partial plan cannot meet them, so it fills every draft with the most even load.
    assert caught.value.partial.sum(axis=0).tolist() == [1, 1, 1, 1]


def test_infeasible_names_contradictory_numbers():
    affinity = np.full((2, 3), 0.5)
    fixed = np.array([[True, True, False], [True, False, False]])

    with pytest.raises(Infeasible) as caught:
        solve(affinity, [1, 2], [1, 4, 3], [0, 5, 0], fixed=fixed, owed=[1, 0, 0])

    message = str(caught.value)
    assert "draft 0 has 2 started reviews but needs only 1 reviewer" in message
    assert (
        "reviewer 0 has 2 started reviews and owes 1 from earlier rounds, above the maximum load of 1"
        in message
    )
    assert "reviewer 1 has a minimum load of 5, above the maximum of 4" in message
    assert caught.value.drafts == (0,)
    assert caught.value.reviewers == (0, 1)
    assert (caught.value.partial & fixed).sum() == 3


def test_infeasible_names_a_group_of_drafts_short_of_reviewers():
    affinity = np.full((6, 6), 0.5)
    affinity[:2, 3:] = np.nan  # drafts 0 and 1: only reviewers 0, 1 and 2, one seat each
    most = [1, 1, 1, 4, 4, 4]

    with pytest.raises(Infeasible) as caught:
        solve(affinity, 2, most)

    assert str(caught.value) == (
        "No assignment exists: draft 0 and draft 1 need 4 reviews between them, "
        "but the reviewers who may review them can take only 3."
    )
    assert caught.value.drafts == (0, 1)
    _, filled, total, squares = lexicographic_optimum(affinity, 2, most)
    assert achieved(caught.value.partial, affinity) == (filled, pytest.approx(total), squares)


def test_infeasible_names_a_group_of_reviewers_short_of_drafts():
    affinity = np.full((4, 4), 0.5)
    affinity[2:, :2] = np.nan  # reviewers 0 and 1 may review only drafts 0 and 1

    with pytest.raises(Infeasible) as caught:
        solve(affinity, [1, 1, 2, 2], 4, [2, 2, 0, 0], reviewer_names=["Ada", "Ben", "Cy", "Dee"])

    assert str(caught.value) == (
        "No assignment exists: Ada and Ben need 4 reviews between them to reach their minimum loads, "
        "but the drafts they may review can give them only 2."
    )
    assert caught.value.reviewers == (0, 1)
    assert caught.value.partial.sum(axis=1).tolist() == [1, 1, 2, 2]


def test_infeasible_lists_long_groups_briefly():
    affinity = np.full((13, 12), 0.5)
    affinity[:10, 9:] = np.nan  # ten drafts share nine reviewers with one seat each
    affinity[10:, :9] = np.nan

    with pytest.raises(Infeasible) as caught:
        solve(affinity, 1, [1] * 9 + [5] * 3)

    assert str(caught.value) == (
        "No assignment exists: draft 0, draft 1, draft 2, draft 3, draft 4, draft 5, draft 6, draft 7 "
        "and 2 more need 10 reviews between them, but the reviewers who may review them can take only 9."
    )
    assert caught.value.drafts == tuple(range(10))


def test_infeasible_survives_pickling_for_a_task_result():
    with pytest.raises(Infeasible) as caught:
        solve(np.full((1, 2), 0.5), 3, 1)

    copy = pickle.loads(pickle.dumps(caught.value))  # noqa: S301 (our own bytes)

    assert str(copy) == str(caught.value)
    assert copy.drafts == (0,)
    assert (copy.partial == caught.value.partial).all()


@pytest.mark.parametrize(
    ("arguments", "keywords", "message"),
    [
        ((np.zeros(3), 1, 1), {}, "drafts x reviewers"),
        ((np.array([[np.inf]]), 1, 1), {}, "finite or nan"),
        ((np.zeros((2, 2)), 1, -1), {}, "max_load must not be negative"),
        ((np.zeros((2, 2)), 1.5, 1), {}, "reviewers_per_draft must be whole numbers"),
        ((np.zeros((2, 2)), [1, 1, 1], 1), {}, "reviewers_per_draft must be an int or an array of 2"),
        ((np.zeros((2, 2)), 1, "2"), {}, "max_load must be an int"),
        ((np.zeros((2, 2)), 1, 1), {"fixed": np.ones((2, 3))}, "shape of affinity"),
        ((np.array([[np.nan, 0.5]]), 1, 1), {"fixed": [[True, False]]}, "draft 0, reviewer 0"),
        ((np.zeros((2, 2)), 1, 1), {"draft_names": ["only one"]}, "draft_names must have 2 names"),
    ],
)
def test_solve_rejects_malformed_numbers(arguments, keywords, message):
    with pytest.raises(ValueError, match=message):
        solve(*arguments, **keywords)


def test_solve_accepts_whole_floats_and_numpy_ints():
    affinity = np.full((2, 3), 0.5)

    plan = solve(affinity, np.float64(2.0), np.int32(2), np.array([0.0, 1.0, 0.0]))

    assert plan.sum(axis=1).tolist() == [2, 2]
    assert plan[:, 1].sum() >= 1


def test_past_reviews_even_the_load_but_take_no_room_under_the_maximum():
    equal = np.zeros((2, 3))

    chosen = solve(equal, 1, 1, past=[4, 0, 2])
    busy = solve(equal, 1, 1, past=[9, 9, 9])  # everyone did many: the round still fills

    assert chosen.sum(axis=0).tolist() == [0, 1, 1]
    assert busy.sum() == 2 and busy.sum(axis=0).max() == 1


def test_past_reviews_never_outweigh_a_better_affinity():
    affinity = np.array([[0.9, 0.1]])

    chosen = solve(affinity, 1, 1, past=[10, 0])

    assert chosen.tolist() == [[True, False]]
