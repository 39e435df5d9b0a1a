"""The evaluation harness: play N episodes of any registered environment with an agent and record what happened.

    from rlvr_gym.agents.evaluation import evaluate, write_run
    rows, summary = evaluate("TemporalClue-Easy-v0", "random", episodes=20)   # an Agent, or an agent spec
    write_run("runs/random", rows, summary)                                     # results.jsonl + summary.json

Episode i resets with ``seed=episode_seed(seed, i)`` (envs/seeding.py); an env that plays a fixed set of items (it
exposes ``num_items``, e.g. a puzzles file) gets ``options={"index": i % num_items}`` as well, so every item is
played in order. The agent answers batches of observations (``reply_batch``, with the reset infos), each answer is
stepped in the env that asked it (the env grades it: envs/text_env.py), and multi-step envs are played to the end.
Each row records what the step's info reports: ``correct``, ``extracted``, ``solution`` (or ``gold`` /
``answer``), ``format_ok``, ``reasons`` (or ``reason``), ``error``; the id from ``puzzle_id`` (or ``problem_id`` /
``id``) and the difficulty from the reset info's ``difficulty`` when the env gives them.

results.jsonl row: index, env_id, seed, puzzle_id, difficulty, prompt, response, reward, correct, extracted,
solution, format_ok, reasons, error, prompt_tokens, completion_tokens, latency_s (and steps, nfe for array-action
envs). summary.json: env_id, agent, episodes, mean_reward, solved_fraction (reward >= 1 with every question right),
format_ok_fraction, mean latency/tokens, by_difficulty, seconds, episodes_per_second, agent_seconds.

Used by ``rlvr eval`` (cli/eval.py), the GRPO trainer's held-out evaluation and the benchmarks.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

__all__ = ["evaluate", "write_run", "summarize", "episode_row", "jsonable", "PRESET_ORDER"]

PRESET_ORDER = ("easy", "medium", "hard", "expert")


def evaluate(env_id: str, agent: Any, *, episodes: int | None = None, seed: int = 0,
             env_kwargs: dict | None = None, agent_kwargs: dict | None = None, batch_size: int = 8,
             concurrency: int = 1, progress: bool = True) -> tuple[list[dict], dict]:
    """Run ``episodes`` one-step episodes of ``env_id`` with ``agent`` (an Agent, or a spec for
    agents.base.load_agent; a spec-loaded agent is closed at the end). Returns (rows, summary): one
    results.jsonl row per episode in index order, and the summary (without "args")."""
    import rlvr_gym  # noqa: F401  (registers the env ids)
    from rlvr_gym.agents.base import load_agent
    from rlvr_gym.envs.registration import make_env

    env_kwargs = dict(env_kwargs or {})
    first_env = make_env(env_id, **env_kwargs)
    num_items = getattr(first_env.unwrapped, "num_items", None)
    episodes = episodes if episodes is not None else (num_items or 10)
    owned = isinstance(agent, str)
    label = agent if owned else getattr(agent, "name", type(agent).__name__)
    if owned:
        agent = load_agent(agent, **{"seed": seed, **(agent_kwargs or {})})
    harness = _Harness(lambda: make_env(env_id, **env_kwargs), first_env, num_items, agent,
                       env_id=env_id, label=label, seed=seed, batch_size=batch_size, concurrency=concurrency)
    try:
        rows, seconds = harness.run(episodes, progress=progress)
    finally:
        harness.close()
        if owned:
            agent.close()
    summary = summarize(rows, env_id=env_id, agent=label, seconds=seconds)
    summary["agent_seconds"] = harness.agent_seconds
    return rows, summary


def write_run(out: str | Path, rows: list[dict], summary: dict) -> None:
    """DIR/results.jsonl (one row per episode) and DIR/summary.json."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with (out / "results.jsonl").open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


