"""Deduction on one Temporal Clue puzzle with the CP-SAT model: the true world, forced facts, why a fact follows
from the clues, and the next hint for a player's notepad.

    deducer = Deducer(puzzle)
    hint = deducer.hint(notepad)          # Hint(kind="mistake" | "fact" | "done" | "none", ...)
    deducer.explain(fact, notepad)        # (number of clues named, "it follows from clues 3 and 7 ...")

Premises are the puzzle's clues followed by the *givens*: the facts the notepad confirms by the player's own
marks (``hint`` first checks the marks against the true world, so givens are true). Every solver call goes
through ``WorldModel.run`` (the package's one CP-SAT driver) with the premises as assumptions, so one model
serves every question.

Used by the terminal game (cli/play.py); the notepad itself is envs/temporal_clue/notepad.py.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Any

__all__ = ["Deducer", "Hint", "HINT_SECONDS", "HINT_CANDIDATES"]

HINT_SECONDS = 4.0  # time budget of one hint (a solver call in progress may overrun it)
HINT_CANDIDATES = 12  # forced facts compared (by the size of their unsat core) when choosing a hint
SOLVE_SECONDS = 30.0  # limit of one solver call


@dataclass(frozen=True)
class Hint:
    """What ``Deducer.hint`` found.

    kind: "mistake" (a mark contradicts the true world: key, option, value say which), "fact" (a forced fact the
    notepad lacks: fact, key, option and why), "done" (the notepad already confirms everything), "none" (no fact
    could be proven in time), "no-world" (no world fits the clues)."""

    kind: str
    fact: Any = None
    key: Any = None
    option: Any = None
    value: bool | None = None
    why: str = ""


class Deducer:
    """Solver-backed deductions on one puzzle (see the module docstring)."""

    def __init__(self, puzzle, *, hint_seconds: float = HINT_SECONDS):
        self.puzzle = puzzle
        self.setting = puzzle.setting
        self.clues = list(puzzle.clues)
        self.hint_seconds = hint_seconds
        self._model = None
        self._world = puzzle.world
        self._world_checked = puzzle.world is not None

    # ----- the solver
    def model(self):
        """The puzzle's WorldModel, built on first use."""
        from rlvr_gym.envs.temporal_clue.model import WorldModel

        if self._model is None:
            self._model = WorldModel(self.setting)
        return self._model

    def truth(self):
        """The true world: the puzzle's, or (original puzzles) the one the solver finds; None when none fits."""
        if not self._world_checked:
            self._world_checked = True
            self._world = self.model().solve(self.clues)
        return self._world

    def premises(self, notepad) -> list:
        """The clues, then the facts the notepad confirms by the player's marks (givens)."""
        return self.clues + [notepad.fact(key, option) for key, option, value in notepad.explicit_marks() if value]

    def _solve(self, premises: list, extra: list, presolve: bool = True):
        """(infeasible, solver) for the premises' literals plus `extra` literals. presolve=False is ~4x faster on
        questions about a few premises (measured: 7 vs 30 ms on a medium case) but slower on the whole clue set."""
        from ortools.sat.python import cp_model

        model = self.model()
        status, solver = model.run([model.literal(p) for p in premises] + list(extra), presolve=presolve,
                                   time_limit=SOLVE_SECONDS)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE, cp_model.INFEASIBLE):
            raise TimeoutError("the solver gave no answer in time")
        return status == cp_model.INFEASIBLE, solver

    def _core(self, premises: list, fact) -> list[int] | None:
        """Indices of premises that together force `fact` (an unsatisfiable core of premises + not-fact, not
        necessarily minimal), or None when the premises do not force it."""
        model = self.model()
        infeasible, solver = self._solve(premises, [~model.literal(fact)], presolve=len(premises) > 8)
        if not infeasible:
            return None
        core = set(solver.sufficient_assumptions_for_infeasibility())
        return [i for i, p in enumerate(premises) if model.literal(p).index in core]

    def _backbone(self, premises: list, facts: list, deadline: float | None = None) -> list:
        """The facts (each true in the true world) that the premises force, in the given order.

        Backbone search: ask for a world of the premises where at least one remaining fact is false; drop the
        facts it falsifies; when no such world exists, every remaining fact is forced."""
        model = self.model()
        remaining = list(facts)
        while remaining:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError("out of time for this hint")
            lits = [model.literal(f) for f in remaining]
            infeasible, solver = self._solve(premises, [model.any_false(lits)], presolve=False)
            if infeasible:
                return remaining
            remaining = [f for f, lit in zip(remaining, lits) if solver.boolean_value(lit)]
        return []

    # ----- hints
    def hint(self, notepad) -> Hint:
        """Point at a wrong mark if there is one; else find one forced fact the notepad lacks.

        Which fact (candidates in hint order, murder-revealing facts last): one a clue states outright; else one
        step: a fact the notepad's confirmed facts force with the rules alone or with one clue (``_one_step``);
        else a deeper one, explained by a small set of clues (``_deep_step``). Half the time budget goes to the
        one-step search."""
        from rlvr_gym.envs.temporal_clue.notepad import hint_ranked, mistakes

        world = self.truth()
        if world is None:
            return Hint("no-world")
        wrong = mistakes(notepad, world)
        if wrong:
            key, option, value = wrong[0]
            return Hint("mistake", key=key, option=option, value=value)
        ranked = hint_ranked(notepad, world, stated=tuple(self.clues))
        candidates = [fact for _, fact in ranked]
        if not candidates:
            return Hint("done")
        if candidates[0] in self.clues:
            fact, why = candidates[0], f"clue {self.clues.index(candidates[0]) + 1} states it."
        else:
            start = time.monotonic()
            fact, why = (self._one_step(notepad, ranked, start + self.hint_seconds / 2)
                         or self._deep_step(notepad, candidates, start + self.hint_seconds) or (None, ""))
        if fact is None:
            return Hint("none")
        key, option = notepad.locate(fact)
        return Hint("fact", fact=fact, key=key, option=option, value=True, why=why)

    def _one_step(self, notepad, ranked: list, deadline: float) -> tuple[object, str] | None:
        """A candidate that what the notepad confirms forces by the rules alone, or together with one clue: the
        first such fact in hint order among the clues scanned within the time budget (the scan stops at the first
        fact short of the murder-revealing tiers). None when there is none.

        For speed each clue is asked only about the facts on pieces it names (all pieces of a kind for 'the
        murderer', 'the suspect motivated by M', 'the murder weapon')."""
        from rlvr_gym.envs.temporal_clue.notepad import MOTIVE

        clues = self.clues
        givens = self.premises(notepad)[len(clues):]
        order = {fact: i for i, (_, fact) in enumerate(ranked)}
        tier = dict((fact, rank) for rank, fact in ranked)
        best = None  # (order, fact, clue index or None)
        for c in [None, *self._clue_order(notepad)]:
            if time.monotonic() > deadline:
                break
            pieces = None if c is None else pieces_named(clues[c], self.setting)
            facts = [f for _, f in ranked if (best is None or order[f] < best[0]) and is_about(f, pieces)]
            if not facts:
                continue
            try:
                forced = self._backbone(givens + ([] if c is None else [clues[c]]), facts, deadline)
            except TimeoutError:
                continue
            if forced and (best is None or order[forced[0]] < best[0]):
                best = (order[forced[0]], forced[0], c)
            if best is not None and tier[best[1]] <= MOTIVE:
                break
        if best is None:
            return None
        _, fact, c = best
        if c is None:
            return fact, ("it follows from the rules of the night (movement, motives, the murder), given what your "
                          "notepad already confirms.")
        alone = not givens or self._core([clues[c]], fact) is not None
        return fact, (f"it follows from clue {c + 1} with the rules of the night (movement, motives, the murder)"
                      + ("" if alone else ", given what your notepad already confirms") + ".")

    def _clue_order(self, notepad) -> list[int]:
        """Clue indices, those about pieces the notepad already places first (they combine with givens), then the
        rest, each group in clue order."""
        placed = {key[1] for key, _, value in notepad.explicit_marks() if value and key[0] in ("at", "motive")}
        named = [pieces_named(c, self.setting) for c in self.clues]
        first = [i for i, p in enumerate(named) if p is None or p & placed]
        return first + [i for i in range(len(named)) if i not in first]

    def _deep_step(self, notepad, candidates: list, deadline: float) -> tuple[object, str] | None:
        """No fact follows from one clue: of the first few candidates, the one whose unsatisfiable core holds the
        fewest clues (looking until half the time left), explained by that core shrunk until the deadline."""
        premises = self.premises(notepad)
        choose_until = time.monotonic() + (deadline - time.monotonic()) / 2
        best = None  # (clues in the core, fact, core)
        examined = 0
        for fact in candidates:
            if best is not None and (examined >= HINT_CANDIDATES or time.monotonic() > choose_until):
                break
            try:
                core = self._core(premises, fact)
            except TimeoutError:
                continue
            if core is None:
                continue  # true in the world we hold but not forced (a case with several solutions)
            examined += 1
            size = sum(k < len(self.clues) for k in core)
            if best is None or size < best[0]:
                best = (size, fact, core)
        if best is None:
            return None
        _, fact, core = best
        return fact, self.explain(fact, notepad, core=core, deadline=deadline)[1]

    def explain(self, fact, notepad, core: list[int] | None = None,
                deadline: float | None = None) -> tuple[float, str] | None:
        """Why the clues force `fact`, as (number of clues named, words); None when they do not force it.

        The clue that states it, else a small set of clues: the solver's unsatisfiable core of clues + givens +
        not-fact (or the `core` given, indices into ``premises(notepad)``), shrunk by dropping one premise at a
        time while the rest still force the fact (jumping to the rest's own core)."""
        clues = self.clues
        if fact in clues:
            return 1, f"clue {clues.index(fact) + 1} states it."
        premises = self.premises(notepad)
        deadline = deadline if deadline is not None else time.monotonic() + self.hint_seconds
        try:
            keep = core if core is not None else self._core(premises, fact)
        except TimeoutError:
            return None
        if keep is None:
            return None
        try:
            for i in list(keep):
                if i not in keep:
                    continue
                if time.monotonic() > deadline:
                    break
                trial = [k for k in keep if k != i]
                trial_core = self._core([premises[k] for k in trial], fact)
                if trial_core is not None:
                    keep = [trial[j] for j in trial_core]
        except TimeoutError:
            pass  # keep the (larger) core
        used = [str(k + 1) for k in keep if k < len(clues)]
        if not used:
            source = "the rules of the night"
        elif len(used) == 1:
            source = f"clue {used[0]} with the rules of the night (movement, motives, the murder)"
        else:
            source = f"clues {', '.join(used[:-1])} and {used[-1]} taken together with the rules of the night"
        if any(k >= len(clues) for k in keep):
            source += ", given what your notepad already confirms"
        return len(used), f"it follows from {source}: every world that fits them has it."


def pieces_named(clue, setting) -> set[str] | None:
    """The pieces a clue is about (None: it may be about any piece, e.g. a solution fact)."""
    from rlvr_gym.envs.temporal_clue.clues import At, HasMotive, Ref

    if isinstance(clue, HasMotive):
        return {clue.suspect}
    out: set[str] = set()
    for f in fields(clue):
        value = getattr(clue, f.name)
        if isinstance(value, At):
            value = value.ref
        if isinstance(value, Ref):
            if value.kind in ("suspect", "weapon", "victim"):
                out.add(value.name)
            elif value.kind == "murder_weapon":
                out.update(setting.weapons)
            else:  # the murderer, a suspect motivated by M
                out.update(setting.suspects)
    return out or None


def is_about(fact, pieces: set[str] | None) -> bool:
    """Whether a fact is about one of `pieces` (any fact when pieces is None)."""
    from rlvr_gym.envs.temporal_clue.clues import At, HasMotive

    if pieces is None:
        return True
    if isinstance(fact, At):
        return fact.ref.name in pieces
    if isinstance(fact, HasMotive):
        return fact.suspect in pieces
    return False
