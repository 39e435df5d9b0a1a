"""The CP-SAT model of one Temporal Clue Setting: the rules of the night, and every clue as a literal.

Variables (all Boolean, one-hot where it says so):
- x[piece][t][r]: `piece` (each suspect, each weapon, VICTIM) is in room r at time index t (one-hot in r);
- m[s][j]: suspect s is motivated by motives[j] (one-hot in j);
- murderer[s], murder_weapon[w], murder_room[r], murder_time[t] (each one-hot).

Rules (the prompt states every one of them; see render.py):
- motives: unique -> a bijection suspects <-> motives; shared -> motive_counts[j] suspects have motives[j];
- at the murder room and time exactly one suspect (the murderer) is present, with VICTIM and the murder
  weapon; VICTIM is in the murder room at the murder time and at every later time;
- characters (suspects and VICTIM) stay or move to an orthogonally adjacent room each step;
- a weapon stays, or moves from A to B only when at least one suspect moved from A to B at that step.

A clue's literal is true iff the clue holds (full reification), so clues can be assumed, negated or
combined. Reference semantics (clues.py): "the murderer"/"the murder weapon"/"the suspect motivated by M"
mean the one such piece; with shared motives "a suspect motivated by M" holds when at least one suspect
with motive M makes the whole statement true. Two-reference statements are read literally (equal rooms,
...); the generator only states them about two different pieces.

`clue_holds(clue, world)` is the same semantics in plain Python, for checking worlds without a solver.
"""

from __future__ import annotations

from collections.abc import Sequence

from ortools.sat.python import cp_model

from rlvr_gym.envs.temporal_clue.clues import (
    At, Clue, Either, HasMotive, Iff, Moved, MovedWeapon, Question, Ref, SameRoom, SolutionFact, Spatial,
    TogetherOnce,
)
from rlvr_gym.envs.temporal_clue.elements import DIRECTIONS, VICTIM, Setting, World

__all__ = ["WorldModel", "answer_question", "clue_holds", "world_violations", "resolve_ref"]


def _check_setting(setting: Setting) -> None:
    if not isinstance(setting, Setting):
        raise TypeError(f"expected a Setting, got {type(setting).__name__}")
    if not setting.suspects or not setting.weapons or not setting.rooms or not setting.times:
        raise ValueError("a Setting needs at least one suspect, weapon, room and time")
    if setting.columns < 1:
        raise ValueError(f"columns must be >= 1, got {setting.columns}")
    if setting.motive_counts is None:
        if len(setting.motives) != len(setting.suspects):
            raise ValueError(
                f"unique motives need one motive per suspect: {len(setting.motives)} motives for "
                f"{len(setting.suspects)} suspects")
    else:
        if len(setting.motive_counts) != len(setting.motives):
            raise ValueError("motive_counts must have one count per motive")
        if sum(setting.motive_counts) != len(setting.suspects) or min(setting.motive_counts) < 0:
            raise ValueError(
                f"motive_counts {setting.motive_counts} must be >= 0 and sum to {len(setting.suspects)} suspects")
    pieces = list(setting.suspects) + list(setting.weapons) + [VICTIM]
    if len(set(pieces)) != len(pieces):
        raise ValueError("suspect, weapon and victim names must be distinct")


