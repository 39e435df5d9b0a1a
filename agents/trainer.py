"""GRPO training on rlvr-gym environments, on TRL's GRPOTrainer.

Data flow: env ids (with weights) -> ``build_dataset`` (one row per reset: the prompt as chat messages plus the
columns the reward needs) -> ``EnvReward`` (routes each completion to its env's verifier) -> ``RLVRGRPOTrainer``
(TRL's GRPOTrainer plus a curriculum hook, accuracy metric and run-folder outputs) -> ``train(config)``.

    from rlvr_gym.agents.trainer import TrainConfig, train
    result = train(TrainConfig(env=["Math-Easy-v0"], model="smollm2-135m", peft="lora", max_steps=20, out="runs/m"))
    result.eval_before["accuracy"], result.eval_after["accuracy"]

Dataset rows (``build_dataset``): prompt (chat messages: optional system, then the env's observation as the user
message), env_id, index (row number: the curriculum's handle on a prompt), seed (the reset seed), difficulty,
label (difficulty, prefixed with the env id in a mix), answer (Math gold answer), solution and candidates (Temporal
Clue, JSON text). Row i of env E is ``E.reset(seed=episode_seed(config.seed, i))``; the held-out set is what
``rlvr eval`` plays with ``--seed config.eval_seed`` (a different seed, so different items).

Run folder (``config.out``): config.yaml, metrics.jsonl (one JSON object per logged step: step, reward,
accuracy, completion_length, kl, learning_rate, loss, time, tokens_per_s, steps_per_s, curriculum/*, the GDRO
curricula's keys also bare (gdro/mean_rollouts, gdro/budget, ...: agents/gdro.py), and TRL's raw keys), completions/*.parquet (TRL's per-sample table), checkpoint-N/ (TRL checkpoints plus
curriculum.json), eval_before/ and eval_after/ (results.jsonl + summary.json per env, as ``rlvr eval --out``),
heldout.jsonl (held-out accuracy by step), reward.png and heldout.png, final/ (the trained weights or adapter),
result.json.

Multi-process (``accelerate launch``): every rank builds the same dataset (seeded), curricula see the gathered
batch and so keep identical state on every rank, and files are written by the main process only.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

__all__ = ["TrainConfig", "RunResult", "Curriculum", "make_curriculum", "parse_env_specs", "build_dataset",
           "EnvReward", "RLVRGRPOTrainer", "trainer_class", "train", "grpo_config_fields", "CPU_THREADS", "load_config_file"]

# Measured in benchmarks/threads.py (benchmarks/results/threads.md): GRPO steps with 1 torch thread are as fast
# as with 2 on an idle 2-core machine and many times faster when the cores are shared, so 1 is the CPU default.
CPU_THREADS = 1
CURRICULA = ("none", "prompt-gdro", "rollout-gdro")
GROUPINGS = ("pass", "label")


# --------------------------------------------------------------------------------------------------------------
# Configuration


@dataclass
class TrainConfig:
    """Everything a GRPO run needs. YAML files and CLI flags set the same fields; ``grpo`` passes any other
    GRPOConfig field through (e.g. {"top_p": 0.9, "epsilon_high": 0.28}); GRPOConfig field names given at the top
    level of a YAML file go there too."""

    # what to train on
    env: list[str] = field(default_factory=lambda: ["Math-Easy-v0"])  # "ID" or "ID:weight"
    env_kwargs: dict = field(default_factory=dict)                     # env id -> gymnasium.make kwargs
    train_size: int = 256            # dataset rows (split over the envs of a mix by weight)
    system: str | None = None        # optional system message
    seed: int = 0                    # training rows and TRL's seed
    # held-out evaluation (the `rlvr eval` harness, an in-process hf agent on the current model)
    eval_size: int = 32              # episodes per env
    eval_seed: int = 1_000_003       # must differ from seed
    eval_before: bool = True
    eval_after: bool = True
    eval_every: int = 0              # also evaluate every N steps (0: only before/after)
    eval_max_tokens: int | None = None  # default: max_completion_length
    eval_batch_size: int = 16
    eval_env_kwargs: dict = field(default_factory=dict)  # env id -> kwargs laid over env_kwargs for evaluation
    #                                  (e.g. {"Math-v0": {"split": "test"}} with env_kwargs' split "train")
    # model and adapter
    model: str = "smollm2-135m"      # smollm2-135m | tiny-random | local dir | hub name
    peft: str = "lora"               # see agents/peft_presets.py PRESETS
    lora_r: int = 16
    lora_alpha: float | None = None  # default 2 * r
    lora_dropout: float = 0.05
    target_modules: list[str] | None = None
    peft_kwargs: dict = field(default_factory=dict)
    # curriculum (agents/gdro.py)
    curriculum: str = "none"         # none | prompt-gdro | rollout-gdro
    curriculum_kwargs: dict = field(default_factory=dict)
    groups: str = "pass"             # pass | label
    # run folder
    out: str = "runs/train"
    resume: bool = False
    progress: bool = True
    plots: bool = True
    # hardware
    device: str = "auto"             # auto | cpu | cuda
    threads: int | None = None       # torch CPU threads (default CPU_THREADS)
    vllm: str | None = None          # None | colocate | server
    # the GRPO knobs used most (GRPOConfig fields); CPU-sized defaults
    max_steps: int = 20
    learning_rate: float = 2e-4
    per_device_train_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    num_generations: int = 4
    max_completion_length: int = 128
    temperature: float = 1.0
    beta: float = 0.0
    loss_type: str = "dapo"
    lr_scheduler_type: str = "constant"
    save_steps: int = 10
    save_total_limit: int | None = 2
    logging_steps: int = 1
    grpo: dict = field(default_factory=dict)  # any other GRPOConfig field

    def validate(self) -> "TrainConfig":
        if isinstance(self.env, str):
            self.env = [self.env]
        parse_env_specs(self.env)
        from rlvr_gym.agents.peft_presets import PRESETS

        if self.peft not in PRESETS:
            raise ValueError(f"peft must be one of {', '.join(PRESETS)}, got {self.peft!r}")
        if self.curriculum not in CURRICULA:
            raise ValueError(f"curriculum must be one of {', '.join(CURRICULA)}, got {self.curriculum!r}")
        if self.groups not in GROUPINGS:
            raise ValueError(f"groups must be one of {', '.join(GROUPINGS)}, got {self.groups!r}")
        if self.vllm not in (None, "colocate", "server"):
            raise ValueError(f"vllm must be colocate, server or unset, got {self.vllm!r}")
        for name in ("train_size", "max_steps", "per_device_train_batch_size", "num_generations",
                     "max_completion_length", "save_steps", "logging_steps", "lora_r", "eval_batch_size",
                     "gradient_accumulation_steps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.num_generations < 2:
            raise ValueError("num_generations must be at least 2 (GRPO compares completions within a group)")
        if self.eval_size < 0 or self.eval_every < 0:
            raise ValueError("eval_size and eval_every must be >= 0")
        if self.eval_seed == self.seed and self.eval_size > 0:
            raise ValueError("eval_seed must differ from seed, or the held-out set would be the training set")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1, got {self.threads}")
        if not all(isinstance(d, dict) for d in (self.grpo, self.env_kwargs, self.eval_env_kwargs)):
            raise TypeError("grpo, env_kwargs and eval_env_kwargs must be dicts")
        unknown = sorted(set(self.grpo) - grpo_config_fields())
        if unknown:
            raise ValueError(f"unknown GRPOConfig option(s) {unknown}; see `rlvr train --help` for the list")
        return self

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """A config from a dict (e.g. a YAML file): TrainConfig fields, plus GRPOConfig fields (moved into grpo)."""
        if not isinstance(data, dict):
            raise TypeError(f"a train config must be a mapping, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        grpo = dict(data.get("grpo") or {})
        kwargs = {}
        unknown = []
        for key, value in data.items():
            key = key.replace("-", "_")
            if key == "grpo":
                continue
            if key in names:
                kwargs[key] = value
            elif key in grpo_config_fields():
                grpo[key] = value
            else:
                unknown.append(key)
        if unknown:
            raise ValueError(f"unknown train config key(s) {sorted(unknown)}: neither TrainConfig nor GRPOConfig fields")
        return cls(**kwargs, grpo=grpo)


def load_config_file(path: str | os.PathLike) -> dict:
    """A YAML (or JSON) config file as a dict."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"config file not found: {p}")
    data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{p}: a train config file must hold a mapping of options")
    return data


