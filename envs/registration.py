"""Every environment id of rlvr-gym, registered with Gymnasium in one flat list, and the one env factory.

``make_env(env_id, **kwargs)`` is how the library makes an env from what a user typed (the evaluation harness,
the trainer, dataset exports): ``gymnasium.make`` with one clear error (``EnvSpecError``, a ValueError) that
names the id or the options that were given and what would be valid.
"""

from __future__ import annotations

import inspect
import json
import re

from gymnasium.envs.registration import register, registry

__all__ = ["EnvSpecError", "make_env", "rlvr_env_ids", "env_options", "env_option_defaults", "describe_env",
           "DESCRIPTIONS"]

DESCRIPTIONS: dict[str, str] = {}   # env id -> one line (`rlvr envs`)


def _register(env_id: str, entry_point: str, description: str = "", **kwargs) -> None:
    DESCRIPTIONS[env_id] = description
    if env_id not in registry:  # importing twice (e.g. reload) must not warn
        register(id=env_id, entry_point=entry_point, **kwargs)


# --- Temporal Clue (envs/temporal_clue/env.py). TemporalClue-v0 plays the medium preset unless given
# preset=, players= or config=; the difficulty ids fix the preset. One step per episode: the answer sheet.
_TC = "rlvr_gym.envs.temporal_clue.env:TemporalClueEnv"
_register("TemporalClue-v0", _TC, "a Clue murder mystery (who, what, where, when, why) answered with one lettered "
          "answer sheet; reward: the fraction right. Medium puzzles unless preset/players/config/puzzles say otherwise")
_register("TemporalClue-Easy-v0", _TC, "TemporalClue-v0 with preset='easy' (the original's 1-player sizes)",
          kwargs={"preset": "easy"})
_register("TemporalClue-Medium-v0", _TC, "TemporalClue-v0 with preset='medium' (2-player sizes)",
          kwargs={"preset": "medium"})
_register("TemporalClue-Hard-v0", _TC, "TemporalClue-v0 with preset='hard' (3-player sizes)",
          kwargs={"preset": "hard"})
_register("TemporalClue-Expert-v0", _TC, "TemporalClue-v0 with preset='expert' (4-player sizes)",
          kwargs={"preset": "expert"})

# --- Math (envs/math/env.py). Math-v0 serves procedural problems of every level unless given source=
# (a JSONL/JSON/parquet file, a Hugging Face dataset name, or "reasoning_gym:<task>") or level=/levels=;
# the difficulty ids fix procedural level ranges. One step per episode: the worked answer.
_MATH = "rlvr_gym.envs.math.env:MathEnv"
_register("Math-v0", _MATH, "one math problem per episode with a checked final answer (reward 1/0): procedural "
          "levels 1-10 (0 on request), a JSONL/JSON/parquet file or Hugging Face dataset, or reasoning_gym:<task>")
_register("Math-Easy-v0", _MATH, "Math-v0 with procedural levels 1-3", kwargs={"source": "procedural",
                                                                             "levels": [1, 2, 3]})
_register("Math-Medium-v0", _MATH, "Math-v0 with procedural levels 4-6", kwargs={"source": "procedural",
                                                                               "levels": [4, 5, 6]})
_register("Math-Hard-v0", _MATH, "Math-v0 with procedural levels 7-10", kwargs={"source": "procedural",
                                                                              "levels": [7, 8, 9, 10]})

# --- Unmasking (envs/unmasking/env.py): choose which tokens a frozen masked diffusion LM unmasks; one forward
# pass per step, at most gen_length steps; array observations and MultiBinary actions. Default backbone: the
# embedded tiny diffusion LM (`rlvr dllm pretrain`). make_vec(..., vectorization_mode="vector_entry_point")
# gives the batched vector env (one forward for all sub-envs per step).
_register("Unmasking-v0", "rlvr_gym.envs.unmasking.env:UnmaskingEnv",
          "choose which tokens a frozen masked diffusion LM reveals at each step (array observations, MultiBinary "
          "actions); reward: correct x fewer forward passes. Needs the train extra (torch, transformers)",
          vector_entry_point="rlvr_gym.envs.unmasking.env:UnmaskingVectorEnv")