class WorldModel:
    """CP-SAT model of a Setting. Solving is deterministic: one worker, fixed random seed."""

    def __init__(self, setting: Setting):
        _check_setting(setting)
        self.setting = setting
        s = setting
        self.suspects = tuple(s.suspects)
        self.weapons = tuple(s.weapons)
        self.pieces = self.suspects + self.weapons + (VICTIM,)
        self.characters = self.suspects + (VICTIM,)
        self.n_rooms, self.n_times = len(s.rooms), len(s.times)
        R, T = range(self.n_rooms), range(self.n_times)
        self.model = m = cp_model.CpModel()
        self._false = m.new_bool_var("false")
        m.add(self._false == 0)
        self._true = ~self._false
        self._and_cache: dict[tuple[int, ...], object] = {}
        self._or_cache: dict[tuple[int, ...], object] = {}
        self._literals: dict[Clue, object] = {}
        self._exclusions: dict[tuple, object] = {}
        self._grids: dict[tuple, list] = {}

        self.x = {p: [[m.new_bool_var(f"x[{p},{t},{r}]") for r in R] for t in T] for p in self.pieces}
        for p in self.pieces:
            for t in T:
                m.add_exactly_one(self.x[p][t])
        self.m = {sus: [m.new_bool_var(f"m[{sus},{mo}]") for mo in s.motives] for sus in self.suspects}
        for sus in self.suspects:
            m.add_exactly_one(self.m[sus])
        for j in range(len(s.motives)):
            column = [self.m[sus][j] for sus in self.suspects]
            if s.motive_counts is None:
                m.add_exactly_one(column)
            else:
                m.add(sum(column) == s.motive_counts[j])
        self.murderer = [m.new_bool_var(f"murderer={sus}") for sus in self.suspects]
        self.murder_weapon = [m.new_bool_var(f"weapon={w}") for w in self.weapons]
        self.murder_room = [m.new_bool_var(f"room={r}") for r in R]
        self.murder_time = [m.new_bool_var(f"time={t}") for t in T]
        for group in (self.murderer, self.murder_weapon, self.murder_room, self.murder_time):
            m.add_exactly_one(group)
        # murder_motive[j]: the murderer is motivated by motives[j] (fully determined, one-hot).
        self.murder_motive = [m.new_bool_var(f"motive={mo}") for mo in s.motives]
        m.add_exactly_one(self.murder_motive)
        for i, sus in enumerate(self.suspects):
            for j in range(len(s.motives)):
                m.add_bool_or([~self.murderer[i], ~self.m[sus][j], self.murder_motive[j]])

        # The murder scene.
        for t in T:
            for r in R:
                scene = self._and([self.murder_time[t], self.murder_room[r]])
                for i, sus in enumerate(self.suspects):
                    # The murderer is there, and any suspect there is the murderer (clauses, no sums).
                    m.add_bool_or([~scene, ~self.murderer[i], self.x[sus][t][r]])
                    m.add_bool_or([~scene, self.murderer[i], ~self.x[sus][t][r]])
                for i, w in enumerate(self.weapons):
                    m.add_bool_or([~scene, ~self.murder_weapon[i], self.x[w][t][r]])
        # VICTIM lies in the murder room from the murder time on.
        for t in T:
            happened = self._or(self.murder_time[: t + 1])
            for r in R:
                m.add_bool_or([~happened, ~self.murder_room[r], self.x[VICTIM][t][r]])

        # Movement: every piece stays or moves to an orthogonal neighbour.
        self._adjacent = [(a, b) for a in R for b in s.neighbours(a)]
        for p in self.pieces:
            for t in T[1:]:
                for r in R:
                    before = [self.x[p][t - 1][q] for q in (r, *s.neighbours(r))]
                    m.add_bool_or([~self.x[p][t][r], *before])
        # Weapons move only when carried: moved A->B implies some suspect moved A->B.
        for t in T[1:]:
            for a, b in self._adjacent:
                carriers = [self._step(sus, a, b, t) for sus in self.suspects]
                for w in self.weapons:
                    m.add_bool_or([~self.x[w][t - 1][a], ~self.x[w][t][b], *carriers])

    # ----- literal helpers (cached, fully reified) -----
    def _and(self, lits: Sequence):
        lits = [lit for lit in lits if lit is not self._true]
        if any(lit is self._false for lit in lits):
            return self._false
        if not lits:
            return self._true
        if len(lits) == 1:
            return lits[0]
        key = tuple(sorted({lit.index for lit in lits}))
        if key not in self._and_cache:
            v = self.model.new_bool_var("")
            self.model.add_bool_and(lits).only_enforce_if(v)
            self.model.add_bool_or([v, *(~lit for lit in lits)])
            self._and_cache[key] = v
        return self._and_cache[key]

    def _or(self, lits: Sequence):
        lits = [lit for lit in lits if lit is not self._false]
        if any(lit is self._true for lit in lits):
            return self._true
        if not lits:
            return self._false
        if len(lits) == 1:
            return lits[0]
        key = tuple(sorted({lit.index for lit in lits}))
        if key not in self._or_cache:
            v = self.model.new_bool_var("")
            self.model.add_bool_and([~lit for lit in lits]).only_enforce_if(~v)
            self.model.add_bool_or([~v, *lits])
            self._or_cache[key] = v
        return self._or_cache[key]

    def _equal(self, a, b, negate: bool = False):
        """Literal for a == b (or a != b with negate)."""
        v = self.model.new_bool_var("eq")
        b2 = ~b if negate else b
        m = self.model
        m.add_bool_or([~v, ~a, b2]); m.add_bool_or([~v, a, ~b2])
        m.add_bool_or([v, a, b2]); m.add_bool_or([v, ~a, ~b2])
        return v

    def _step(self, piece: str, src: int, dst: int, t: int):
        """piece was in src at t-1 and in dst at t."""
        if t < 1 or t >= self.n_times:
            return self._false
        return self._and([self.x[piece][t - 1][src], self.x[piece][t][dst]])

    # ----- references -----
    def _alternatives(self, ref: Ref) -> list[tuple[object | None, str]]:
        """(condition literal or None for 'always', concrete piece) pairs; the ref denotes the piece whose
        condition holds (exactly one for every kind but shared motives)."""
        if not isinstance(ref, Ref):
            raise TypeError(f"expected a Ref, got {type(ref).__name__}")
        kind, name = ref.kind, ref.name
        if kind == "suspect":
            if name not in self.suspects:
                raise ValueError(f"unknown suspect {name!r}; expected one of {list(self.suspects)}")
            return [(None, name)]
        if kind == "weapon":
            if name not in self.weapons:
                raise ValueError(f"unknown weapon {name!r}; expected one of {list(self.weapons)}")
            return [(None, name)]
        if kind == "victim":
            return [(None, VICTIM)]
        if kind == "murderer":
            return list(zip(self.murderer, self.suspects))
        if kind == "murder_weapon":
            return list(zip(self.murder_weapon, self.weapons))
        if kind == "motive":
            j = self._motive_index(name)
            return [(self.m[sus][j], sus) for sus in self.suspects]
        raise ValueError(f"unknown Ref kind {kind!r}")

    def _motive_index(self, motive: str) -> int:
        if motive not in self.setting.motives:
            raise ValueError(f"unknown motive {motive!r}; expected one of {list(self.setting.motives)}")
        return self.setting.motives.index(motive)

    def _check_room(self, r) -> None:
        if not isinstance(r, int) or not 0 <= r < self.n_rooms:
            raise ValueError(f"room index {r!r} out of range 0..{self.n_rooms - 1}")

    def _check_time(self, t) -> None:
        if not isinstance(t, int) or not 0 <= t < self.n_times:
            raise ValueError(f"time index {t!r} out of range 0..{self.n_times - 1}")

    def _single(self, ref: Ref) -> bool:
        """Does the ref always denote exactly one piece (so it has one location per time)? Every ref but a
        motive held by several suspects."""
        return ref.kind != "motive" or self.setting.motive_holders(ref.name) == 1

    def _occupies(self, ref: Ref, t: int, r: int):
        """Literal: (some piece denoted by) `ref` is in room r at time t.

        Named pieces use their own variables; 'the murderer'-like refs get one channelled one-hot grid
        per time (y[r] == x[piece][t][r] for the piece whose condition holds); shared motives are an OR
        over the suspects with that motive."""
        alts = self._alternatives(ref)
        if len(alts) == 1 and alts[0][0] is None:
            return self.x[alts[0][1]][t][r]
        if self._single(ref):
            key = (ref, t)
            if key not in self._grids:
                m = self.model
                grid = [m.new_bool_var("") for _ in range(self.n_rooms)]
                m.add_exactly_one(grid)
                for cond, piece in alts:
                    for y, xv in zip(grid, self.x[piece][t]):
                        m.add_implication(y, xv).only_enforce_if(cond)
                self._grids[key] = grid
            return self._grids[key][r]
        return self._or([self._and([cond, self.x[piece][t][r]]) for cond, piece in alts])

    def _moved(self, ref: Ref, src: int, dst: int, t: int):
        """Literal: (some piece denoted by) `ref` was in src at t-1 and in dst at t."""
        if t < 1 or src == dst:
            return self._false
        if self._single(ref):
            return self._and([self._occupies(ref, t - 1, src), self._occupies(ref, t, dst)])
        return self._or([self._and([cond, self._step(piece, src, dst, t)]) for cond, piece in self._alternatives(ref)])

    # ----- clues -----
    def literal(self, clue: Clue):
        """The Boolean literal that is true iff `clue` holds (cached per clue)."""
        try:
            return self._literals[clue]
        except KeyError:
            pass
        except TypeError as exc:
            raise TypeError(f"expected a clue dataclass, got {type(clue).__name__}") from exc
        lit = self._build(clue)
        self._literals[clue] = lit
        return lit

    def _build(self, clue: Clue):
        if isinstance(clue, SolutionFact):
            f, v = clue.field, clue.value
            if f == "suspect":
                return self.murderer[self._index(self.suspects, v, "suspect")]
            if f == "weapon":
                return self.murder_weapon[self._index(self.weapons, v, "weapon")]
            if f == "room":
                self._check_room(v)
                return self.murder_room[v]
            if f == "time":
                self._check_time(v)
                return self.murder_time[v]
            if f == "motive":
                return self.murder_motive[self._motive_index(v)]
            raise ValueError(f"unknown SolutionFact field {f!r}")
        if isinstance(clue, At):
            self._check_room(clue.room); self._check_time(clue.time)
            return self._occupies(clue.ref, clue.time, clue.room)
        if isinstance(clue, HasMotive):
            i = self._index(self.suspects, clue.suspect, "suspect")
            return self.m[self.suspects[i]][self._motive_index(clue.motive)]
        if isinstance(clue, Either):
            a, b = self.literal(clue.a), self.literal(clue.b)
            return self._equal(a, b, negate=True) if clue.exclusive else self._or([a, b])
        if isinstance(clue, Iff):
            return self._equal(self.literal(clue.a), self.literal(clue.b))
        if isinstance(clue, SameRoom):
            self._check_time(clue.time)
            t = clue.time
            # Exists r with both in r: exact for every ref kind, as the two sides share only r.
            return self._or([self._and([self._occupies(clue.a, t, r), self._occupies(clue.b, t, r)])
                             for r in range(self.n_rooms)])
        if isinstance(clue, TogetherOnce):
            self._check_room(clue.room)
            r = clue.room
            return self._or([self._and([self._occupies(clue.a, t, r), self._occupies(clue.b, t, r)])
                             for t in range(self.n_times)])
        if isinstance(clue, Moved):
            self._check_room(clue.src); self._check_room(clue.dst); self._check_time(clue.time)
            if clue.src == clue.dst:
                return self._false
            return self._moved(clue.ref, clue.src, clue.dst, clue.time)
        if isinstance(clue, MovedWeapon):
            self._check_room(clue.src); self._check_room(clue.dst); self._check_time(clue.time)
            if clue.src == clue.dst:
                return self._false
            return self._and([self._moved(clue.actor, clue.src, clue.dst, clue.time),
                              self._moved(clue.weapon, clue.src, clue.dst, clue.time)])
        if isinstance(clue, Spatial):
            self._check_time(clue.time)
            if clue.direction not in DIRECTIONS:
                raise ValueError(f"direction must be one of {DIRECTIONS}, got {clue.direction!r}")
            t, d = clue.time, clue.direction
            pairs = [(r, n) for r in range(self.n_rooms) if (n := self.setting.neighbour(r, d)) is not None]
            return self._or([self._and([self._occupies(clue.b, t, r), self._occupies(clue.a, t, n)])
                             for r, n in pairs])
        raise TypeError(f"unknown clue type {type(clue).__name__}")

    @staticmethod
    def _index(names: Sequence[str], name, what: str) -> int:
        if name not in names:
            raise ValueError(f"unknown {what} {name!r}; expected one of {list(names)}")
        return list(names).index(name)

    # ----- worlds -----
    def world_literals(self, world: World) -> list:
        """The literals that are true exactly in `world` (one per one-hot group)."""
        if world.setting != self.setting:
            raise ValueError("the world belongs to a different Setting")
        lits = [self.x[p][t][world.locations[p][t]] for p in self.pieces for t in range(self.n_times)]
        lits += [self.m[sus][self._motive_index(world.motives[sus])] for sus in self.suspects]
        lits += [self.murderer[self.suspects.index(world.murderer)],
                 self.murder_weapon[self.weapons.index(world.weapon)],
                 self.murder_room[world.room], self.murder_time[world.time]]
        return lits

    def hint(self, world: World) -> None:
        """Steer the search toward `world` (affects speed only, never the answer of a check)."""
        self.model.clear_hints()
        chosen = {lit.index for lit in self.world_literals(world)}
        groups = [self.x[p][t] for p in self.pieces for t in range(self.n_times)]
        groups += [self.m[sus] for sus in self.suspects]
        groups += [self.murderer, self.murder_weapon, self.murder_room, self.murder_time]
        for group in groups:
            for v in group:
                self.model.add_hint(v, v.index in chosen)

    def exclusion(self, world: World):
        """A literal which, when assumed, forbids `world` (the solution must differ somewhere)."""
        lits = self.world_literals(world)
        key = tuple(lit.index for lit in lits)
        if key not in self._exclusions:
            v = self.model.new_bool_var("differs")
            self.model.add_bool_or([~lit for lit in lits]).only_enforce_if(v)
            self._exclusions[key] = v
        return self._exclusions[key]

    def any_false(self, literals: Sequence):
        """A literal which, when assumed, forces at least one of `literals` to be false (a switchable clause, added
        to the model once per distinct set; off unless assumed)."""
        key = ("any_false", tuple(lit.index for lit in literals))
        if key not in self._exclusions:
            v = self.model.new_bool_var("some_false")
            self.model.add_bool_or([~lit for lit in literals]).only_enforce_if(v)
            self._exclusions[key] = v
        return self._exclusions[key]

    def exclusion_of(self, statements: Sequence[Clue]):
        """A literal which, when assumed, makes at least one of `statements` false (for proving that the
        clues force those statements, e.g. the answers of the asked questions, rather than a whole world)."""
        if not statements:
            raise ValueError("exclusion_of needs at least one statement")
        return self.any_false(sorted({self.literal(st).index: self.literal(st) for st in statements}.values(),
                                     key=lambda lit: lit.index))

    def run(self, assumptions: Sequence, *, presolve: bool = False, time_limit: float | None = None,
            deterministic_limit: float | None = None) -> tuple[int, cp_model.CpSolver]:
        """The package's one CP-SAT driver: solve the model under `assumptions` (literals); returns (status, solver).

        One worker and a fixed random seed (same answers, same speed run to run). ``presolve=False`` also switches
        off symmetry detection, probing, the LP relaxation and SAT inprocessing: on the small satisfiability checks
        of generation and hints they cost more than they save (measured: about 60 ms -> 5 ms per check at the
        3-player size); ``presolve=True`` keeps CP-SAT's defaults, faster on a whole clue set with no givens. The
        solver does not catch SIGINT, so Ctrl-C interrupts a solve with KeyboardInterrupt as anywhere else."""
        self.model.clear_assumptions()
        self.model.proto.assumptions.extend([lit.index for lit in assumptions])
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.random_seed = 0
        solver.parameters.catch_sigint_signal = False
        if not presolve:
            solver.parameters.cp_model_presolve = False
            solver.parameters.symmetry_level = 0
            solver.parameters.linearization_level = 0
            solver.parameters.cp_model_probing_level = 0
            solver.parameters.use_sat_inprocessing = False
        if time_limit is not None:
            solver.parameters.max_time_in_seconds = float(time_limit)
        if deterministic_limit is not None:
            solver.parameters.max_deterministic_time = float(deterministic_limit)
        try:
            status = solver.solve(self.model)
        finally:
            self.model.clear_assumptions()
        return status, solver

    def extract_world(self, solver: cp_model.CpSolver) -> World:
        """The world of the solution `solver` found (after a feasible run)."""
        solution = list(solver.response_proto.solution)

        def value(lit) -> bool:
            i = lit.index
            return bool(solution[i]) if i >= 0 else not solution[-i - 1]

        s = self.setting
        locations = {p: tuple(next(r for r in range(self.n_rooms) if value(self.x[p][t][r]))
                              for t in range(self.n_times)) for p in self.pieces}
        motives = {sus: s.motives[next(j for j, v in enumerate(self.m[sus]) if value(v))] for sus in self.suspects}
        pick = lambda group: next(i for i, v in enumerate(group) if value(v))  # noqa: E731
        return World(setting=s, locations=locations, motives=motives,
                     murderer=self.suspects[pick(self.murderer)], weapon=self.weapons[pick(self.murder_weapon)],
                     room=pick(self.murder_room), time=pick(self.murder_time))

    def _feasible(self, assumptions: Sequence, time_limit: float | None = None) -> tuple[bool, World | None]:
        status, solver = self.run(assumptions, time_limit=time_limit)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return True, self.extract_world(solver)
        if status == cp_model.INFEASIBLE:
            return False, None
        raise TimeoutError(f"CP-SAT gave no answer within the limit (status {solver.status_name(status)})")

    def solve(self, clues: Sequence[Clue], time_limit: float = 30.0) -> World | None:
        """A world satisfying every clue and the rules, or None when there is none. Raises TimeoutError
        when CP-SAT can answer neither way within `time_limit` seconds."""
        ok, world = self._feasible([self.literal(c) for c in clues], time_limit)
        return world

    def count_solutions(self, clues: Sequence[Clue], limit: int = 2) -> int:
        """Number of distinct full worlds satisfying the clues, counted up to `limit`."""
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be an int >= 1, got {limit!r}")
        lits = [self.literal(c) for c in clues]
        found = 0
        while found < limit:
            ok, world = self._feasible(lits)
            if not ok:
                break
            found += 1
            lits.append(self.exclusion(world))
        return found

    def is_unique(self, clues: Sequence[Clue], world: World) -> bool:
        """True iff `world` obeys the rules and the clues, and no other world does."""
        lits = [self.literal(c) for c in clues]
        if not self._feasible(lits + self.world_literals(world))[0]:
            return False
        return not self._feasible(lits + [self.exclusion(world)])[0]

    def forced(self, clues: Sequence[Clue], statement: Clue) -> bool:
        """True iff `statement` holds in every world satisfying the clues (vacuously when there is none)."""
        lits = [self.literal(c) for c in clues]
        return not self._feasible(lits + [~self.literal(statement)])[0]