_GRPO_FIELDS: set[str] | None = None


def grpo_config_fields() -> set[str]:
    """Names of every GRPOConfig field (imports trl)."""
    global _GRPO_FIELDS
    if _GRPO_FIELDS is None:
        from trl import GRPOConfig

        _GRPO_FIELDS = {f.name for f in dataclasses.fields(GRPOConfig)}
    return _GRPO_FIELDS


def _uses_cuda(config: TrainConfig) -> bool:
    if config.device == "cpu":
        return False
    import torch

    if config.device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device cuda was asked for but torch sees no CUDA device")
    return torch.cuda.is_available()


def make_grpo_config(config: TrainConfig, *, beta: float | None = None):
    """The GRPOConfig of a run: CPU or GPU defaults, then the TrainConfig knobs, then ``config.grpo``."""
    from trl import GRPOConfig

    cuda = _uses_cuda(config)
    kwargs: dict[str, Any] = dict(
        output_dir=config.out,
        seed=config.seed,
        max_steps=config.max_steps,
        learning_rate=config.learning_rate,
        per_device_train_batch_size=config.per_device_train_batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        num_generations=config.num_generations,
        max_completion_length=config.max_completion_length,
        temperature=config.temperature,
        beta=config.beta if beta is None else beta,
        loss_type=config.loss_type,
        lr_scheduler_type=config.lr_scheduler_type,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        logging_steps=config.logging_steps,
        log_completions=True,
        num_completions_to_print=0,
        report_to="none",
        disable_tqdm=config.progress,   # our rich display replaces tqdm
        dataloader_num_workers=0,
    )
    if cuda:
        import torch

        kwargs.update(bf16=torch.cuda.is_bf16_supported(), gradient_checkpointing=True)
    else:
        # bf16 is on by default in TRL and ~2x slower on CPU; checkpointing only trades time for memory we have.
        kwargs.update(use_cpu=True, bf16=False, gradient_checkpointing=False)
    if config.vllm:
        kwargs.update(use_vllm=True, vllm_mode=config.vllm)
    kwargs.update(config.grpo)
    return GRPOConfig(**kwargs)


