"""Unmasking policies for ``Unmasking-v0``: heuristics and the learned policy network.

Every policy is an ``Agent`` whose ``act_batch(observations)`` takes the env's observation dicts (not text)
and returns one MultiBinary action (an int8 array over the L completion positions) per observation;
``select(obs)`` does the same on a batched dict (arrays with a leading batch axis, as the vector env
returns them). Only masked positions of the current block are ever selected ("actionable" positions).

Agent specs (``rlvr eval Unmasking-v0 --agent unmask:...``):
- ``unmask:fast-dllm[:lambda]``: Fast-dLLM's threshold rule: every actionable position whose top-1
  probability exceeds lambda (default 0.9); if none does, the most confident one.
- ``unmask:topk[:steps]``: LLaDA's low-confidence remasking with a fixed step budget: ``steps`` forward
  passes in all, spread evenly over the blocks; each step unmasks the k = ceil(BL / steps_per_block) most
  confident actionable positions (default: one per step, steps = L).
- ``unmask:random[:steps]``: k positions per step as topk, chosen uniformly at random (seeded).
- ``unmask:l2r[:steps]``: k positions per step as topk, the leftmost ones.
- ``unmask:policy:<checkpoint>``: the learned policy (``UnmaskingPolicyAgent``); options ``tau`` (test-time
  temperature tau_pi), ``greedy`` (select p > 0.5 instead of sampling), ``seed``.

The learned policy network (``policy_network``) follows the paper (arXiv 2512.09106): one DiT-style
transformer block of width d = 128 over the per-position confidences (input Linear(1 -> d)); conditioning =
an embedding of the position's state + an MLP of a sinusoidal embedding of tau = steps / L; adaLN
modulation (zero-initialised, so the block starts as the identity); RoPE self-attention with 2 heads; a
GELU feed-forward of width 512; final LayerNorm and Linear -> one logit per position, its bias initialised
to -2.0 (sigmoid(-2) ~ 0.12: a slow start). One addition: the state embedding has 4 entries (mask bit x
in-current-block bit) instead of 2, so that in semi-AR decoding the network knows which masked positions
it may choose. Actions: a_i ~ Bernoulli(sigmoid(logit_i / tau_pi)) on actionable positions; with nothing
selected the position of highest logit is taken.

Checkpoints are single ``.pt`` files (``save_policy`` / ``load_policy``): format tag, network config,
state dict, and whatever training metadata the trainer adds (alpha, L, BL, default tau).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from rlvr_gym.agents.base import Agent, AgentSpecError

__all__ = [
    "UnmaskingAgent",
    "FastDLLMAgent",
    "TopKAgent",
    "RandomUnmaskAgent",
    "LeftToRightAgent",
    "UnmaskingPolicyAgent",
    "PolicyConfig",
    "policy_network",
    "policy_log_prob",
    "save_policy",
    "load_policy",
    "stack_observations",
    "actionable",
    "from_spec",
    "UNMASK_SPEC_HELP",
]

UNMASK_SPEC_HELP = ("unmasking agent specs: unmask:fast-dllm[:lambda] | unmask:topk[:steps] | unmask:random[:steps] "
                    "| unmask:l2r[:steps] | unmask:policy:<checkpoint.pt>")
CHECKPOINT_FORMAT = "rlvr-gym-unmasking-policy/1"


def stack_observations(observations: "Sequence[dict] | dict") -> dict[str, np.ndarray]:
    """A batched observation dict from a list of single observations (a batched dict is returned as is)."""
    if isinstance(observations, dict):
        return {k: np.asarray(v) if np.ndim(v) > 1 or k != "time" else np.asarray(v).reshape(-1, 1)
                for k, v in observations.items()}
    if not observations:
        raise ValueError("no observations")
    first = observations[0]
    if not isinstance(first, dict) or "confidence" not in first or "mask" not in first:
        raise TypeError("unmasking agents act on Unmasking-v0 observations (dicts with confidence, mask, block, "
                        f"time), got {type(first).__name__}")
    return {k: np.stack([np.asarray(o[k]) for o in observations]) for k in first}


def actionable(obs: dict[str, np.ndarray]) -> np.ndarray:
    """[n, L] bool: masked positions of the current block (all masked positions when no block is given)."""
    mask = np.asarray(obs["mask"]).astype(bool)
    if mask.ndim == 1:
        mask = mask[None, :]
    block = obs.get("block")
    return mask if block is None else mask & np.asarray(block).reshape(mask.shape).astype(bool)


class UnmaskingAgent(Agent):
    """Base class: subclasses implement ``select(batched_obs) -> [n, L] int8``."""

    name = "unmask"

    def select(self, obs: dict[str, np.ndarray]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def act_batch(self, observations, infos=None) -> list[np.ndarray]:
        actions = self.select(stack_observations(observations))
        return [row for row in actions]


def _most_confident(confidence: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    out = np.zeros_like(allowed)
    rows = np.flatnonzero(allowed.any(axis=1))
    scores = np.where(allowed, confidence, -np.inf)
    out[rows, np.argmax(scores[rows], axis=1)] = True
    return out


class FastDLLMAgent(UnmaskingAgent):
    """Unmask every actionable position with confidence > threshold; the most confident one if none."""

    def __init__(self, threshold: float = 0.9):
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
            raise ValueError(f"the Fast-dLLM threshold lambda must be a number in [0, 1], got {threshold!r}")
        self.threshold = float(threshold)
        self.name = f"fast-dllm:{threshold:g}"

    def select(self, obs):
        allowed = actionable(obs)
        conf = np.asarray(obs["confidence"]).reshape(allowed.shape)
        chosen = allowed & (conf > self.threshold)
        empty = ~chosen.any(axis=1)
        chosen[empty] = _most_confident(conf[empty], allowed[empty])
        return chosen.astype(np.int8)


class _KPerStep(UnmaskingAgent):
    """k = ceil(BL / steps_per_block) positions per step, steps_per_block = max(1, steps // blocks)."""

    kind = "k"

    def __init__(self, steps: int | None = None):
        if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
            raise ValueError(f"steps must be a positive int (or omitted for one token per step), got {steps!r}")
        self.steps = steps
        self.name = self.kind if steps is None else f"{self.kind}:{steps}"

    def per_step(self, obs) -> np.ndarray:
        allowed = actionable(obs)
        n, length = allowed.shape
        if self.steps is None:
            return np.ones(n, dtype=np.int64)
        block = np.asarray(obs.get("block", np.ones_like(allowed))).reshape(allowed.shape)
        block_len = np.maximum(block.astype(bool).sum(axis=1), 1)
        num_blocks = np.maximum(length // block_len, 1)
        per_block = np.maximum(self.steps // num_blocks, 1)
        return -(-block_len // per_block)  # ceil

    def order(self, obs, allowed) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def select(self, obs):
        allowed = actionable(obs)
        k = self.per_step(obs)
        scores = self.order(obs, allowed)              # higher = earlier
        scores = np.where(allowed, scores, -np.inf)
        ranked = np.argsort(-scores, axis=1, kind="stable")
        chosen = np.zeros_like(allowed)
        for r in range(allowed.shape[0]):
            take = ranked[r, : min(int(k[r]), int(allowed[r].sum()))]
            chosen[r, take] = True
        return chosen.astype(np.int8)


class TopKAgent(_KPerStep):
    """LLaDA low-confidence remasking: the k most confident actionable positions per step."""

    kind = "topk"

    def order(self, obs, allowed):
        return np.asarray(obs["confidence"], dtype=np.float64).reshape(allowed.shape)


class RandomUnmaskAgent(_KPerStep):
    """k uniformly random actionable positions per step (seeded)."""

    kind = "random"

    def __init__(self, steps: int | None = None, seed: int | None = None):
        super().__init__(steps)
        self.rng = np.random.default_rng(seed)

    def order(self, obs, allowed):
        return self.rng.random(allowed.shape)


class LeftToRightAgent(_KPerStep):
    """The k leftmost actionable positions per step (autoregressive order)."""

    kind = "l2r"

    def order(self, obs, allowed):
        return np.broadcast_to(-np.arange(allowed.shape[1], dtype=np.float64), allowed.shape)


# ----------------------------------------------------------------------------------------------------
# The learned policy
# ----------------------------------------------------------------------------------------------------


@dataclass
class PolicyConfig:
    """Shape of the policy network (defaults: the paper's, ~0.3M parameters)."""

    d_model: int = 128
    heads: int = 2
    ffn: int = 512
    time_dim: int = 64
    out_bias: float = -2.0

    def validate(self) -> None:
        if self.d_model % (2 * self.heads):
            raise ValueError("d_model must be divisible by 2 * heads (RoPE rotates pairs of dimensions)")


_NET_CLASS = None


def _network_class():
    """The nn.Module class, built on first use so that importing this module does not import torch."""
    global _NET_CLASS
    if _NET_CLASS is not None:
        return _NET_CLASS
    import torch
    from torch import nn
    import torch.nn.functional as F

    def rope(x):  # x [B, H, L, Dh]: rotate pairs by position-dependent angles
        length, dim = x.shape[-2], x.shape[-1]
        half = dim // 2
        freqs = 1.0 / (10000 ** (torch.arange(half, dtype=x.dtype, device=x.device) / half))
        angles = torch.arange(length, dtype=x.dtype, device=x.device)[:, None] * freqs[None, :]
        cos, sin = angles.cos(), angles.sin()
        x1, x2 = x[..., :half], x[..., half:]
        return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)

    class UnmaskingPolicyNet(nn.Module):
        def __init__(self, config: PolicyConfig):
            super().__init__()
            config.validate()
            self.config = config
            d = config.d_model
            self.inp = nn.Linear(1, d)
            self.state = nn.Embedding(4, d)                 # mask bit + 2 * in-block bit
            self.time_mlp = nn.Sequential(nn.Linear(config.time_dim, d), nn.SiLU(), nn.Linear(d, d))
            self.ada = nn.Sequential(nn.SiLU(), nn.Linear(d, 6 * d))
            nn.init.zeros_(self.ada[1].weight)
            nn.init.zeros_(self.ada[1].bias)
            self.norm1 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
            self.norm2 = nn.LayerNorm(d, elementwise_affine=False, eps=1e-6)
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.ffn = nn.Sequential(nn.Linear(d, config.ffn), nn.GELU(), nn.Linear(config.ffn, d))
            self.final_norm = nn.LayerNorm(d)
            self.out = nn.Linear(d, 1)
            nn.init.constant_(self.out.bias, config.out_bias)

        def time_embedding(self, tau):
            half = self.config.time_dim // 2
            freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32, device=tau.device) / half)
            args = (tau.float() * 1000.0)[:, None] * freqs[None, :]
            return torch.cat([args.cos(), args.sin()], dim=-1)

        def forward(self, confidence, mask, block, time):
            """confidence, mask, block: [B, L]; time: [B] or [B, 1]. Returns logits [B, L]."""
            batch, length = confidence.shape
            h = self.inp(confidence.float().unsqueeze(-1))
            state = mask.long() + 2 * block.long()
            cond = self.state(state) + self.time_mlp(self.time_embedding(time.reshape(batch)))[:, None, :]
            shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(cond).chunk(6, dim=-1)
            x = self.norm1(h) * (1 + scale1) + shift1
            heads = self.config.heads
            q, k, v = self.qkv(x).reshape(batch, length, 3, heads, -1).permute(2, 0, 3, 1, 4)
            attn = F.scaled_dot_product_attention(rope(q), rope(k), v)
            h = h + gate1 * self.proj(attn.transpose(1, 2).reshape(batch, length, -1))
            x = self.norm2(h) * (1 + scale2) + shift2
            h = h + gate2 * self.ffn(x)
            return self.out(self.final_norm(h)).squeeze(-1)

    _NET_CLASS = UnmaskingPolicyNet
    return _NET_CLASS


def policy_network(config: PolicyConfig | None = None, seed: int | None = None):
    """A freshly initialised policy network (torch module)."""
    import torch

    if seed is not None:
        torch.manual_seed(seed)
    return _network_class()(config or PolicyConfig())


def obs_tensors(obs: dict[str, np.ndarray], device="cpu"):
    """(confidence, mask, block, time) tensors from a batched observation dict."""
    import torch

    conf = torch.as_tensor(np.asarray(obs["confidence"], dtype=np.float32), device=device)
    mask = torch.as_tensor(np.asarray(obs["mask"]).astype(np.int64), device=device)
    block = obs.get("block")
    block = torch.ones_like(mask) if block is None else torch.as_tensor(np.asarray(block).astype(np.int64), device=device)
    time = torch.as_tensor(np.asarray(obs["time"], dtype=np.float32).reshape(-1), device=device)
    return conf, mask, block, time


def policy_log_prob(logits, actions, allowed, tau: float = 1.0):
    """log pi(a|s) = sum over actionable positions of a_i log p_i + (1 - a_i) log(1 - p_i), p = sigmoid(z / tau).
    logits, actions, allowed: [B, L] tensors. Returns [B]."""
    import torch.nn.functional as F

    z = logits / tau
    a = actions.float()
    per_pos = a * F.logsigmoid(z) + (1 - a) * F.logsigmoid(-z)
    return (per_pos * allowed.float()).sum(dim=-1)


def save_policy(path: "str | Path", net, **meta: Any) -> Path:
    """Write a checkpoint (single .pt file) with the network config, weights and ``meta``."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": CHECKPOINT_FORMAT, "config": asdict(net.config), "state_dict": net.state_dict(),
                "meta": meta}, path)
    return path


def load_policy(path: "str | Path", device: str = "cpu"):
    """(network, meta) from a checkpoint file, or a directory holding ``policy.pt``."""
    import torch

    path = Path(path).expanduser()
    if path.is_dir():
        path = path / "policy.pt"
    if not path.is_file():
        raise FileNotFoundError(f"no policy checkpoint at {path} (train one with `rlvr dllm train-policy`)")
    blob = torch.load(path, map_location=device, weights_only=False)
    if not isinstance(blob, dict) or blob.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not an rlvr-gym unmasking policy checkpoint")
    net = _network_class()(PolicyConfig(**blob["config"]))
    net.load_state_dict(blob["state_dict"])
    net.to(device).eval()
    return net, dict(blob.get("meta") or {})


class UnmaskingPolicyAgent(UnmaskingAgent):
    """The learned policy: Bernoulli(sigmoid(logit / tau)) on actionable positions (or p > 0.5 with
    ``greedy``); the position of highest logit when nothing is selected."""

    def __init__(self, net, tau: float | None = None, greedy: bool = False, seed: int | None = None,
                 device: str = "cpu", meta: dict | None = None, name: str = "policy"):
        import torch

        self.net, self.meta = net.eval(), dict(meta or {})
        tau = self.meta.get("tau", 1.0) if tau is None else tau
        if isinstance(tau, bool) or not isinstance(tau, (int, float)) or tau <= 0:
            raise ValueError(f"tau must be a number > 0, got {tau!r}")
        self.tau, self.greedy, self.device = float(tau), bool(greedy), device
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(0 if seed is None else int(seed))
        self.name = name

    @classmethod
    def from_checkpoint(cls, path: "str | Path", **kwargs: Any) -> "UnmaskingPolicyAgent":
        net, meta = load_policy(path, device=kwargs.get("device", "cpu"))
        return cls(net, meta=meta, name=f"policy:{path}", **kwargs)

    def logits(self, obs):
        import torch

        with torch.inference_mode():
            return self.net(*obs_tensors(obs, self.device))

    def select(self, obs):
        import torch

        allowed_np = actionable(obs)
        logits = self.logits(obs)
        allowed = torch.as_tensor(allowed_np, device=logits.device)
        probs = torch.sigmoid(logits / self.tau)
        if self.greedy:
            chosen = probs > 0.5
        else:
            chosen = torch.rand(probs.shape, generator=self.generator, device=probs.device) < probs
        chosen = (chosen & allowed).cpu().numpy()
        empty = ~chosen.any(axis=1)
        if empty.any():
            chosen[empty] = _most_confident(logits.cpu().numpy()[empty], allowed_np[empty])
        return chosen.astype(np.int8)


# ----------------------------------------------------------------------------------------------------
# Specs
# ----------------------------------------------------------------------------------------------------

_HEURISTIC_OPTIONS = {"seed"}
_POLICY_OPTIONS = {"seed", "tau", "greedy", "device"}


def from_spec(rest: str, **options: Any) -> UnmaskingAgent:
    """The agent for ``unmask:<rest>`` (see module docstring); ``options`` from ``--agent-kwargs`` (+ seed)."""
    kind, _, arg = rest.strip().partition(":")
    if kind == "policy":
        if not arg:
            raise AgentSpecError(f"unmask:policy needs a checkpoint path. {UNMASK_SPEC_HELP}")
        unknown = set(options) - _POLICY_OPTIONS
        if unknown:
            raise AgentSpecError(f"unknown options for unmask:policy: {sorted(unknown)} (known: {sorted(_POLICY_OPTIONS)})")
        return UnmaskingPolicyAgent.from_checkpoint(arg, **options)
    unknown = set(options) - _HEURISTIC_OPTIONS
    if unknown:
        raise AgentSpecError(f"unknown options for unmask:{kind}: {sorted(unknown)} (heuristics take none)")
    if kind == "fast-dllm":
        try:
            return FastDLLMAgent(float(arg)) if arg else FastDLLMAgent()
        except ValueError as exc:
            raise AgentSpecError(f"unmask:fast-dllm:<lambda> needs a number in [0, 1], got {arg!r} ({exc})") from None
    if kind in ("topk", "random", "l2r"):
        steps = None
        if arg:
            if not arg.isdigit() or int(arg) < 1:
                raise AgentSpecError(f"unmask:{kind}:<steps> needs a positive integer, got {arg!r}")
            steps = int(arg)
        if kind == "topk":
            return TopKAgent(steps)
        if kind == "random":
            return RandomUnmaskAgent(steps, seed=options.get("seed"))
        return LeftToRightAgent(steps)
    raise AgentSpecError(f"unknown unmasking agent {('unmask:' + rest)!r}. {UNMASK_SPEC_HELP}")