class _Harness:
    """Runs the episodes: resets in the main thread, agent calls in up to ``concurrency`` threads, steps in
    the main thread (verifiers with signal-based timeouts must run there). Each in-flight batch owns its
    envs; finished envs are reused."""

    def __init__(self, make_env, first_env, num_items, agent, *, env_id, label, seed, batch_size, concurrency):
        if batch_size < 1 or concurrency < 1:
            raise ValueError(f"batch_size and concurrency must be at least 1, got {batch_size}, {concurrency}")
        self.make_env, self.num_items, self.agent = make_env, num_items, agent
        self.env_id, self.label, self.seed = env_id, label, seed
        self.batch_size, self.concurrency = batch_size, concurrency
        self.free_envs = [first_env]
        self.agent_seconds = 0.0  # time spent inside the agent's calls (summed over batches)

    def _env(self):
        return self.free_envs.pop() if self.free_envs else self.make_env()

    def close(self) -> None:
        for env in self.free_envs:
            env.close()
        self.free_envs = []

    def run(self, episodes: int, progress: bool = True) -> tuple[list[dict], float]:
        from contextlib import nullcontext

        from rlvr_gym.agents.evaluation.progress import progress_bar
        from rlvr_gym.envs.seeding import episode_seed

        start = time.perf_counter()
        rows: dict[int, dict] = {}
        size = self.batch_size
        batches = [range(i, min(i + size, episodes)) for i in range(0, episodes, size)]
        reward_sum = 0.0
        with progress_bar() if progress else nullcontext() as bar:
            task = bar.add_task(f"eval {self.env_id}", total=episodes, status="") if bar else None

            def start_batch(indices):
                envs, observations, infos, seeds = [], [], [], []
                for i in indices:
                    env = self._env()
                    envs.append(env)
                    seed = episode_seed(self.seed, i)
                    options = None if self.num_items is None else {"index": i % self.num_items}
                    observation, info = env.reset(seed=seed, options=options)
                    observations.append(observation)
                    infos.append(info)
                    seeds.append(seed)
                return envs, observations, infos, seeds

            def finish_batch(indices, batch, replies, batch_seconds):
                nonlocal reward_sum
                self.agent_seconds += batch_seconds
                envs, observations, infos, seeds = batch
                self.free_envs.extend(envs)
                if len(replies) != len(indices):
                    raise RuntimeError(
                        f"agent {self.label} returned {len(replies)} replies for {len(indices)} observations")
                results = []
                for k, i in enumerate(indices):
                    reply = replies[k]
                    text = getattr(reply, "text", reply)
                    if not isinstance(text, str) and _is_text_space(envs[k].action_space):
                        raise TypeError(
                            f"agent {self.label} returned {type(text).__name__} instead of text (episode {i})")
                    results.append(envs[k].step(text))
                returns, steps, batch_seconds = self._finish_multi_step(envs, infos, results, batch_seconds)
                for k, i in enumerate(indices):
                    reply = replies[k]
                    text = getattr(reply, "text", reply)
                    step_info = results[k][4]
                    latency = getattr(reply, "latency_s", None)
                    is_text = isinstance(text, str)
                    rows[i] = episode_row(
                        index=i, env_id=self.env_id, seed=seeds[k],
                        prompt=observations[k] if is_text else infos[k].get("prompt"), reset_info=infos[k],
                        response=text if is_text else step_info.get("text"), reward=returns[k], step_info=step_info,
                        prompt_tokens=getattr(reply, "prompt_tokens", None),
                        completion_tokens=getattr(reply, "completion_tokens", None),
                        latency_s=latency if latency is not None else batch_seconds / len(indices),
                    )
                    if not is_text:  # array-action envs (Unmasking-v0): steps taken and forward passes
                        rows[i].update(steps=steps[k], nfe=step_info.get("nfe"))
                    reward_sum += float(returns[k])
                if bar is not None:
                    bar.update(task, completed=len(rows), status=f"mean reward {reward_sum / len(rows):.3f}")

            def call_agent(batch):
                t0 = time.perf_counter()
                replies = list(self.agent.reply_batch(batch[1], batch[2]))
                return replies, time.perf_counter() - t0

            if self.concurrency == 1:
                for indices in batches:
                    batch = start_batch(indices)
                    replies, batch_seconds = call_agent(batch)
                    finish_batch(indices, batch, replies, batch_seconds)
            else:
                from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

                queue = list(batches)
                in_flight: dict[Any, tuple] = {}
                with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
                    while queue or in_flight:
                        while queue and len(in_flight) < self.concurrency:
                            indices = queue.pop(0)
                            batch = start_batch(indices)
                            in_flight[pool.submit(call_agent, batch)] = (indices, batch)
                        done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                        for future in done:
                            indices, batch = in_flight.pop(future)
                            replies, batch_seconds = future.result()
                            finish_batch(indices, batch, replies, batch_seconds)
        return [rows[i] for i in sorted(rows)], time.perf_counter() - start

    def _finish_multi_step(self, envs, reset_infos, results, batch_seconds):
        """Multi-step envs (e.g. Unmasking-v0): ask the agent again, in one batch, for every episode that has
        not ended, until all have; text envs end after their one step and skip the loop. Updates ``results``
        in place with each episode's last step; returns (returns, steps per episode, agent seconds)."""
        returns = [float(r[1]) for r in results]
        steps = [1] * len(results)
        pending = [k for k, r in enumerate(results) if not (r[2] or r[3])]
        while pending:
            t0 = time.perf_counter()
            actions = list(self.agent.act_batch([results[k][0] for k in pending], [reset_infos[k] for k in pending]))
            elapsed = time.perf_counter() - t0
            self.agent_seconds += elapsed
            batch_seconds += elapsed
            if len(actions) != len(pending):
                raise RuntimeError(f"agent {self.label} returned {len(actions)} actions for {len(pending)} observations")
            for k, action in zip(pending, actions):
                results[k] = envs[k].step(action)
                returns[k] += float(results[k][1])
                steps[k] += 1
            pending = [k for k in pending if not (results[k][2] or results[k][3])]
        return returns, steps, batch_seconds


