"""Evaluating agents in environments: the harness (``evaluate``, ``write_run``) and the progress display shared
with the trainers. See harness.py."""

from rlvr_gym.agents.evaluation.harness import episode_row, evaluate, jsonable, summarize, write_run

__all__ = ["evaluate", "write_run", "summarize", "episode_row", "jsonable"]
