"""Every asked question counts: answers forced by the clues, none implied by the others, none stated by a
clue; the count follows the original's; the questions-only uniqueness option; the prompt's rules."""

import statistics
from dataclasses import replace

import pytest

from rlvr_gym.envs.temporal_clue.clues import At, HasMotive, Question, Ref, SolutionFact
from rlvr_gym.envs.temporal_clue.config import PRESETS, TemporalClueConfig, resolve_config
from rlvr_gym.envs.temporal_clue.generator import generate_puzzle, generate_puzzles
from rlvr_gym.envs.temporal_clue.model import WorldModel, answer_question
from rlvr_gym.envs.temporal_clue.questions import (
    answer_statement, implied_questions, solution_facts, stated_facts,
)
from rlvr_gym.envs.temporal_clue.render import question_text

# Many puzzles over the small and middle sizes (each check is a handful of CP-SAT calls).
MANY = [(name, seed) for name, n in (("tiny", 10), ("easy", 10), ("medium", 10), ("hard", 6), ("expert", 2))
        for seed in range(n)]


@pytest.fixture(scope="module")
def many():
    return [generate_puzzle(PRESETS[name], 1000 + seed) for name, seed in MANY]


def test_no_asked_question_is_implied_by_the_others(many):
    """With the CP-SAT model: no answer follows from the rules + the solution facts + the other answers."""
    for p in many:
        assert implied_questions(p.setting, p.questions, p.clues) == [], (p.id, [q.text for q in p.questions])


def test_every_answer_is_forced_by_the_clues(many):
    for p in many:
        model = WorldModel(p.setting)
        for q in p.questions:
            statement = answer_statement(q, p.setting)
            assert model.forced(p.clues, statement), (p.id, q.text)
            assert q.answer == answer_question(p.world, q)


def test_bonus_questions_never_ask_what_a_clue_states(many):
    for p in many:
        stated = stated_facts(p.clues)
        facts = solution_facts(p.world)
        for q in p.questions:
            statement = answer_statement(q, p.setting)
            if q.bonus:
                assert statement not in stated and statement not in facts, (p.id, q.text)
            else:  # a main question asks a solution fact no clue gives
                assert statement in facts and statement not in p.clues


def test_main_questions_come_first_in_fixed_order_and_bonus_kinds_are_the_originals(many):
    for p in many:
        kinds = [q.kind for q in p.questions]
        main = [k for k in kinds if k in ("suspect", "weapon", "room", "time", "motive")]
        assert kinds[:len(main)] == [k for k in ("suspect", "weapon", "room", "time", "motive") if k in main]
        assert all(q.bonus == (i >= len(main)) for i, q in enumerate(p.questions))
        for q in p.questions[len(main):]:
            assert q.kind in ("where", "motive_of", "who_motive")
            if q.kind == "where":
                assert q.ref.kind in ("suspect", "weapon", "motive") and q.time is not None
            if q.ref is not None and q.ref.kind == "motive":  # only about a motive one suspect holds
                assert p.setting.motive_holders(q.ref.name) == 1


def test_the_motive_reference_question_is_asked_and_worded_with_the(many):
    where_motive = [q for p in many for q in p.questions if q.kind == "where" and q.ref.kind == "motive"]
    assert where_motive
    assert all(q.text.startswith("Where was the suspect motivated by ") for q in where_motive)


def test_the_checker_finds_the_issues_examples():
    """Implied questions built by hand on a generated world: the checker flags each, and only those."""
    p = generate_puzzle(resolve_config("medium", config={"motive_mode": "unique", "times": 3}), 5)
    w, s = p.world, p.setting

    def ask(kind, ref=None, t=None, letter="Z"):
        q = Question(letter=letter, kind=kind, text=question_text(kind, s, ref, t), answer="", answer_type="",
                     ref=ref, time=t, bonus=kind not in ("suspect", "weapon", "room", "time", "motive"))
        return replace(q, answer=answer_question(w, q))

    main = [ask(k, letter=letter) for k, letter in zip(("suspect", "weapon", "room", "time", "motive"), "ABCDE")]
    assert implied_questions(s, main) == []
    # Each bonus below follows from main answers, and with it some main answers follow from the rest too
    # (the checker treats every asked question alike): the sets are what the rules force.
    later = len(s.times) - 1
    cases = [
        (ask("motive_of", Ref("suspect", w.murderer), letter="F"), ["A", "E", "F"]),   # why + who, both ways
        (ask("who_motive", Ref("motive", w.motives[w.murderer]), letter="F"), ["A", "E", "F"]),
        (ask("where", Ref("weapon", w.weapon), w.time, letter="F"), ["C", "F"]),       # = the murder room
        (ask("where", Ref("victim", "Mr. Boddy"), later, letter="F"), ["C", "F"]),     # the body stays there
        (ask("where", Ref("suspect", w.murderer), w.time, letter="F"), ["A", "C", "F"]),
    ]
    for q, expected in cases:
        assert implied_questions(s, main + [q]) == expected, q.text
    # a main answer stated by a clue still counts as known
    without_room = [q for q in main if q.kind != "room"]
    where_weapon = ask("where", Ref("weapon", w.weapon), w.time, "F")
    assert implied_questions(s, without_room + [where_weapon]) == []  # room unknown: a real deduction
    assert implied_questions(s, without_room + [where_weapon], given=[SolutionFact("room", w.room)]) == ["F"]
    # a question that needs a deduction is not flagged
    other = next(sus for sus in s.suspects if sus != w.murderer)
    t_free = next(t for t in range(len(s.times)) if t != w.time)
    assert implied_questions(s, main + [ask("where", Ref("suspect", other), t_free, "F")]) == []