def _is_text_space(space) -> bool:
    from gymnasium import spaces

    return isinstance(space, spaces.Text)


def episode_row(*, index, env_id, seed, prompt, reset_info, response, reward, step_info,
                prompt_tokens=None, completion_tokens=None, latency_s=None) -> dict:
    """One line of results.jsonl (JSON-ready; the reset info's objects such as the Puzzle are left out)."""
    solution = _first(step_info, "solution", "gold", "answer")
    return {
        "index": index,
        "env_id": env_id,
        "seed": seed,
        "puzzle_id": _first(reset_info, "puzzle_id", "problem_id", "id"),
        "difficulty": reset_info.get("difficulty"),
        "prompt": prompt,
        "response": response,
        "reward": float(reward),
        "correct": jsonable(step_info.get("correct")),
        "extracted": jsonable(step_info.get("extracted")),
        "solution": jsonable(solution),
        "format_ok": jsonable(step_info.get("format_ok")),
        "reasons": jsonable(_first(step_info, "reasons", "reason")),
        "error": step_info.get("error"),
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "latency_s": latency_s,
    }


def _first(info: dict, *keys: str):
    """The value of the first of ``keys`` present in ``info`` (envs name the same thing differently)."""
    for key in keys:
        if info.get(key) is not None:
            return info[key]
    return None


def _solved(row: dict) -> bool:
    """Reward >= 1 and, where the env reports one verdict per question (Temporal Clue's ``correct`` dict), every
    one right: Temporal Clue's optional format reward can lift a partly right sheet to reward >= 1."""
    correct = row.get("correct")
    if isinstance(correct, dict) and correct and not all(v is True for v in correct.values()):
        return False
    return row["reward"] >= 1.0 - 1e-9


def _stats(rows: list[dict]) -> dict:
    n = len(rows)
    stats: dict[str, Any] = {
        "episodes": n,
        "mean_reward": sum(r["reward"] for r in rows) / n if n else 0.0,
        "solved_fraction": sum(_solved(r) for r in rows) / n if n else 0.0,
    }
    if any("nfe" in r for r in rows):  # Unmasking-v0: the reward discounts NFE, so report plain accuracy too
        flags = [r["correct"] for r in rows if isinstance(r.get("correct"), bool)]
        if flags:
            stats["correct_fraction"] = sum(flags) / len(flags)
    format_flags = [r["format_ok"] for r in rows if isinstance(r.get("format_ok"), bool)]
    if format_flags:
        stats["format_ok_fraction"] = sum(format_flags) / len(format_flags)
    for key in ("latency_s", "prompt_tokens", "completion_tokens", "nfe"):
        values = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
        if values:
            stats[f"mean_{key}"] = sum(values) / len(values)
    return stats


def _difficulty_key(name: str):
    return (PRESET_ORDER.index(name) if name in PRESET_ORDER else len(PRESET_ORDER), name)


def summarize(rows: list[dict], *, env_id: str, agent: str, seconds: float) -> dict:
    """The run summary: overall stats plus by_difficulty (when episodes report a difficulty)."""
    summary: dict[str, Any] = {"env_id": env_id, "agent": agent, **_stats(rows)}
    groups: dict[str, list[dict]] = {}
    for row in rows:
        if row.get("difficulty") is not None:
            groups.setdefault(str(row["difficulty"]), []).append(row)
    summary["by_difficulty"] = {name: _stats(groups[name]) for name in sorted(groups, key=_difficulty_key)}
    summary["seconds"] = seconds
    summary["episodes_per_second"] = len(rows) / seconds if seconds > 0 else None
    return summary


def jsonable(value: Any) -> Any:
    """A JSON-ready copy of ``value``: dicts/lists/scalars kept, objects with to_dict() converted, anything else
    turned into its str()."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        try:
            return value.item()
        except Exception:
            pass
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return jsonable(value.to_dict())
    return str(value)