# ----- the same semantics in plain Python -----
def resolve_ref(ref: Ref, world: World) -> list[str]:
    """The concrete pieces a reference may denote in `world` (one, except for shared motives: all
    suspects with that motive)."""
    if ref.kind in ("suspect", "weapon"):
        return [ref.name]
    if ref.kind == "victim":
        return [VICTIM]
    if ref.kind == "murderer":
        return [world.murderer]
    if ref.kind == "murder_weapon":
        return [world.weapon]
    if ref.kind == "motive":
        return [sus for sus in world.setting.suspects if world.motives[sus] == ref.name]
    raise ValueError(f"unknown Ref kind {ref.kind!r}")


def _step_holds(world: World, piece: str, src: int, dst: int, t: int) -> bool:
    return src != dst and t >= 1 and world.where(piece, t - 1) == src and world.where(piece, t) == dst


def clue_holds(clue: Clue, world: World) -> bool:
    """Does `clue` hold in `world`? (Same semantics as WorldModel.literal.)"""
    w, s = world, world.setting
    if isinstance(clue, SolutionFact):
        return {
            "suspect": w.murderer, "weapon": w.weapon, "room": w.room, "time": w.time,
            "motive": w.motives[w.murderer],
        }[clue.field] == clue.value
    if isinstance(clue, At):
        return any(w.where(p, clue.time) == clue.room for p in resolve_ref(clue.ref, w))
    if isinstance(clue, HasMotive):
        return w.motives[clue.suspect] == clue.motive
    if isinstance(clue, Either):
        a, b = clue_holds(clue.a, w), clue_holds(clue.b, w)
        return a != b if clue.exclusive else a or b
    if isinstance(clue, Iff):
        return clue_holds(clue.a, w) == clue_holds(clue.b, w)
    pairs = lambda a, b: [(p, q) for p in resolve_ref(a, w) for q in resolve_ref(b, w)]  # noqa: E731
    if isinstance(clue, SameRoom):
        return any(w.where(p, clue.time) == w.where(q, clue.time) for p, q in pairs(clue.a, clue.b))
    if isinstance(clue, TogetherOnce):
        return any(w.where(p, t) == clue.room == w.where(q, t)
                   for p, q in pairs(clue.a, clue.b) for t in range(len(s.times)))
    if isinstance(clue, Moved):
        return any(_step_holds(w, p, clue.src, clue.dst, clue.time) for p in resolve_ref(clue.ref, w))
    if isinstance(clue, MovedWeapon):
        return any(_step_holds(w, p, clue.src, clue.dst, clue.time) and _step_holds(w, q, clue.src, clue.dst, clue.time)
                   for p, q in pairs(clue.actor, clue.weapon))
    if isinstance(clue, Spatial):
        return any(s.neighbour(w.where(q, clue.time), clue.direction) == w.where(p, clue.time)
                   for p, q in pairs(clue.a, clue.b))
    raise TypeError(f"unknown clue type {type(clue).__name__}")


