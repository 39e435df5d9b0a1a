"""Specification of MathEnv / Math-v0: Gymnasium contract, seeding, sources, rewards, bad actions."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import rlvr_gym  # noqa: F401  (registers the ids)
from rlvr_gym.envs.math.env import DEFAULT_INSTRUCTION, MathEnv
from rlvr_gym.envs.math.procedural import generate_problem

HAS_RG = importlib.util.find_spec("reasoning_gym") is not None


@pytest.fixture()
def toy_file(tmp_path) -> Path:
    path = tmp_path / "toy.jsonl"
    rows = [{"question": "Zoë has 3 apples and buys 4 more. How many?", "answer": "Add.\n#### 7"},
            {"question": "What is 10 - 4?", "answer": "#### 6"},
            {"question": "Halve 9.", "answer": "#### 4.5"}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows))
    return path


# ---------------------------------------------------------------- Gymnasium contract


def test_check_env_procedural_and_dataset(toy_file):
    check_env(MathEnv())
    check_env(MathEnv(source=str(toy_file)))
    check_env(MathEnv(levels=[9, 10], format_reward=0.1))


def test_registered_ids_and_presets():
    for env_id, levels in (("Math-v0", set(range(1, 11))), ("Math-Easy-v0", {1, 2, 3}),
                           ("Math-Medium-v0", {4, 5, 6}), ("Math-Hard-v0", {7, 8, 9, 10})):
        env = gym.make(env_id)
        seen = {env.reset(seed=s)[1]["level"] for s in range(80)}
        assert seen <= levels and len(seen) >= 2, (env_id, seen)
        obs, reward, terminated, truncated, info = env.step(r"\boxed{0}")
        assert terminated and reward in (0.0, 1.0)
        env.close()
    env = gym.make("Math-v0", level=4)
    assert env.reset(seed=0)[1]["difficulty"] == "level-4"


def test_observations_are_in_the_space(toy_file, math_data):
    for env in (MathEnv(), MathEnv(source=str(toy_file)), MathEnv(source=str(math_data / "gsm8k" / "test.jsonl"))):
        for s in range(30):
            obs, info = env.reset(seed=s)
            assert env.observation_space.contains(obs), obs
            assert obs.endswith(DEFAULT_INSTRUCTION) and info["difficulty"]


# ---------------------------------------------------------------- seeding and item selection


def test_reset_seed_is_reproducible_and_draws_from_np_random():
    env = MathEnv(seed=4)
    a = [env.reset(seed=s)[0] for s in range(20)]
    assert a == [env.reset(seed=s)[0] for s in range(20)]
    assert len(set(a)) > 15
    env.reset(seed=123)
    follow = [env.reset()[0] for _ in range(5)]          # unseeded resets continue the seeded stream
    env.reset(seed=123)
    assert follow == [env.reset()[0] for _ in range(5)]


def test_index_option_selects_items():
    env = MathEnv(seed=7, levels=[3])
    obs, info = env.reset(options={"index": 12})
    p = generate_problem(7, 12, [3])
    assert obs.startswith(p.question) and info["answer"] == p.answer and info["problem_id"] == p.id
    with pytest.raises(IndexError):
        env.reset(options={"index": -1})


def test_dataset_index_and_labels(toy_file):
    env = MathEnv(source=str(toy_file))
    assert len(env) == 3
    obs, info = env.reset(options={"index": 2})
    assert obs.startswith("Halve 9.") and info["answer"] == "4.5" and info["difficulty"] == "gsm8k-steps-0"
    with pytest.raises(IndexError):
        env.reset(options={"index": 3})


def test_math500_levels_in_info(math_data):
    env = MathEnv(source=str(math_data / "math500" / "test.jsonl"))
    obs, info = env.reset(options={"index": 0})
    assert info["level"] == 2 and info["difficulty"] == "level-2" and info["topic"] == "Precalculus"


# ---------------------------------------------------------------- rewards


def test_rewards_and_step_info():
    env = MathEnv(seed=1)
    _, info = env.reset(options={"index": 3})
    obs, reward, terminated, truncated, step_info = env.step(f"Reasoning...\n\\boxed{{{info['answer']}}}")
    assert (obs, reward, terminated, truncated) == ("", 1.0, True, False)
    assert step_info["correct"] and step_info["gold"] == info["answer"] and step_info["difficulty"] == info["difficulty"]
    env.reset(options={"index": 3})
    assert env.step(r"\boxed{999999}")[1] == 0.0


def test_format_reward_is_added_to_correctness():
    env = MathEnv(seed=1, format_reward=0.25)
    _, info = env.reset(options={"index": 0})
    assert env.step(rf"\boxed{{{info['answer']}}}")[1] == 1.25
    env.reset(options={"index": 0})
    assert env.step(f"the answer is {info['answer']}")[1] == 1.0      # right, but not in the asked format
    env.reset(options={"index": 0})
    r, i = env.step(r"\boxed{-123456789}")[1::3]
    assert r == 0.25 and not i["correct"]
    with pytest.raises(ValueError, match="format_reward"):
        MathEnv(format_reward=-1)


def test_bad_actions_get_zero_not_a_crash():
    env = MathEnv()
    for bad in (None, b"\\boxed{1}", 7, "", "x" * 1_000_000, ["a"]):
        env.reset(seed=0)
        obs, reward, terminated, truncated, info = env.step(bad)
        assert reward == 0.0 and terminated and info["reason"]
    env.reset(seed=0)
    env.step("a")
    with pytest.raises(RuntimeError, match="reset"):
        env.step("b")
    with pytest.raises(RuntimeError, match="reset"):
        MathEnv().step("a")


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="procedural"):
        MathEnv(source=[{"question": "q", "answer": "1"}], level=2)
    with pytest.raises(ValueError, match="levels"):
        MathEnv(levels=[99])
    with pytest.raises(TypeError, match="seed"):
        MathEnv(seed="1")


def test_render_ansi():
    env = MathEnv(render_mode="ansi")
    obs, _ = env.reset(seed=0)
    assert env.render() == obs


# ---------------------------------------------------------------- reasoning-gym


@pytest.mark.skipif(not HAS_RG, reason="reasoning-gym not installed")
def test_reasoning_gym_source():
    env = MathEnv(source="reasoning_gym:basic_arithmetic", size=20, seed=3)
    check_env(env)
    obs, info = env.reset(options={"index": 5})
    assert info["difficulty"].startswith("basic_arithmetic")
    assert env.step(rf"\boxed{{{info['answer']}}}")[1] == 1.0
    env.reset(options={"index": 5})
    assert env.step(f"<answer>{info['answer']}</answer>")[1] == 1.0
    env.reset(options={"index": 5})
    assert env.step(rf"\boxed{{{info['answer']}}} or \boxed{{0}}")[1] == 0.0
    with pytest.raises(ValueError, match="no_such_task"):
        MathEnv(source="reasoning_gym:no_such_task")


def test_reasoning_gym_missing_package_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "reasoning_gym", None)     # as if it were not installed
    with pytest.raises(ImportError, match="pip install reasoning-gym"):
        MathEnv(source="reasoning_gym:basic_arithmetic")


def test_light_imports():
    # Making and stepping the procedural env must not load sympy, math-verify, datasets or torch: plain
    # numbers are decided in-process, the heavy comparison lives in the worker process.
    import subprocess

    code = ("import sys, gymnasium as gym, rlvr_gym; env = gym.make('Math-v0'); obs, info = env.reset(seed=0); "
            "env.step('\\\\boxed{' + info['answer'] + '}'); "
            "print([m for m in ('sympy', 'math_verify', 'datasets', 'torch', 'transformers') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_last_number_option_grades_unboxed_answers():
    strict = gym.make("Math-v0", levels=[0])
    lenient = gym.make("Math-v0", levels=[0], last_number=True)
    _, info = strict.reset(seed=3)
    _, info2 = lenient.reset(seed=3)
    assert info["answer"] == info2["answer"]
    # issue #12: a last sentence that states one answer ("that makes 7.") now counts by default, so the reply that
    # tells the two modes apart lists numbers without stating one; only the last-number mode takes the last of them
    reply = f"first 1000, then {info['answer']}"
    assert strict.step(reply)[1] == 0.0
    _, reward, terminated, _, step_info = lenient.step(reply)
    assert reward == 1.0 and terminated and step_info["correct"] and not step_info["format_ok"]
    with pytest.raises(TypeError, match="last_number"):
        gym.make("Math-v0", levels=[0], last_number="yes")


def test_procedural_split_option():
    env = gym.make("Math-v0", levels=[0], split="test")
    from rlvr_gym.envs.math.procedural import question_split
    for seed in range(20):
        obs, _ = env.reset(seed=seed)
        assert question_split(obs.split("\n")[0]) == "test"
    with pytest.raises(ValueError, match="split"):
        gym.make("Math-v0", levels=[0], split="dev")
