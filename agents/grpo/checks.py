"""What ``train`` checks around a run, as functions of their inputs:

- ``preflight(config)``: everything a user can get wrong (env ids and their options, the held-out options, the
  model or an adapter's base model, GRPOConfig's own rules) is checked before a model is loaded or the run folder
  is made, so a typo costs seconds and leaves nothing behind;
- ``finished_run(out, config)``: whether ``out`` holds a run that already reached ``max_steps`` (then it is
  reported, not trained again) and how its settings differ from ``config``;
- ``no_signal_warning(rows)``: the rule that says when most GRPO groups carry no learning signal (every completion
  of a prompt got the same reward, so every advantage is zero), with what it means and what to change.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

__all__ = ["preflight", "is_multi_turn", "finished_run", "FinishedRun", "no_signal_warning", "NO_SIGNAL_WINDOW",
           "NO_SIGNAL_THRESHOLD", "RUN_ONLY_FIELDS"]

# Settings that do not change what a run computes: a re-run that differs only in these is the same run.
RUN_ONLY_FIELDS = ("resume", "progress", "plots", "threads", "device", "out", "eval_batch_size", "vllm_url",
                   "vllm_adapter_dir")

NO_SIGNAL_WINDOW = 5          # logged steps looked at
NO_SIGNAL_THRESHOLD = 0.9     # share of groups whose completions all got the same reward


def preflight(config) -> None:
    """Raise the error a run would meet later, now (see the module docstring); loads no weights, writes nothing."""
    from rlvr_gym.agents.grpo.config import make_grpo_config
    from rlvr_gym.agents.grpo.data import parse_env_specs
    from rlvr_gym.agents.lm.models import check_model
    from rlvr_gym.envs.registration import make_env

    specs = parse_env_specs(config.env)
    unknown = sorted(set(config.env_kwargs) - {e for e, _ in specs})
    if unknown:
        raise ValueError(f"env_kwargs names env ids that are not trained on: {unknown}; --env gives "
                         f"{[e for e, _ in specs]}")
    unknown = sorted(set(config.eval_env_kwargs) - {e for e, _ in specs})
    if unknown:
        raise ValueError(f"eval_env_kwargs names env ids that are not trained on: {unknown}; --env gives "
                         f"{[e for e, _ in specs]}")
    for env_id, _ in specs:
        train_kwargs = dict(config.env_kwargs.get(env_id, {}))
        for kwargs in (train_kwargs, {**train_kwargs, **config.eval_env_kwargs.get(env_id, {})}):
            env = make_env(env_id, **kwargs)
            env.close()
    check_model(config.model)
    make_grpo_config(config)     # GRPOConfig's own checks (e.g. the batch must hold whole groups)
    if config.rollouts == "vllm":
        check_vllm_server(config)


def check_vllm_server(config) -> None:
    """--rollouts vllm: a single-turn run, and a server at --vllm-url that answers /health and lists a model (whether
    it accepts runtime LoRA loading shows at the first publish, whose error names the URL and the server's answer)."""
    from rlvr_gym.agents.grpo.data import parse_env_specs
    from rlvr_gym.agents.serving.vllm_server import VLLMServer, VLLMServerError

    for env_id, _ in parse_env_specs(config.env):
        if is_multi_turn(env_id, config.env_kwargs):
            raise ValueError(f"--rollouts vllm samples single-turn completions; {env_id} is a multi-turn env (its "
                             "episodes are played by the trainer's own model): train it without --rollouts vllm")
    if config.vllm_url == "auto":
        from rlvr_gym.agents.grpo.vllm_rollouts import lora_rank_slot
        from rlvr_gym.agents.serving.vllm_server import vllm_missing_reason

        lora_rank_slot(config.lora_r)
        reason = vllm_missing_reason()
        if reason:
            raise ValueError(f"--vllm-url auto starts a vLLM server, but {reason}")
        return
    try:
        server = VLLMServer.attach(config.vllm_url, api_key=os.environ.get("VLLM_API_KEY") or None, timeout_s=10.0)
    except VLLMServerError as exc:
        raise ValueError(f"--vllm-url {config.vllm_url}: {exc}; start a server with runtime LoRA loading, e.g. "
                         f"`rlvr serve {config.model} --engine vllm --port 8001`") from None
    if not server.client().models():
        raise ValueError(f"--vllm-url {config.vllm_url}: the server lists no model")


def is_multi_turn(env_id: str, env_kwargs: dict) -> bool:
    """Whether ``env_id`` (with its --env-kwargs) is a multi-turn env."""
    from rlvr_gym.envs.registration import make_env

    env = make_env(env_id, **dict(env_kwargs.get(env_id, {})))
    try:
        return bool(getattr(env.unwrapped, "multi_turn", False))
    finally:
        env.close()


@dataclass
class FinishedRun:
    """A run folder whose training is over: its result.json, and the settings ``config`` changes (by name:
    (stored, given)), other than those of RUN_ONLY_FIELDS."""

    result: dict
    steps: int
    changed: dict[str, tuple[Any, Any]]


def finished_run(out: str | Path, config) -> FinishedRun | None:
    """The finished run in ``out`` when there is one whose step count reaches ``config.max_steps`` (result.json
    written last by ``train``; its last checkpoint, when kept, at the same step), else None. A run with fewer steps
    than asked for is not finished: ``--resume`` with a larger ``--max-steps`` extends it."""
    import yaml

    out = Path(out)
    try:
        result = json.loads((out / "result.json").read_text(encoding="utf-8"))
        steps = int(result["steps"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    states = [p for p in out.glob("checkpoint-*/trainer_state.json") if p.parent.name.split("-", 1)[1].isdigit()]
    if states:
        last = max(states, key=lambda p: int(p.parent.name.split("-", 1)[1]))
        try:
            if int(json.loads(last.read_text(encoding="utf-8"))["global_step"]) != steps:
                return None          # trained further than its result.json says: not a finished run
        except (OSError, ValueError, KeyError, TypeError):
            return None
    if steps < config.max_steps:
        return None
    try:
        stored = yaml.safe_load((out / "config.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        stored = {}
    given = config.to_dict()
    changed = {k: (stored.get(k), v) for k, v in given.items()
               if k not in RUN_ONLY_FIELDS and k != "max_steps" and k in stored and stored.get(k) != v}
    return FinishedRun(result=result, steps=steps, changed=changed)


def no_signal_warning(rows: Sequence[dict], window: int = NO_SIGNAL_WINDOW,
                      threshold: float = NO_SIGNAL_THRESHOLD) -> str | None:
    """A warning when, over the last ``window`` logged steps (rows of metrics.jsonl with TRL's
    ``frac_reward_zero_std``), on average at least ``threshold`` of the prompt groups had one reward for every
    completion; else None. It says what that means and what to change, depending on whether the groups were all
    wrong or all right."""
    values = [(r["frac_reward_zero_std"], r.get("reward")) for r in rows
              if isinstance(r.get("frac_reward_zero_std"), (int, float))]
    if window < 1 or len(values) < window:
        return None
    recent = values[-window:]
    share = sum(v for v, _ in recent) / window
    if share < threshold:
        return None
    rewards = [r for _, r in recent if isinstance(r, (int, float))]
    mean_reward = sum(rewards) / len(rewards) if rewards else None
    head = (f"no learning signal: over the last {window} steps {share:.0%} of the prompt groups gave every "
            f"completion the same reward, so their GRPO advantages are zero and those groups teach nothing")
    if mean_reward is not None and mean_reward <= 0.05:
        return (f"{head} (mean reward {mean_reward:.2f}: almost every completion is wrong). The task is too hard "
                "for this model as set: use an easier env or level (e.g. Math-v0 with levels [0]), a reward with "
                "partial credit (Math: last_number=true, format_reward), more completions per prompt "
                "(--num-generations), a higher --temperature or a longer --max-completion-length.")
    if mean_reward is not None and mean_reward >= 0.95:
        return (f"{head} (mean reward {mean_reward:.2f}: almost every completion is right). The task is too easy "
                "for this model: use a harder env or level.")
    suffix = f" (mean reward {mean_reward:.2f})" if mean_reward is not None else ""
    return (f"{head}{suffix}. Make groups disagree: more completions per prompt (--num-generations), a higher "
            "--temperature, or a task whose difficulty suits the model.")
