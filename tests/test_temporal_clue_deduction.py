"""Deduction on a puzzle (envs/temporal_clue/deduction.py): hints are facts the clues force, explanations name clues
that force them on their own, wrong notepad marks are pointed at first, a full notepad gets no hint."""

import pytest

from rlvr_gym.envs.temporal_clue.config import resolve_config
from rlvr_gym.envs.temporal_clue.deduction import Deducer
from rlvr_gym.envs.temporal_clue.generator import generate_puzzle
from rlvr_gym.envs.temporal_clue.model import WorldModel
from rlvr_gym.envs.temporal_clue.notepad import Notepad, world_truth


@pytest.fixture(scope="module")
def puzzle():
    return generate_puzzle(resolve_config("easy"), 4)


def test_hints_are_forced_facts_and_each_explanation_names_clues_that_force_it(puzzle):
    deducer = Deducer(puzzle, hint_seconds=1.5)
    pad = Notepad(puzzle.setting)
    model = WorldModel(puzzle.setting)
    for _ in range(3):
        hint = deducer.hint(pad)
        assert hint.kind == "fact" and world_truth(puzzle.world, hint.fact)
        assert model.forced(list(puzzle.clues), hint.fact)
        assert hint.why.startswith(("clue ", "it follows from"))
        pad.mark(hint.key, hint.option, True)
    fact = pad.fact(*pad.explicit_marks()[0][:2])
    used, words = deducer.explain(fact, Notepad(puzzle.setting))
    named = [int(w.strip(",.:")) for w in words.split(":")[0].replace("clue ", "clues ").split() if w.strip(",.:").isdigit()]
    assert used == len(named) >= 1 and model.forced([puzzle.clues[i - 1] for i in named], fact), words


def test_a_wrong_mark_is_pointed_at_before_any_new_fact(puzzle):
    pad = Notepad(puzzle.setting)
    world = puzzle.world
    from rlvr_gym.envs.temporal_clue.elements import VICTIM

    wrong_room = (world.where(VICTIM, 0) + 1) % len(puzzle.setting.rooms)
    pad.mark_at(VICTIM, 0, wrong_room, True)
    hint = Deducer(puzzle).hint(pad)
    assert hint.kind == "mistake" and hint.value is True


def test_a_notepad_that_knows_the_world_gets_no_hint(puzzle):
    from rlvr_gym.envs.temporal_clue.notepad import hint_ranked

    pad = Notepad(puzzle.setting)
    deducer = Deducer(puzzle, hint_seconds=1.5)
    for _, fact in hint_ranked(pad, puzzle.world, stated=()):
        pad.mark(*pad.locate(fact), True)
    assert deducer.hint(pad).kind == "done"


def test_a_fact_the_clues_do_not_force_has_no_explanation(puzzle):
    from rlvr_gym.envs.temporal_clue.clues import At, Ref
    from rlvr_gym.envs.temporal_clue.elements import VICTIM

    world = puzzle.world
    wrong = At(Ref("victim", VICTIM), (world.where(VICTIM, 0) + 1) % len(puzzle.setting.rooms), 0)
    assert Deducer(puzzle).explain(wrong, Notepad(puzzle.setting)) is None