def test_two_suspects_who_becomes_implied_by_the_other_suspects_place():
    """In a two-suspect, two-room night, the non-murderer's room at the murder time (not the murder room)
    with the room and time answers forces who, and with who and time forces the room: a 'where' question
    can make main questions implied, so the generator checks every asked question, not only the new one."""
    for seed in range(30):
        p = generate_puzzle(resolve_config("easy"), seed)
        w, s = p.world, p.setting
        other = next(sus for sus in s.suspects if sus != w.murderer)
        if len(s.times) > 1:
            break
    else:
        pytest.skip("no two-time world in 30 seeds")
    assert len(s.rooms) == 2 and w.where(other, w.time) != w.room
    q_other = Question("D", "where", "", s.rooms[w.where(other, w.time)], "ROOM", Ref("suspect", other), w.time, True)
    main = [Question(letter, kind, "", "", "", None, None, False) for letter, kind in zip("ABC", ("suspect", "room", "time"))]
    main = [replace(q, answer=answer_question(w, q)) for q in main]
    assert implied_questions(s, main) == []
    assert implied_questions(s, main + [q_other]) == ["A", "B", "D"]
    assert implied_questions(s, p.questions, p.clues) == []


def test_the_checker_reads_the_original_release(tc_records):
    """The original asked implied questions (its val puzzle 4: 'Where was Monsieur Brunette at 11:45 PM?'
    with who, where and when); our checker reads its puzzles and finds them."""
    from rlvr_gym.envs.temporal_clue.original import model_setting, parse_original_record

    records = tc_records("val")[:12]
    flagged = 0
    for i, record in enumerate(records):
        p = parse_original_record(record, f"val-{i}")
        flagged += bool(implied_questions(model_setting(p.setting), p.questions, p.clues))
    assert flagged >= 3


def test_question_count_follows_the_bonus_rate():
    base = resolve_config("medium")
    only_main = generate_puzzles(replace(base, bonus_rate=0.0), 4, seed=4)
    assert all(all(not q.bonus for q in p.questions) for p in only_main)
    full = generate_puzzles(replace(base, bonus_rate=1.0), 4, seed=4)
    assert max(len(p.questions) for p in full) == 8
    assert [q.text for q in full[0].questions][:len(only_main[0].questions)] == \
        [q.text for q in only_main[0].questions]  # the same main questions
    counts = [len(p.questions) for p in generate_puzzles(base, 16, seed=4)]
    assert 4 <= min(counts) and max(counts) <= 8 and 5.0 <= statistics.fmean(counts) <= 7.5, counts


def test_unique_over_questions_keeps_the_questions_and_drops_clues_they_do_not_need():
    for name, seed in (("tiny", 5), ("medium", 2), ("hard", 3)):
        world_cfg = PRESETS[name]
        q_cfg = replace(world_cfg, unique_over="questions")
        whole, asked = generate_puzzle(world_cfg, seed), generate_puzzle(q_cfg, seed)
        assert [q.to_dict() for q in asked.questions] == [q.to_dict() for q in whole.questions]
        assert asked.meta["kept_for_world"] == len(whole.clues) and asked.meta["unique_over"] == "questions"
        stated = stated_facts(asked.clues)
        assert not any(answer_statement(q, asked.setting) in stated for q in asked.questions)
        model = WorldModel(asked.setting)
        statements = [answer_statement(q, asked.setting) for q in asked.questions]
        assert all(model.forced(asked.clues, st) for st in statements)
        for i in range(len(asked.clues)):  # minimal for the questions: every clue is needed for some answer
            rest = asked.clues[:i] + asked.clues[i + 1:]
            assert not all(model.forced(rest, st) for st in statements), (name, seed, asked.clues[i])
        assert implied_questions(asked.setting, asked.questions, asked.clues) == []


def test_compact_rules_explain_only_the_clue_forms_present_and_verbose_rules_explain_all():
    p = generate_puzzle(resolve_config("hard"), 3)
    verbose = generate_puzzle(replace(resolve_config("hard"), verbose_rules=True), 3)
    assert verbose.clues == p.clues and verbose.questions == p.questions
    assert len(verbose.prompt) > len(p.prompt) + 500
    types = {type(c).__name__ for c in p.clues}
    for marker, needed in (("'Just north of Y'", "Spatial" in types),
                           ("'X moved from A to B at T'", bool({"Moved", "MovedWeapon"} & types))):
        assert (marker in p.prompt) == needed, marker
    assert "no other suspect was in that room" in p.prompt and "alive or dead" in p.prompt
    for fragment in ("exactly one of the two parts is true", "'X carried W from room A to room B at time T'",
                     "'The murderer' and 'the murder weapon' mean"):
        assert fragment in verbose.prompt and fragment not in p.prompt


def test_new_config_fields_validate():
    for fields, message in (({"bonus_rate": 1.5}, "bonus_rate must be a number in 0..1"),
                            ({"unique_over": "clues"}, "unique_over must be one of"),
                            ({"verbose_rules": "yes"}, "verbose_rules must be a bool")):
        with pytest.raises(ValueError, match=message):
            TemporalClueConfig(**fields).validate()
    assert resolve_config(config={"unique_over": "questions"}).unique_over == "questions"


def test_stated_facts_reads_plain_moves_and_locations():
    scarlet, knife = Ref("suspect", "Miss Scarlet"), Ref("weapon", "Knife")
    from rlvr_gym.envs.temporal_clue.clues import Moved, MovedWeapon
    stated = stated_facts([Moved(scarlet, 0, 1, 2), MovedWeapon(Ref("murderer"), knife, 2, 3, 1),
                           HasMotive("Miss Scarlet", "Greed")])
    assert {At(scarlet, 0, 1), At(scarlet, 1, 2), At(knife, 2, 0), At(knife, 3, 1),
            HasMotive("Miss Scarlet", "Greed")} == stated
