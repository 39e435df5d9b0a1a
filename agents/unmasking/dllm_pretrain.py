"""``rlvr dllm pretrain``: train the embedded tiny masked diffusion LM from scratch on a CPU.

The model is a small bidirectional BERT encoder with an MLM head (``rlvr_gym.envs.unmasking.dllm.tiny_config``) over a
character tokenizer. It learns the masked-diffusion objective on the synthetic tasks of
``rlvr_gym.envs.unmasking.tasks`` (default: "permute", where the order of unmasking matters, and "addition-pad",
fixed-width addition with carries; the first task is Unmasking-v0's default with this model): for each row, the prompt stays visible, the completion (the answer
followed by [EOS] up to a length L drawn per batch) has each token masked with probability t ~ U(t_min, 1),
and the loss is the cross-entropy on the masked positions, averaged over all completion positions; with
``weighting="1/t"`` each row is weighted by 1/t (the diffusion ELBO, as in LLaDA's training).

Training items come from the tasks with ``task_seed`` (0 by default); ``Unmasking-v0`` draws its prompts with
seed 1, so evaluation prompts are a different sequence (small operand pairs can coincide).

The result is saved with ``save_pretrained`` (model + tokenizer) into a temporary directory that is renamed
into place (default ``<cache>/models/tiny-dllm``), with ``rlvr_gym_dllm.json`` (config, metrics) written last.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from rlvr_gym.agents.training.options import option
from rlvr_gym.agents.training.schedules import warmup_cosine

__all__ = ["PretrainConfig", "pretrain", "masked_diffusion_loss", "decode_accuracy"]


_DATA, _OPTIM, _RUN, _MODEL = "data", "optimisation", "run", "model"


@dataclass
class PretrainConfig:
    """Hyperparameters of ``rlvr dllm pretrain`` (defaults: ~3 CPU-minutes on one thread). Every field is a flag of
    the command (agents/training/options.py)."""

    tasks: tuple[str, ...] = option(("permute", "addition-pad"), "task specs drawn evenly (permute, split, addition, "
                                    "addition-pad, math-easy, math:<levels>); the first is Unmasking-v0's default "
                                    "task with this model", section=_DATA, style="comma", metavar="A,B")
    steps: int = option(2000, "optimizer steps", section=_OPTIM, flag="--max-steps", aliases=("--steps",),
                        metavar="N")
    batch_size: int = option(64, "rows per step", section=_OPTIM)
    lr: float = option(3e-3, "peak learning rate", section=_OPTIM, flag="--learning-rate", aliases=("--lr",),
                       metavar="LR")
    warmup: int = option(200, "linear warm-up steps of the cosine schedule", section=_OPTIM)
    weight_decay: float = option(0.01, "AdamW weight decay", section=_OPTIM)
    min_length: int = option(6, "shortest completion length L (drawn per batch in [min, max])", section=_DATA)
    max_length: int = option(16, "longest completion length L", section=_DATA)
    t_min: float = option(0.05, "smallest mask ratio: t ~ U(t_min, 1)", section=_DATA)
    # "none": plain CE on masked tokens (default: at this scale it converged much faster, 98% vs 87% exact answers
    # on addition-pad after 1000 steps); "1/t": the diffusion ELBO weighting of LLaDA.
    weighting: str = option("none", "loss weighting of masked tokens: none, or 1/t (the diffusion ELBO)",
                            section=_OPTIM, choices=("none", "1/t"))
    seed: int = option(0, "seed of the model init and the batches", section=_RUN)
    task_seed: int = option(0, "seed of the training items (Unmasking-v0 evaluates on seed 1)", section=_DATA)
    threads: int = option(1, "torch CPU threads (1: fastest for tiny models)", section=_RUN)
    eval_every: int = option(500, "evaluate exact answers every N steps", section=_RUN, metavar="N")
    eval_items: int = option(200, "items per evaluation", section=_RUN)
    model: dict = option(default_factory=dict, help="overrides of the BERT config, e.g. "
                         '\'{"hidden_size": 64, "num_hidden_layers": 2}\'', section=_MODEL, style="json",
                         flag="--model-json", metavar="JSON")

    def validate(self) -> None:
        if isinstance(self.tasks, str):
            self.tasks = tuple(t.strip() for t in self.tasks.split(",") if t.strip())
        self.tasks = tuple(self.tasks)
        if not self.tasks:
            raise ValueError("tasks must name at least one task")
        for name in ("steps", "batch_size", "min_length", "max_length", "threads", "eval_items"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.min_length > self.max_length:
            raise ValueError("min_length must not exceed max_length")
        if not 0 < self.t_min < 1:
            raise ValueError(f"t_min must lie in (0, 1), got {self.t_min}")
        if self.weighting not in ("1/t", "none"):
            raise ValueError(f"weighting must be '1/t' or 'none', got {self.weighting!r}")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


def masked_diffusion_loss(logits, targets, masked, t):
    """The masked-diffusion loss: sum over masked positions of CE / t, divided by the number of positions.

    logits [B, L, V], targets [B, L], masked [B, L] bool, t [B] mask ratios."""
    import torch.nn.functional as F

    ce = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")  # [B, L]
    weighted = ce * masked.float() / t[:, None]
    return weighted.sum() / targets.numel()


def _completion_ids(lm_tokenizer, answer: str, length: int, eos_id: int) -> list[int]:
    ids = list(lm_tokenizer(answer, add_special_tokens=False)["input_ids"])[:length]
    return ids + [eos_id] * (length - len(ids))


def decode_accuracy(lm, task, indices, length: int, per_step: int | None) -> tuple[float, float]:
    """Accuracy and mean NFE of confidence-ordered decoding (``per_step`` most confident masked tokens per
    forward; None = all at once) on ``task`` items ``indices``, completion length ``length``, one block."""
    import numpy as np

    items = [task.item(i) for i in indices]
    prompts = [lm.encode_prompt(it.prompt) for it in items]
    comp = np.full((len(items), length), lm.mask_token_id, dtype=np.int64)
    masked = np.ones((len(items), length), dtype=bool)
    nfe = np.zeros(len(items), dtype=np.int64)
    while masked.any():
        rows = np.flatnonzero(masked.any(axis=1))
        conf, tok = lm.predict([prompts[r] for r in rows], comp[rows])
        for j, r in enumerate(rows):
            c = np.where(masked[r], conf[j], -1.0)
            k = masked[r].sum() if per_step is None else min(per_step, masked[r].sum())
            pick = np.argsort(-c, kind="stable")[:k]
            comp[r, pick] = tok[j, pick]
            masked[r, pick] = False
            nfe[r] += 1
    correct = [task.verify(it, lm.decode(c)) for it, c in zip(items, comp)]
    return float(np.mean(correct)), float(nfe.mean())


def pretrain(config: PretrainConfig, out: "str | os.PathLike | None" = None,
             log: Callable[[str], None] | None = print) -> Path:
    """Train the tiny diffusion LM and save it (see the module docstring); returns the model directory."""
    import torch

    from rlvr_gym.envs.unmasking.dllm import COMPLETE_MARKER, MaskedDiffusionLM, build_tiny_model, default_model_dir
    from rlvr_gym.envs.unmasking.tasks import make_task

    config.validate()
    log = log or (lambda _msg: None)
    torch.set_num_threads(config.threads)
    target = Path(out).expanduser() if out is not None else default_model_dir()
    tasks = [make_task(spec, seed=config.task_seed) for spec in config.tasks]
    eval_tasks = [make_task(spec, seed=config.task_seed + 1) for spec in config.tasks]
    model, tokenizer = build_tiny_model(seed=config.seed, **config.model)
    eos_id, mask_id = tokenizer.eos_token_id, tokenizer.mask_token_id
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=(0.9, 0.98),
                                  weight_decay=config.weight_decay)

    def lr_at(step: int) -> float:
        return config.lr * warmup_cosine(step, config.warmup, config.steps)

    rng = random.Random(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    lm = MaskedDiffusionLM(model, tokenizer, mask_token_id=mask_id, name="tiny-dllm")
    history: list[dict] = []
    start = time.perf_counter()
    running = None
    for step in range(config.steps):
        length = rng.randint(config.min_length, config.max_length)
        items = [tasks[rng.randrange(len(tasks))].item(rng.randrange(2**31)) for _ in range(config.batch_size)]
        prompts = [lm.encode_prompt(it.prompt) for it in items]
        targets = torch.tensor([_completion_ids(tokenizer, it.answer, length, eos_id) for it in items])
        t = config.t_min + (1 - config.t_min) * torch.rand(config.batch_size, generator=gen)
        masked = torch.rand(targets.shape, generator=gen) < t[:, None]
        masked[torch.arange(config.batch_size), torch.randint(0, length, (config.batch_size,), generator=gen)] = True
        noisy = torch.where(masked, torch.full_like(targets, mask_id), targets)
        ids, attention, positions = lm.batch_inputs(prompts, noisy)
        logits = model(input_ids=ids, attention_mask=attention, position_ids=positions).logits[:, -length:, :]
        loss = masked_diffusion_loss(logits, targets, masked, t if config.weighting == "1/t" else torch.ones_like(t))
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if (step + 1) % config.eval_every == 0 or step + 1 == config.steps:
            model.eval()
            row = {"step": step + 1, "loss": round(running, 4), "seconds": round(time.perf_counter() - start, 1)}
            for task in eval_tasks:
                idx = range(config.eval_items)
                acc1, _ = decode_accuracy(lm, task, idx, 8, per_step=1)
                acc_all, _ = decode_accuracy(lm, task, idx, 8, per_step=None)
                row[f"{task.name}/acc_one_per_step"] = round(acc1, 4)
                row[f"{task.name}/acc_all_at_once"] = round(acc_all, 4)
            history.append(row)
            log(json.dumps(row))
            model.train()
    model.eval()
    seconds = time.perf_counter() - start
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        meta = {"kind": "rlvr-gym tiny masked diffusion LM", "config": asdict(config), "history": history,
                "train_seconds": round(seconds, 1), "parameters": sum(p.numel() for p in model.parameters()),
                "torch_threads": config.threads}
        (tmp / COMPLETE_MARKER).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        if target.exists():
            old = target.with_name(f".{target.name}-old-{os.getpid()}")
            target.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"saved {target} ({meta['parameters']} parameters, {seconds:.0f} s)")
    return target
