"""One reward path: for every registered text env id, the training reward equals the ``step`` reward on the same
responses (envs/text_env.py). Single-turn envs: the trainer's dataset row + ``EnvReward`` vs ``reset(seed=row
seed)`` + ``step``; multi-turn envs: the GRPO rollout's episode loop (``run_episode``) vs stepping the env by hand.
The engines' entry points too (envs/interop/): verl's compute_score and verifiers' taskset reward against step."""

from __future__ import annotations

import importlib.util
import json

import pytest

import rlvr_gym  # noqa: F401
from rlvr_gym.envs.registration import make_env, rlvr_env_ids
from rlvr_gym.envs.text_env import TextEnv

pytest.importorskip("datasets")

HAS_RG = importlib.util.find_spec("reasoning_gym") is not None


def _text_env_ids() -> list[str]:
    out = []
    for env_id in rlvr_env_ids():
        env = make_env(env_id)
        if isinstance(env.unwrapped, TextEnv):
            out.append(env_id)
        env.close()
    return out


TEXT_IDS = _text_env_ids()
# Extra configurations whose grading differs from the defaults (format reward, last-number fallback, legacy grading).
VARIANTS = [("Math-v0", {"levels": [0, 1], "format_reward": 0.25, "last_number": True}),
            ("TemporalClue-Easy-v0", {"grading": "legacy"}),
            ("TemporalClue-v0", {"preset": "tiny", "format_reward": 0.5})]
if HAS_RG:
    VARIANTS.append(("Math-v0", {"source": "reasoning_gym:basic_arithmetic", "size": 20, "seed": 3}))


_ENVS: dict = {}


def shared_env(env_id: str, kwargs: dict):
    """One env per (id, options) for this module's tests: the puzzles generated for one test serve the next."""
    key = (env_id, json.dumps(kwargs, sort_keys=True))
    if key not in _ENVS:
        _ENVS[key] = make_env(env_id, **kwargs)
    return _ENVS[key]


def test_every_text_env_is_covered():
    assert {"Math-v0", "TemporalClue-v0", "TemporalClue-Feedback-v0"} <= set(TEXT_IDS)
    assert "Unmasking-v0" not in TEXT_IDS                  # array observations: not graded from text


def _responses(env, info) -> list[str]:
    """Right, partly right, wrong, hedged, junk and empty responses for one episode."""
    from rlvr_gym.agents.oracle import OracleAgent

    right = OracleAgent().act("", info)
    out = [right, "", "I do not know.", "\\boxed{0}", "The answer is 12 or 13.", right + "\n<think>",
           "<think>" + right + "</think> no idea", right.replace("\n", "\n\n**") + "**"]
    if "puzzle" in info:                                   # Temporal Clue: one wrong line, and the sheet twice
        lines = right.splitlines()
        out += ["\n".join(lines[:-1] + [lines[-1].split(".")[0] + ". Nobody"]), right + "\n" + right]
    else:
        out += [f"so the result is {info['answer']}", f"{info['answer']}", f"<answer>{info['answer']}</answer>"]
    return out


@pytest.mark.parametrize("env_id,kwargs", [(e, {}) for e in TEXT_IDS] + VARIANTS,
                         ids=lambda x: x if isinstance(x, str) else json.dumps(x, sort_keys=True))
def test_training_reward_equals_step_reward(env_id, kwargs):
    from rlvr_gym.agents.grpo.data import EnvReward, build_dataset

    probe = shared_env(env_id, kwargs)
    multi_turn = probe.unwrapped.multi_turn
    rows = build_dataset([env_id], 3, seed=5, env_kwargs={env_id: kwargs})
    reward = EnvReward({env_id: kwargs})
    checked = 0
    for row in rows:
        observation, info = probe.reset(seed=row["seed"])
        assert observation == row["prompt"][-1]["content"]      # the row is that episode
        responses = _responses(probe, info)
        if multi_turn:
            _check_multi_turn(env_id, kwargs, row, responses)
            checked += 1
            continue
        columns = {k: [row[k]] * len(responses) for k in rows.column_names if k not in ("prompt",)}
        trained = reward([[{"role": "assistant", "content": r}] for r in responses], **columns)
        for response, train_reward in zip(responses, trained):
            probe.reset(seed=row["seed"])                    # the same episode again (its puzzle is cached)
            _, step_reward, *_ = probe.step(response)
            assert train_reward == step_reward, (env_id, response)
            checked += 1
        assert trained[0] >= 1.0                            # the oracle's answer is right by both paths
    reward.close()
    assert checked >= 3