# --------------------------------------------------------------------------------------------------------------
# Curricula (agents/gdro.py implements the GDRO ones)


class Curriculum:
    """No-op base class of the curricula that plug into RLVRGRPOTrainer (agents/gdro.py subclasses it).

    on_batch gets the whole (all-process) generation batch after TRL computed the advantages: the dataset row
    index and group id of each completion, its reward, its advantage and its row's label; it returns the
    advantages to train on (one per completion)."""

    def on_batch(self, *, dataset_indices: list[int], group_ids: list[int], rewards: "torch.Tensor",
                 advantages: "torch.Tensor", labels: list[str], step: int) -> "torch.Tensor":
        return advantages

    def rollouts_for(self, dataset_indices: list[int], step: int) -> list[int] | None:
        """Optional: the number of rollouts for each prompt (variable group sizes); None keeps num_generations."""
        return None

    def metrics(self) -> dict[str, float]:
        """Scalars logged each step into metrics.jsonl (as curriculum/<name>; names starting with gdro/ appear
        bare too)."""
        return {}

    def state_dict(self) -> dict:
        """JSON-ready state, saved in every checkpoint (curriculum.json) and restored on --resume."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


def make_curriculum(config: TrainConfig, dataset=None) -> Curriculum:
    """The curriculum named by ``config.curriculum``: "none" -> the no-op base class; "prompt-gdro" /
    "rollout-gdro" -> agents/gdro.py's ``make_curriculum(name, config, dataset)``."""
    if config.curriculum == "none":
        return Curriculum()
    if config.curriculum not in CURRICULA:
        raise ValueError(f"curriculum must be one of {', '.join(CURRICULA)}, got {config.curriculum!r}")
    try:
        import importlib

        gdro = importlib.import_module("rlvr_gym.agents.gdro")
    except ModuleNotFoundError as exc:
        if exc.name == "rlvr_gym.agents.gdro":
            raise ImportError(f"curriculum {config.curriculum!r} needs rlvr_gym/agents/gdro.py, which is not in this "
                              "version") from None
        raise
    factory = getattr(gdro, "make_curriculum", None)
    if factory is None:
        raise ImportError("rlvr_gym.agents.gdro has no make_curriculum(name, config, dataset)")
    return factory(config.curriculum, config, dataset)


# --------------------------------------------------------------------------------------------------------------
# Datasets and rewards


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


def _make_env(env_id: str, kwargs: dict):
    import gymnasium as gym

    import rlvr_gym  # noqa: F401  (registers the ids)

    if env_id not in gym.registry and ":" not in env_id:
        known = ", ".join(sorted(k for k, s in gym.registry.items() if str(s.entry_point).startswith("rlvr_gym.")))
        raise ValueError(f"unknown env id {env_id!r}; rlvr-gym ids: {known}")
    return gym.make(env_id, **kwargs)


def _env_kind(env) -> str:
    name = type(env.unwrapped).__name__
    return {"MathEnv": "math", "TemporalClueEnv": "temporal_clue",
            "TemporalClueFeedbackEnv": "feedback"}.get(name, "generic")


def build_dataset(env_specs: Sequence[str] | str, size: int, seed: int, *, env_kwargs: dict | None = None,
                  system: str | None = None):
    """A HF ``datasets.Dataset`` of `size` rows drawn from the envs (columns in the module docstring). Rows of a
    mix are shuffled with ``random.Random(seed)``; each row's index column is its position."""
    from datasets import Dataset

    from rlvr_gym.envs.seeding import episode_seed

    specs = parse_env_specs(env_specs)
    env_kwargs = env_kwargs or {}
    counts = _split_counts(size, [w for _, w in specs])
    rows: list[dict] = []
    for (env_id, _), count in zip(specs, counts):
        env = _make_env(env_id, dict(env_kwargs.get(env_id, {})))
        kind = _env_kind(env)
        for i in range(count):
            reset_seed = episode_seed(seed, i)
            obs, info = env.reset(seed=reset_seed)
            if not isinstance(obs, str):
                raise ValueError(f"{env_id} is not a text environment (observation {type(obs).__name__}); "
                                 "GRPO training needs text prompts")
            messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": obs}]
            difficulty = str(info.get("difficulty") or "")
            row = {"prompt": messages, "env_id": env_id, "seed": int(reset_seed), "difficulty": difficulty,
                   "label": difficulty if len(specs) == 1 else f"{env_id}/{difficulty}",
                   "answer": "", "solution": "", "candidates": ""}
            if kind == "math":
                row["answer"] = str(info["answer"])
            elif kind in ("temporal_clue", "feedback"):
                row["solution"] = json.dumps(dict(info["puzzle"].solution), ensure_ascii=False)
                row["candidates"] = json.dumps(info["candidates"], ensure_ascii=False)
            rows.append(row)
        env.close()
    if len(specs) > 1:
        random.Random(seed).shuffle(rows)
    for index, row in enumerate(rows):
        row["index"] = index
    return Dataset.from_list(rows)


