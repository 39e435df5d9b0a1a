"""TemporalClue-Feedback-v0: up to K answer sheets, told how many answers are right after each, reward discounted
per attempt; playable by the eval harness, and trainable with GRPO through TRL's rollout_func."""

from __future__ import annotations

import gymnasium as gym
import pytest

import rlvr_gym  # noqa: F401


def _sheet(solution: dict, wrong: int = 0) -> str:
    lines = []
    for i, (letter, answer) in enumerate(solution.items()):
        lines.append(f"{letter}. {'nobody' if i < wrong else answer}")
    return "\n".join(lines)


def test_feedback_counts_right_answers_and_discounts_per_attempt():
    env = gym.make("TemporalClue-Feedback-v0", max_attempts=3, discount=0.5)
    prompt, info = env.reset(seed=7)
    assert "up to 3 answer sheets" in prompt and info["max_attempts"] == 3
    solution = info["puzzle"].solution
    total = len(solution)
    obs, reward, terminated, truncated, step = env.step(_sheet(solution, wrong=2))
    assert (reward, terminated, truncated) == (0.0, False, False)
    assert step["right"] == total - 2 and step["attempt"] == 1
    assert f"{total - 2} of {total} answers are right" in step["feedback"]
    # the observation repeats the puzzle and the sheet with its score, but never says which answers were wrong
    assert obs.startswith(prompt) and f"{total - 2} of {total} answers right" in obs
    assert "nobody" in obs
    obs, reward, terminated, _, step = env.step(_sheet(solution))
    assert terminated and reward == pytest.approx(0.5) and step["right"] == total


def test_last_attempt_ends_with_partial_credit_and_junk_scores_zero():
    env = gym.make("TemporalClue-Feedback-v0", max_attempts=2, discount=0.8)
    _, info = env.reset(seed=1)
    solution = info["puzzle"].solution
    env.step(None)                                # not text: graded as nothing right, the episode goes on
    _, reward, terminated, _, step = env.step(_sheet(solution, wrong=1))
    total = len(solution)
    assert terminated and reward == pytest.approx(0.8 * (total - 1) / total)
    with pytest.raises(gym.error.ResetNeeded):
        env.step("A. x")


def test_same_seed_same_puzzle_and_bad_arguments():
    a = gym.make("TemporalClue-Feedback-v0").reset(seed=3)[0]
    b = gym.make("TemporalClue-Feedback-v0").reset(seed=3)[0]
    assert a == b
    for bad in ({"max_attempts": 0}, {"discount": 0.0}, {"discount": 1.5}):
        with pytest.raises(ValueError):
            gym.make("TemporalClue-Feedback-v0", **bad)


def test_check_env_passes():
    from gymnasium.utils.env_checker import check_env

    check_env(gym.make("TemporalClue-Feedback-v0").unwrapped)


def test_eval_harness_plays_it_to_the_end():
    from rlvr_gym.agents.evaluation import evaluate

    rows, summary = evaluate("TemporalClue-Feedback-v0", "random", episodes=3, progress=False)
    assert summary["episodes"] == 3 and all(0.0 <= r["reward"] <= 1.0 for r in rows)


def test_grpo_trains_it_through_rollout_func(tmp_path):
    import torch

    from rlvr_gym.agents.grpo import TrainConfig, train

    torch.set_num_threads(1)
    config = TrainConfig(env=["TemporalClue-Feedback-v0"], env_kwargs={"TemporalClue-Feedback-v0": {"max_attempts": 2}},
                         model="tiny-random", lora_r=4, train_size=4, eval_size=0, max_completion_length=8,
                         per_device_train_batch_size=4, num_generations=2, max_steps=1, save_steps=10, progress=False,
                         plots=False, out=str(tmp_path / "fb"))
    result = train(config)
    assert result.steps == 1
    import pandas as pd

    table = pd.read_parquet(next((tmp_path / "fb" / "completions").glob("*.parquet")))
    assert "env_reward" in table.columns and len(table) == 4
    completion = table["completion"].iloc[0]
    text = completion if isinstance(completion, str) else " ".join(m["content"] for m in completion)
    # tiny-random never solves a puzzle, so every rollout used both sheets and saw the feedback turn
    assert "answers are right" in text
