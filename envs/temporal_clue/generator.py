"""Temporal Clue generator: simulate a night, propose true clues, keep a subset-minimal set that pins down
the whole world, ask about what the clues leave unsaid (questions.py: each asked answer needs its own
deduction; none is implied by the others).

    generate_puzzle(config, seed) -> Puzzle      # deterministic in (config, seed), any process
    puzzle_seed(seed, i) -> int                  # item i of a seeded sequence, addressable directly
    iter_puzzles(config, n, seed, workers) -> (i, Puzzle) in index order; generate_puzzles -> list[Puzzle]

With config.unique_over == "questions" a second greedy deletion over the whole candidate pool keeps only
what the asked answers need (the same questions; about 10-30% fewer clues, measured in
benchmarks/results/calibration_temporal_clue.md).

Minimisation. Candidates are ordered by removal bias + a random draw (lower is removed first, as the
original). The result is exactly what greedy deletion in that order gives (drop a clue when the rest still
admits one world only), computed with far fewer solver calls:
- with the candidates in keep order a[0..N-1] and the clues kept so far K, greedy deletion keeps a[m-1]
  where m is the smallest prefix length with a[:m] + K sufficient (sufficiency is monotone), then repeats
  below m;
- every alternative world the solver returns (a counterexample: it satisfies the clues asked about but is
  not the true world) proves a[:f] + K insufficient for its first false candidate f, as long as it
  satisfies K; so m starts above the best cached bound and each check either proves m (UNSAT) or returns
  a counterexample that raises the bound;
- every UNSAT answer comes with a core (a subset of the assumed clues that is already sufficient), which
  bounds m from above for this round and the next ones;
- the solver is hinted with the true world, so counterexamples stay close to it and satisfy long prefixes;
- before any solver call, cheap alternatives to the truth (one piece elsewhere at one time, two motives
  traded, another murder the same movements allow) are enumerated with bitmasks of the candidates they
  falsify; those that pass a full check serve as counterexamples too (about half the solver calls saved).
Every decision is a fact about clue sets (sufficient or not), never about which counterexample the solver
happened to find, so the kept set does not depend on the solver's choices, with one caveat: OR-Tools
sometimes returns an UNSAT core that is not unsatisfiable, so the kept set is checked once at the end and,
when a wrong core shows, deletion reruns with every core verified (minimize_clues).

Speed (profiled at the original's 3-player sizes): about 3/4 of the time is CP-SAT calls of ~4-5 ms
each, mostly fixed cost for loading the model, so the work went into fewer and smaller calls: one model
per puzzle with clue literals as assumptions; presolve, symmetry, probing and LP off (60 -> 5 ms per
call); clause-only encoding with shared occupancy literals for 'the murderer'-like refs (model 5.7k ->
2.9k variables); the bounds above (about 2x fewer calls than linear deletion); a richer-clue budget of a
quarter of the basic facts per type (a larger pool mostly costs solver time).
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from collections.abc import Callable, Iterator

from ortools.sat.python import cp_model

from rlvr_gym.envs.temporal_clue.clues import (
    At, Clue, Either, HasMotive, Iff, Moved, MovedWeapon, Question, Ref, SameRoom, SolutionFact, Spatial,
    TogetherOnce,
)
from rlvr_gym.envs.temporal_clue.config import TemporalClueConfig
from rlvr_gym.envs.temporal_clue.elements import DIRECTIONS, VICTIM, World
from rlvr_gym.envs.temporal_clue.model import WorldModel, clue_holds, resolve_ref, world_violations
from rlvr_gym.envs.temporal_clue.puzzle import Puzzle
from rlvr_gym.envs.temporal_clue.questions import answer_statement, choose_questions, stated_facts
from rlvr_gym.envs.temporal_clue.render import clue_text, render_prompt
from rlvr_gym.envs.temporal_clue.world import NoMurder, make_setting, ordered_pieces, simulate_world
from rlvr_gym.envs.seeding import item_seed

__all__ = ["generate_puzzle", "generate_puzzles", "iter_puzzles", "stop_workers", "sequence_id", "puzzle_seed",
           "candidate_clues", "minimize_clues", "removal_bias", "make_questions"]

WORLD_TRIES = 5  # fresh nights (or settings, after NIGHT_TRIES nights without a murder) to try


def puzzle_seed(seed: int, index: int) -> int:
    """Seed of item `index` in the sequence started by `seed` (envs/seeding.py, namespace "temporal-clue")."""
    return item_seed("temporal-clue", seed, index)


# ----- candidate clues -----
def _plain_ref(piece: str, world: World) -> Ref:
    s = world.setting
    if piece == VICTIM:
        return Ref("victim", VICTIM)
    return Ref("suspect", piece) if piece in s.suspects else Ref("weapon", piece)


def _refs(piece: str, world: World) -> list[Ref]:
    """Every way to refer to a piece: its name, and 'the murderer' / 'the murder weapon' / its motive."""
    s, out = world.setting, [_plain_ref(piece, world)]
    if piece == world.murderer:
        out.append(Ref("murderer"))
    if piece == world.weapon:
        out.append(Ref("murder_weapon"))
    if piece in s.suspects and len(s.motives) > 1:
        out.append(Ref("motive", world.motives[piece]))
    return out


def _pair_ok(a: Ref, pa: str, b: Ref, pb: str, world: World) -> bool:
    """Two refs of two different pieces; a shared-motive ref must not be satisfiable by the other piece."""
    if pa == pb:
        return False
    for ref, other in ((a, pb), (b, pa)):
        if ref.kind == "motive" and other in world.setting.suspects and world.motives[other] == ref.name:
            return False
    return True


def candidate_clues(world: World, allowed: tuple[str, ...], rng: random.Random) -> list[Clue]:
    """True clues about `world` of the allowed types: every basic fact (solution facts, each piece's room
    at each time, each motive) plus a random sample of each richer type. No duplicates; order is
    deterministic given rng."""
    s, w = world.setting, world
    T, R = len(s.times), len(s.rooms)
    pieces = ordered_pieces(s)
    chars = [p for p in pieces if p not in s.weapons]
    out: dict[Clue, None] = {}  # ordered set (insertion order, never hash order)

    if "SolutionFact" in allowed:
        facts = [SolutionFact("suspect", w.murderer), SolutionFact("weapon", w.weapon), SolutionFact("room", w.room)]
        if T > 1:
            facts.append(SolutionFact("time", w.time))
        if len(s.motives) > 1:
            facts.append(SolutionFact("motive", w.motives[w.murderer]))
        out.update(dict.fromkeys(facts))
    if "At" in allowed:
        out.update(dict.fromkeys(At(_plain_ref(p, w), w.where(p, t), t) for p in pieces for t in range(T)))
    if "HasMotive" in allowed and len(s.motives) > 1:
        out.update(dict.fromkeys(HasMotive(sus, w.motives[sus]) for sus in s.suspects))
    budget = max(6, len(out) // 4)  # per richer type; a larger pool mostly costs solver time (measured)

    def sample(items: list, k: int = budget) -> list:
        return items if len(items) <= k else rng.sample(items, k)

    def part_ref(p: str) -> Ref:
        """A ref for one part of an either/iff clue: never 'a suspect motivated by M' for a motive several
        suspects share, so that no sentence leaves open whether its two parts speak of the same suspect."""
        ref = rng.choice(_refs(p, w))
        return _plain_ref(p, w) if ref.kind == "motive" and s.motive_holders(ref.name) > 1 else ref

    def true_at() -> At:
        p, t = rng.choice(pieces), rng.randrange(T)
        return At(part_ref(p), w.where(p, t), t)

    def false_at() -> At | None:
        if R < 2:
            return None
        p, t = rng.choice(pieces), rng.randrange(T)
        at = At(part_ref(p), rng.choice([r for r in range(R) if r != w.where(p, t)]), t)
        return None if clue_holds(at, w) else at

    if "At" in allowed:
        fancy = [At(ref, w.where(p, t), t) for p in pieces for ref in _refs(p, w)[1:] for t in range(T)]
        out.update(dict.fromkeys(sample(fancy)))
    if "Either" in allowed:
        found = []
        for _ in range(budget):
            a, b = true_at(), false_at()
            if b is not None:
                pair = (a, b) if rng.random() < 0.5 else (b, a)
                found.append(Either(*pair, exclusive=rng.random() < 0.75))
        out.update(dict.fromkeys(found))
    if "Iff" in allowed:
        found = []
        for _ in range(budget):
            a, b = (true_at(), true_at()) if rng.random() < 0.5 else (false_at(), false_at())
            if a is not None and b is not None and a != b:
                found.append(Iff(a, b))
        out.update(dict.fromkeys(found))

    def pairs_of(items: list[str]) -> list[tuple[str, str]]:
        return [(p, q) for i, p in enumerate(items) for q in items[i + 1:]]

    def ref_pair(p: str, q: str, swap: bool = True) -> tuple[Ref, Ref, bool] | None:
        """Refs for pieces p and q, randomly swapped (then the third item is True)."""
        options = [(a, b) for a in _refs(p, w) for b in _refs(q, w) if _pair_ok(a, p, b, q, w)]
        if not options:
            return None
        a, b = rng.choice(options)
        return (b, a, True) if swap and rng.random() < 0.5 else (a, b, False)

    if "SameRoom" in allowed:
        found = []
        for p, q in sample([(p, q) for p, q in pairs_of(list(pieces)) if any(
                w.where(p, t) == w.where(q, t) for t in range(T))], budget * 2):
            t = rng.choice([t for t in range(T) if w.where(p, t) == w.where(q, t)])
            refs = ref_pair(p, q)
            if refs:
                found.append(SameRoom(refs[0], refs[1], t))
        out.update(dict.fromkeys(sample(found)))
    if "TogetherOnce" in allowed and T > 1:
        found = []
        for p, q in pairs_of(list(pieces)):
            rooms = sorted({w.where(p, t) for t in range(T) if w.where(p, t) == w.where(q, t)})
            if rooms and (refs := ref_pair(p, q)):
                found.append(TogetherOnce(refs[0], refs[1], rng.choice(rooms)))
        out.update(dict.fromkeys(sample(found)))
    moves = [(p, t) for p in pieces for t in range(1, T) if w.where(p, t - 1) != w.where(p, t)]
    if "Moved" in allowed:
        found = [Moved(rng.choice(_refs(p, w)), w.where(p, t - 1), w.where(p, t), t) for p, t in moves if p in chars]
        out.update(dict.fromkeys(sample(found)))
    if "MovedWeapon" in allowed:
        found = []
        for p, t in moves:
            if p in s.weapons:
                a, b = w.where(p, t - 1), w.where(p, t)
                carriers = [sus for sus in s.suspects if w.where(sus, t - 1) == a and w.where(sus, t) == b]
                if carriers:
                    sus = rng.choice(carriers)
                    options = [(x, y) for x in _refs(sus, w) for y in _refs(p, w) if _pair_ok(x, sus, y, p, w)]
                    found.append(MovedWeapon(*rng.choice(options), a, b, t))
        out.update(dict.fromkeys(sample(found)))
    if "Spatial" in allowed:
        found = []
        for p, q in sample(pairs_of(list(pieces)), budget * 4):
            for t in rng.sample(range(T), T):
                rp, rq = w.where(p, t), w.where(q, t)
                dirs = [d for d in DIRECTIONS if s.neighbour(rq, d) == rp]
                if dirs and (refs := ref_pair(p, q)):
                    a, b, swapped = refs  # p is dirs[0] of q
                    found.append(Spatial(a, b, _opposite(dirs[0]) if swapped else dirs[0], t))
                    break
        out.update(dict.fromkeys(sample(found)))
    return list(out)


def _opposite(direction: str) -> str:
    return {"north": "south", "south": "north", "east": "west", "west": "east"}[direction]


def removal_bias(clue: Clue) -> float:
    """Lower is removed first. The original's biases with each richer type shifted so that the kept clue
    mix matches the original release (our candidate pools differ in size and shape from the original's,
    so its biases alone kept 0.5x its share of either/iff clues and 2x of together-at-some-time ones).
    Tuned on train_candidates.json over puzzles of seed 7 and 11 (benchmarks/results/
    temporal_clue_fidelity.md has the table); original value -> ours:
        location -0.15 -> -0.10, murderer / murder weapon location -0.1 -> -0.05,
        either/or: mean of its parts + 0.1 -> + 0.37, if-and-only-if: + 0.2 -> + 0.53,
        same room 0.5 -> 0.23, together once 0.8 -> 0.2 (both + 1.5 with the murderer / murder weapon),
        moves 0.1 / 0.2 -> 0.3 / 0.4, weapon moves 0.2 / 0.35 -> 0.3 / 0.45, spatial 0.2 -> 0.15.
    """
    if isinstance(clue, SolutionFact):
        return -0.2
    if isinstance(clue, At):
        return -0.05 if clue.ref.kind in ("murderer", "murder_weapon") else -0.10
    if isinstance(clue, HasMotive):
        return 0.0
    if isinstance(clue, Either):
        return (removal_bias(clue.a) + removal_bias(clue.b)) / 2 + 0.37
    if isinstance(clue, Iff):
        return (removal_bias(clue.a) + removal_bias(clue.b)) / 2 + 0.53
    murder = lambda *refs: any(r.kind in ("murderer", "murder_weapon") for r in refs)  # noqa: E731
    if isinstance(clue, SameRoom):
        return 0.23 + (1.5 if murder(clue.a, clue.b) else 0.0)
    if isinstance(clue, TogetherOnce):
        return 0.2 + (1.5 if murder(clue.a, clue.b) else 0.0)
    if isinstance(clue, Moved):
        return 0.4 if clue.ref.kind in ("murderer", "motive") else 0.3
    if isinstance(clue, MovedWeapon):
        return 0.45 if murder(clue.actor, clue.weapon) else 0.3
    if isinstance(clue, Spatial):
        return 0.15
    raise TypeError(f"unknown clue type {type(clue).__name__}")


# ----- minimisation -----
class InsufficientClues(Exception):
    """All candidates together still admit another world."""


def minimize_clues(model: WorldModel, world: World, keep_order: list[Clue], stats: dict | None = None,
                   local_alternatives: bool = True, target: list[Clue] | None = None,
                   verify_cores: bool = False) -> list[Clue]:
    """The subset of `keep_order` that greedy deletion from the back (last = removed first) keeps: every
    kept clue is necessary, and the kept set admits `world` only. Raises InsufficientClues when the whole
    list admits another world.

    With `target` (statements true in `world`, e.g. the answers of the asked questions) "sufficient" means
    that every world the clues admit makes all target statements true, instead of being `world` itself;
    a counterexample is then a world that falsifies some target statement.

    Round invariant: a[:hi] + K is sufficient (K = kept so far). The round finds m, the smallest prefix
    length with a[:m] + K sufficient, keeps a[m-1] and continues below it. Bounds on m:
    - lower: a counterexample satisfying K and a[:f] (f = its first false candidate) gives m > f;
    - upper: an UNSAT answer comes with a core (assumptions that alone are unsatisfiable); a[:u] + K
      containing the core is sufficient, so m <= u.
    A round probes a[:p] + K for p in [low, hi): SAT raises low above p, UNSAT lowers hi to at most p; it
    ends when low == hi (often with no call at all: cached counterexamples and the last core already
    meet).

    Lower bounds are exact (a counterexample is a world, checked clue by clue in Python), so every kept
    clue is proven necessary. Upper bounds trust CP-SAT's cores, and OR-Tools 9.15 returns a core that is
    not unsatisfiable in a few percent of UNSAT answers (measured: 21 of 346 at 4 players). So the kept set
    is checked once at the end (one solver call); when that check fails, or a wrong core shows up as
    contradictory bounds, deletion runs again with every core verified by a solver call before it is
    used (`verify_cores`; about 1.6x the CPU time, so it is the fallback, not the default). Either way
    the result is subset-minimal and sufficient; with verified cores it is exactly greedy deletion's.
    """
    stats = stats if stats is not None else {}
    if not verify_cores:
        try:
            kept = _greedy_deletion(model, world, keep_order, stats, local_alternatives, target, False)
            differs = model.exclusion(world) if target is None else model.exclusion_of(target)
            status, _ = model.run([model.literal(c) for c in kept] + [differs])
            stats["final_checks"] = stats.get("final_checks", 0) + 1
            if status == cp_model.INFEASIBLE:
                return kept
        except _ContradictoryBounds:
            pass
        stats["core_reruns"] = stats.get("core_reruns", 0) + 1
    return _greedy_deletion(model, world, keep_order, stats, local_alternatives, target, True)


class _ContradictoryBounds(RuntimeError):
    """A counterexample satisfies a clue set that a core claimed sufficient: the core was wrong."""


def _greedy_deletion(model: WorldModel, world: World, keep_order: list[Clue], stats: dict,
                     local_alternatives: bool, target: list[Clue] | None, verify_cores: bool) -> list[Clue]:
    """minimize_clues' rounds (see there); `verify_cores` checks each core with a solver call before use."""
    stats = stats if stats is not None else {}
    for key in ("sat", "unsat", "skipped"):
        stats.setdefault(key, 0)
    pool = keep_order
    n = len(pool)
    model.hint(world)
    differs = model.exclusion(world) if target is None else model.exclusion_of(target)
    lits = [model.literal(c) for c in pool]
    kept: list[int] = []
    kept_lits: list = []
    kept_index = set()  # literal indices of kept clues (membership only)
    kept_mask = 0
    # Counterexamples as [mask of false candidates, world, exact]: the solver's (exact) and cheap local
    # alternatives to the truth (mask from the clues that can change; made exact before use).
    cexs: list[list] = _local_alternatives(world, pool) if local_alternatives else []

    def false_mask(alt: World) -> int:
        """Bits of the candidates false in `alt`, for the ones that still matter: undecided (below hi)
        and kept. Clues at or above hi that were not kept are gone and are never asked about again."""
        mask = 0
        for i in [*range(min(hi, n)), *kept]:
            if not clue_holds(pool[i], alt):
                mask |= 1 << i
        return mask

    def lower_bound() -> int:
        """max over counterexamples satisfying K of (first false candidate + 1), all verified exactly."""
        nonlocal cexs
        while True:
            best, best_f = None, -1
            for entry in cexs:
                mask = entry[0]
                if mask & kept_mask:
                    continue
                f = (mask & -mask).bit_length() - 1 if mask else n
                if f > best_f:
                    best, best_f = entry, f
            if best is None:
                return 0
            if best[2]:
                return best_f + 1
            # A local alternative: check it in full before it may count as a proof.
            if world_violations(best[1]) or (target is not None and all(clue_holds(st, best[1]) for st in target)):
                cexs = [e for e in cexs if e is not best]
            else:
                best[0], best[2] = false_mask(best[1]), True

    def probe(m: int):
        """Check a[:m] + K. Returns (True, new lower bound) or (False, the core's candidate indices)."""
        assumptions = lits[:m] + kept_lits + [differs]
        status, solver = model.run(assumptions)
        if status == cp_model.INFEASIBLE:
            stats["unsat"] += 1
            core = set(solver.sufficient_assumptions_for_infeasibility())
            if verify_cores and len(core) < len(assumptions):
                by_index = {lit.index: lit for lit in assumptions}
                if model.run([by_index[ix] for ix in core if ix in by_index])[0] != cp_model.INFEASIBLE:
                    stats["wrong_cores"] = stats.get("wrong_cores", 0) + 1
                    core = {lit.index for lit in assumptions}  # the probe itself is the proof
            first_with: dict[int, int] = {}
            for i in range(m):
                first_with.setdefault(lits[i].index, i)
            return False, sorted(first_with[ix] for ix in core if ix in first_with and ix not in kept_index)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            raise TimeoutError(f"CP-SAT gave no answer (status {solver.status_name(status)})")
        stats["sat"] += 1
        alt = model.extract_world(solver)
        mask = false_mask(alt)
        cexs.append([mask, alt, True])
        return True, ((mask & -mask).bit_length() if mask else n + 1)

    hi = n
    sat, core = probe(n)
    if sat:
        raise InsufficientClues(f"{n} candidate clues admit another world")
    hi = core[-1] + 1 if core else 0
    while hi > 0:
        low = lower_bound()
        if low >= hi:
            stats["skipped"] += 1
        while low < hi:
            # Bisect a wide gap; near the bounds probe the lower one (SAT answers there are cheap).
            sat, result = probe(low if hi - low <= 8 else (low + hi) // 2)
            if sat:
                low = result
            else:
                core = result
                hi = core[-1] + 1 if core else 0
        if low > hi:
            if verify_cores:
                raise RuntimeError("inconsistent bounds with verified cores: a counterexample satisfies a "
                                   "sufficient clue set")
            raise _ContradictoryBounds()
        if low == 0:
            break
        keep = hi - 1
        kept.append(keep)
        kept_lits.append(lits[keep])
        kept_index.add(lits[keep].index)
        kept_mask |= 1 << keep
        cexs = [e for e in cexs if not e[0] & kept_mask]
        # The last core lies within a[:keep + 1] + K: it bounds the next round too.
        core = [i for i in core if i < keep]
        hi = core[-1] + 1 if core else 0
    return [pool[i] for i in sorted(kept)]


def _clue_deps(clue: Clue, world: World) -> list[tuple[str, int]]:
    """(piece, time) locations whose change may change the clue's truth (motives and murder fixed)."""
    T = len(world.setting.times)
    pieces = lambda *refs: [p for r in refs for p in resolve_ref(r, world)]  # noqa: E731
    if isinstance(clue, At):
        return [(p, clue.time) for p in pieces(clue.ref)]
    if isinstance(clue, (Either, Iff)):
        return _clue_deps(clue.a, world) + _clue_deps(clue.b, world)
    if isinstance(clue, (SameRoom, Spatial)):
        return [(p, clue.time) for p in pieces(clue.a, clue.b)]
    if isinstance(clue, TogetherOnce):
        return [(p, t) for p in pieces(clue.a, clue.b) for t in range(T)]
    if isinstance(clue, Moved):
        return [(p, t) for p in pieces(clue.ref) for t in (clue.time - 1, clue.time) if t >= 0]
    if isinstance(clue, MovedWeapon):
        return [(p, t) for p in pieces(clue.actor, clue.weapon) for t in (clue.time - 1, clue.time) if t >= 0]
    return []


def _local_alternatives(world: World, pool: list[Clue]) -> list[list]:
    """Worlds next to the truth: one piece in another room at one time, two suspects' motives traded,
    or another murder the same movements allow. Each comes as [mask of the candidates it falsifies, world,
    False]: the mask only looks at the clues that the change can affect and the rules are only checked
    locally, so an alternative is verified in full (world_violations, every clue) before it proves
    anything. They cost a few clue checks each and often spare a solver call."""
    s, w = world.setting, world
    T, R = len(s.times), len(s.rooms)
    loc = world.locations
    index: dict[tuple[str, int], list[int]] = {}
    for i, clue in enumerate(pool):
        for key in _clue_deps(clue, world):
            index.setdefault(key, []).append(i)

    def mask_of(alt: World, candidates) -> int:
        mask = 0
        for i in candidates:
            if not clue_holds(pool[i], alt):
                mask |= 1 << i
        return mask

    reach = [(r, *s.neighbours(r)) for r in range(R)]

    def near(a: int, b: int) -> bool:
        return b in reach[a]

    def carried(weapon_path, suspect_paths, u: int) -> bool:
        a, b = weapon_path[u - 1], weapon_path[u]
        return a == b or any(path[u - 1] == a and path[u] == b for path in suspect_paths)

    out = []
    for p in ordered_pieces(s):
        for t in range(T):
            for r in range(R):
                path = loc[p][:t] + (r,) + loc[p][t + 1:]
                if r == loc[p][t] or (t > 0 and not near(path[t - 1], r)) or (t + 1 < T and not near(r, path[t + 1])):
                    continue
                steps = [u for u in (t, t + 1) if 1 <= u < T]
                if p == VICTIM:
                    if t >= w.time:
                        continue
                elif p in s.suspects:
                    if t == w.time and (p == w.murderer or r == w.room):
                        continue
                    suspect_paths = [path if q == p else loc[q] for q in s.suspects]
                    if not all(carried(loc[wp], suspect_paths, u) for wp in s.weapons for u in steps):
                        continue
                else:
                    if p == w.weapon and t == w.time:
                        continue
                    suspect_paths = [loc[q] for q in s.suspects]
                    if not all(carried(path, suspect_paths, u) for u in steps):
                        continue
                alt = replace(w, locations={**loc, p: path})
                out.append([mask_of(alt, index.get((p, t), ())), alt, False])

    # Two suspects with different motives trade them (the counts stay right).
    about_motives = [i for i, c in enumerate(pool) if _mentions(c, ("motive",))]
    for i, a in enumerate(s.suspects):
        for b in s.suspects[i + 1:]:
            if w.motives[a] != w.motives[b]:
                alt = replace(w, motives={**w.motives, a: w.motives[b], b: w.motives[a]})
                out.append([mask_of(alt, about_motives), alt, False])
    # Another murder that the same movements allow (e.g. a second weapon in the room).
    about_murder = [i for i, c in enumerate(pool) if _mentions(c, ("murderer", "murder_weapon", "solution"))]
    for t in range(T):
        r = loc[VICTIM][t]
        present = [q for q in s.suspects if loc[q][t] == r]
        if len(present) != 1 or any(loc[VICTIM][u] != r for u in range(t, T)):
            continue
        for weapon in s.weapons:
            if loc[weapon][t] == r and (present[0], weapon, r, t) != (w.murderer, w.weapon, w.room, w.time):
                alt = replace(w, murderer=present[0], weapon=weapon, room=r, time=t)
                out.append([mask_of(alt, about_murder), alt, False])
    return out


def _mentions(clue: Clue, kinds: tuple[str, ...]) -> bool:
    """Does the clue refer to motives / the murderer / the murder weapon / a solution fact ("solution")?"""
    if isinstance(clue, SolutionFact):
        return "solution" in kinds or ("motive" in kinds and clue.field == "motive")
    if isinstance(clue, HasMotive):
        return "motive" in kinds
    if isinstance(clue, (Either, Iff)):
        return _mentions(clue.a, kinds) or _mentions(clue.b, kinds)
    refs = [v for v in vars(clue).values() if isinstance(v, Ref)]
    return any(ref.kind in kinds for ref in refs)


# ----- questions -----
def make_questions(world: World, kept: list[Clue], model: WorldModel, config: TemporalClueConfig,
                   rng: random.Random, stats: dict | None = None) -> list[Question]:
    """Main questions (solution facts no kept clue states), then bonus questions that are neither stated
    by a clue nor implied (questions.py), at most MAX_QUESTIONS in all."""
    return choose_questions(world, kept, model, rng, max_bonus=config.bonus_questions,
                            bonus_rate=config.bonus_rate, stats=stats)


# ----- the puzzle -----
def generate_puzzle(config: TemporalClueConfig, seed: int, id: str | None = None) -> Puzzle:
    """One puzzle, identical for identical (config, seed) in any process."""
    if not isinstance(config, TemporalClueConfig):
        raise TypeError(f"expected a TemporalClueConfig, got {type(config).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    config.validate()
    start = time.perf_counter()
    rng = random.Random(f"temporal-clue:{seed}")
    sizes = config.draw_sizes(rng)
    stats: dict = {}
    setting = model = None
    for attempt in range(WORLD_TRIES):
        if setting is None:
            setting, motives = make_setting(sizes["suspects"], sizes["weapons"], sizes["rooms"], sizes["times"],
                                            sizes["time_step"], sizes["motive_mode"], sizes["motives"], rng)
            model = WorldModel(setting)
        try:
            world = simulate_world(setting, motives, rng)
        except NoMurder:  # as the original: after NIGHT_TRIES quiet nights, start over with a new setting
            setting = None
            continue
        pool = candidate_clues(world, tuple(config.clue_types), rng)
        keys = [removal_bias(c) + rng.random() for c in pool]
        keep_order = [c for _, _, c in sorted((-k, i, c) for i, (k, c) in enumerate(zip(keys, pool)))]
        try:
            kept = minimize_clues(model, world, keep_order, stats)
            break
        except InsufficientClues:
            continue
    else:
        if setting is None:
            raise ValueError(f"no night with a murder in {WORLD_TRIES} settings of these sizes {sizes}: the "
                             "murderer must be alone with Mr. Boddy; use more rooms or fewer suspects")
        raise ValueError(f"clue types {list(config.clue_types)} could not pin down a unique night in "
                         f"{WORLD_TRIES} tries; allow more clue types (At, HasMotive and SolutionFact always can)")
    rng.shuffle(kept)
    questions = make_questions(world, kept, model, config, rng, stats)
    kept_for_world = len(kept)
    if config.unique_over == "questions":
        # Same questions, fewer clues: greedy deletion again over the whole candidate pool, in the same
        # removal order, now only requiring that every asked answer be forced. Clues that state an asked
        # answer outright are left out of the pool; the world-minimal set avoids them too (that is how the
        # questions were chosen), so the pool is sufficient.
        target = [answer_statement(q, setting) for q in questions]
        asked = set(target)
        pool_for_questions = [c for c in keep_order if not stated_facts([c]) & asked]
        kept = minimize_clues(model, world, pool_for_questions, stats, target=target)
        rng.shuffle(kept)
    texts = [clue_text(c, setting) for c in kept]
    prompt = render_prompt(setting, texts, questions, clues=kept, verbose=config.verbose_rules)
    meta = {
        "seconds": round(time.perf_counter() - start, 4), "candidates": len(pool), "kept": len(kept),
        "kept_for_world": kept_for_world, "unique_over": config.unique_over,
        "solver_sat": stats["sat"], "solver_unsat": stats["unsat"], "rounds_without_solver": stats["skipped"],
        "question_solver_calls": stats.get("question_solver_calls", 0),
        "world_tries": attempt + 1,
        "sizes": sizes, "nights": world.meta.get("nights"),
    }
    return Puzzle(id=id or f"tc-{config.name}-{seed}", setting=setting, clues=tuple(kept), clue_texts=tuple(texts),
                  questions=tuple(questions), prompt=prompt, world=world, difficulty=config.name, seed=seed,
                  meta=meta)


def sequence_id(config: TemporalClueConfig, seed: int, index: int) -> str:
    """The id of item ``index`` of the sequence ``seed``."""
    return f"tc-{config.name}-s{seed}-i{index}"


def iter_puzzles(config: TemporalClueConfig, n: int, seed: int, workers: int = 1) -> Iterator[tuple[int, Puzzle]]:
    """``(i, puzzle)`` for items 0..n-1 of the sequence `seed`, in index order (item i is
    ``generate_puzzle(config, puzzle_seed(seed, i), sequence_id(config, seed, i))``), so the output is the same for
    any number of worker processes. With workers > 1 a bounded window of items is in flight; finished ones wait in
    a buffer until every earlier item is out. When iteration ends early (Ctrl-C, an error, ``close()``) the worker
    processes are terminated at once (``stop_workers``): none is left running."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    jobs = ((config, puzzle_seed(seed, i), sequence_id(config, seed, i)) for i in range(n))
    if workers == 1 or n <= 1:
        for i, job in enumerate(jobs):
            yield i, generate_puzzle(*job)
        return
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    window = workers * 4
    buffer: dict[int, Puzzle] = {}
    next_submit = next_yield = 0
    pending: dict = {}
    pool = ProcessPoolExecutor(max_workers=min(workers, n), initializer=_worker_ignores_sigint)
    finished = False
    try:
        while next_yield < n:
            while next_submit < n and len(pending) + len(buffer) < window:
                job = (config, puzzle_seed(seed, next_submit), sequence_id(config, seed, next_submit))
                pending[pool.submit(_generate_job, job)] = next_submit
                next_submit += 1
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                buffer[pending.pop(future)] = future.result()
            while next_yield in buffer:
                yield next_yield, buffer.pop(next_yield)
                next_yield += 1
        finished = True
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:   # Ctrl-C, an error, or the caller stopped iterating: stop the workers now, not after their solves
            stop_workers(pool)


def _worker_ignores_sigint() -> None:
    """Worker initializer: Ctrl-C reaches the whole process group, but only the parent acts on it (it terminates
    the workers), so a worker is never left half-way through a job with a KeyboardInterrupt to report."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_workers(pool, timeout_s: float = 1.0) -> None:
    """Terminate the worker processes of a ProcessPoolExecutor at once (a running CP-SAT solve cannot be cancelled
    otherwise) and shut the pool down without waiting for queued jobs. A second Ctrl-C during these few
    milliseconds is ignored so that no worker is left behind."""
    import signal
    import threading

    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(timeout_s)
            if process.is_alive():
                process.kill()
                process.join(timeout_s)
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)


def generate_puzzles(config: TemporalClueConfig, n: int, seed: int, workers: int = 1,
                     progress: Callable[[int, int], None] | None = None) -> list[Puzzle]:
    """Items 0..n-1 of the sequence `seed` as a list (``iter_puzzles``); workers > 1 uses processes, with the same
    output."""
    out: list[Puzzle] = []
    for i, puzzle in iter_puzzles(config, n, seed, workers):
        out.append(puzzle)
        if progress:
            progress(i + 1, n)
    return out


def _generate_job(job: tuple) -> Puzzle:
    return generate_puzzle(*job)
