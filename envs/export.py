"""Dataset rows of any text env, and the writers that put them in files other engines read.

One row builder serves every consumer (``rlvr export``, the verl and verifiers adapters in envs/interop/, and the
GRPO trainer's ``build_dataset``):

    row = episode_row(env, "Math-v0", seed=0, index=i)      # env: make_env("Math-v0", **env_kwargs)

Row ``i`` of a dataset seeded ``seed`` is the episode ``env.reset(seed=episode_seed(seed, i))`` (envs/seeding.py),
so a row depends on (env id, env options, seed, index) only: any row can be rebuilt alone, and a dataset is the
same whichever process or worker built each row. Columns:

- ``prompt``: chat messages (an optional system message, then the observation as the user message);
- ``env_id``, ``env_kwargs`` (the env options as JSON text: with the id they rebuild the env), ``seed`` (the reset
  seed), ``index``, ``difficulty`` (the reset info's ``difficulty`` as text, "" when the env gives none);
- the env's reward columns (``env.reward_columns(reset info)``: ``answer`` and ``item`` for Math, ``solution``
  and ``candidates`` for Temporal Clue), all str, so that ``env.grade_text(response, **columns)`` grades a
  response later, in another process or engine, exactly as ``env.step`` would. (A text env that is not a
  ``TextEnv`` has no reward columns: its responses can only be graded by replaying the episode.)

    rows = build_rows("TemporalClue-Easy-v0", 100, seed=0, workers=2)    # identical for any worker count
    write_rows(rows, "tc.jsonl")                                          # or .parquet, or a folder (datasets)

Writers: JSONL (one JSON object per line, stdlib), parquet (pyarrow) and a Hugging Face ``datasets`` folder
(``datasets.load_from_disk``). pyarrow and datasets are imported only when asked for.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

__all__ = ["episode_row", "iter_rows", "build_rows", "write_rows", "read_rows", "env_kwargs_text", "FORMATS",
           "format_of", "missing_package"]

FORMATS = ("jsonl", "parquet", "hf")


def missing_package(package: str, purpose: str, pip: str | None = None) -> ImportError:
    """The ImportError for an optional package: what needs it and the pip command that installs it."""
    return ImportError(f"{purpose} needs the optional package {package}: pip install {pip or package}")


def env_kwargs_text(env_kwargs: dict | None) -> str:
    """Env options as canonical JSON text (sorted keys): the ``env_kwargs`` column."""
    try:
        return json.dumps(dict(env_kwargs or {}), sort_keys=True, ensure_ascii=False)
    except TypeError as exc:
        raise ValueError(f"env options must be JSON values to travel in a dataset row: {exc}") from None


def episode_row(env, env_id: str, seed: int, index: int, *, system: str | None = None,
                env_kwargs: dict | None = None) -> dict[str, Any]:
    """Row ``index`` of the dataset seeded ``seed`` of a made env (columns in the module docstring)."""
    from rlvr_gym.envs.seeding import episode_seed
    from rlvr_gym.envs.text_env import TextEnv

    inner = env.unwrapped
    reset_seed = episode_seed(seed, index)
    observation, info = env.reset(seed=reset_seed)
    if not isinstance(observation, str):
        raise ValueError(f"{env_id} is not a text environment (observation {type(observation).__name__}); "
                         "its episodes cannot be text dataset rows")
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": observation}]
    row: dict[str, Any] = {"prompt": messages, "env_id": env_id, "env_kwargs": env_kwargs_text(env_kwargs),
                           "seed": int(reset_seed), "index": int(index),
                           "difficulty": str(info.get("difficulty") or "")}
    columns = inner.reward_columns(info) if isinstance(inner, TextEnv) else {}
    clash = sorted(set(columns) & set(row))
    if clash:
        raise ValueError(f"{env_id}'s reward columns {clash} clash with the row's own columns")
    row.update(columns)
    return row


# ---------------------------------------------------------------------------------------------------------------
# Many rows, in index order, with optional worker processes

_WORKER_ENVS: dict[tuple[str, str], Any] = {}


def _rows_job(job: tuple) -> list[dict]:
    """Rows [start, stop) in a worker process (its env is made once per (id, options))."""
    env_id, kwargs_text, seed, start, stop, system = job
    import rlvr_gym  # noqa: F401  (registers the ids in a spawned worker)
    from rlvr_gym.envs.registration import make_env

    key = (env_id, kwargs_text)
    if key not in _WORKER_ENVS:
        _WORKER_ENVS[key] = make_env(env_id, **json.loads(kwargs_text))
    kwargs = json.loads(kwargs_text)
    return [episode_row(_WORKER_ENVS[key], env_id, seed, i, system=system, env_kwargs=kwargs)
            for i in range(start, stop)]


def iter_rows(env_id: str, n: int, seed: int = 0, *, env_kwargs: dict | None = None, system: str | None = None,
              workers: int = 1, chunk: int | None = None) -> Iterator[dict]:
    """Rows 0..n-1 of ``env_id`` (with ``env_kwargs``) for the dataset seeded ``seed``, yielded in index order.
    ``workers`` > 1 builds chunks of rows in worker processes (a bounded window in flight); the rows are the same
    for any worker count because each depends only on (env id, options, seed, index)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be an int >= 0, got {n!r}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an int >= 1, got {workers!r}")
    kwargs_text = env_kwargs_text(env_kwargs)
    kwargs = json.loads(kwargs_text)
    from rlvr_gym.envs.registration import make_env

    env = make_env(env_id, **kwargs)     # made here first: a bad id or option fails at once
    if workers == 1 or n <= 1:
        try:
            for i in range(n):
                yield episode_row(env, env_id, seed, i, system=system, env_kwargs=kwargs)
        finally:
            env.close()
        return
    env.close()
    size = chunk or max(1, min(16, n // (workers * 4) or 1))
    jobs = [(env_id, kwargs_text, seed, start, min(n, start + size), system) for start in range(0, n, size)]
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)))
    pending: dict = {}
    done_jobs: dict[int, list[dict]] = {}
    next_submit = next_yield = 0
    try:
        while next_yield < len(jobs):
            while next_submit < len(jobs) and len(pending) + len(done_jobs) < 2 * workers:
                pending[pool.submit(_rows_job, jobs[next_submit])] = next_submit
                next_submit += 1
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                done_jobs[pending.pop(future)] = future.result()
            while next_yield in done_jobs:
                yield from done_jobs.pop(next_yield)
                next_yield += 1
    finally:
        # On an error or an interrupt, do not wait for the chunks still running: cancel what has not started.
        pool.shutdown(wait=next_yield >= len(jobs), cancel_futures=True)


