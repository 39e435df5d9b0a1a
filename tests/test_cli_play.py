"""``rlvr play temporal-clue``: reading commands, names and times; the game driven in-process and through
piped stdin in a subprocess (hints are forced true facts, the oracle's sheet gets full marks, wrong answers
get per-question feedback, bad commands get a message, end of input quits with exit code 0)."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from rlvr_gym.cli.play import (
    CommandError, Game, clock_minutes, find_command, match_names, parse_time, play, read_location,
)
from rlvr_gym.envs.temporal_clue.elements import VICTIM
from rlvr_gym.envs.temporal_clue.notepad import world_truth

ROOT = Path(__file__).resolve().parents[1]
PIECES = ("Miss Scarlet", "Mr. Green", "Mrs. White", "Mrs. Peacock", "Lead Pipe", "Rope", VICTIM)
ROOMS = ("Hall", "Dining Room", "Drawing Room", "Kitchen")
TIMES = ("11:30 PM", "12:00 AM", "12:30 AM")


# ----- reading names, times and locations ---------------------------------------------------------------------
def test_names_match_by_any_unambiguous_part():
    assert match_names("green", PIECES) == ["Mr. Green"]
    assert match_names("SCAR", PIECES) == ["Miss Scarlet"]
    assert match_names("mr. green", PIECES) == ["Mr. Green"]
    assert match_names("lead", PIECES) == ["Lead Pipe"]
    assert match_names("mrs", PIECES) == ["Mrs. White", "Mrs. Peacock"]
    assert match_names("dr", ROOMS) == ["Drawing Room"]
    assert match_names("d", ROOMS) == ["Dining Room", "Drawing Room"]
    assert match_names("#2", ROOMS) == ["Dining Room"] and match_names("4", ROOMS) == ["Kitchen"]
    assert match_names("5", ROOMS) == []
    assert match_names("victim", PIECES, {"victim": VICTIM}) == [VICTIM]
    assert match_names("", PIECES) == []


def test_times_in_the_forms_people_write_them():
    for text in ("11:30pm", "11:30 PM", "11:30 p.m.", "23:30", "2330"):
        assert clock_minutes(text) == [23 * 60 + 30], text
    assert clock_minutes("midnight") == [0] == clock_minutes("12am")
    assert clock_minutes("11:30") == [11 * 60 + 30, 23 * 60 + 30]  # no AM/PM: both readings
    assert clock_minutes("7:75") == [] == clock_minutes("soon") == clock_minutes("13pm")
    assert parse_time("11:30", TIMES) == 0  # only one reading is a time of this case
    assert parse_time("12am", TIMES) == 1 and parse_time("00:30", TIMES) == 2
    with pytest.raises(CommandError, match="not one of this case's times"):
        parse_time("9pm", TIMES)
    with pytest.raises(CommandError, match="not a time"):
        parse_time("later", TIMES)


def test_locations_read_with_multiword_names_in_either_order():
    def read(text, times=TIMES):
        loc = read_location(text.split(), PIECES, ROOMS, times)
        return loc.piece, loc.time, loc.room

    assert read("Scarlet 11:30 PM Dining Room") == ("Miss Scarlet", 0, 1)
    assert read("lead pipe 12am kitchen") == ("Lead Pipe", 1, 3)
    assert read("Mr. Green #3 00:30") == ("Mr. Green", 2, 2)
    assert read("boddy 12:30am hall") == (VICTIM, 2, 0)
    assert read("peacock kitchen", times=("12:00 AM",)) == ("Mrs. Peacock", 0, 3)  # one time: left out
    with pytest.raises(CommandError, match="'Nobody' is not a piece"):
        read("Nobody 11:30pm Hall")
    with pytest.raises(CommandError, match="'Attic' is not a room"):
        read("Scarlet 11:30pm Attic")
    with pytest.raises(CommandError, match="could be any of"):
        read("Mrs 11:30pm Hall")
    with pytest.raises(CommandError, match="PIECE TIME ROOM"):
        read("Scarlet")


def test_commands_by_name_alias_or_prefix():
    assert find_command("cl").name == "clues"
    assert find_command("NOTES").name == "notes"
    assert find_command("?").name == "help"
    with pytest.raises(CommandError, match="could be"):
        find_command("s")  # submit / solution
    with pytest.raises(CommandError, match="unknown command"):
        find_command("dance")


# ----- the game in-process ---------------------------------------------------------------------------------------
# easy seed 1: one time (no 'when'); easy seed 2: two times; medium seed 2: 5 suspects, 4 times, 24 clues
@pytest.fixture(scope="module", params=[("easy", 1), ("easy", 2), ("medium", 2)], ids=lambda p: f"{p[0]}-{p[1]}")
def puzzle(request):
    from rlvr_gym.envs.temporal_clue.config import resolve_config
    from rlvr_gym.envs.temporal_clue.generator import generate_puzzle

    preset, seed = request.param
    return generate_puzzle(resolve_config(preset), seed)


@pytest.fixture(scope="module")
def easy_puzzle():
    from rlvr_gym.envs.temporal_clue.config import resolve_config
    from rlvr_gym.envs.temporal_clue.generator import generate_puzzle

    return generate_puzzle(resolve_config("easy"), 2)


def new_game(puzzle):
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=False, highlight=False)
    return Game(puzzle, console), out


def test_the_oracle_sheet_gets_full_marks_and_closes_the_case(puzzle):
    game, out = new_game(puzzle)
    for letter, answer in puzzle.solution.items():
        assert game.handle(f"{letter}. {answer}")
    assert game.answers == puzzle.solution
    assert game.handle("submit") is False
    assert game.finished
    text = out.getvalue()
    assert "Reward: 1.00" in text and "Case closed" in text


def test_a_wrong_answer_gets_feedback_per_question_and_may_be_fixed(puzzle):
    game, out = new_game(puzzle)
    letters = list(puzzle.solution)
    wrong_letter = letters[0]
    wrong = next(c for c in puzzle.candidates()[wrong_letter] if c != puzzle.solution[wrong_letter])
    game.handle(f"answer {wrong_letter} {wrong}")
    for letter in letters[1:]:
        game.handle(f"{letter} {puzzle.solution[letter]}")
    assert game.handle("submit") is True  # the game goes on
    text = out.getvalue()
    row = next(line for line in text.splitlines() if line.startswith(f"│ {wrong_letter} "))
    assert "wrong" in row and wrong in row and puzzle.solution[wrong_letter] not in row  # no answer given away
    assert text.count("right") >= len(letters) - 1
    assert f"Reward: {(len(letters) - 1) / len(letters):.2f}" in text
    game.handle(f"{wrong_letter}. {puzzle.solution[wrong_letter]}")
    assert game.handle("submit") is False
    assert game.submissions == [pytest.approx((len(letters) - 1) / len(letters)), 1.0]


def test_hint_reveals_a_fact_the_clues_force_and_marks_it(puzzle, monkeypatch):
    import re

    from rlvr_gym.envs.temporal_clue.model import WorldModel

    game, out = new_game(puzzle)
    game.deducer.hint_seconds = 1.5  # keeps the test fast; hints stay exact
    model = WorldModel(puzzle.setting)
    clues = list(puzzle.clues)
    for n in range(1, 4):
        game.handle("hint")
        marks = game.notepad.explicit_marks()
        assert len(marks) == n and all(value for _, _, value in marks)
        for key, option, _ in marks:
            fact = game.notepad.fact(key, option)
            assert world_truth(puzzle.world, fact)
            assert model.forced(clues, fact)
        if n == 1:  # nothing marked before: the clues the hint names force the fact on their own
            why = out.getvalue().split("Why: ")[1].split("\n")[0]
            named = [int(x) for x in re.findall(r"\d+", why.split(":")[0])]
            fact = game.notepad.fact(*marks[0][:2])
            assert model.forced([clues[i - 1] for i in named], fact), why
    assert game.hints == 3
    text = out.getvalue()
    assert text.count("Hint: ") == 3 and text.count("Why: ") == 3


def test_hint_points_at_a_wrong_mark_first(puzzle):
    game, out = new_game(puzzle)
    world = puzzle.world
    wrong_room = (world.where(VICTIM, 0) + 1) % len(puzzle.setting.rooms)
    t = puzzle.setting.times[0] if len(puzzle.setting.times) > 1 else ""
    game.handle(f"mark boddy {t} #{wrong_room + 1}")
    game.handle("hint")
    assert "check your notepad" in out.getvalue()
    assert len(game.notepad.explicit_marks()) == 1  # nothing new revealed


def test_bad_commands_get_a_message_not_a_crash(puzzle):
    game, out = new_game(puzzle)
    for line in ("dance", "mark", "mark Nobody 11pm Hall", "x", "answer", "answer Z Mr. Green", "A. Nobody",
                 "motive", "nomotive Scarlet", "notes Nobody", "help nothing", "mark who", "unmark boddy hall 1am", "submit"):
        assert game.handle(line) is True, line
    text = out.getvalue()
    assert "unknown command 'dance'" in text
    assert "is not a question letter" in text
    assert "your answer sheet is empty" in text and game.submissions == []
    assert "Traceback" not in text
    assert game.notepad.explicit_marks() == [] and game.answers == {}


def test_notepad_marks_show_in_the_grid_and_fill_answers(puzzle):
    game, out = new_game(puzzle)
    world, s = puzzle.world, puzzle.setting
    game.handle(f"mark who {world.murderer}")
    game.handle(f"mark what {world.weapon}")
    game.handle(f"mark where #{world.room + 1}")
    if len(s.times) > 1:
        game.handle(f"mark when {s.times[world.time]}")
    game.handle(f"motive {world.murderer} {world.motives[world.murderer]}")
    game.handle("notes")
    text = out.getvalue()
    assert "The murder" in text and world.murderer in text
    game.handle("fill")
    for q in puzzle.questions:
        if q.kind in ("suspect", "weapon", "room", "time", "motive"):
            assert game.answers[q.letter] == q.answer


def test_a_notepad_with_the_whole_truth_fills_a_perfect_sheet(puzzle):
    game, out = new_game(puzzle)
    world, s = puzzle.world, puzzle.setting
    for piece, rooms in world.locations.items():
        for t, room in enumerate(rooms):
            when = f" {s.times[t]}" if len(s.times) > 1 else ""
            game.handle(f"mark {piece}{when} {s.rooms[room]}")
    for suspect, motive in world.motives.items():
        game.handle(f"mark {suspect} {motive}")  # the SUSPECT MOTIVE reading of mark
    game.handle(f"mark who {world.murderer}")
    game.handle(f"mark what {world.weapon}")
    game.handle(f"mark where {s.rooms[world.room]}")
    if len(s.times) > 1:
        game.handle(f"mark when {s.times[world.time]}")
    assert "Warning" not in out.getvalue()
    assert game.notepad.progress()["locations"][0] == len(world.locations) * len(s.times)
    game.handle("fill")
    assert game.answers == puzzle.solution
    assert game.handle("submit") is False and game.submissions == [1.0]


def test_the_loop_echoes_piped_commands_and_quits_at_end_of_input(puzzle):
    game, out = new_game(puzzle)
    assert play(game, io.StringIO("clues\nquestions\n")) == 0
    text = out.getvalue()
    assert "> clues" in text and "> questions" in text and "End of input" in text
    game, out = new_game(puzzle)
    assert play(game, io.StringIO("quit\nclues\n")) == 0
    assert "> clues" not in out.getvalue()


def test_solution_shows_the_answers_and_ends(puzzle):
    game, out = new_game(puzzle)
    assert game.handle("solution") is False
    text = out.getvalue()
    assert all(answer in text for answer in puzzle.solution.values())


# ----- the real command through piped stdin ----------------------------------------------------------------------
def rlvr_play(*args, stdin: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rlvr_gym.cli.main", "play", "temporal-clue", *args],
                          input=stdin, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def test_piped_session_hint_feedback_full_marks(easy_puzzle):
    puzzle = easy_puzzle
    lines = ["hint", "frobnicate", "notes"]
    lines += [f"{letter}. {answer}" for letter, answer in puzzle.solution.items()]
    lines += ["submit"]
    proc = rlvr_play("--difficulty", "easy", "--seed", "2", stdin="\n".join(lines) + "\n")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "\x1b[" not in out  # plain text when stdout is not a terminal
    assert "Hint: " in out and "unknown command 'frobnicate'" in out
    assert "Reward: 1.00" in out and "Case closed" in out
    assert all(text in out for text in puzzle.clue_texts)  # the same case as generate_puzzle(easy, seed 1)


def test_piped_session_end_of_input_and_solution(easy_puzzle, tmp_path):
    puzzle = easy_puzzle
    proc = rlvr_play("--difficulty", "easy", "--seed", "2", stdin="board\n")
    assert proc.returncode == 0, proc.stderr
    assert "End of input" in proc.stdout and "N" in proc.stdout
    path = tmp_path / "one.jsonl"
    path.write_text(json.dumps(puzzle.to_dict()) + "\n")
    proc = rlvr_play("--puzzles", str(path), "--index", "0", stdin="solution\nhint\n")
    assert proc.returncode == 0, proc.stderr
    assert "Solution" in proc.stdout and all(a in proc.stdout for a in puzzle.solution.values())
    assert "Hint:" not in proc.stdout  # the game ended at 'solution'
    proc = rlvr_play("--puzzles", str(path), "--index", "5", stdin="")
    assert proc.returncode == 2 and "out of range" in proc.stderr


def test_an_original_release_case_plays_with_solver_hints(shared_dir):
    path = shared_dir / "data" / "temporal_clue" / "test.json"
    record = json.loads(path.read_text())[0]
    lines = ["hint"] + [f"{letter}. {answer}" for letter, answer in record["solution"].items()] + ["submit"]
    proc = rlvr_play("--puzzles", str(path), "--index", "0", stdin="\n".join(lines) + "\n")
    assert proc.returncode == 0, proc.stderr
    assert "Hint: " in proc.stdout and "Reward: 1.00" in proc.stdout
