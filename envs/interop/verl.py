"""rlvr-gym environments in verl: the RL dataset rows verl reads, and the custom reward function it calls.

Dataset (``rlvr export verl ENV_ID -n N --out train.parquet``): one parquet row per episode, in verl's RL dataset
schema, made from the shared row builder (envs/export.py ``episode_row``):

    data_source   "rlvr_gym/<env id>"
    prompt        chat messages [{"role": "user", "content": <the env's observation>}] (optional system first)
    ability       "math" (Math envs), "logic" (Temporal Clue), else "reasoning"
    reward_model  {"style": "rule", "ground_truth": <JSON text, below>}
    extra_info    {"index", "split", "difficulty", "seed", "env_id"}

``ground_truth`` is JSON text (one parquet string type for every env) holding what rebuilds the env and grades a
response:

    {"env_id": "Math-v0", "env_kwargs": {...the env options...}, "reward_columns": {"answer": "42", "item": "7"}}

Reward (verl's custom reward function signature):

    compute_score(data_source, solution_str, ground_truth, extra_info=None, **kwargs) -> float

makes the env of ``ground_truth`` once per (env id, options) in each process and returns
``env.grade_text(solution_str, **reward_columns).reward``: the env's own reward, the call ``env.step`` makes, never
a copy of its grading. It imports no torch and no verl. verl config (0.9: the ``reward`` section; earlier
versions: the top-level ``custom_reward_function``):

    reward.custom_reward_function.path=pkg://rlvr_gym.envs.interop.verl
    reward.custom_reward_function.name=compute_score

(or the file path, ``python -c "import rlvr_gym.envs.interop.verl as m; print(m.__file__)"``: verl then loads this
file under another module name, so it imports only absolute names).

Multi-turn envs (TemporalClue-Feedback-v0): verl 0.9's agent loops give a model tools, not an environment that
answers, so verl trains them single-turn: ``compute_score`` is the env's ``grade_text`` of one answer sheet, which
is what ``env.step`` returns when that sheet ends the episode (all right, or ``max_attempts=1``).
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["compute_score", "verl_row", "verl_rows", "parse_ground_truth", "write_verl_parquet",
           "ability_of", "DATA_SOURCE_PREFIX"]

DATA_SOURCE_PREFIX = "rlvr_gym/"
_ABILITIES = (("rlvr_gym.envs.math.", "math"), ("rlvr_gym.envs.temporal_clue.", "logic"))


def ability_of(env) -> str:
    """verl's ``ability`` label of an env: "math", "logic" (Temporal Clue) or "reasoning"."""
    module = type(env.unwrapped).__module__ + "."
    return next((label for prefix, label in _ABILITIES if module.startswith(prefix)), "reasoning")


def parse_ground_truth(ground_truth: Any) -> tuple[str, dict, dict[str, str]]:
    """(env id, env options, reward columns) of a ``ground_truth`` (JSON text or the same as a dict)."""
    value = json.loads(ground_truth) if isinstance(ground_truth, (str, bytes)) else ground_truth
    if not isinstance(value, dict) or "env_id" not in value or "reward_columns" not in value:
        raise ValueError("ground_truth must be rlvr-gym's JSON object {env_id, env_kwargs, reward_columns} "
                         f"(written by `rlvr export verl`), got {str(ground_truth)[:120]!r}")
    return str(value["env_id"]), dict(value.get("env_kwargs") or {}), dict(value["reward_columns"])


def verl_row(row: dict, *, split: str = "train", ability: str = "reasoning", reward_column_names=()) -> dict:
    """A shared dataset row (envs/export.py) in verl's RL dataset schema (module docstring)."""
    kwargs = json.loads(row["env_kwargs"])
    ground_truth = json.dumps({"env_id": row["env_id"], "env_kwargs": kwargs,
                               "reward_columns": {name: row[name] for name in reward_column_names}},
                              sort_keys=True, ensure_ascii=False)
    return {"data_source": DATA_SOURCE_PREFIX + row["env_id"], "prompt": row["prompt"], "ability": ability,
            "reward_model": {"style": "rule", "ground_truth": ground_truth},
            "extra_info": {"index": int(row["index"]), "split": split, "difficulty": row["difficulty"],
                           "seed": int(row["seed"]), "env_id": row["env_id"]}}


def verl_rows(env_id: str, n: int, seed: int = 0, *, split: str = "train", env_kwargs: dict | None = None,
              system: str | None = None, workers: int = 1):
    """Rows 0..n-1 of ``env_id`` in verl's schema, in index order (the same for any worker count)."""
    from rlvr_gym.envs.export import iter_rows
    from rlvr_gym.envs.registration import make_env

    probe = make_env(env_id, **dict(env_kwargs or {}))
    ability, names = ability_of(probe), tuple(getattr(probe.unwrapped, "reward_column_names", ()))
    probe.close()
    for row in iter_rows(env_id, n, seed, env_kwargs=env_kwargs, system=system, workers=workers):
        yield verl_row(row, split=split, ability=ability, reward_column_names=names)


def write_verl_parquet(rows, path) -> int:
    """Write verl rows to a parquet file (pyarrow); returns the number of rows."""
    from pathlib import Path

    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        from rlvr_gym.envs.export import missing_package

        raise missing_package("pyarrow", "writing verl's parquet dataset") from None
    rows = list(rows)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)
    return len(rows)


# ---------------------------------------------------------------------------------------------------------------
# The reward entry point


def compute_score(data_source: str, solution_str: str, ground_truth: Any, extra_info: dict | None = None,
                  **kwargs: Any) -> float:
    """verl's custom reward: the rlvr-gym env's ``grade_text`` of ``solution_str`` (module docstring)."""
    from rlvr_gym.envs.interop.common import score_text

    env_id, env_kwargs, columns = parse_ground_truth(ground_truth)
    return score_text(env_id, env_kwargs, columns, solution_str if isinstance(solution_str, str) else "")
