"""TemporalClueEnv and RandomAgent: the Gymnasium contract, seeding, puzzle files, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.error import ResetNeeded
from gymnasium.utils.env_checker import check_env

import rlvr_gym  # noqa: F401  (registers the env ids)
from rlvr_gym.agents.random_agent import RandomAgent, prompt_candidates
from rlvr_gym.envs.temporal_clue.config import PRESETS, resolve_config
from rlvr_gym.envs.temporal_clue.env import CHARSET, TemporalClueEnv
from rlvr_gym.envs.temporal_clue.generator import generate_puzzle, puzzle_seed

RESET_KEYS = {"puzzle_id", "difficulty", "questions", "letters", "candidates", "puzzle", "index", "puzzle_seed"}
STEP_KEYS = {"solution", "correct", "extracted", "reasons", "format_ok"}


@pytest.fixture(scope="module")
def easy_file(tmp_path_factory) -> Path:
    """Three easy puzzles in our JSONL format (items 0..2 of the seed-11 sequence)."""
    path = tmp_path_factory.mktemp("puzzles") / "easy.jsonl"
    config = resolve_config(preset="easy")
    with path.open("w") as handle:
        for i in range(3):
            handle.write(json.dumps(generate_puzzle(config, puzzle_seed(11, i)).to_dict()) + "\n")
    return path


def answer_sheet(solution: dict[str, str]) -> str:
    return "\n".join(f"{letter}. {answer}" for letter, answer in sorted(solution.items()))


def test_check_env_passes_on_the_unwrapped_env():
    env = gym.make("TemporalClue-Easy-v0")
    check_env(env.unwrapped)  # includes the "ansi" render mode through env.spec
    env.close()


def test_check_env_passes_when_playing_a_file(easy_file):
    check_env(gym.make("TemporalClue-v0", puzzles=str(easy_file)).unwrapped)


def test_make_reports_terminated_not_truncated():
    env = gym.make("TemporalClue-Easy-v0")
    env.reset(seed=0)
    _, _, terminated, truncated, _ = env.step("")
    assert terminated is True and truncated is False  # the env ends its own episode; no TimeLimit


def test_registered_ids_and_kwargs():
    for env_id, preset in [("TemporalClue-v0", "medium"), ("TemporalClue-Easy-v0", "easy"),
                           ("TemporalClue-Medium-v0", "medium"), ("TemporalClue-Hard-v0", "hard"),
                           ("TemporalClue-Expert-v0", "expert")]:
        env = gym.make(env_id)
        assert env.spec.max_episode_steps is None  # single-step: the env terminates by itself
        assert env.unwrapped.config == PRESETS[preset]
    env = gym.make("TemporalClue-v0", players=3)
    assert env.unwrapped.config == resolve_config(players=3)


def test_make_with_the_package_prefix_needs_no_import():
    import subprocess
    import sys

    code = ("import gymnasium as gym\n"
            "env = gym.make('rlvr_gym:TemporalClue-Easy-v0')\n"
            "print(env.reset(seed=0)[1]['difficulty'])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "easy"


def test_reset_then_step_with_the_solution_scores_one():
    env = gym.make("TemporalClue-Easy-v0")
    prompt, info = env.reset(seed=3)
    assert RESET_KEYS <= set(info)
    puzzle = info["puzzle"]
    assert prompt == puzzle.prompt and prompt in env.observation_space
    assert info["letters"] == [q["letter"] for q in info["questions"]]
    assert all("answer" not in q for q in info["questions"])  # the info must not leak the answers
    assert set(info["candidates"]) == set(info["letters"])
    for letter, answer in puzzle.solution.items():
        assert answer in info["candidates"][letter]
    observation, reward, terminated, truncated, step_info = env.step(answer_sheet(puzzle.solution))
    assert STEP_KEYS <= set(step_info)
    assert (observation, reward, terminated) == ("", 1.0, True)
    assert step_info["solution"] == puzzle.solution and all(step_info["correct"].values())
    assert step_info["format_ok"] is True


def test_partial_answers_get_the_fraction_right():
    env = TemporalClueEnv(preset="easy")
    _, info = env.reset(seed=4)
    solution = info["puzzle"].solution
    first = sorted(solution)[0]
    _, reward, _, _, step_info = env.step(f"{first}. {solution[first]}")
    assert reward == pytest.approx(1 / len(solution))
    assert step_info["correct"][first] is True


def test_reset_seed_is_reproducible_across_instances():
    a, b = TemporalClueEnv(preset="easy"), TemporalClueEnv(preset="easy")
    prompt_a, info_a = a.reset(seed=123)
    prompt_b, info_b = b.reset(seed=123)
    assert prompt_a == prompt_b and info_a["puzzle_id"] == info_b["puzzle_id"]
    assert a.reset(seed=123)[0] == prompt_a  # the same instance again (GRPO groups share a seed)
    assert len({a.reset(seed=s)[1]["puzzle_seed"] for s in range(5)}) == 5  # other seeds, other puzzles


def test_index_option_plays_the_generated_sequence():
    env = TemporalClueEnv(preset="easy")
    prompt, info = env.reset(seed=11, options={"index": 1})
    expected = generate_puzzle(resolve_config(preset="easy"), puzzle_seed(11, 1))
    assert prompt == expected.prompt and info["index"] == 1
    # without a reset seed the sequence seed is base_seed
    prompt_base, _ = TemporalClueEnv(preset="easy", base_seed=11).reset(options={"index": 1})
    assert prompt_base == expected.prompt


def test_puzzles_file_by_index_and_by_seed(easy_file):
    env = gym.make("TemporalClue-v0", puzzles=str(easy_file))
    lines = [json.loads(line) for line in easy_file.read_text().splitlines()]
    assert env.unwrapped.num_items == 3
    for i, record in enumerate(lines):
        prompt, info = env.reset(options={"index": i})
        assert info["puzzle_id"] == record["id"] and prompt == record["prompt"]
    seeded = [env.reset(seed=s)[1]["index"] for s in range(8)]
    assert seeded == [env.reset(seed=s)[1]["index"] for s in range(8)]
    with pytest.raises(ValueError, match="out of range"):
        env.reset(options={"index": 3})


def test_original_release_file(tc_val_file):
    records = json.loads(tc_val_file.read_text())
    for grading in ("strict", "legacy"):
        env = gym.make("TemporalClue-v0", puzzles=str(tc_val_file), grading=grading)
        assert env.unwrapped.num_items == len(records)
        prompt, info = env.reset(options={"index": 0})
        assert prompt == records[0]["prompt"] and prompt in env.observation_space
        assert info["letters"] == sorted(records[0]["solution"])
        _, reward, _, _, step_info = env.step(answer_sheet(records[0]["solution"]))
        assert reward == 1.0 and step_info["solution"] == records[0]["solution"]


def test_every_character_of_the_reference_prompts_is_in_the_charset(tc_val_file):
    charset = set(CHARSET)
    for record in json.loads(tc_val_file.read_text()):
        assert set(record["prompt"]) <= charset


@pytest.mark.parametrize("preset", ["easy", "medium", pytest.param("hard", marks=pytest.mark.slow),
                                    pytest.param("expert", marks=pytest.mark.slow)])
def test_generated_prompts_fit_the_observation_space(preset):
    env = TemporalClueEnv(preset=preset)
    for seed in range(2):
        prompt, _ = env.reset(seed=seed)
        assert set(prompt) <= set(CHARSET), sorted(set(prompt) - set(CHARSET))


def test_options_puzzle_plays_a_given_puzzle():
    puzzle = generate_puzzle(resolve_config(preset="easy"), 5)
    env = TemporalClueEnv(preset="easy")
    for given in (puzzle, puzzle.to_dict()):
        prompt, info = env.reset(options={"puzzle": given})
        assert prompt == puzzle.prompt and info["puzzle_id"] == puzzle.id


def test_bad_reset_options_and_constructor_arguments():
    env = TemporalClueEnv(preset="easy")
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"idx": 0})
    with pytest.raises(ValueError, match="non-negative int"):
        env.reset(options={"index": -1})
    with pytest.raises(TypeError, match="Puzzle"):
        env.reset(options={"puzzle": 42})
    with pytest.raises(ValueError, match="grading"):
        TemporalClueEnv(preset="easy", grading="lenient")
    with pytest.raises(FileNotFoundError):
        TemporalClueEnv(puzzles="/nonexistent/puzzles.jsonl")


def test_bad_puzzle_files(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="no puzzles"):
        TemporalClueEnv(puzzles=empty)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt": "x", "solution": {}}\nnot json\n')
    with pytest.raises(ValueError, match="line 2"):
        TemporalClueEnv(puzzles=broken)
    alien = tmp_path / "alien.jsonl"
    alien.write_text('{"question": "1+1?", "answer": "2"}\n')
    with pytest.raises(ValueError, match="record 0"):
        TemporalClueEnv(puzzles=alien)


def test_step_order_is_enforced():
    env = TemporalClueEnv(preset="easy")
    with pytest.raises(ResetNeeded, match="reset"):
        env.step("A. Mrs. White")
    env.reset(seed=0)
    env.step("")
    with pytest.raises(ResetNeeded, match="episode is over"):
        env.step("A. Mrs. White")


@pytest.mark.parametrize("action", ["", "   ", "A.", "\x00" * 10, "A. " + "Rope " * 1000])
def test_junk_text_gets_zero_not_a_crash(action):
    env = TemporalClueEnv(preset="easy")
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(action)
    assert reward == 0.0 and terminated and info["format_ok"] is False


def test_oversized_response_gets_zero_with_a_reason():
    env = TemporalClueEnv(preset="easy", max_response_chars=1000)
    _, info = env.reset(seed=0)
    huge = answer_sheet(info["puzzle"].solution) + " " * 1_000_000  # 1 MB that would otherwise be right
    _, reward, terminated, _, step_info = env.step(huge)
    assert reward == 0.0 and terminated and "too long" in step_info["error"]
    # within the default limit a 1 MB response is refused too (default 100k characters)
    env = TemporalClueEnv(preset="easy")
    env.reset(seed=0)
    assert env.step("x" * 1_000_000)[1] == 0.0


def test_bytes_are_decoded_and_other_types_score_zero_with_a_reason():
    env = TemporalClueEnv(preset="easy")
    _, info = env.reset(seed=0)
    _, reward, _, _, _ = env.step(answer_sheet(info["puzzle"].solution).encode("utf-8"))
    assert reward == 1.0
    env.reset(seed=0)
    assert env.step(b"\xff\xfe A.")[1] == 0.0  # undecodable bytes are replaced, not a crash
    for action in (None, 42, [answer_sheet(info["puzzle"].solution)]):
        env.reset(seed=0)
        _, reward, terminated, _, step_info = env.step(action)
        assert reward == 0.0 and terminated and "must be text" in step_info["error"]
        assert not any(step_info["correct"].values())


def test_ansi_render_shows_prompt_and_grading():
    env = gym.make("TemporalClue-Easy-v0", render_mode="ansi")
    prompt, info = env.reset(seed=0)
    assert env.render() == prompt
    env.step(answer_sheet(info["puzzle"].solution))
    rendered = env.render()
    assert rendered.startswith(prompt) and "graded" in rendered and "wrong" not in rendered.split("graded")[1]


def test_random_agent_is_seeded_and_answers_with_candidates():
    env = TemporalClueEnv(preset="easy")
    observations, infos = zip(*(env.reset(seed=s) for s in range(4)))
    first = RandomAgent(seed=7).act_batch(observations, infos)
    assert first == RandomAgent(seed=7).act_batch(observations, infos)
    for reply, info in zip(first, infos):
        lines = dict(line.split(". ", 1) for line in reply.splitlines())
        assert list(lines) == info["letters"]
        assert all(lines[letter] in info["candidates"][letter] for letter in lines)
        env.reset(options={"puzzle": info["puzzle"]})
        assert env.step(reply)[4]["format_ok"] is True
    assert RandomAgent(seed=1).act("What is 2+2?").endswith("}.")  # non-Temporal-Clue text


def test_random_agent_reads_candidates_from_an_original_prompt(tc_val_file):
    for record in json.loads(tc_val_file.read_text())[:10]:
        candidates = prompt_candidates(record["prompt"])
        assert sorted(candidates) == sorted(record["solution"])
        for letter, answer in record["solution"].items():
            assert answer in candidates[letter], (letter, answer)


@pytest.mark.parametrize("preset", ["easy", "medium"])
def test_random_agent_reads_candidates_from_our_prompts(preset):
    env = TemporalClueEnv(preset=preset)
    for seed in range(4):
        prompt, info = env.reset(seed=seed)
        found = {letter: sorted(names) for letter, names in prompt_candidates(prompt).items()}
        assert found == {letter: sorted(names) for letter, names in info["candidates"].items()}


def test_original_records_as_jsonl(tc_val_file, tmp_path):
    records = json.loads(tc_val_file.read_text())[:2]
    path = tmp_path / "original.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    env = TemporalClueEnv(puzzles=path)
    prompt, info = env.reset(options={"index": 1})
    assert prompt == records[1]["prompt"] and info["puzzle_id"] == "original-original-1"
    assert info["difficulty"] == "original"


def test_config_dict_sets_the_sizes():
    env = gym.make("TemporalClue-v0", config={"suspects": 3, "weapons": 2, "rooms": 3, "times": 1, "players": 1})
    _, info = env.reset(seed=0)
    setting = info["puzzle"].setting
    assert (len(setting.suspects), len(setting.weapons), len(setting.rooms), len(setting.times)) == (3, 2, 3, 1)
    with pytest.raises(ValueError, match="suspects"):
        gym.make("TemporalClue-v0", config={"suspects": 99})


def test_format_reward_pays_for_the_answer_form_never_for_a_particular_answer():
    env = TemporalClueEnv(preset="tiny", format_reward=0.5)
    _, info = env.reset(seed=3)
    solution = dict(info["puzzle"].solution)
    wrong = {letter: next(c for c in info["candidates"][letter] if c != gold) for letter, gold in solution.items()}
    sheet = lambda answers: "\n".join(f"{letter}. {answer}" for letter, answer in answers.items())  # noqa: E731
    cols = env.reward_columns(info)
    assert env.grade_text(sheet(solution), **cols).reward == pytest.approx(1.5)
    wrong_graded = env.grade_text(sheet(wrong), **cols)
    assert wrong_graded.reward == pytest.approx(0.5) and wrong_graded.info["answer_form"] == 1.0
    # sentences instead of names, and a line naming two candidates: no answer-form credit
    first, *rest = solution
    sentences = {letter: "The murderer was with Mr. Boddy and the murder weapon." for letter in solution}
    assert env.grade_text(sheet(sentences), **cols).reward == 0.0
    two = dict(wrong, **{first: " or ".join(info["candidates"][first][:2])})
    assert env.grade_text(sheet(two), **cols).info["answer_form"] == pytest.approx(len(rest) / len(solution))
    # a sentence naming one listed answer of the asked kind counts (not right: extra text is not an answer)
    said = dict(wrong, **{first: f"I think it was {wrong[first]}, because of clue 2"})
    assert env.grade_text(sheet(said), **cols).info["answer_form"] == 1.0
    _, reward, *_ = env.step(sheet(wrong))       # step grades through the same method
    assert reward == pytest.approx(0.5)
    # off by default; the plain reward is unchanged
    plain = TemporalClueEnv(preset="tiny")
    plain.reset(seed=3)
    assert plain.grade_text(sheet(wrong), **cols).reward == 0.0
    assert "answer_form" not in plain.grade_text(sheet(wrong), **cols).info
    for bad in (-0.1, 1.5, "0.5", True):
        with pytest.raises(ValueError, match="format_reward must be a number in 0..1"):
            TemporalClueEnv(preset="tiny", format_reward=bad)