def build_rows(env_id: str, n: int, seed: int = 0, **kwargs) -> list[dict]:
    """``list(iter_rows(...))``."""
    return list(iter_rows(env_id, n, seed, **kwargs))


# ---------------------------------------------------------------------------------------------------------------
# Files


def format_of(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The file format: ``fmt`` when given, else from the path (``.jsonl``, ``.parquet``; anything else is a
    ``datasets`` folder)."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        return fmt
    suffix = Path(path).suffix.lower()
    return {".jsonl": "jsonl", ".parquet": "parquet"}.get(suffix, "hf")


def write_rows(rows, path: str | os.PathLike, fmt: str | None = None) -> str:
    """Write rows (dicts with the same keys) as JSONL, parquet or a ``datasets`` folder; returns the format."""
    fmt = format_of(path, fmt)
    path = Path(path)
    rows = list(rows)
    if fmt == "jsonl":
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    elif fmt == "parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise missing_package("pyarrow", "writing parquet") from None
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        try:
            from datasets import Dataset
        except ImportError:
            raise missing_package("datasets", "writing a Hugging Face datasets folder") from None
        Dataset.from_list(rows).save_to_disk(str(path))
    return fmt


def read_rows(path: str | os.PathLike, fmt: str | None = None) -> list[dict]:
    """The rows of a file written by ``write_rows`` (for tests and checks)."""
    fmt = format_of(path, fmt)
    if fmt == "jsonl":
        with Path(path).open(encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    if fmt == "parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise missing_package("pyarrow", "reading parquet") from None
        return pq.read_table(path).to_pylist()
    try:
        from datasets import load_from_disk
    except ImportError:
        raise missing_package("datasets", "reading a Hugging Face datasets folder") from None
    return load_from_disk(str(path)).to_list()
