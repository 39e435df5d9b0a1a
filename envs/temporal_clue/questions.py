"""Which questions a Temporal Clue puzzle asks: every asked answer takes a deduction of its own.

Terms (all checked with the CP-SAT model of model.py, never with pattern lists):

- The solution facts: who killed Mr. Boddy, with which weapon, where, when (only when the night has more
  than one time) and why (the murderer's motive; only with more than one motive). A main question asks a
  solution fact that no clue states; the others are stated by a clue. Either way they are the main answers.
- An answer statement: what the right answer of a question asserts, as a clue-like fact
  (`answer_statement`): a SolutionFact for a main question, an At for "Where was X at T?", a HasMotive for
  "What was X's motive?" and "Which suspect was motivated by M?".
- Implied: an asked question Q is implied when the rules of the night, the solution facts and the answer
  statements of the other asked questions force Q's answer by themselves, without any other clue. (E.g.
  "Where was the murder weapon at the murder time?" is implied by the weapon, room and time answers; "What
  was <the murderer>'s motive?" by who and why; in a two-suspect puzzle "Where was <the other suspect> at
  the murder time?" implies who, once the room and time are known.) A puzzle never asks an implied
  question, so each point of the reward stands for its own deduction.
- Stated: a fact that one clue says outright (a plain "X was in R at T", either end of a plain "X moved /
  carried W from A to B at T", "X was motivated by M"). Bonus questions never ask a stated fact.

How many questions: the main questions, then bonus slots. The original filled 8 - (main questions) slots
from a shuffled pool of facts and dropped the slots whose fact could not be asked; in its release about
0.68 of the slots survive, and a Binomial(8 - main, 0.68) count fits its question counts for every number
of main questions (4-8 questions, mean 6.7). We draw the bonus count the same way (`bonus_rate`) and fill
each slot with a fact that is neither stated nor implied, drawn from the same kinds of facts as the
original's bonus questions (a suspect's or weapon's room at a time; the room of the one suspect with a
motive at a time; a suspect's motive; the one suspect with a motive). When too few such facts exist (the
smallest boards) the puzzle asks fewer questions: slots are never padded with implied ones.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import replace

from rlvr_gym.envs.temporal_clue.clues import At, Clue, HasMotive, Moved, MovedWeapon, Question, Ref, SolutionFact
from rlvr_gym.envs.temporal_clue.config import BONUS_RATE, MAX_QUESTIONS
from rlvr_gym.envs.temporal_clue.elements import Setting, World
from rlvr_gym.envs.temporal_clue.model import WorldModel, answer_question, clue_holds
from rlvr_gym.envs.temporal_clue.render import ANSWER_TYPE, LETTERS, question_text

__all__ = ["solution_facts", "answer_statement", "stated_facts", "implied_questions", "choose_questions",
           "MAIN_KINDS", "BONUS_RATE"]

MAIN_KINDS = ("suspect", "weapon", "room", "time", "motive")


def solution_facts(world: World) -> list[SolutionFact]:
    """The solution of the night as facts, in question order (time only with > 1 time, motive only with
    > 1 motive)."""
    s, w = world.setting, world
    facts = [SolutionFact("suspect", w.murderer), SolutionFact("weapon", w.weapon), SolutionFact("room", w.room)]
    if len(s.times) > 1:
        facts.append(SolutionFact("time", w.time))
    if len(s.motives) > 1:
        facts.append(SolutionFact("motive", w.motives[w.murderer]))
    return facts


def answer_statement(question: Question, setting: Setting, answer: str | None = None) -> Clue:
    """The fact that `answer` (default: the question's own answer) asserts, as a clue the model can check."""
    a = question.answer if answer is None else answer
    kind = question.kind
    try:
        if kind in ("suspect", "weapon", "motive"):
            return SolutionFact(kind, a)
        if kind == "room":
            return SolutionFact("room", setting.rooms.index(a))
        if kind == "time":
            return SolutionFact("time", setting.times.index(a))
        if kind == "where":
            return At(question.ref, setting.rooms.index(a), question.time)
        if kind == "motive_of":
            return HasMotive(question.ref.name, a)
        if kind == "who_motive":
            return HasMotive(a, question.ref.name)
    except ValueError:
        raise ValueError(f"question {question.letter} ({kind}): {a!r} is not an admissible answer") from None
    raise ValueError(f"unknown question kind {kind!r}")


def stated_facts(clues: Iterable[Clue]) -> set[Clue]:
    """Facts that a single clue states outright (membership only): the clue itself for a plain At or a
    HasMotive; each end of a move of a named piece."""
    out: set[Clue] = set()
    for c in clues:
        if isinstance(c, (At, HasMotive, SolutionFact)):
            out.add(c)
        elif isinstance(c, Moved) and c.ref.kind in ("suspect", "weapon", "victim"):
            out.update((At(c.ref, c.src, c.time - 1), At(c.ref, c.dst, c.time)))
        elif isinstance(c, MovedWeapon):
            for ref in (c.actor, c.weapon):
                if ref.kind in ("suspect", "weapon", "victim"):
                    out.update((At(ref, c.src, c.time - 1), At(ref, c.dst, c.time)))
    return out


class _Forcing:
    """'Do these premises force this statement under the rules?' on one rules-only model, with a cache of
    witness worlds: a valid world in which every premise holds and the statement fails proves 'not forced'
    without a solver call. Answers are facts about the rules, so they never depend on which witness the
    solver happens to return."""

    def __init__(self, model: WorldModel, witnesses: Sequence[World] = ()):
        self.model = model
        self.witnesses = list(witnesses)
        self.calls = 0

    def forced(self, premises: Sequence[Clue], statement: Clue) -> bool:
        for w in self.witnesses:
            if not clue_holds(statement, w) and all(clue_holds(p, w) for p in premises):
                return False
        self.calls += 1
        lits = [self.model.literal(p) for p in premises] + [~self.model.literal(statement)]
        ok, world = self.model._feasible(lits)
        if ok:
            self.witnesses.append(world)
            return False
        return True


def implied_questions(setting: Setting, questions: Sequence[Question], given: Sequence[Clue] = (),
                      model: WorldModel | None = None) -> list[str]:
    """Letters of the asked questions that are implied (module docstring): forced by the rules, the
    solution facts stated by clues (`given`: any SolutionFact among them counts) and the answers of the
    other asked questions. Works for our puzzles and for parsed original-release puzzles alike."""
    model = model or WorldModel(setting)
    check = _Forcing(model)
    statements = [answer_statement(q, setting) for q in questions]
    facts = [c for c in given if isinstance(c, SolutionFact)]
    out = []
    for i, q in enumerate(questions):
        others = [st for j, st in enumerate(statements) if j != i and st != statements[i]]
        if check.forced(facts + others, statements[i]):
            out.append(q.letter)
    return out


def _bonus_pool(world: World) -> list[tuple[str, Ref, int | None]]:
    """Every fact a bonus question may ask, as (kind, ref, time), in a fixed order: the original's kinds."""
    s, w = world.setting, world
    holders = {mo: [sus for sus in s.suspects if w.motives[sus] == mo] for mo in s.motives}
    pool: list[tuple[str, Ref, int | None]] = []
    for t in range(len(s.times)):
        for sus in s.suspects:
            pool.append(("where", Ref("suspect", sus), t))
            if len(s.motives) > 1 and len(holders[w.motives[sus]]) == 1:
                pool.append(("where", Ref("motive", w.motives[sus]), t))
        for wp in s.weapons:
            pool.append(("where", Ref("weapon", wp), t))
    if len(s.motives) > 1:
        for sus in s.suspects:
            pool.append(("motive_of", Ref("suspect", sus), None))
        for mo in s.motives:
            if len(holders[mo]) == 1:
                pool.append(("who_motive", Ref("motive", mo), None))
    return pool


def choose_questions(world: World, kept: Sequence[Clue], model: WorldModel, rng: random.Random,
                     max_bonus: int = 8, bonus_rate: float = BONUS_RATE, max_questions: int = MAX_QUESTIONS,
                     stats: dict | None = None) -> list[Question]:
    """Main questions (solution facts no kept clue states), then bonus questions that are neither stated
    nor implied (module docstring); at most `max_questions` in all, lettered A, B, ... and worded by
    render.py. Draws from `rng` in a fixed pattern, so (world, kept, rng state) -> the same questions."""
    s = world.setting
    given = set(kept)  # membership only
    facts = solution_facts(world)
    main = [f for f in facts if f not in given]
    slots = max(0, min(max_bonus, max_questions - len(main)))
    wanted = sum(1 for _ in range(slots) if rng.random() < bonus_rate)
    pool = _bonus_pool(world)
    rng.shuffle(pool)
    stated = stated_facts(kept)
    check = _Forcing(model)
    asked: list[Clue] = list(main)  # answer statements of the asked questions
    chosen: list[tuple[str, Ref, int | None, Clue]] = []
    for kind, ref, t in pool:
        if len(chosen) >= wanted:
            break
        q = Question(letter="?", kind=kind, text="", answer="", answer_type="", ref=ref, time=t, bonus=True)
        statement = answer_statement(replace(q, answer=answer_question(world, q)), s)
        if statement in stated or statement in asked:
            continue
        premises = facts + asked[len(main):]
        if check.forced(premises, statement):
            continue
        # Adding it must not make an already asked question implied either.
        if any(check.forced([p for p in premises if p != a] + [statement], a) for a in asked):
            continue
        asked.append(statement)
        chosen.append((kind, ref, t, statement))
    if stats is not None:
        stats["question_solver_calls"] = check.calls
        stats["bonus_wanted"] = wanted
    specs = [(f.field, None, None, False) for f in main] + [(k, r, t, True) for k, r, t, _ in chosen]
    questions = []
    for letter, (kind, ref, t, is_bonus) in zip(LETTERS, specs):
        q = Question(letter=letter, kind=kind, text=question_text(kind, s, ref, t), answer="",
                     answer_type=ANSWER_TYPE[kind], ref=ref, time=t, bonus=is_bonus)
        questions.append(replace(q, answer=answer_question(world, q)))
    return questions
