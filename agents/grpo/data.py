"""The data of a GRPO run: env specs, the dataset of prompts, and the reward function.

Dataset rows (``build_dataset``): prompt (chat messages: optional system, then the env's observation as the user
message), env_id, index (row number: the curriculum's handle on a prompt), seed (the reset seed), difficulty,
label (difficulty, prefixed with the env id in a mix), and the env's reward columns (envs/text_env.py: "answer"
and "item" for Math, "solution" and "candidates" for Temporal Clue; "" in the rows of other envs of a mix). Row i
of env E is ``E.reset(seed=episode_seed(seed, i))``: the shared row rule of dataset exports (envs/export.py
``episode_row``), so row i of a training run is row i of ``rlvr export dataset E --seed SEED``.

The reward (``EnvReward``) is each row's env grading the completion: ``env.grade_text(text, **row's reward
columns)``, the same call ``env.step`` makes, so training and evaluation reward the same way.
"""

from __future__ import annotations

import math
import random
from typing import Any, Sequence

__all__ = ["parse_env_specs", "build_dataset", "EnvReward"]


def parse_env_specs(specs: Sequence[str] | str) -> list[tuple[str, float]]:
    """["Math-Easy-v0:0.7", "TemporalClue-Easy-v0:0.3"] -> [(id, weight), ...]; weights default to 1 and are
    normalised to sum 1. An id that itself holds a colon ("pkg:Env-v0") keeps it: only a trailing number is a
    weight."""
    if isinstance(specs, str):
        specs = [specs]
    if not specs:
        raise ValueError("at least one env id is needed (e.g. --env Math-Easy-v0)")
    out: list[tuple[str, float]] = []
    for spec in specs:
        if not isinstance(spec, str) or not spec.strip():
            raise ValueError(f"an env spec must be 'ID' or 'ID:weight', got {spec!r}")
        env_id, weight = spec.strip(), 1.0
        head, sep, tail = env_id.rpartition(":")
        if sep:
            try:
                weight = float(tail)
                env_id = head
            except ValueError:
                pass
        if not math.isfinite(weight) or weight <= 0:
            raise ValueError(f"env weight must be a positive number, got {spec!r}")
        if any(env_id == e for e, _ in out):
            raise ValueError(f"env {env_id!r} is listed twice")
        out.append((env_id, weight))
    total = sum(w for _, w in out)
    return [(e, w / total) for e, w in out]


def _split_counts(size: int, weights: Sequence[float]) -> list[int]:
    """Largest-remainder split of `size` rows by weights (every env gets at least one row)."""
    raw = [size * w for w in weights]
    counts = [max(1, int(x)) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: (raw[i] - int(raw[i])), reverse=True)
    k = 0
    while sum(counts) < size:
        counts[order[k % len(order)]] += 1
        k += 1
    return counts


def build_dataset(env_specs: Sequence[str] | str, size: int, seed: int, *, env_kwargs: dict | None = None,
                  system: str | None = None):
    """A HF ``datasets.Dataset`` of `size` rows drawn from the envs (columns in the module docstring). Rows of a
    mix are shuffled with ``random.Random(seed)``; each row's index column is its position."""
    from datasets import Dataset

    from rlvr_gym.envs.export import episode_row
    from rlvr_gym.envs.registration import make_env
    from rlvr_gym.envs.text_env import TextEnv

    specs = parse_env_specs(env_specs)
    env_kwargs = env_kwargs or {}
    counts = _split_counts(size, [w for _, w in specs])
    rows: list[dict] = []
    columns: list[str] = []
    for (env_id, _), count in zip(specs, counts):
        env = make_env(env_id, **dict(env_kwargs.get(env_id, {})))
        inner = env.unwrapped
        graded_by_env = isinstance(inner, TextEnv)
        columns += [c for c in (inner.reward_column_names if graded_by_env else ()) if c not in columns]
        names = inner.reward_column_names if graded_by_env else ()
        for i in range(count):
            try:
                shared = episode_row(env, env_id, seed, i, system=system)   # the one row rule (envs/export.py)
            except ValueError as exc:
                raise ValueError(f"{exc}; GRPO training needs text prompts") from None
            difficulty = shared["difficulty"]
            row = {"prompt": shared["prompt"], "env_id": env_id, "seed": shared["seed"], "difficulty": difficulty,
                   "label": difficulty if len(specs) == 1 else f"{env_id}/{difficulty}"}
            row.update((name, shared[name]) for name in names)
            rows.append(row)
        env.close()
    for row in rows:                      # every row has every column (a mix: "" where another env's column)
        for column in columns:
            row.setdefault(column, "")
    if len(specs) > 1:
        random.Random(seed).shuffle(rows)
    for index, row in enumerate(rows):
        row["index"] = index
    return Dataset.from_list(rows)


class EnvReward:
    """The reward of each completion by its row's env (the ``env_id`` column): ``env.grade_text(text, **the row's
    reward columns)`` for rlvr-gym text envs, the call ``step`` makes; any other single-step text env by replaying
    its episode (``reset(seed=row seed)`` then ``step(completion)``). Completions become text by
    verifiers.text.completion_text. Runs in the main thread (the Math verifier keeps its own timeout worker)."""

    __name__ = "env_reward"

    def __init__(self, env_kwargs: dict | None = None):
        self.env_kwargs = env_kwargs or {}
        self._envs: dict[str, Any] = {}

    def env(self, env_id: str):
        """The (cached) env of an id, made with this run's options for it."""
        if env_id not in self._envs:
            from rlvr_gym.envs.registration import make_env

            self._envs[env_id] = make_env(env_id, **dict(self.env_kwargs.get(env_id, {})))
        return self._envs[env_id]

    def score(self, text: str, env_id: str, columns: dict[str, Any], seed: int | None = None) -> float:
        """The reward of one completion text of a row of `env_id` (columns: the row's dataset columns)."""
        from rlvr_gym.envs.text_env import TextEnv

        env = self.env(env_id)
        inner = env.unwrapped
        if isinstance(inner, TextEnv):
            given = {name: columns[name] for name in inner.reward_column_names if name in columns}
            return float(inner.grade_text(text, **given).reward)
        env.reset(seed=seed)
        _, reward, *_ = env.step(text)
        return float(reward)

    def __call__(self, completions: Sequence[Any], env_id: Sequence[str], seed: Sequence[int] | None = None,
                 **columns: Any) -> list[float]:
        from rlvr_gym.verifiers.text import completion_text

        n = len(completions)
        seed = seed or [None] * n
        rewards = []
        for i, (completion, eid) in enumerate(zip(completions, env_id)):
            row = {name: values[i] for name, values in columns.items()   # TRL passes every dataset column
                   if not isinstance(values, (str, bytes, dict)) and hasattr(values, "__len__") and len(values) == n}
            rewards.append(self.score(completion_text(completion) or "", eid, row, seed[i]))
        return rewards

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
        self._envs = {}