def _check_multi_turn(env_id, kwargs, row, responses):
    """The rollout's episode loop against stepping a fresh env with the same sheets in the same order."""
    from rlvr_gym.agents.grpo.multi_turn import run_episode

    rollout_env, env = make_env(env_id, **kwargs), make_env(env_id, **kwargs)
    for sheets in (responses[1:3] + responses[:1], responses[1:], responses[:1]):
        queue = list(sheets)
        trained, turns, chat = run_episode(rollout_env, row["seed"], row["prompt"], lambda chat: queue.pop(0))
        env.reset(seed=row["seed"])
        stepped, done, n = 0.0, False, 0
        while not done:
            _, r, terminated, truncated, info = env.step(sheets[n])
            stepped += r
            n += 1
            done = terminated or truncated
        assert (trained, turns) == (stepped, n)
        assert [m["role"] for m in chat[len(row["prompt"]):]] == ["assistant", "user"] * (n - 1) + ["assistant"]


# --- the engines' reward entry points (envs/interop/): verl's compute_score and verifiers' taskset scoring -------

def _verifiers_rubric():
    """tests/engines/verifiers_check.py's rubric_reward when verifiers (>= 0.4) is importable here, else None
    (tests/test_engines.py runs the same check in a separate environment that has it)."""
    if importlib.util.find_spec("verifiers") is None or importlib.util.find_spec("verifiers.v1") is None:
        return None
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent / "engines"))
    from verifiers_check import rubric_reward

    return rubric_reward


def engine_cases(env_id: str, kwargs: dict, n: int = 1, seed: int = 5) -> list[dict]:
    """Rows of the engines' datasets (envs/export.py) with the responses of ``_responses`` (sequences of sheets for
    a multi-turn env), and the reward ``env.step`` gives each: {"row", "replies", "step"}; shared with
    tests/test_engines.py."""
    from rlvr_gym.envs.export import episode_row

    env = shared_env(env_id, kwargs)              # its puzzle cache serves the row and the replays
    cases = []
    for row in (episode_row(env, env_id, seed, i, env_kwargs=kwargs) for i in range(n)):
        _, info = env.reset(seed=row["seed"])
        responses = _responses(env, info)
        plays = ([[r] for r in responses] if not env.unwrapped.multi_turn
                 else [[r] for r in responses] + [responses[1:3] + responses[:1], responses[1:]])
        for replies in plays:
            env.reset(seed=row["seed"])
            total = 0.0
            for reply in replies:
                _, reward, terminated, truncated, _ = env.step(reply)
                total += reward
                if terminated or truncated:
                    break
            cases.append({"row": row, "replies": replies, "step": total})
    return cases


@pytest.mark.parametrize("env_id,kwargs", [(e, {}) for e in TEXT_IDS] + VARIANTS,
                         ids=lambda x: x if isinstance(x, str) else json.dumps(x, sort_keys=True))
def test_engine_rewards_equal_step_reward(env_id, kwargs):
    """verl's reward (compute_score on the exported ground truth) and verifiers' taskset reward equal ``step``.
    Multi-turn envs: verl grades one sheet (grade_text), which is the step reward of a one-sheet episode; verifiers
    plays the whole episode, whose return is the sum of the step rewards."""
    from rlvr_gym.envs.interop.verl import compute_score, verl_row

    probe = shared_env(env_id, kwargs)
    names, multi_turn = probe.unwrapped.reward_column_names, probe.unwrapped.multi_turn
    one_sheet = make_env(env_id, **kwargs, max_attempts=1) if multi_turn else probe
    rubric = _verifiers_rubric()
    cases = engine_cases(env_id, kwargs)
    for case in cases:
        row, replies = case["row"], case["replies"]
        if len(replies) == 1:
            verl = verl_row(row, reward_column_names=names)
            score = compute_score(verl["data_source"], replies[0], verl["reward_model"]["ground_truth"],
                                  verl["extra_info"])
            one_sheet.reset(seed=row["seed"])
            assert score == one_sheet.step(replies[0])[1], (env_id, replies[0])
            if not multi_turn or score == 1.0:                # an all-right sheet ends a multi-turn episode
                assert score == case["step"], (env_id, replies[0])
        if rubric is not None:
            assert rubric(row, replies) == case["step"], (env_id, replies)
    assert max(c["step"] for c in cases) >= 1.0 and min(c["step"] for c in cases) == 0.0
