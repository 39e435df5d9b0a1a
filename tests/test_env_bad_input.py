"""Environments under bad input: observations stay in the declared space whatever an agent sends, reset options
are checked the same way by every env, options are honoured or refused (never silently ignored), and a missing
optional dependency is named at ``gymnasium.make``."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import pytest

import rlvr_gym  # noqa: F401
from rlvr_gym.envs.registration import rlvr_env_ids

TEXT_ENV_IDS = [e for e in rlvr_env_ids() if not e.startswith("Unmasking")]


@pytest.mark.parametrize("action", [
    "A. " + "x" * 1_000_000,                     # a 1 MB answer
    "A. Mrs. White\x00\x01\x02\nB. \x7f\x1b[31mRope",   # NUL and control characters
    b"A. \xff\xfe\x80 Mrs. White\nB. \xc3\x28",        # undecodable bytes (decoded with replacement characters)
    "A. \ud800 lone surrogate \U0001F600 emoji",
])
def test_feedback_observation_stays_in_its_space_whatever_the_sheet(action):
    env = gym.make("TemporalClue-Feedback-v0", max_attempts=3)
    space = env.observation_space
    obs, _ = env.reset(seed=0)
    assert space.contains(obs)
    obs, reward, terminated, _, info = env.step(action)
    assert not terminated and reward == 0.0
    assert space.contains(obs), "the observation left its declared Text space"
    assert len(obs) <= space.max_length and "sheet 1" in obs
    obs, *_ = env.step(action)      # two pasted sheets
    assert space.contains(obs)


def test_a_long_sheet_is_shown_by_its_end():
    from rlvr_gym.envs.temporal_clue.feedback_env import sheet_excerpt

    sheet = "thinking " * 2000 + "\nA. Mrs. White\nB. Rope"
    shown = sheet_excerpt(sheet, limit=100)
    assert shown.endswith("A. Mrs. White\nB. Rope") and "earlier characters not shown" in shown
    assert sheet_excerpt("A. x\x00y") == "A. xy"


@pytest.mark.parametrize("env_id", TEXT_ENV_IDS)
@pytest.mark.parametrize("options", ["not a dict", ["index", 0], 3])
def test_reset_options_of_the_wrong_type_get_one_message_everywhere(env_id, options):
    env = gym.make(env_id)
    with pytest.raises(TypeError, match=f"options must be a dict, got {type(options).__name__}"):
        env.reset(seed=0, options=options)


@pytest.mark.parametrize("env_id", TEXT_ENV_IDS)
def test_unknown_reset_options_are_named(env_id):
    env = gym.make(env_id)
    with pytest.raises(ValueError, match="unknown reset options.*inedx"):
        env.reset(seed=0, options={"inedx": 1})


def test_unmasking_reset_options_are_checked_the_same_way(lm):
    env = gym.make("Unmasking-v0", model=lm, task="addition")
    with pytest.raises(TypeError, match="options must be a dict, got str"):
        env.reset(seed=0, options="not a dict")
    venv = gym.make_vec("Unmasking-v0", num_envs=2, vectorization_mode="vector_entry_point", model=lm,
                        task="addition")
    with pytest.raises(TypeError, match="options must be a dict, got str"):
        venv.reset(seed=0, options="not a dict")


def test_procedural_math_honours_limit():
    env = gym.make("Math-v0", levels=[1], limit=5)
    assert len(env.unwrapped) == 5
    indices = {env.reset(seed=s)[1]["index"] for s in range(40)}
    assert indices <= set(range(5)) and len(indices) > 1
    full = gym.make("Math-v0", levels=[1])
    for i in range(5):   # the first 5 items of the same sequence
        assert env.reset(options={"index": i})[0] == full.reset(options={"index": i})[0]
    with pytest.raises(IndexError):
        env.reset(options={"index": 5})
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="limit must be a positive int"):
            gym.make("Math-v0", limit=bad)


def test_unmasking_without_transformers_names_the_extra_at_make():
    code = (
        "import sys\n"
        "sys.modules['transformers'] = None   # as if the train extra were not installed\n"
        "import gymnasium as gym, rlvr_gym\n"
        "try:\n"
        "    gym.make('Unmasking-v0')\n"
        "except ImportError as exc:\n"
        "    print('ImportError:', exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Unmasking-v0" in result.stdout and "transformers" in result.stdout
    assert "pip install 'rlvr-gym[train]'" in result.stdout


def test_rlvr_eval_reports_the_missing_extra_in_one_line():
    code = (
        "import sys\n"
        "sys.modules['transformers'] = None\n"
        "from rlvr_gym.cli.main import main\n"
        "sys.exit(main(['eval', 'Unmasking-v0', '--agent', 'unmask:random', '-n', '1']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "rlvr-gym[train]" in result.stderr and "Traceback" not in result.stderr