def completion_text(completion: Any) -> str:
    """The text of a TRL completion (a str, or the assistant messages of a chat completion joined)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        parts = [m.get("content") for m in completion if isinstance(m, dict) and m.get("role", "assistant") == "assistant"]
        return "\n".join(p for p in parts if isinstance(p, str))
    return ""


class EnvReward:
    """The reward of each completion by its row's env (the ``env_id`` column): Math rows by
    verifiers.math.grade against ``answer``, Temporal Clue rows by verifiers.temporal_clue.grade against
    ``solution``/``candidates`` (with each env's own grading options), and any other single-step text env by
    replaying its episode (``reset(seed=row seed)`` then ``step(completion)``). Verification runs in the main
    thread (the Math verifier keeps its own timeout worker)."""

    __name__ = "env_reward"

    def __init__(self, env_kwargs: dict | None = None):
        self.env_kwargs = env_kwargs or {}
        self._envs: dict[str, Any] = {}

    def _env(self, env_id: str):
        if env_id not in self._envs:
            self._envs[env_id] = _make_env(env_id, dict(self.env_kwargs.get(env_id, {})))
        return self._envs[env_id]

    def score(self, text: str, *, env_id: str, answer: str = "", solution: str = "", candidates: str = "",
              seed: int | None = None) -> float:
        env = self._env(env_id)
        kind = _env_kind(env)
        inner = env.unwrapped
        if kind == "math" and answer:
            return float(inner.grade_text(text, answer).reward)
        if kind == "temporal_clue" and solution:
            from rlvr_gym.verifiers.temporal_clue import grade

            cands = json.loads(candidates) if candidates else None
            return float(grade(text, json.loads(solution), candidates=cands, mode=inner.grading).reward)
        env.reset(seed=seed)
        _, reward, *_ = env.step(text)
        return float(reward)

    def __call__(self, completions: Sequence[Any], env_id: Sequence[str], answer: Sequence[str] | None = None,
                 solution: Sequence[str] | None = None, candidates: Sequence[str] | None = None,
                 seed: Sequence[int] | None = None, **kwargs: Any) -> list[float]:
        n = len(completions)
        answer = answer or [""] * n
        solution = solution or [""] * n
        candidates = candidates or [""] * n
        seed = seed or [None] * n
        return [self.score(completion_text(c), env_id=e, answer=a, solution=s, candidates=cd, seed=sd)
                for c, e, a, s, cd, sd in zip(completions, env_id, answer, solution, candidates, seed)]

    def close(self) -> None:
        for env in self._envs.values():
            env.close()
        self._envs = {}


# --------------------------------------------------------------------------------------------------------------
# The trainer


def _grpo_trainer_class():
    from trl import GRPOTrainer

    class _RLVRGRPOTrainer(GRPOTrainer):
        """TRL's GRPOTrainer with: an accuracy metric (share of completions with reward >= 1), and the curriculum
        hook (``Curriculum.on_batch`` re-weights the advantages of each generation batch). Kept small so that
        agents/gdro.py can subclass it."""

        def __init__(self, *args, curriculum: Curriculum | None = None, **kwargs):
            self.curriculum = curriculum or Curriculum()
            self._last_rewards_per_func = None
            super().__init__(*args, **kwargs)

        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            self._last_rewards_per_func = rewards_per_func        # all processes' completions, in order
            return rewards_per_func

        def _generate_and_score_completions(self, inputs):
            # Generation per prompt happens inside TRL (super() -> self._generate): one group of num_generations
            # completions per prompt. VARIABLE GROUP SIZES (Curriculum.rollouts_for) plug in here: a subclass can
            # override this method or _generate to ask the curriculum how many rollouts each prompt gets.
            output = super()._generate_and_score_completions(inputs)
            import torch
            from accelerate.utils import gather_object

            mode = "train" if self.model.training else "eval"
            rewards = torch.nansum(self._last_rewards_per_func * self.reward_weights.to(
                self._last_rewards_per_func.device).unsqueeze(0), dim=1)
            self._metrics[mode]["accuracy"].append((rewards >= 1.0 - 1e-6).float().mean().item())
            if mode != "train":
                return output
            indices = gather_object([int(x["index"]) for x in inputs])
            labels = gather_object([str(x.get("label", "")) for x in inputs])
            local = output["advantages"]
            advantages = self.accelerator.gather(local)
            group_size = self.num_generations
            group_ids = [i // group_size for i in range(len(indices))]
            new = self.curriculum.on_batch(dataset_indices=indices, group_ids=group_ids, rewards=rewards,
                                           advantages=advantages, labels=labels, step=int(self.state.global_step))
            if new is not advantages:
                new = torch.as_tensor(new, dtype=local.dtype, device=local.device)
                if new.shape != advantages.shape:
                    raise ValueError(f"curriculum.on_batch returned advantages of shape {tuple(new.shape)}, "
                                     f"expected {tuple(advantages.shape)}")
                start = self.accelerator.process_index * len(local)
                output["advantages"] = new[start:start + len(local)]
            for key, value in self.curriculum.metrics().items():
                self._metrics[mode][f"curriculum/{key}"].append(float(value))
            return output

    return _RLVRGRPOTrainer


_TRAINER_CLASS = None


def trainer_class():
    """RLVRGRPOTrainer, built on first use (importing trl takes ~10 s, so not at module import)."""
    global _TRAINER_CLASS
    if _TRAINER_CLASS is None:
        _TRAINER_CLASS = _grpo_trainer_class()
        _TRAINER_CLASS.__name__ = _TRAINER_CLASS.__qualname__ = "RLVRGRPOTrainer"
    return _TRAINER_CLASS


def __getattr__(name: str):
    # `from rlvr_gym.agents.trainer import RLVRGRPOTrainer` gives the real class (trl is imported then).
    if name == "RLVRGRPOTrainer":
        return trainer_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------------------------------------------
# Multi-turn: TemporalClue-Feedback-v0 through TRL's rollout_func


def make_feedback_rollout(dataset, *, max_attempts: int = 3, discount: float = 0.7, grading: str = "strict"):
    """(rollout_func, reward_func) for TemporalClue-Feedback-v0 rows of `dataset`.

    Each rollout is a chat: the puzzle, then up to `max_attempts` assistant answer sheets, each but the last
    followed by a user turn saying how many answers are right (the env's feedback text). The completion is every
    token after the prompt; env_mask marks the feedback tokens (0) so that only the model's own tokens are
    trained. The reward, discount**(attempt-1) * fraction right on the last sheet, travels to the reward function
    as the extra field ``feedback_reward``. Generation is one rollout at a time with the policy being trained
    (``max_completion_length`` new tokens per turn): fine for CPU tests; use vLLM rollouts for real runs."""
    from rlvr_gym.envs.temporal_clue.feedback_env import feedback_message
    from rlvr_gym.verifiers.temporal_clue import grade

    answers = {}
    for row in dataset:
        answers[row["prompt"][-1]["content"]] = (json.loads(row["solution"]), json.loads(row["candidates"]))

    def rollout_func(prompts, trainer):
        import torch

        tok = trainer.processing_class
        model = trainer.accelerator.unwrap_model(trainer.model)
        device = trainer.accelerator.device
        eos = tok.eos_token_id
        out = {"prompt_ids": [], "completion_ids": [], "logprobs": None, "env_mask": [], "feedback_reward": [],
               "attempts": []}
        gen_kwargs = dict(max_new_tokens=trainer.args.max_completion_length, do_sample=True,
                          temperature=trainer.args.temperature, top_k=0, top_p=1.0, pad_token_id=tok.pad_token_id,
                          eos_token_id=eos)
        for messages in prompts:
            key = messages[-1]["content"]
            if key not in answers:
                raise ValueError("rollout prompt not found in the feedback dataset")
            solution, candidates = answers[key]
            prompt_text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            prompt_ids = tok(prompt_text, add_special_tokens=False)["input_ids"]
            completion, mask = [], []
            chat = list(messages)
            transcript = prompt_text
            reward, attempt = 0.0, 0
            for attempt in range(1, max_attempts + 1):
                ids = torch.tensor([prompt_ids + completion], device=device)
                with torch.no_grad():
                    new = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **gen_kwargs)
                new = new[0, ids.shape[1]:].tolist()
                if eos in new:
                    new = new[:new.index(eos) + 1]
                completion += new
                mask += [1] * len(new)
                text = tok.decode([t for t in new if t != eos], skip_special_tokens=True)
                right = sum(grade(text, solution, candidates=candidates, mode=grading).correct.values())
                total = len(solution)
                reward = discount ** (attempt - 1) * right / total
                if right == total or attempt == max_attempts:
                    break
                chat = chat + [{"role": "assistant", "content": text},
                               {"role": "user", "content": feedback_message(right, total, max_attempts - attempt)}]
                full = tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
                # The feedback turn's tokens: what the chat template adds after the transcript so far.
                so_far = transcript + tok.decode(new, skip_special_tokens=False)
                tail = full[len(so_far):] if full.startswith(so_far) else full[len(transcript):]
                feedback_ids = tok(tail, add_special_tokens=False)["input_ids"]
                completion += feedback_ids
                mask += [0] * len(feedback_ids)
                transcript = full
            out["prompt_ids"].append(prompt_ids)
            out["completion_ids"].append(completion)
            out["env_mask"].append(mask)
            out["feedback_reward"].append(float(reward))
            out["attempts"].append(attempt)
        return out

    def feedback_reward(completions, feedback_reward, **kwargs):
        return [float(r) for r in feedback_reward]

    return rollout_func, feedback_reward


# --------------------------------------------------------------------------------------------------------------
# Callbacks: metrics.jsonl, curriculum state, progress display, held-out evaluation


METRIC_KEYS = {  # our metrics.jsonl name <- TRL log key
    "reward": "reward", "reward_std": "reward_std", "accuracy": "accuracy",
    "completion_length": "completions/mean_length", "clipped_ratio": "completions/clipped_ratio",
    "kl": "kl", "learning_rate": "learning_rate", "loss": "loss", "grad_norm": "grad_norm",
    "entropy": "entropy", "frac_reward_zero_std": "frac_reward_zero_std", "num_tokens": "num_tokens",
}


def _callbacks(run: "_Run"):
    from transformers import TrainerCallback

    class MetricsCallback(TrainerCallback):
        """One JSON object per logged training step in metrics.jsonl (main process)."""

        def __init__(self):
            self.t0 = time.perf_counter()
            self.last = (self.t0, None, None)  # (time, step, num_tokens)

        def on_log(self, args, state, control, logs=None, **kwargs):
            if not state.is_world_process_zero or not logs:
                return
            if "train_runtime" in logs:          # the closing summary of trainer.train()
                run.train_summary = {k: v for k, v in logs.items() if isinstance(v, (int, float))}
                return
            if "reward" not in logs and "loss" not in logs:
                return
            now = time.perf_counter()
            row: dict[str, Any] = {"step": state.global_step, "time": run.time_offset + now - self.t0}
            for ours, theirs in METRIC_KEYS.items():
                if theirs in logs:
                    row[ours] = logs[theirs]
            last_t, last_step, last_tokens = self.last
            dt = now - last_t
            if dt > 0 and last_step is not None and state.global_step > last_step:
                row["steps_per_s"] = (state.global_step - last_step) / dt
                if "num_tokens" in logs and last_tokens is not None:
                    row["tokens_per_s"] = (logs["num_tokens"] - last_tokens) / dt
            elif dt > 0 and state.global_step > 0 and last_step is None:
                row["steps_per_s"] = (state.global_step - run.start_step) / dt
                if "num_tokens" in logs:
                    row["tokens_per_s"] = (logs["num_tokens"] - run.start_tokens) / dt
            self.last = (now, state.global_step, logs.get("num_tokens"))
            for key, value in logs.items():
                if key not in row and isinstance(value, (int, float)):
                    row[key] = value
            for key in [k for k in row if k.startswith("curriculum/gdro/")]:
                row.setdefault(key[len("curriculum/"):], row[key])   # also bare: gdro/mean_rollouts, gdro/budget...
            with (run.out / "metrics.jsonl").open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
            run.last_metrics = row

    class CurriculumStateCallback(TrainerCallback):
        """Saves the curriculum's state_dict as curriculum.json in each checkpoint directory."""

        def on_save(self, args, state, control, **kwargs):
            if not state.is_world_process_zero:
                return
            ckpt = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            ckpt.mkdir(parents=True, exist_ok=True)
            payload = {"step": state.global_step, "curriculum": run.config.curriculum,
                       "state": run.curriculum.state_dict()}
            (ckpt / "curriculum.json").write_text(json.dumps(payload), encoding="utf-8")

    class ProgressCallback(TrainerCallback):
        """A rich progress bar with the latest reward, accuracy and completion length."""

        def __init__(self):
            self.bar = None
            self.task = None

        def on_train_begin(self, args, state, control, **kwargs):
            if not state.is_world_process_zero:
                return
            from rlvr_gym.cli.common import progress_bar

            self.bar = progress_bar()
            # Redraw only when a step ends: rich's default 10 Hz refresh thread competes with training for the
            # single CPU thread (a measurable cost in benchmarks/train_throughput.py on a busy 2-core machine).
            self.bar.live.auto_refresh = False
            self.bar.start()
            self.task = self.bar.add_task("train", total=state.max_steps, completed=state.global_step, status="")

        def on_step_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                m = run.last_metrics or {}
                status = " ".join(f"{k} {m[k]:.3g}" for k in ("reward", "accuracy", "completion_length", "kl")
                                  if isinstance(m.get(k), (int, float)))
                self.bar.update(self.task, completed=state.global_step, status=status)
                self.bar.refresh()

        def on_train_end(self, args, state, control, **kwargs):
            if self.bar is not None:
                self.bar.stop()
                self.bar = None

    class HeldOutCallback(TrainerCallback):
        """Held-out evaluation every ``eval_every`` steps (main process)."""

        def on_step_end(self, args, state, control, model=None, **kwargs):
            every = run.config.eval_every
            if every and state.global_step % every == 0 and state.global_step < state.max_steps:
                run.evaluate_heldout(f"eval_step{state.global_step}", state.global_step)

    callbacks = [MetricsCallback(), CurriculumStateCallback()]
    if run.config.progress:
        callbacks.append(ProgressCallback())
    if run.config.eval_every and run.config.eval_size:
        callbacks.append(HeldOutCallback())
    return callbacks


# --------------------------------------------------------------------------------------------------------------
# In-process evaluation with the hf agent


def _in_process_agent(model, tokenizer, *, max_tokens: int, batch_size: int, system: str | None, device: str):
    """An agents.hf.HFAgent around a model already in memory (greedy decoding)."""
    from rlvr_gym.agents.hf import HFAgent
    from rlvr_gym.agents.sampling import SamplingParams

    agent = HFAgent.__new__(HFAgent)
    agent.sampling = SamplingParams(temperature=0.0, max_tokens=max_tokens)
    agent.device = device
    agent.threads = None
    agent.batch_size = batch_size
    agent.system = system
    agent.model_name = "in-process"
    agent.name = "hf:in-process"
    agent.tokenizer = tokenizer
    agent.model = model
    agent.chat = bool(getattr(tokenizer, "chat_template", None))
    agent._calls = 0
    return agent


@dataclass
class RunResult:
    """What ``train`` returns. eval_before/eval_after: {"accuracy", "mean_reward", "by_env": {id: summary}}
    (None when skipped); metrics: the metrics.jsonl rows of this process's run."""

    out: Path
    steps: int
    eval_before: dict | None
    eval_after: dict | None
    metrics: list[dict]
    seconds: float
    notes: list[str]
    resumed_from: str | None = None
    train_summary: dict = field(default_factory=dict)   # TRL's closing log (train_runtime, ...)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["out"] = str(self.out)
        d.pop("metrics")
        return d


class _Run:
    """State shared by train() and its callbacks."""

    def __init__(self, config: TrainConfig, out: Path):
        self.config = config
        self.out = out
        self.curriculum: Curriculum = Curriculum()
        self.last_metrics: dict | None = None
        self.train_summary: dict = {}
        self.time_offset = 0.0
        self.start_step = 0
        self.start_tokens = 0
        self.model = None
        self.tokenizer = None
        self.device = "cpu"
        self.is_main = True

    def evaluate_heldout(self, name: str, step: int) -> dict | None:
        """Evaluate the current model on every env's held-out episodes; writes out/name/<env>/ and a line of
        heldout.jsonl. Main process only (other ranks return None)."""
        if not self.is_main or self.config.eval_size == 0:
            return None
        from rlvr_gym.cli.eval import evaluate, write_run

        model = self.model
        was_training = model.training
        padding_side = self.tokenizer.padding_side
        self.tokenizer.padding_side = "left"          # batched generation pads on the left; TRL pads its own
        model.eval()
        agent = _in_process_agent(model, self.tokenizer, device=self.device, system=self.config.system,
                                  max_tokens=self.config.eval_max_tokens or self.config.max_completion_length,
                                  batch_size=self.config.eval_batch_size)
        by_env = {}
        try:
            for env_id, _ in parse_env_specs(self.config.env):
                rows, summary = evaluate(env_id, agent, episodes=self.config.eval_size, seed=self.config.eval_seed,
                                         env_kwargs={**self.config.env_kwargs.get(env_id, {}),
                                                     **self.config.eval_env_kwargs.get(env_id, {})},
                                         batch_size=self.config.eval_batch_size, progress=self.config.progress)
                write_run(self.out / name / env_id.replace(":", "_").replace("/", "_"), rows, summary)
                by_env[env_id] = summary
        finally:
            self.tokenizer.padding_side = padding_side
            if was_training:
                model.train()
        n = sum(s["episodes"] for s in by_env.values())
        result = {"step": step, "name": name,
                  "accuracy": sum(s["solved_fraction"] * s["episodes"] for s in by_env.values()) / n,
                  "mean_reward": sum(s["mean_reward"] * s["episodes"] for s in by_env.values()) / n,
                  "by_env": {k: {"accuracy": v["solved_fraction"], "mean_reward": v["mean_reward"],
                                 "episodes": v["episodes"]} for k, v in by_env.items()}}
        with (self.out / "heldout.jsonl").open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(result) + "\n")
        return result


def _last_checkpoint(out: Path) -> Path | None:
    best = None
    for child in out.glob("checkpoint-*"):
        suffix = child.name.split("-", 1)[1]
        if child.is_dir() and suffix.isdigit() and (child / "trainer_state.json").is_file():
            if best is None or int(suffix) > int(best.name.split("-", 1)[1]):
                best = child
    return best


def _truncate_jsonl(path: Path, max_step: int) -> None:
    """Drop the rows logged after the checkpoint we resume from (they will be logged again)."""
    if not path.is_file():
        return
    keep = [line for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= max_step]
    path.write_text("".join(line + "\n" for line in keep), encoding="utf-8")


def _read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_model(name: str, device: str, dtype=None):
    """(model, tokenizer, path) for an alias, a local directory or a hub name (agents.models.resolve_model)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from rlvr_gym.agents.models import resolve_model

    path = resolve_model(name)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if dtype is None:
        dtype = torch.bfloat16 if device.startswith("cuda") and torch.cuda.is_bf16_supported() else torch.float32
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype)
    return model, tokenizer, Path(path)


def train(config: TrainConfig, *, rollout_func=None, reward_funcs: list | None = None, extra_callbacks=(),
          curriculum: Curriculum | None = None) -> RunResult:
    """Run GRPO as configured; returns a RunResult (the run folder is described in the module docstring).

    rollout_func / reward_funcs: for multi-turn envs (see envs/temporal_clue/feedback_env.py): a TRL rollout_func
    and the reward functions that read its extra fields; by default single-turn generation and EnvReward (and,
    for TemporalClue-Feedback-v0, ``make_feedback_rollout``). curriculum: a Curriculum object to use instead of
    the one ``config.curriculum`` names."""
    config.validate()
    started = time.perf_counter()
    import warnings

    # transformers 5 renamed gradient checkpointing; TRL still uses the old name on every step
    warnings.filterwarnings("ignore", message=".*gradient_checkpointing.* is deprecated", category=FutureWarning)
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")    # rollout_func is marked experimental
    out = Path(config.out)
    resume_from = None
    if out.exists() and any(out.iterdir()):
        if config.resume:
            resume_from = _last_checkpoint(out)
        elif (out / "config.yaml").exists():
            raise ValueError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    run = _Run(config, out)
    from accelerate import PartialState

    state = PartialState()
    run.is_main = state.is_main_process

    import torch

    cuda = _uses_cuda(config)
    run.device = str(state.device) if cuda else "cpu"
    if not cuda:
        torch.set_num_threads(config.threads or CPU_THREADS)

    from rlvr_gym.agents.peft_presets import prepare_peft, trainable_parameters

    model, tokenizer, model_path = load_model(config.model, run.device)
    if cuda:
        model.to(run.device)
    run.model, run.tokenizer = model, tokenizer
    notes: list[str] = []

    if run.is_main:
        import yaml

        (out / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False), encoding="utf-8")
    if resume_from is not None:
        step = int(resume_from.name.split("-", 1)[1])
        if run.is_main:
            _truncate_jsonl(out / "metrics.jsonl", step)
            _truncate_jsonl(out / "heldout.jsonl", step)
        rows = _read_jsonl(out / "metrics.jsonl")
        run.time_offset = rows[-1]["time"] if rows else 0.0
        run.start_step = step
        run.start_tokens = int(rows[-1].get("num_tokens", 0)) if rows else 0
        notes.append(f"resumed from {resume_from.name}")
    elif config.resume and run.is_main:      # killed before its first checkpoint: start again from step 0
        _truncate_jsonl(out / "metrics.jsonl", 0)
        _truncate_jsonl(out / "heldout.jsonl", 0)

    eval_before = None
    before_file = out / "eval_before.json"
    if config.eval_before and config.eval_size:
        if before_file.is_file():
            eval_before = json.loads(before_file.read_text(encoding="utf-8"))
        else:
            eval_before = run.evaluate_heldout("eval_before", 0)
            if run.is_main and eval_before is not None:
                before_file.write_text(json.dumps(eval_before, indent=2), encoding="utf-8")
        state.wait_for_everyone()

    dataset = build_dataset(config.env, config.train_size, config.seed, env_kwargs=config.env_kwargs,
                            system=config.system)
    setup = prepare_peft(model, config.peft, r=config.lora_r, alpha=config.lora_alpha, dropout=config.lora_dropout,
                         target_modules=config.target_modules, total_steps=config.max_steps,
                         learning_rate=config.learning_rate, beta=config.beta, extra=config.peft_kwargs)
    notes.extend(setup.notes)
    args = make_grpo_config(config, beta=setup.beta)
    run.curriculum = curriculum if curriculum is not None else make_curriculum(config, dataset)
    if resume_from is not None and (resume_from / "curriculum.json").is_file():
        saved = json.loads((resume_from / "curriculum.json").read_text(encoding="utf-8"))
        run.curriculum.load_state_dict(saved.get("state") or {})

    specs = parse_env_specs(config.env)
    feedback = [e for e, _ in specs if _env_kind(_make_env(e, dict(config.env_kwargs.get(e, {})))) == "feedback"]
    if feedback and rollout_func is None:
        if len(specs) > 1:
            raise ValueError("a multi-turn env (TemporalClue-Feedback-v0) trains alone, not in a mix")
        probe = _make_env(feedback[0], dict(config.env_kwargs.get(feedback[0], {}))).unwrapped
        rollout_func, feedback_reward = make_feedback_rollout(dataset, max_attempts=probe.max_attempts,
                                                              discount=probe.discount, grading=probe.grading)
        reward_funcs = reward_funcs or [feedback_reward]
    rewards = reward_funcs if reward_funcs is not None else [EnvReward(config.env_kwargs)]
    optimizers = (setup.optimizer_factory(setup.model), None) if setup.optimizer_factory else (None, None)
    # A curriculum may bring its own RLVRGRPOTrainer subclass (e.g. variable group sizes in agents/gdro.py).
    trainer_cls = getattr(run.curriculum, "trainer_class", None) or trainer_class()
    extra = {"rollout_func": rollout_func} if rollout_func is not None else {}
    trainer = trainer_cls(model=setup.model, reward_funcs=rewards, args=args, train_dataset=dataset,
                          processing_class=tokenizer, peft_config=setup.peft_config, optimizers=optimizers,
                          callbacks=[*setup.callbacks, *_callbacks(run), *extra_callbacks], curriculum=run.curriculum,
                          **extra)
    if config.progress:
        from transformers.trainer_callback import PrinterCallback, ProgressCallback

        trainer.remove_callback(PrinterCallback)
        trainer.remove_callback(ProgressCallback)
    run.model = trainer.accelerator.unwrap_model(trainer.model)
    trainable, total = trainable_parameters(run.model)
    notes.append(f"{config.peft}: {trainable:,} of {total:,} parameters train")

    trainer.train(resume_from_checkpoint=str(resume_from) if resume_from is not None else None)
    run.model = trainer.accelerator.unwrap_model(trainer.model)
    trainer.save_model(str(out / "final"))

    eval_after = None
    if config.eval_after and config.eval_size:
        eval_after = run.evaluate_heldout("eval_after", int(trainer.state.global_step))
        if run.is_main and eval_after is not None:
            (out / "eval_after.json").write_text(json.dumps(eval_after, indent=2), encoding="utf-8")
    state.wait_for_everyone()
    if run.is_main and config.plots:
        from rlvr_gym.agents.plots import plot_run

        plot_run(out)
    result = RunResult(out=out, steps=int(trainer.state.global_step), eval_before=eval_before, eval_after=eval_after,
                       metrics=_read_jsonl(out / "metrics.jsonl"), seconds=time.perf_counter() - started, notes=notes,
                       resumed_from=str(resume_from) if resume_from is not None else None,
                       train_summary=dict(run.train_summary))
    if run.is_main:
        (out / "result.json").write_text(json.dumps(result.to_dict(), indent=2), encoding="utf-8")
    for func in rewards:
        if hasattr(func, "close"):
            func.close()
    return result