# --- Temporal Clue with feedback (envs/temporal_clue/feedback_env.py): up to max_attempts answer sheets (default 3);
# after each the agent learns how many answers are right; reward discount**(attempt-1) * fraction right.
_register("TemporalClue-Feedback-v0", "rlvr_gym.envs.temporal_clue.feedback_env:TemporalClueFeedbackEnv",
          "multi-turn Temporal Clue: up to max_attempts answer sheets, told after each how many answers are right; "
          "reward: the fraction right, discounted per attempt")


class EnvSpecError(ValueError):
    """An env id or env options that cannot make an environment; the message says what was given and what is valid."""


def rlvr_env_ids() -> list[str]:
    """The ids registered by rlvr-gym, sorted."""
    return sorted(k for k, spec in registry.items() if str(spec.entry_point).startswith("rlvr_gym."))


def env_option_defaults(env_id: str) -> dict[str, object]:
    """The keyword options an env id's class accepts with their defaults, as ``gymnasium.make(env_id)`` applies
    them (the id's registered kwargs over the constructor's defaults; for a class that passes ``**kwargs`` on to an
    inner env, the inner env's options too). {} for ids that are not registered."""
    spec = registry.get(env_id)
    if spec is None or not isinstance(spec.entry_point, str):
        return {}
    module_name, _, attr = spec.entry_point.partition(":")
    import importlib

    cls = getattr(importlib.import_module(module_name), attr)
    options: dict[str, object] = {}
    for klass in (cls, *getattr(cls, "inner_env_classes", ())):
        for name, param in inspect.signature(klass.__init__).parameters.items():
            if name != "self" and param.kind not in (param.VAR_KEYWORD, param.VAR_POSITIONAL) and name not in options:
                options[name] = None if param.default is inspect.Parameter.empty else param.default
    options.update({k: v for k, v in (spec.kwargs or {}).items() if k in options})
    return options


def env_options(env_id: str) -> list[str]:
    """The keyword options an env id's class accepts (``env_option_defaults``' names). [] for ids that are not
    registered."""
    return list(env_option_defaults(env_id))


def describe_env(env_id: str) -> dict:
    """What ``rlvr envs`` shows of an env id: id, description (one line), entry_point, options with defaults."""
    spec = registry.get(env_id)
    if spec is None:
        raise EnvSpecError(f"unknown env id {env_id!r}; rlvr-gym ids: {', '.join(rlvr_env_ids())}")
    return {"id": env_id, "description": DESCRIPTIONS.get(env_id, ""), "entry_point": str(spec.entry_point),
            "options": env_option_defaults(env_id)}


def make_env(env_id: str, **kwargs):
    """``gymnasium.make(env_id, **kwargs)``, with EnvSpecError for an unknown id or options the env does not take.
    Ids with a module prefix ("pkg:Env-v0") are left to Gymnasium, which imports the module first."""
    import gymnasium as gym

    if not isinstance(env_id, str) or (env_id not in registry and ":" not in env_id):
        raise EnvSpecError(f"unknown env id {env_id!r}; rlvr-gym ids: {', '.join(rlvr_env_ids())}")
    try:
        return gym.make(env_id, **kwargs)
    except TypeError as exc:
        valid = env_options(env_id)
        hint = f"; its options are: {', '.join(valid)}" if valid else ""
        unknown = re.search(r"unexpected keyword argument '(\w+)'", str(exc))
        if unknown:
            raise EnvSpecError(f"{env_id} has no option {unknown.group(1)!r}{hint}") from None
        raise EnvSpecError(f"cannot make {env_id} with options {json.dumps(kwargs, default=str)}: {exc}{hint}") from None
