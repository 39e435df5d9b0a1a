"""``rlvr dllm train-policy``: GRPO for the unmasking policy (the paper's variant), plus batched evaluation.

One training step (CleanRL-style, top to bottom in ``train_policy``):
1. draw ``prompts_per_step`` task items and play each ``group_size`` times (G rollouts per prompt) in one
   ``UnmaskingBatch``: every decoding step is ONE forward of the diffusion LM for all running episodes and
   one forward of the policy; actions a_i ~ Bernoulli(sigmoid(logit_i / tau_train)) on the actionable
   positions (masked, current block). With ``expert_steering = e`` the first e rollouts of each group follow
   Fast-dLLM (lambda = ``expert_threshold``) instead, scored under the policy like the others.
2. terminal rewards (multiplicative or additive, alpha) -> advantages A = r - mean(r over the group) (no std
   normalisation).
3. ``inner_iterations`` (2) PPO-clip updates (eps = 0.5, no KL) on every recorded decision step:
   loss = -mean_t min(rho_t A, clip(rho_t, 1 - eps, 1 + eps) A), rho_t = pi(a_t|s_t) / pi_old(a_t|s_t),
   log pi(a|s) = sum over actionable positions of a_i log p_i + (1 - a_i) log(1 - p_i).
AdamW (betas 0.9/0.99, weight decay 0.1), cosine schedule with linear warm-up, gradient clipping 0.2.

The paper trains with lr 3e-5 for thousands of steps on an 8B backbone; at CPU scale (a tiny backbone,
~100 steps) the default here is lr 1e-3 — everything else as in the paper. (At 1e-3 some runs turn nearly
deterministic within ~20 steps, after which groups share one reward and learning stops; lr 3e-4 explores
longer. See benchmarks/results/unmasking_nfe.md.) Output directory: ``policy.pt``
(final; ``load_policy`` / ``unmask:policy:<dir>/policy.pt``), ``checkpoints/step<N>.pt`` (at every eval),
``metrics.jsonl`` (one line per step, eval lines with ``"eval": true``), ``config.json``, ``training.png``.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from rlvr_gym.agents.training.options import option
from rlvr_gym.agents.training.schedules import warmup_cosine

__all__ = ["TrainPolicyConfig", "train_policy", "run_episodes", "rollout_group", "grpo_update"]


_TASK, _POLICY, _OPTIM, _EVAL, _RUN = "backbone and task", "episodes and reward", "optimisation", "evaluation", "run"


@dataclass
class TrainPolicyConfig:
    """Hyperparameters of ``rlvr dllm train-policy`` (paper values unless noted). Every field is a flag of the
    command (agents/training/options.py)."""

    model: str | None = option(None, "diffusion LM directory (default: the embedded tiny one)", section=_TASK,
                               metavar="DIR")
    task: str | None = option(None, "task spec (default: the task the diffusion LM was pretrained on, else addition)",
                              section=_TASK)
    gen_length: int = option(8, "completion length L", section=_POLICY, metavar="L")
    block_length: int | None = option(None, "block length BL (default: L, full diffusion)", section=_POLICY,
                                      metavar="BL")
    alpha: float = option(1.0, "reward exponent (multiplicative) or NFE weight (additive)", section=_POLICY)
    reward_form: str = option("multiplicative", "multiplicative | additive", section=_POLICY,
                              choices=("multiplicative", "additive"))
    steps: int = option(100, "optimizer steps (CPU scale; the paper: thousands)", section=_OPTIM,
                        flag="--max-steps", aliases=("--steps",), metavar="N")
    prompts_per_step: int = option(8, "prompts per step", section=_OPTIM)
    group_size: int = option(8, "rollouts per prompt (G)", section=_OPTIM, metavar="G")
    lr: float = option(1e-3, "learning rate (CPU scale; the paper: 3e-5)", section=_OPTIM, flag="--learning-rate",
                       aliases=("--lr",), metavar="LR")
    warmup: int = option(10, "linear warm-up steps (CPU scale; the paper: 100)", section=_OPTIM)
    weight_decay: float = option(0.1, "AdamW weight decay", section=_OPTIM)
    grad_clip: float = option(0.2, "gradient clipping norm", section=_OPTIM)
    clip_eps: float = option(0.5, "PPO clip range epsilon", section=_OPTIM)
    inner_iterations: int = option(2, "PPO-clip updates per batch of rollouts", section=_OPTIM)
    tau_train: float = option(1.0, "policy temperature while training", section=_POLICY)
    eval_tau: float | None = option(None, "test-time temperature stored in the checkpoint (default: 0.5 if BL < L, "
                                          "else 1.0)", section=_EVAL)
    expert_steering: int = option(0, "Fast-dLLM rollouts per group (expert steering)", section=_POLICY, metavar="E")
    expert_threshold: float = option(0.9, "Fast-dLLM confidence threshold of the expert rollouts", section=_POLICY)
    train_task_seed: int = option(2, "seed of the training prompts (pretraining used 0; Unmasking-v0 evaluates on 1)",
                                  section=_TASK)
    eval_task_seed: int = option(1, "seed of the evaluation prompts", section=_EVAL)
    eval_every: int = option(25, "evaluate every N steps", section=_EVAL, metavar="N")
    eval_items: int = option(128, "items per evaluation", section=_EVAL)
    seed: int = option(0, "seed of the policy init and the rollouts", section=_RUN)
    threads: int = option(1, "torch CPU threads (1: fastest for tiny models)", section=_RUN)
    policy: dict = option(default_factory=dict, help="PolicyConfig overrides (d_model, heads, ffn, ...) as JSON",
                          section=_POLICY, style="json", flag="--policy-json", metavar="JSON")

    def validate(self) -> None:
        for name in ("gen_length", "steps", "prompts_per_step", "group_size", "inner_iterations", "eval_items",
                     "threads", "eval_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.group_size < 2:
            raise ValueError("group_size must be at least 2 (advantages are relative to the group)")
        if not 0 <= self.expert_steering < self.group_size:
            raise ValueError("expert_steering must be in [0, group_size)")
        if self.lr <= 0 or self.tau_train <= 0 or self.clip_eps <= 0:
            raise ValueError("lr, tau_train and clip_eps must be > 0")

    @property
    def default_eval_tau(self) -> float:
        if self.eval_tau is not None:
            return self.eval_tau
        return 0.5 if (self.block_length or self.gen_length) < self.gen_length else 1.0


def run_episodes(core, agent, items: Sequence, batch_size: int | None = None) -> dict:
    """Play ``items`` (TaskItems) to the end with ``agent`` (anything with ``select(batched_obs)``) in the
    batched core. Returns accuracy, mean_nfe, mean_reward, seconds, forward_calls and per-episode lists."""
    batch_size = batch_size or core.num_slots
    correct, nfe, rewards, texts = [], [], [], []
    start, calls0 = time.perf_counter(), core.forward_calls
    for lo in range(0, len(items), batch_size):
        chunk = list(items[lo:lo + batch_size])
        slots = list(range(len(chunk)))
        core.reset_slots(slots, chunk)
        core.refresh(slots)
        out = {}
        while True:
            active = [s for s in slots if not core.done[s]]
            if not active:
                break
            actions = agent.select(core.observe(active))
            r, term, infos = core.apply(active, actions)
            for j, s in enumerate(active):
                if term[j]:
                    out[s] = (infos[j]["correct"], infos[j]["nfe"], float(r[j]), infos[j]["text"])
        for s in slots:
            c, n, r, t = out[s]
            correct.append(c), nfe.append(n), rewards.append(r), texts.append(t)
    return {"episodes": len(correct), "accuracy": float(np.mean(correct)), "mean_nfe": float(np.mean(nfe)),
            "mean_reward": float(np.mean(rewards)), "seconds": time.perf_counter() - start,
            "forward_calls": core.forward_calls - calls0, "correct": correct, "nfe": nfe, "texts": texts}


def rollout_group(core, net, items: Sequence, tau: float, generator, expert_rows: Sequence[int] = (),
                  expert=None) -> dict:
    """Play one episode per slot (``items[i]`` in slot i) with the policy (sampling), recording every decision.
    Rows in ``expert_rows`` follow ``expert.select`` instead. Returns tensors for ``grpo_update``."""
    import torch

    from rlvr_gym.agents.unmasking.policies import obs_tensors, policy_log_prob

    slots = list(range(len(items)))
    core.reset_slots(slots, items)
    core.refresh(slots)
    expert_rows = set(int(r) for r in expert_rows)
    rec = {"conf": [], "mask": [], "block": [], "time": [], "action": [], "logp": [], "slot": []}
    rewards = np.zeros(len(items))
    correct = np.zeros(len(items), dtype=bool)
    nfe = np.zeros(len(items), dtype=np.int64)
    while True:
        active = [s for s in slots if not core.done[s]]
        if not active:
            break
        obs = core.observe(active)
        conf, mask, block, tm = obs_tensors(obs)
        allowed = (mask * block).bool()
        with torch.no_grad():
            logits = net(conf, mask, block, tm)
            probs = torch.sigmoid(logits / tau)
            action = (torch.rand(probs.shape, generator=generator) < probs) & allowed
            if expert_rows and expert is not None:
                rows = [j for j, s in enumerate(active) if s in expert_rows]
                if rows:
                    sub = {k: v[rows] for k, v in obs.items()}
                    action[rows] = torch.as_tensor(expert.select(sub), dtype=torch.bool) & allowed[rows]
            logp = policy_log_prob(logits, action, allowed, tau)
        r, term, infos = core.apply(active, action.numpy())
        for key, value in (("conf", conf), ("mask", mask), ("block", block), ("time", tm), ("action", action),
                           ("logp", logp)):
            rec[key].append(value)
        rec["slot"].append(torch.as_tensor(active))
        for j, s in enumerate(active):
            if term[j]:
                rewards[s], correct[s], nfe[s] = r[j], infos[j]["correct"], infos[j]["nfe"]
    batch = {k: torch.cat(v) for k, v in rec.items()}
    return {"batch": batch, "rewards": rewards, "correct": correct, "nfe": nfe}


def grpo_update(net, optimizer, batch: dict, advantages, *, tau: float, clip_eps: float, iterations: int,
                grad_clip: float) -> dict:
    """PPO-clip updates on the recorded decisions (advantages per slot). Returns loss and clip fraction."""
    import torch

    from rlvr_gym.agents.unmasking.policies import policy_log_prob

    adv = torch.as_tensor(np.asarray(advantages), dtype=torch.float32)[batch["slot"]]
    allowed = (batch["mask"] * batch["block"]).bool()
    losses, clipped = [], []
    for _ in range(iterations):
        logits = net(batch["conf"], batch["mask"], batch["block"], batch["time"])
        logp = policy_log_prob(logits, batch["action"], allowed, tau)
        ratio = torch.exp(logp - batch["logp"])
        surrogate = torch.minimum(ratio * adv, ratio.clamp(1 - clip_eps, 1 + clip_eps) * adv)
        loss = -surrogate.mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), grad_clip)
        optimizer.step()
        losses.append(loss.item())
        clipped.append(((ratio - 1).abs() > clip_eps).float().mean().item())
    return {"loss": float(np.mean(losses)), "clip_fraction": float(np.mean(clipped))}


def _plot(rows: list[dict], path: Path, title: str) -> None:
    from rlvr_gym.agents.training.plots import pyplot, save_figure

    plt = pyplot()
    train = [r for r in rows if not r.get("eval")]
    evals = [r for r in rows if r.get("eval")]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    for ax, key, label in zip(axes, ("mean_reward", "accuracy", "mean_nfe"), ("reward", "accuracy", "NFE")):
        ax.plot([r["step"] for r in train], [r[key] for r in train], lw=1, label="train (sampled)")
        if evals:
            ax.plot([r["step"] for r in evals], [r[key] for r in evals], "o-", label="held-out eval")
        ax.set_xlabel("step")
        ax.set_title(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    save_figure(fig, path)


def train_policy(config: TrainPolicyConfig, out: "str | Path", lm=None, log: Callable[[str], None] | None = print,
                 init=None) -> dict:
    """Train an unmasking policy with GRPO (see the module docstring). ``lm``: a loaded MaskedDiffusionLM
    (default: load ``config.model``); ``init``: a network to start from. Returns the final eval dict."""
    import torch

    from rlvr_gym.agents.unmasking.policies import (FastDLLMAgent, PolicyConfig, UnmaskingPolicyAgent,
                                                    policy_network, save_policy)
    from rlvr_gym.envs.unmasking.dllm import MaskedDiffusionLM
    from rlvr_gym.envs.unmasking.env import UnmaskingBatch
    from rlvr_gym.envs.unmasking.tasks import make_task

    config.validate()
    log = log or (lambda _msg: None)
    torch.set_num_threads(config.threads)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(asdict(config), indent=2) + "\n", encoding="utf-8")
    lm = lm or MaskedDiffusionLM.from_pretrained(config.model)
    task_spec = config.task or (lm.trained_tasks or ["addition"])[0]
    train_task = make_task(task_spec, seed=config.train_task_seed)
    eval_task = make_task(task_spec, seed=config.eval_task_seed)
    slots = config.prompts_per_step * config.group_size
    core = UnmaskingBatch(lm, train_task, slots, config.gen_length, config.block_length, config.alpha,
                          config.reward_form)
    eval_core = UnmaskingBatch(lm, eval_task, min(config.eval_items, 128), config.gen_length, config.block_length,
                               config.alpha, config.reward_form)
    eval_items = [eval_task.item(i) for i in range(config.eval_items)]
    net = init if init is not None else policy_network(PolicyConfig(**config.policy), seed=config.seed)
    net.train()
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.lr, betas=(0.9, 0.99),
                                  weight_decay=config.weight_decay)

    def lr_at(step: int) -> float:
        return config.lr * warmup_cosine(step, config.warmup, config.steps)

    generator = torch.Generator().manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    expert = FastDLLMAgent(config.expert_threshold)
    expert_rows = [p * config.group_size + e for p in range(config.prompts_per_step)
                   for e in range(config.expert_steering)]
    eval_tau = config.default_eval_tau
    meta = {"alpha": config.alpha, "gen_length": config.gen_length,
            "block_length": config.block_length or config.gen_length, "task": task_spec,
            "reward_form": config.reward_form, "tau": eval_tau, "model": lm.name}
    rows: list[dict] = []
    metrics = (out / "metrics.jsonl").open("w", encoding="utf-8")

    def evaluate(step: int) -> dict:
        net.eval()
        agent = UnmaskingPolicyAgent(net, tau=eval_tau, seed=config.seed)
        result = run_episodes(eval_core, agent, eval_items)
        net.train()
        row = {"step": step, "eval": True, "tau": eval_tau,
               **{k: result[k] for k in ("accuracy", "mean_nfe", "mean_reward")}}
        if step > 0:  # intermediate checkpoints next to the final policy.pt
            save_policy(out / "checkpoints" / f"step{step}.pt", net, **meta, eval=row)
        rows.append(row)
        metrics.write(json.dumps(row) + "\n")
        metrics.flush()
        log(json.dumps(row))
        return row

    start = time.perf_counter()
    try:
        final = evaluate(0)
        for step in range(config.steps):
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step)
            indices = rng.integers(0, 2**31, size=config.prompts_per_step)
            items = [train_task.item(int(i)) for i in indices for _ in range(config.group_size)]
            net.eval()
            roll = rollout_group(core, net, items, config.tau_train, generator, expert_rows, expert)
            net.train()
            rewards = roll["rewards"].reshape(config.prompts_per_step, config.group_size)
            advantages = (rewards - rewards.mean(axis=1, keepdims=True)).reshape(-1)
            upd = grpo_update(net, optimizer, roll["batch"], advantages, tau=config.tau_train,
                              clip_eps=config.clip_eps, iterations=config.inner_iterations,
                              grad_clip=config.grad_clip)
            row = {"step": step + 1, "mean_reward": float(roll["rewards"].mean()),
                   "accuracy": float(roll["correct"].mean()), "mean_nfe": float(roll["nfe"].mean()),
                   "lr": lr_at(step), "decisions": int(roll["batch"]["slot"].numel()),
                   "seconds": round(time.perf_counter() - start, 2), **upd}
            rows.append(row)
            metrics.write(json.dumps(row) + "\n")
            if (step + 1) % config.eval_every == 0 or step + 1 == config.steps:
                final = evaluate(step + 1)
                metrics.flush()
    finally:
        metrics.close()
    net.eval()
    meta["final_eval"] = final
    meta["train_seconds"] = round(time.perf_counter() - start, 1)
    save_policy(out / "policy.pt", net, **meta)
    try:
        _plot(rows, out / "training.png",
              f"GRPO unmasking policy: alpha={config.alpha}, L={config.gen_length}, "
              f"BL={config.block_length or config.gen_length}")
    except ImportError:  # matplotlib missing: the metrics file is enough
        pass
    log(f"saved {out / 'policy.pt'} ({meta['train_seconds']} s)")
    return final
