"""rlvr-gym environments as a Prime Intellect ``verifiers`` environment (verifiers >= 0.4, its ``verifiers.v1`` API).

verifiers 0.4 composes an environment from a *taskset* (tasks: data plus ``@vf.reward`` scoring, the successor of
the rubric), an *Env* (how one task becomes one episode) and a harness (the program the model runs in; the tool-less
``null`` harness is a plain chat). This module gives all three for any rlvr-gym text env:

- ``RlvrGymTaskset`` (config ``RlvrGymConfig``: ``env_id``, ``n``, ``seed``, ``env_kwargs``, ``system``,
  ``workers``): task i is dataset row i of envs/export.py (``env.reset(seed=episode_seed(seed, i))``), its data
  carries the env id, options, reset seed and the env's reward columns;
- ``RlvrGymTask.env_reward`` (weight 1): the env's own reward of the episode's replies, the same call ``env.step``
  makes: ``grade_text(last reply, **reward columns)`` for single-turn envs (Temporal Clue, Math), and for multi-turn
  envs (TemporalClue-Feedback-v0) the return of stepping a fresh episode with the replies in order
  (envs/interop/common.py);
- ``RlvrGymEnv``: single-turn envs run the agent once; multi-turn envs are played as the env's user: each reply is
  stepped and ``info["feedback"]`` comes back as the next user turn until the episode ends.

The package ``environments/rlvr_gym_env`` (``pip install -e environments/rlvr_gym_env``) exports these under the
taskset id ``rlvr-gym-env``, as verifiers' own environments are packaged:

    vf-eval rlvr-gym-env --env.taskset.env-id Math-v0 --env.taskset.n 20 --env.agent.harness.id null \\
        -m MODEL --client.base-url http://127.0.0.1:8000/v1 --no-push

``load_environment(env_id=..., n=..., **env_kwargs)`` builds the same environment in Python.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import verifiers.v1 as vf
except ImportError as exc:  # an optional engine: say what to install, or what shadows it
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("verifiers")
    if spec is not None and spec.origin and not (Path(spec.origin).parent / "v1").is_dir():
        raise ImportError(f"the top-level name 'verifiers' is {spec.origin}, not Prime Intellect's package: Python "
                          "was started in the rlvr-gym checkout (whose grader package is called verifiers); start "
                          "it from another directory") from exc
    raise ImportError("rlvr_gym.envs.interop.verifiers_env needs Prime Intellect's verifiers >= 0.4: "
                      "pip install 'verifiers>=0.4' uv") from exc

__all__ = ["RlvrGymData", "RlvrGymTask", "RlvrGymConfig", "RlvrGymTaskset", "RlvrGymEnvConfig", "RlvrGymEnv",
           "load_environment", "task_data", "TASKSET_ID"]

TASKSET_ID = "rlvr-gym-env"


class RlvrGymData(vf.TaskData):
    """One episode of an rlvr-gym env: what rebuilds it (env id, options, reset seed) and grades it (reward columns)."""

    env_id: str
    env_kwargs: str = "{}"
    """The env options, JSON text."""
    seed: int
    index: int = 0
    difficulty: str = ""
    reward_columns: dict[str, str] = {}


def task_data(row: dict) -> RlvrGymData:
    """A dataset row of envs/export.py as task data (a system message becomes the task's system prompt)."""
    messages = list(row["prompt"])
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else None
    user = messages[-1]["content"]
    fixed = {"prompt", "env_id", "env_kwargs", "seed", "index", "difficulty"}
    return RlvrGymData(prompt=user, system_prompt=system, env_id=row["env_id"], env_kwargs=row["env_kwargs"],
                       seed=int(row["seed"]), index=int(row["index"]), difficulty=row["difficulty"],
                       name=f"{row['env_id']}#{row['index']}",
                       reward_columns={k: str(v) for k, v in row.items() if k not in fixed})


def _replies(trace: vf.Trace) -> list[str]:
    """The model's replies in order, as the text the env grades (``vf.types.content_text``, unstripped)."""
    from verifiers.v1.types import content_text

    return [content_text(message.content) for message in trace.assistant_messages]


def _multi_turn(env_id: str, env_kwargs: dict) -> bool:
    from rlvr_gym.envs.interop.common import cached_env

    env, _ = cached_env(env_id, env_kwargs)
    return bool(getattr(env.unwrapped, "multi_turn", False))


class RlvrGymTask(vf.Task[RlvrGymData]):
    """An rlvr-gym episode; its reward is the env's own (module docstring)."""

    @property
    def key(self) -> str:
        # durable across runs: (env, options, reset seed) is the episode
        return f"{self.data.env_id}|{self.data.env_kwargs}|{self.data.seed}"

    @vf.reward(weight=1.0)
    async def env_reward(self, trace: vf.Trace) -> float:
        from rlvr_gym.envs.interop.common import episode_return, score_text

        kwargs = json.loads(self.data.env_kwargs)
        replies = _replies(trace)
        if _multi_turn(self.data.env_id, kwargs):
            return episode_return(self.data.env_id, kwargs, self.data.seed, replies)
        return score_text(self.data.env_id, kwargs, self.data.reward_columns, replies[-1] if replies else "")


class RlvrGymConfig(vf.TasksetConfig):
    """Which rlvr-gym episodes: ``--env.taskset.env-id``, ``--env.taskset.n``, ..."""

    env_id: str = "Math-v0"
    """A registered rlvr-gym text env id."""
    n: int = 100
    """Number of tasks (dataset rows 0..n-1)."""
    seed: int = 0
    """Dataset seed: task i resets with episode_seed(seed, i)."""
    env_kwargs: dict[str, Any] = {}
    """Env options (gymnasium.make kwargs)."""
    system: str | None = None
    """A system prompt for every task."""
    workers: int = 1
    """Processes that build the tasks (Temporal Clue generation); the tasks do not depend on it."""


class RlvrGymTaskset(vf.Taskset[RlvrGymTask, RlvrGymConfig]):
    """Tasks 0..n-1 of an rlvr-gym text env, built lazily in index order."""

    def load(self):
        from rlvr_gym.envs.export import iter_rows

        config = self.config
        for row in iter_rows(config.env_id, config.n, config.seed, env_kwargs=config.env_kwargs,
                             system=config.system, workers=config.workers):
            yield RlvrGymTask(task_data(row), config.task)


class RlvrGymEnvConfig(vf.EnvConfig):
    agent: vf.AgentConfig = vf.AgentConfig()
    """The policy under evaluation or training (``--env.agent.*``; e.g. ``--env.agent.harness.id null``)."""


class RlvrGymEnv(vf.Env[RlvrGymEnvConfig]):
    """Single-turn envs: one agent run. Multi-turn envs: the env plays the user, stepping each reply and sending
    ``info["feedback"]`` back until the episode ends (its reward is then ``RlvrGymTask.env_reward``)."""

    async def run(self, task, agents):
        from rlvr_gym.envs.registration import make_env

        data = task.data
        kwargs = json.loads(data.env_kwargs)
        if not _multi_turn(data.env_id, kwargs):
            await agents.agent.run(task)
            return
        env = make_env(data.env_id, **kwargs)     # one per episode: episodes of a worker run concurrently
        try:
            env.reset(seed=data.seed)
            async with agents.agent.interaction(task) as interaction:
                segment = await interaction.turn()
                while not segment.terminated:
                    from verifiers.v1.types import AssistantMessage, content_text

                    reply = next((content_text(m.content) for m in reversed(segment.messages)
                                  if isinstance(m, AssistantMessage)), "")
                    observation, _, terminated, truncated, info = env.step(reply)
                    if terminated or truncated:
                        break
                    segment = await interaction.turn(info.get("feedback") or observation)
        finally:
            env.close()


def load_environment(env_id: str = "Math-v0", n: int = 100, *, seed: int = 0, system: str | None = None,
                     workers: int = 1, harness: str = "null", runtime: str = "subprocess",
                     **env_kwargs: Any) -> vf.Env:
    """The verifiers environment (``RlvrGymEnv`` over ``RlvrGymTaskset``) of ``n`` episodes of ``env_id`` with the
    given env options; the agent runs in ``harness`` (default ``null``: a plain chat, no tools) on ``runtime``
    (default ``subprocess``: this machine)."""
    from verifiers.v1.utils.loaders import resolve_env_config

    config = resolve_env_config({
        "taskset": {"id": TASKSET_ID, "env_id": env_id, "n": n, "seed": seed, "system": system, "workers": workers,
                    "env_kwargs": env_kwargs},
        "agent": {"harness": {"id": harness}, "runtime": {"type": runtime}},
    })
    return vf.load_environment(config)
