"""Solver benchmark: `reviews.assignment.solve` against scipy's HiGHS on the same rounds.

    .venv/bin/python bench/solve.py [--runs 5] [--small-runs 21] [--seed 2026] [--targets-only]

Each round is timed as the median of several runs (wall clock, with the process's CPU time
beside it, since other work on the machine stretches wall time). In the same run scipy's HiGHS
solves the round's linear program (the assignment polytope is totally unimodular, so the LP
optimum is the integer optimum); the script prints both objectives, checks that they agree and
that the plan keeps every rule, and prints how many times faster the solver is. It exits with
status 1 if any check fails. See bench/README.md.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy
from scipy import sparse
from scipy.optimize import linprog

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviews.assignment import solve  # noqa: E402 (the project root is on the path only now)

TOPICS = 40
AGREEMENT = 1e-6  # objectives agree to this many units of affinity (HiGHS's own tolerances)


@dataclass
class Round:
    name: str
    affinity: np.ndarray
    per_draft: int
    max_load: int
    min_load: int
    target: float | None  # seconds


def lab_affinity(
    rng, drafts: int, reviewers: int, *, skew: bool = True, favourites: bool = False
) -> np.ndarray:
    """Cosine similarity of topic mixtures, the way the portal's expertise model scores pairs.

    A reviewer's profile sums the topic mixtures of their papers; reviewers with many papers
    have broad profiles and are close to many drafts, as in a real lab. Each draft's authors
    (two to four of the reviewers) and a few declared conflicts are nan.
    """
    alpha = np.full(TOPICS, 0.15)
    texts = rng.dirichlet(alpha, drafts)
    papers = 1 + rng.poisson(4 if skew else 0, reviewers)
    profiles = np.stack([rng.dirichlet(alpha, k).sum(axis=0) for k in papers])
    texts /= np.linalg.norm(texts, axis=1, keepdims=True)
    profiles /= np.linalg.norm(profiles, axis=1, keepdims=True)
    affinity = texts @ profiles.T
    if favourites:  # some reviewers score higher with every draft: many drafts want the same people
        affinity *= rng.uniform(0.5, 1.0, reviewers)
    for i in range(drafts):
        affinity[i, rng.choice(reviewers, rng.integers(2, 5), replace=False)] = np.nan
    affinity[rng.random(affinity.shape) < 0.01] = np.nan
    return affinity


def rounds(seed: int, targets_only: bool) -> list[Round]:
    rng = np.random.default_rng(seed)
    found = [
        Round("lab round, 40 x 60", lab_affinity(rng, 40, 60), 3, 3, 1, 0.050),
        Round("500 x 400", lab_affinity(rng, 500, 400), 3, 5, 2, 1.0),
    ]
    if not targets_only:
        found += [
            Round("500 x 400, no minimum load", lab_affinity(rng, 500, 400), 3, 5, 0, None),
            Round("500 x 400, max load 4 (1,600 seats)", lab_affinity(rng, 500, 400), 3, 4, 2, None),
            Round("500 x 400, narrow profiles", lab_affinity(rng, 500, 400, skew=False), 3, 5, 2, None),
            Round("500 x 400, uniform random", rng.random((500, 400)), 3, 5, 2, None),
            Round("500 x 400, favourites", lab_affinity(rng, 500, 400, favourites=True), 3, 5, 2, None),
            Round(
                "500 x 400, favourites, loads 3-4",
                lab_affinity(rng, 500, 400, favourites=True),
                3,
                4,
                3,
                None,
            ),
        ]
    return found


def linear_program(affinity, per_draft, max_load, min_load) -> float:
    drafts, reviewers = np.nonzero(~np.isnan(affinity))
    pairs = np.arange(len(drafts))
    m, n = affinity.shape
    by_draft = sparse.csr_matrix((np.ones(len(pairs)), (drafts, pairs)), shape=(m, len(pairs)))
    by_reviewer = sparse.csr_matrix((np.ones(len(pairs)), (reviewers, pairs)), shape=(n, len(pairs)))
    result = linprog(
        -affinity[drafts, reviewers],
        A_ub=sparse.vstack([by_reviewer, -by_reviewer]),
        b_ub=np.concatenate([np.full(n, max_load), np.full(n, -min_load)]),
        A_eq=by_draft,
        b_eq=np.full(m, per_draft),
        bounds=(0, 1),
        method="highs",
    )
    if result.status != 0:
        raise RuntimeError(f"HiGHS: {result.message}")
    return -result.fun


def timed(function, runs: int) -> tuple[float, float, object]:
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        value = function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus), value


def broken_rules(plan, round_: Round) -> list[str]:
    loads = plan.sum(axis=0)
    problems = []
    if (plan & np.isnan(round_.affinity)).any():
        problems.append("a nan pair is assigned")
    if (plan.sum(axis=1) != round_.per_draft).any():
        problems.append("a draft has the wrong number of reviewers")
    if loads.max() > round_.max_load or loads.min() < round_.min_load:
        problems.append("a load is out of bounds")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="timed runs of a 500 x 400 round (median)")
    parser.add_argument("--small-runs", type=int, default=21, help="timed runs of the lab round")
    parser.add_argument("--scipy-runs", type=int, default=1, help="timed HiGHS runs per round")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--targets-only", action="store_true", help="only the two rounds with targets")
    args = parser.parse_args()

    print(
        f"Python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
    )
    header = (
        f"{'round':<38} {'solve ms':>9} {'cpu ms':>8} {'HiGHS ms':>9} {'speed-up':>8} "
        f"{'objective':>16} {'HiGHS objective':>16} {'loads':>6}  target"
    )
    print(header)
    print("-" * len(header))
    failed = False
    for round_ in rounds(args.seed, args.targets_only):
        runs = args.small_runs if round_.affinity.size < 10_000 else args.runs
        numbers = (round_.affinity, round_.per_draft, round_.max_load, round_.min_load)
        wall, cpu, plan = timed(lambda numbers=numbers: solve(*numbers), runs)
        lp_wall, _, best = timed(lambda numbers=numbers: linear_program(*numbers), args.scipy_runs)
        objective = float(round_.affinity[plan].sum())
        loads = plan.sum(axis=0)
        problems = broken_rules(plan, round_)
        if abs(objective - best) > AGREEMENT:
            problems.append(f"objective differs from HiGHS by {objective - best:+.2e}")
        verdict = ""
        if round_.target is not None:
            verdict = f"≤ {round_.target * 1000:.0f} ms " + ("met" if wall <= round_.target else "NOT met")
        print(
            f"{round_.name:<38} {wall * 1000:>9.1f} {cpu * 1000:>8.1f} {lp_wall * 1000:>9.0f} "
            f"{lp_wall / wall:>8.1f} {objective:>16.9f} {best:>16.9f} "
            f"{loads.min():>2}-{loads.max():<3}  {verdict}"
        )
        for problem in problems:
            print(f"    CHECK FAILED: {problem}")
        failed |= bool(problems)
    print(f"({args.runs} runs of each 500 x 400 round and {args.small_runs} of the lab round, medians)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
