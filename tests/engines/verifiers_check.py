"""Run inside a Python environment with Prime Intellect's verifiers (>= 0.4) and this checkout installed
(``pip install --no-deps -e . -e environments/rlvr_gym_env``): score given replies with the taskset's own scoring
(``RlvrGymTask.score`` on a verifiers ``Trace``, what an evaluation or prime-rl runs after each rollout).

    python tests/engines/verifiers_check.py --cases cases.json --out rewards.json

cases.json: a list of {"row": <envs/export.py row>, "replies": [reply, ...]} (one reply for single-turn envs, the
sheets in order for multi-turn ones). rewards.json: {"verifiers_version", "rewards": [float, ...]}.
"""

from __future__ import annotations

import argparse
import asyncio
import json


def rubric_reward(row: dict, replies: list[str]) -> float:
    """The reward verifiers records for a rollout of ``row`` whose model replies were ``replies`` (user turns in
    between carry the env's feedback; the reward reads the model's replies only)."""
    import verifiers.v1 as vf
    from verifiers.v1.graph import MessageNode
    from verifiers.v1.trace import AgentInfo, TraceTask
    from verifiers.v1.types import AssistantMessage, UserMessage

    from rlvr_gym.envs.interop.verifiers_env import RlvrGymTask, task_data

    task = RlvrGymTask(task_data(row))
    nodes = [MessageNode(message=UserMessage(content=task.data.prompt_text))]
    for k, reply in enumerate(replies):
        if k:
            nodes.append(MessageNode(parent=len(nodes) - 1, message=UserMessage(content="(feedback)")))
        nodes.append(MessageNode(parent=len(nodes) - 1, message=AssistantMessage(content=reply), sampled=True))
    trace = vf.Trace(task=TraceTask(type=type(task).__name__, data=task.data), agent=AgentInfo(config=vf.AgentConfig()),
                     nodes=nodes)
    asyncio.run(task.score(trace))
    return float(trace.rewards["env_reward"].score)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    from importlib.metadata import version

    cases = json.loads(open(args.cases, encoding="utf-8").read())
    rewards = [rubric_reward(case["row"], case["replies"]) for case in cases]
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump({"verifiers_version": version("verifiers"), "rewards": rewards}, handle)


if __name__ == "__main__":
    main()
