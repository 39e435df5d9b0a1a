"""The evaluation harness (agents/evaluation/harness.py) from Python: summaries, agent objects, batching."""

import pytest


def test_summary_counts_solved_and_orders_difficulties():
    from rlvr_gym.agents.evaluation import summarize

    rows = [
        {"reward": 1.0, "difficulty": "hard", "format_ok": True, "latency_s": 1.0},
        {"reward": 0.5, "difficulty": "easy", "format_ok": False, "latency_s": 3.0},
        {"reward": 1.0, "difficulty": "easy", "format_ok": True, "latency_s": None},
        {"reward": 0.0, "difficulty": "original", "format_ok": None},
    ]
    summary = summarize(rows, env_id="X-v0", agent="a", seconds=2.0)
    assert summary["episodes"] == 4 and summary["mean_reward"] == pytest.approx(0.625)
    assert summary["solved_fraction"] == 0.5 and summary["format_ok_fraction"] == pytest.approx(2 / 3)
    assert summary["mean_latency_s"] == 2.0
    assert list(summary["by_difficulty"]) == ["easy", "hard", "original"]
    assert summary["by_difficulty"]["easy"] == {"episodes": 2, "mean_reward": 0.75, "solved_fraction": 0.5,
                                                "format_ok_fraction": 0.5, "mean_latency_s": 3.0}


def test_evaluate_from_python_with_an_agent_object():
    from rlvr_gym.agents.random_agent import RandomAgent
    from rlvr_gym.agents.evaluation import evaluate

    rows, summary = evaluate("TemporalClue-Easy-v0", RandomAgent(seed=0), episodes=3, batch_size=2, progress=False)
    again, _ = evaluate("TemporalClue-Easy-v0", RandomAgent(seed=0), episodes=3, batch_size=3, progress=False)
    assert [r["index"] for r in rows] == [0, 1, 2] and summary["agent"] == "random"
    assert [(r["prompt"], r["response"], r["reward"]) for r in rows] == \
        [(r["prompt"], r["response"], r["reward"]) for r in again]  # batch size does not change results
    assert summary["mean_reward"] == pytest.approx(sum(r["reward"] for r in rows) / 3)


def test_a_partly_right_sheet_lifted_over_one_by_the_format_reward_is_not_solved():
    from rlvr_gym.agents.evaluation.harness import _stats

    rows = [{"reward": 0.75 + 0.5, "correct": {"A": True, "B": True, "C": True, "D": False}},
            {"reward": 1.0 + 0.5, "correct": {"A": True, "B": True}},
            {"reward": 1.0, "correct": True}, {"reward": 0.7, "correct": {"A": True}}]  # last: a discounted retry
    assert _stats(rows)["solved_fraction"] == 0.5
