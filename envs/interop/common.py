"""The one reward path the engine adapters share: envs made once per (id, options) in a process, and the env's own
grading of a response (``grade_text``) or of an episode's responses in order (``step``).

    score_text("Math-v0", {}, {"answer": "42", "item": "7"}, "... \\boxed{42}")          # grade_text
    episode_return("TemporalClue-Feedback-v0", {}, seed, ["A. ...", "A. ..."])            # stepping, summed

Engines call these from worker threads (verl runs its reward in an executor), so each env has its own lock.
"""

from __future__ import annotations

import json
import threading
from typing import Any, Sequence

__all__ = ["cached_env", "score_text", "episode_return"]

_ENVS: dict[tuple[str, str], tuple[Any, threading.Lock]] = {}
_LOCK = threading.Lock()


def cached_env(env_id: str, env_kwargs: dict | None = None):
    """(env, lock): the text env of (id, options), made once per process."""
    key = (env_id, json.dumps(dict(env_kwargs or {}), sort_keys=True))
    with _LOCK:
        if key not in _ENVS:
            import rlvr_gym  # noqa: F401  (registers the ids)
            from rlvr_gym.envs.registration import make_env
            from rlvr_gym.envs.text_env import TextEnv

            env = make_env(env_id, **dict(env_kwargs or {}))
            if not isinstance(env.unwrapped, TextEnv):
                env.close()
                raise ValueError(f"{env_id} does not grade text responses (not a TextEnv)")
            _ENVS[key] = (env, threading.Lock())
        return _ENVS[key]


def score_text(env_id: str, env_kwargs: dict | None, columns: dict[str, str], text: str) -> float:
    """``env.grade_text(text, **columns).reward``: one response graded by its env (what ``step`` returns for a
    single-turn env)."""
    env, lock = cached_env(env_id, env_kwargs)
    with lock:
        return float(env.unwrapped.grade_text(text, **columns).reward)


def episode_return(env_id: str, env_kwargs: dict | None, seed: int, responses: Sequence[str]) -> float:
    """The return of the episode ``reset(seed=seed)`` answered by ``responses`` in order: the sum of ``step``'s
    rewards until the episode ends (responses after the end are not played; fewer responses than the episode
    takes leave it unfinished, with the rewards so far)."""
    env, lock = cached_env(env_id, env_kwargs)
    total = 0.0
    with lock:
        env.reset(seed=seed)
        for text in responses:
            _, reward, terminated, truncated, _ = env.step(text)
            total += float(reward)
            if terminated or truncated:
                break
    return total
