"""The configuration of a GRPO run: ``TrainConfig`` (YAML, CLI and Python set the same fields) and the GRPOConfig
built from it.

Every field declares its command-line option (agents/training/options.py), so ``rlvr train`` is generated from
this class: a field is declared once, with its default and help. ``grpo`` passes any other GRPOConfig field through
(e.g. ``{"top_p": 0.9, "epsilon_high": 0.28}``); GRPOConfig field names given at the top level of a YAML file go
there too.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlvr_gym.agents.training.options import option

__all__ = ["TrainConfig", "load_config_file", "grpo_config_fields", "make_grpo_config", "uses_cuda", "CPU_THREADS",
           "CURRICULA", "GROUPINGS"]

# Measured in benchmarks/threads.py (benchmarks/results/threads.md): GRPO steps with 1 torch thread are as fast
# as with 2 on an idle 2-core machine and many times faster when the cores are shared, so 1 is the CPU default.
CPU_THREADS = 1
CURRICULA = ("none", "prompt-gdro", "rollout-gdro")
GROUPINGS = ("pass", "label")
ROLLOUTS = ("hf", "vllm")
PEFT_HELP = "full lora dora rslora loraplus lora-fa adalora pissa milora vera miss ia3 lntuning"

_DATA, _EVAL, _MODEL, _CURRICULUM, _RUN, _HARDWARE, _GRPO = (
    "what to train on", "held-out evaluation", "model and adapter", "curriculum", "run folder", "hardware",
    "GRPO (TRL GRPOConfig fields)")


@dataclass
class TrainConfig:
    """Everything a GRPO run needs (module docstring). Field help is what ``rlvr train --help`` shows."""

    # what to train on
    env: list[str] = option(default_factory=lambda: ["Math-Easy-v0"], section=_DATA, style="append",
                            metavar="ID[:W]", help="env id with an optional weight (Math-Easy-v0:0.7); repeat for a mix")
    env_kwargs: dict = option(default_factory=dict, section=_DATA, style="json", metavar="JSON",
                              help='gymnasium.make options per env id, e.g. \'{"Math-v0": {"levels": [1, 2]}}\'')
    train_size: int = option(256, "training rows (split over the envs of a mix by weight)", section=_DATA)
    system: str | None = option(None, "a system message for every prompt", section=_DATA)
    seed: int = option(0, "seed of the training rows and of TRL", section=_DATA)
    # held-out evaluation (the evaluation harness, an in-process hf agent on the current model)
    eval_size: int = option(32, "held-out episodes per env (0 skips evaluation)", section=_EVAL)
    eval_seed: int = option(1_000_003, "seed of the held-out episodes (must differ from --seed)", section=_EVAL)
    eval_before: bool = option(True, "evaluate before training", section=_EVAL)
    eval_after: bool = option(True, "evaluate after training", section=_EVAL)
    eval_every: int = option(0, "also evaluate every N steps (0: before and after only)", section=_EVAL)
    eval_max_tokens: int | None = option(None, "max new tokens in evaluation (default: --max-completion-length)",
                                         section=_EVAL)
    eval_batch_size: int = option(16, "prompts generated together in evaluation", section=_EVAL)
    eval_env_kwargs: dict = option(default_factory=dict, section=_EVAL, style="json", metavar="JSON",
                                   help="options laid over --env-kwargs for the held-out evaluation only, e.g. "
                                        '\'{"Math-v0": {"split": "test"}}\' when training uses split "train"')
    # model and adapter
    model: str = option("smollm2-135m", "smollm2-135m | tiny-random | a local model dir | a hub name", section=_MODEL)
    peft: str = option("lora", f"PEFT preset: {PEFT_HELP}", section=_MODEL)
    lora_r: int = option(16, "adapter rank", section=_MODEL)
    lora_alpha: float | None = option(None, "adapter alpha (default 2 * r)", section=_MODEL)
    lora_dropout: float = option(0.05, "adapter dropout", section=_MODEL)
    target_modules: list[str] | None = option(None, section=_MODEL, style="comma", metavar="A,B",
                                              help="module names to adapt (default: q/k/v/o/gate/up/down projections)")
    peft_kwargs: dict = option(default_factory=dict, section=_MODEL, style="json", metavar="JSON",
                               help="extra peft config options")
    # curriculum (agents/grpo/gdro.py)
    curriculum: str = option("none", "none | prompt-gdro | rollout-gdro", section=_CURRICULUM, choices=CURRICULA)
    curriculum_kwargs: dict = option(default_factory=dict, section=_CURRICULUM, style="json", metavar="JSON",
                                     help="curriculum options")
    groups: str = option("pass", "curriculum groups: by pass rate or by the difficulty label", section=_CURRICULUM,
                         choices=GROUPINGS)
    # run folder
    out: str = option("runs/train", "run folder", section=_RUN, metavar="DIR")
    resume: bool = option(False, "continue the run in --out from its last checkpoint (a finished run is reported "
                                 "as it is; with a larger --max-steps it is extended)", section=_RUN)
    progress: bool = option(True, "a progress display (off: TRL's log lines)", section=_RUN)
    plots: bool = option(True, "write reward.png and heldout.png", section=_RUN)
    # hardware
    device: str = option("auto", "auto | cpu | cuda", section=_HARDWARE)
    threads: int | None = option(None, "torch CPU threads (default 1, measured: benchmarks/threads.py)",
                                 section=_HARDWARE)
    vllm: str | None = option(None, "generate with TRL's vLLM integration: colocate | server (GPU; needs vllm in "
                                    "the trainer's environment; the way to use vLLM with --peft full)",
                              section=_HARDWARE, choices=("colocate", "server"))
    rollouts: str = option("hf", "where rollouts are sampled: hf (the trainer's own generate) | vllm (a vLLM server at "
                                 "--vllm-url, the LoRA adapter hot-swapped in after every step; LoRA presets only: "
                                 "--peft full is refused, use --vllm colocate|server for it)",
                           section=_HARDWARE, choices=ROLLOUTS)
    vllm_url: str | None = option(None, "the vLLM server for --rollouts vllm: http://host:port[/v1] of a server "
                                        "with runtime LoRA loading (e.g. `rlvr serve MODEL --engine vllm`), or auto: "
                                        "start one for this run from the vLLM environment (.venv-vllm or "
                                        "$RLVR_VLLM_PYTHON; fp32; stopped when the run ends)",
                                  section=_HARDWARE, metavar="URL")
    vllm_adapter_dir: str | None = option(None, "where --rollouts vllm writes each adapter version for the server to "
                                                "load (default OUT/vllm-adapters; the server must see the same path)",
                                          section=_HARDWARE, metavar="DIR")
    # the GRPO knobs used most (GRPOConfig fields); CPU-sized defaults
    max_steps: int = option(20, "optimizer steps", section=_GRPO)
    learning_rate: float = option(2e-4, "learning rate", section=_GRPO)
    per_device_train_batch_size: int = option(8, "completions per device per step", flag="--batch-size",
                                              section=_GRPO)
    gradient_accumulation_steps: int = option(1, "micro-batches per optimizer step", section=_GRPO)
    num_generations: int = option(4, "completions per prompt (the group size)", section=_GRPO)
    max_completion_length: int = option(128, "max new tokens per completion", section=_GRPO)
    temperature: float = option(1.0, "sampling temperature", section=_GRPO)
    beta: float = option(0.0, "KL coefficient", section=_GRPO)
    loss_type: str = option("dapo", "grpo | dr_grpo | dapo | bnpo | cispo | sapo | ...", section=_GRPO)
    lr_scheduler_type: str = option("constant", "learning-rate schedule (transformers names)", section=_GRPO)
    save_steps: int = option(10, "checkpoint every N steps", section=_GRPO)
    save_total_limit: int | None = option(2, "checkpoints kept", section=_GRPO)
    logging_steps: int = option(1, "log every N steps", section=_GRPO)
    grpo: dict = option(default_factory=dict, section=_GRPO, style="kv", metavar="KEY=VALUE",
                        help="any other GRPOConfig field, e.g. --grpo epsilon_high=0.28 (repeatable)")

    def validate(self) -> "TrainConfig":
        if isinstance(self.env, str):
            self.env = [self.env]
        from rlvr_gym.agents.grpo.data import parse_env_specs

        parse_env_specs(self.env)
        from rlvr_gym.agents.grpo.peft_presets import PRESETS

        if self.peft not in PRESETS:
            raise ValueError(f"peft must be one of {', '.join(PRESETS)}, got {self.peft!r}")
        if self.curriculum not in CURRICULA:
            raise ValueError(f"curriculum must be one of {', '.join(CURRICULA)}, got {self.curriculum!r}")
        if self.groups not in GROUPINGS:
            raise ValueError(f"groups must be one of {', '.join(GROUPINGS)}, got {self.groups!r}")
        if self.vllm not in (None, "colocate", "server"):
            raise ValueError(f"vllm must be colocate, server or unset, got {self.vllm!r}")
        self._validate_rollouts()
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
            import difflib

            hints = [f"{name} (did you mean {', '.join(close)}?)" if close else name for name in unknown
                     for close in [difflib.get_close_matches(name, sorted(grpo_config_fields()), n=3)]]
            raise ValueError(f"unknown GRPOConfig option(s): {'; '.join(hints)}. Every option --grpo takes: "
                             "`rlvr train --list-grpo-options`")
        return self

    def _validate_rollouts(self) -> None:
        if self.rollouts not in ROLLOUTS:
            raise ValueError(f"rollouts must be one of {', '.join(ROLLOUTS)}, got {self.rollouts!r}")
        if self.rollouts != "vllm":
            given = [flag for flag, value in (("--vllm-url", self.vllm_url), ("--vllm-adapter-dir",
                                                                              self.vllm_adapter_dir)) if value]
            if given:
                raise ValueError(f"{', '.join(given)} applies only to --rollouts vllm (rollouts is {self.rollouts!r})")
            return
        from rlvr_gym.agents.grpo.vllm_rollouts import servable_error
        from rlvr_gym.agents.serving.vllm_server import root_url

        if self.vllm:
            raise ValueError(f"--rollouts vllm and --vllm {self.vllm} are two ways to use vLLM: choose one "
                             "(--rollouts vllm: a LoRA hot-swapped into a vLLM server; --vllm: TRL's own integration)")
        if not self.vllm_url:
            raise ValueError("--rollouts vllm needs --vllm-url URL: a vLLM server with runtime LoRA loading serving "
                             f"the model being trained (start one with `rlvr serve {self.model} --engine vllm`)")
        if self.vllm_url != "auto":
            root_url(self.vllm_url)  # a clear error for a malformed URL
        reason = servable_error(self.peft)
        if reason:
            raise ValueError(reason)

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


def uses_cuda(config: TrainConfig) -> bool:
    """Whether the run trains on a CUDA device (device auto picks one when torch sees it)."""
    if config.device == "cpu":
        return False
    import torch

    if config.device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("device cuda was asked for but torch sees no CUDA device")
    return torch.cuda.is_available()


def make_grpo_config(config: TrainConfig, *, beta: float | None = None):
    """The GRPOConfig of a run: CPU or GPU defaults, then the TrainConfig knobs, then ``config.grpo``."""
    from trl import GRPOConfig

    cuda = uses_cuda(config)
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
    if config.rollouts == "vllm":
        # TRL builds no vLLM client (agents/grpo/vllm_rollouts.py attaches the server); without dropout the trainer
        # scores completions with the function the server sampled them from, so the importance ratio measures
        # only the numeric gap (and staleness), not dropout noise.
        kwargs.update(use_vllm=False, disable_dropout=True)
    kwargs.update(config.grpo)
    return GRPOConfig(**kwargs)