def world_violations(world: World) -> list[str]:
    """The rules of the night that `world` breaks (empty list: a valid world)."""
    s, w, out = world.setting, world, []
    T = len(s.times)
    pieces = list(s.suspects) + list(s.weapons) + [VICTIM]
    for p in pieces:
        locs = w.locations.get(p)
        if locs is None or len(locs) != T or any(not 0 <= r < len(s.rooms) for r in locs):
            out.append(f"{p}: needs one valid room per time")
            return out
    adjacent = [s.neighbours(r) for r in range(len(s.rooms))]
    for p in list(s.suspects) + [VICTIM] + list(s.weapons):
        for t in range(1, T):
            a, b = w.where(p, t - 1), w.where(p, t)
            if a != b and b not in adjacent[a]:
                out.append(f"{p} jumped from room {a} to room {b} at time {t}")
    for weapon in s.weapons:
        for t in range(1, T):
            a, b = w.where(weapon, t - 1), w.where(weapon, t)
            if a != b and not any(_step_holds(w, sus, a, b, t) for sus in s.suspects):
                out.append(f"{weapon} moved from room {a} to room {b} at time {t} with no suspect making that move")
    counts = [sum(1 for sus in s.suspects if w.motives.get(sus) == mo) for mo in s.motives]
    expected = [1] * len(s.motives) if s.motive_counts is None else list(s.motive_counts)
    if counts != expected or any(w.motives.get(sus) not in s.motives for sus in s.suspects):
        out.append(f"motive counts {counts} differ from {expected}")
    present = [sus for sus in s.suspects if w.where(sus, w.time) == w.room]
    if present != [w.murderer]:
        out.append(f"suspects in the murder room at the murder time: {present}, expected only {w.murderer}")
    if w.where(w.weapon, w.time) != w.room:
        out.append("the murder weapon is not in the murder room at the murder time")
    if any(w.where(VICTIM, t) != w.room for t in range(w.time, T)):
        out.append(f"{VICTIM} is not in the murder room at and after the murder time")
    return out


def answer_question(world: World, question: Question) -> str:
    """The answer string of `question` in `world`."""
    s, w, kind = world.setting, world, question.kind
    if kind == "suspect":
        return w.murderer
    if kind == "weapon":
        return w.weapon
    if kind == "room":
        return s.rooms[w.room]
    if kind == "time":
        return s.times[w.time]
    if kind == "motive":
        return w.motives[w.murderer]
    if question.ref is None:
        raise ValueError(f"question kind {kind!r} needs a ref")
    if kind == "where":
        if question.time is None:
            raise ValueError("a 'where' question needs a time")
        pieces = resolve_ref(question.ref, w)
        rooms = sorted({w.where(p, question.time) for p in pieces})
        if len(rooms) != 1:
            raise ValueError(f"'where' question about {question.ref} has no single answer: rooms {rooms}")
        return s.rooms[rooms[0]]
    if kind == "motive_of":
        return w.motives[question.ref.name]
    if kind == "who_motive":
        who = [sus for sus in s.suspects if w.motives[sus] == question.ref.name]
        if len(who) != 1:
            raise ValueError(f"{len(who)} suspects are motivated by {question.ref.name}; expected exactly one")
        return who[0]
    raise ValueError(f"unknown question kind {kind!r}")
