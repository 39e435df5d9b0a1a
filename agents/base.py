"""The Agent protocol: observations in, action texts out, one at a time or in batches.

Every agent (random, oracle, model agents, a user's own class) implements ``act_batch``; ``act`` is the
one-observation form. Agents that know what a reply cost (tokens, latency) return ``Reply`` objects from
``reply_batch``; the evaluation harness uses that when present and falls back to ``act_batch``.

Agent specs (``rlvr eval --agent SPEC``) are resolved by ``load_agent``:
  random | oracle | python:module:Class | python:module:Class:json-kwargs (module: a dotted name, found on sys.path
  or in the current directory, or a path/to/file.py)
  hf:<path|hub name|smollm2-135m|tiny-random> | openai:<model>@<base_url> | vllm:<path>
  unmask:<fast-dllm[:lambda]|topk[:steps]|random[:steps]|l2r[:steps]|policy:<checkpoint>> (Unmasking-v0; these
  act on observation dicts and return MultiBinary arrays, see agents/unmasking/policies.py)
Model agents are imported lazily so that nothing heavy loads unless asked for.
"""

from __future__ import annotations

import importlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Sequence


@dataclass
class Reply:
    """One action text with what it cost. Token counts are None where the agent cannot know them."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Agent(ABC):
    """Base class of all agents. Subclasses implement ``act_batch`` (or ``reply_batch``)."""

    name: str = "agent"

    @abstractmethod
    def act_batch(self, observations: Sequence[str], infos: Sequence[dict] | None = None) -> list[str]:
        """One action text per observation. ``infos`` are the env's reset infos (may be None)."""

    def act(self, observation: str, info: dict | None = None) -> str:
        return self.act_batch([observation], [info or {}])[0]

    def reply_batch(self, observations: Sequence[str], infos: Sequence[dict] | None = None) -> list[Reply]:
        return [Reply(text) for text in self.act_batch(observations, infos)]

    def close(self) -> None:
        """Release resources (servers, engines). Safe to call twice."""


class AgentSpecError(ValueError):
    """An agent spec that cannot be resolved; the message says what forms are accepted."""


SPEC_HELP = (
    "agent specs: random | oracle | python:module:Class[:json-kwargs] | hf:<path|hub name|smollm2-135m|tiny-random> "
    "| openai:<model>@<base_url> | vllm:<path> | unmask:<fast-dllm[:lambda]|topk[:steps]|random[:steps]|l2r[:steps]"
    "|policy:<checkpoint>>"
)


def _import_agent_module(module_name: str):
    """The module of a python: spec: a dotted name found on sys.path or, as ``python -m`` would, in the current
    directory (so ``python:examples.my_agent:Class`` works from the repository root under the ``rlvr`` command);
    or a file path ending in .py."""
    import os
    import sys

    if module_name.endswith(".py"):
        from importlib.util import module_from_spec, spec_from_file_location

        path = os.path.abspath(os.path.expanduser(module_name))
        if not os.path.isfile(path):
            raise AgentSpecError(f"agent file not found: {module_name}")
        spec = spec_from_file_location(f"rlvr_gym_user_agent_{abs(hash(path))}", path)
        module = module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # noqa: BLE001 - the user's file failed to run: say where
            raise AgentSpecError(f"running {module_name} failed: {type(exc).__name__}: {exc}") from None
        return module
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing_here = exc.name is not None and module_name.split(".")[0] == exc.name.split(".")[0]
        cwd = os.getcwd()
        if not missing_here or cwd in sys.path or "" in sys.path:
            raise AgentSpecError(f"cannot import module {module_name!r} for agent spec: {exc}") from None
    except ImportError as exc:
        raise AgentSpecError(f"cannot import module {module_name!r} for agent spec: {exc}") from None
    sys.path.insert(0, cwd)       # as `python -m` does: modules of the current directory come first
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        raise AgentSpecError(f"cannot import module {module_name!r} for agent spec (looked on sys.path and in "
                             f"{cwd}): {exc}") from None


def _load_python_agent(target: str) -> Agent:
    # python:module:Class or python:module:Class:{"kw": 1}; the module may be a path/to/file.py
    parts = target.split(":", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise AgentSpecError(f"expected python:module:Class, got python:{target!r}. {SPEC_HELP}")
    module_name, class_name = parts[0], parts[1]
    kwargs = {}
    if len(parts) == 3 and parts[2]:
        try:
            kwargs = json.loads(parts[2])
        except json.JSONDecodeError as exc:
            raise AgentSpecError(f"the kwargs after the class must be a JSON object: {exc}") from None
        if not isinstance(kwargs, dict):
            raise AgentSpecError("the kwargs after the class must be a JSON object")
    module = _import_agent_module(module_name)
    cls = getattr(module, class_name, None)
    if cls is None:
        raise AgentSpecError(f"module {module_name!r} has no attribute {class_name!r}")
    agent = cls(**kwargs)
    if not hasattr(agent, "act_batch") and not hasattr(agent, "act"):
        raise AgentSpecError(f"{module_name}.{class_name} has neither act_batch nor act")
    if not isinstance(agent, Agent):
        agent = _Adapter(agent)
    return agent


class _Adapter(Agent):
    """Wraps a duck-typed user object with act() or act_batch() as an Agent."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.name = getattr(inner, "name", type(inner).__name__)

    def act_batch(self, observations, infos=None):
        infos = list(infos) if infos is not None else [{} for _ in observations]
        if hasattr(self.inner, "act_batch"):
            return list(self.inner.act_batch(observations, infos))
        return [self.inner.act(o, i) for o, i in zip(observations, infos)]


def load_agent(spec: str, **options: Any) -> Agent:
    """Resolve an agent spec (see module docstring) to an Agent. ``options`` go to model agents
    (e.g. max_tokens, temperature, seed)."""
    if not isinstance(spec, str) or not spec.strip():
        raise AgentSpecError(f"empty agent spec. {SPEC_HELP}")
    spec = spec.strip()
    head, _, rest = spec.partition(":")
    if spec == "random":
        from rlvr_gym.agents.random_agent import RandomAgent

        return RandomAgent(seed=options.get("seed"))
    if spec == "oracle":
        from rlvr_gym.agents.oracle import OracleAgent

        return OracleAgent()
    if head == "python":
        return _load_python_agent(rest)
    if head in ("hf", "openai", "vllm"):
        module = {"hf": "hf", "openai": "openai_compat", "vllm": "vllm_offline"}[head]
        try:
            mod = importlib.import_module(f"rlvr_gym.agents.{module}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("rlvr_gym"):
                raise AgentSpecError(f"agent kind {head!r} is not available in this version") from None
            raise
        return mod.from_spec(rest, **options)
    if head == "unmask":
        from rlvr_gym.agents.unmasking.policies import from_spec as unmask_from_spec

        return unmask_from_spec(rest, **options)
    raise AgentSpecError(f"unknown agent spec {spec!r}. {SPEC_HELP}")
