"""GDRO curricula for GRPO: online difficulty groups, Prompt-GDRO and Rollout-GDRO (arXiv 2601.19280).

Both curricula plug into the GRPO trainer through the ``Curriculum`` hooks of ``rlvr_gym.agents.grpo.curriculum``
(``on_batch``, ``rollouts_for``, ``metrics``, ``state_dict``/``load_state_dict``). The algorithmic core
(this module down to ``make_gdro_curriculum``) needs neither torch nor TRL: it works on plain lists and numpy
and accepts torch tensors by duck typing. The TRL glue (a sampler that yields whole groups of varying size and
a trainer subclass that recomputes per-group advantages) lives at the end and imports torch/TRL lazily.

Difficulty groups (``DifficultyBins``)
    Each step every prompt of the batch gets an outcome c = 1 if ANY of its rollouts is correct (reward >=
    ``success_threshold``), else 0. Its pass@k estimate is the mean of c over its last ``window`` sightings
    (``window=0``: all sightings). Bins split [0, 1] at ``edges`` (default 10 equal bins); bin 0 holds the
    prompts with the LOWEST pass@k (hardest), bin K-1 the highest. Hysteresis: a prompt already in bin b moves
    only when its estimate leaves [edges[b] - delta, edges[b+1] + delta) (delta = 0.03); it then goes to the
    bin that contains the estimate. Unseen-prompt rule: a prompt never seen before belongs to its own group,
    ``UNSEEN`` (= -1, reported as "unseen" in metric keys), which Prompt-GDRO weights and Rollout-GDRO
    allocates like any bin (its statistics are those of first sightings); after its first sighting a prompt
    goes straight to the bin of its estimate (no hysteresis then). ``unseen_pass=p`` instead puts unseen
    prompts in the bin of estimate p (e.g. 0.0: bin 0). Why a group of their own: with a large dataset most
    prompts of the early steps are unseen, and folding them into the hardest bin (as unseen_pass=0 does) lets
    the fresh prompts' reward variance masquerade as the hardest bin's, so Rollout-GDRO would hand its
    rollouts to prompts it has measured as hopeless. ``groups="label"`` replaces all of this by
    the env's difficulty label (bins in natural order of the labels: "level-2" before "level-10").
    A batch is always classified with the bins as they were BEFORE its own outcomes are recorded.

Prompt-GDRO (``PromptGDRO``): re-weights advantages, never resamples. Per step, over the bins present:
    lbar(b) = mean per-prompt loss of bin b;  /= share(b) (max(share, share_floor)) if loss_norm_by_class
    S(b) = lbar(b) at the bin's first sighting, else (1 - beta) S(b) + beta lbar(b)       # debiased EMA
    q(b) = (1 - gamma) softmax_b(eta_q S(b)) + gamma / K_t                                  # K_t bins present
    w_i = q(bin(i)), normalised to mean 1 over the batch's samples, then capped at ``cap``; A_i <- w_i A_i
    Defaults gamma 0.01, beta 0.12, eta_q 0.65, cap 15, loss_norm_by_class on. The cap is applied after the
    normalisation (the paper's order), so a capped batch has mean weight below 1.
    The per-prompt loss (``signal``): "error" (default) = 1 - mean reward of the prompt's rollouts scaled to
    [0, 1] by ``reward_max``; "surrogate" = the paper's per-prompt GRPO loss at sampling time, -mean advantage
    of the group. DEVIATION, on purpose: in TRL the hook runs before the update, where the surrogate is the
    negative group-mean advantage, which group normalisation makes ~0 for every prompt (the spec's own note:
    "the bin-mean GRPO loss is near zero"); the adversary then sees only float noise and the weights stay
    uniform (Prompt-GDRO == GRPO). The expected 0/1 loss is the classic group-DRO loss and keeps the
    worst-group reading of the objective. Both are selectable.

Rollout-GDRO (``RolloutGDRO``): re-allocates rollouts per prompt under an exact mean budget ``budget``.
    Arms n_min..n_max (default 2..12, budget 4). Per bin b: p_b(a) = (1-gamma) softmax(eta score_b)[a] +
    gamma/|arms| (eta 0.65, gamma 0.01). Allocation for a batch with c_b prompts in bin b: the n_b that
    maximise sum_b c_b log p_b(n_b) subject to sum_b c_b n_b = N * budget EXACTLY (dynamic programming over
    bins and running totals; ties go to the allocation with the least sum_b c_b (n_b - budget)^2). When no
    per-bin allocation is exact (e.g. all counts even, odd total) the fallback is a proportional allocation
    per PROMPT: targets proportional to E_{p_b}[n], rounded by largest remainder and repaired within
    [n_min, n_max] so that the total is still exact. N * budget must be an integer in [N n_min, N n_max].
    Score update after a batch (full information, all arms a of each bin present), u = utility of this step:
        u_b(a) = -(v_b / a) - mu (a - budget)
        score_b[a] = u_b(a) at the bin's first update, else (1 - score_beta) score_b[a] + score_beta u_b(a)
    where v_b is the bin's within-group reward variance (unbiased, pooled over its groups of size >= 2): the
    arm's utility is minus the variance of the group mean it would give, plus the dual price of its rollouts.
    With these scores log p_b(a) ~ -eta (V_b / a + M (a - budget)) (V_b, M: EMAs over steps), so the MAP
    allocation of the DP minimises the paper's variance proxy sum_b c_b V_b / n_b under the exact budget: the
    square-root law n_b ~ sqrt(V_b) up to integrality and the gamma floor. Frontier bins (0 < pass rate < 1,
    high v_b) earn rollouts; solved or hopeless bins (v_b ~ 0) give theirs up. Dual (as in the paper):
    mu <- mu + alpha_mu (realised mean - budget), alpha_mu 0.05, mu_0 0, with the realised mean measured from
    the group sizes the batch really had.
    DECISIONS against the paper/code: (1) the paper writes the update for the played arm only (bandit
    feedback); with a deterministic DP and a uniform start that never explores (every bin keeps the budget
    arm forever), and v_b measured at any arm says what every arm would give, so all arms are updated.
    (2) The score is an EMA of utilities (score_beta 0.12, as Prompt-GDRO's beta), not the paper's running
    sum: with sums, eta * score grows without bound, p_b collapses onto one arm and every other arm sits at
    the gamma floor, where the DP can no longer tell n_min from n_max - 1 (in a stationary simulation the
    highest-variance bin fell to n_min after 250 steps). The EMA keeps log p_b in its graded range and
    tracks prompts whose difficulty drifts as the policy learns.
    (3) Arm-score sign: the utility is a GAIN (lower variance = better) and mu enters as a cost; the official
    code instead adds the bin LOSS to the played arm, which favours arms played on high-loss bins.
    (4) Because the DP (and the fallback) always meet the budget exactly, the realised mean equals the budget
    whenever the trainer honours the allocation, so mu stays at mu_0, as in the code where mu moves only when
    the DP fails. We tried driving mu by the bins' preferred mean instead: with alpha_mu 0.05 the price
    (~0.4 per step) swamps the variance utilities (~0.01-0.1) and mu oscillates, scattering the allocation;
    the exact DP needs no price to meet the budget, so the paper's rule is kept. ``gdro/preferred_mean``
    (mean of each prompt's argmax arm) shows how far the bins' unconstrained wishes are from the budget.

Variable group sizes in TRL (``VariableGroupGRPOTrainer``, the ``trainer_class`` of RolloutGDRO, picked up by
``rlvr_gym.agents.grpo.run.train``): a sampler yields whole groups of varying size (the generation batch keeps
TRL's row count, so the total rollouts per step equal plain GRPO's with num_generations = budget), and the
advantages are recomputed over the real groups: exact for every loss type. Works with TRL's transformers
generation and vLLM colocate as is, and with vLLM server mode by generating one completion per row; see
``variable_group_trainer_class`` for the details and the limits.

Python API:
    from rlvr_gym.agents.grpo import TrainConfig, train
    train(TrainConfig(env=["Math-v0"], curriculum="rollout-gdro", groups="pass",
                      curriculum_kwargs={"n_max": 8, "window": 50, "edges": [0, 0.2, 0.4, 0.6, 0.8, 1]}))
    PromptGDRO(**options) / RolloutGDRO(**options): the option names are the fields of PromptGDROConfig /
    RolloutGDROConfig (groups, num_bins, edges, window, delta, unseen_pass, success_threshold, labels, and
    gamma, beta, eta_q, cap, loss_norm_by_class, share_floor, signal, reward_max / n_min, n_max, budget, eta,
    gamma, alpha_mu, mu0, score_beta). CLI: rlvr train --curriculum rollout-gdro --groups label
    --curriculum-kwargs '{"n_max": 8}'.

Metrics (``metrics()``; <b> is the bin index, 0 = hardest, or "unseen"). RLVRGRPOTrainer logs them into
metrics.jsonl under these bare names (gdro/mean_rollouts) and, as every curriculum metric, with the prefix
"curriculum/" (curriculum/gdro/mean_rollouts; same value):
    gdro/bin_count/<b>   prompts of the step's batch in bin b, every bin each step ("unseen": pass groups only)
    gdro/bins_seen       prompts classified so far (seen at least once)
    gdro/weight/<b>      Prompt-GDRO: per-sample weight of bin b's samples after normalisation and cap
    gdro/q/<b>           Prompt-GDRO: adversary probability q(b) (bins present)
    gdro/ema_loss/<b>    Prompt-GDRO: the EMA S(b); gdro/log_ema_loss/<b> = log10(max(S, 1e-12))
    gdro/max_weight      Prompt-GDRO: largest per-sample weight; gdro/capped: 1 if the cap bit
    gdro/rollouts/<b>    Rollout-GDRO: realised mean rollouts per prompt of bin b in the step's batch
    gdro/mean_rollouts   Rollout-GDRO: realised mean rollouts per prompt (== gdro/budget)
    gdro/budget          Rollout-GDRO: the mean budget
    gdro/mu              Rollout-GDRO: the dual variable
    gdro/fallback        Rollout-GDRO: 1 if the last allocation needed the fallback
    gdro/preferred_mean  Rollout-GDRO: prompt-weighted mean of each bin's most probable arm
    gdro/wse             weighted standard error sum_b q_b sigma_b / sqrt(n_b) of this batch (q_b: Prompt-GDRO
                         adversary q, Rollout-GDRO bin share; sigma_b: pooled within-group reward std; n_b:
                         mean group size of bin b)
    gdro/wse_uniform     the same with every n_b = the mean group size (uniform allocation), for comparison
    gdro/overhead_s      seconds spent in this curriculum's hooks for the step
"""

from __future__ import annotations

import math
import re
import time
from collections import deque
from dataclasses import dataclass, fields
from typing import Any, Sequence

import numpy as np

from rlvr_gym.agents.grpo.curriculum import Curriculum

__all__ = [
    "UNSEEN", "bin_key", "DifficultyBins", "LabelBins", "PromptGDRO", "RolloutGDRO", "PromptGDROConfig",
    "RolloutGDROConfig", "GroupSampler", "run_length_groups", "variable_group_advantages",
    "variable_group_trainer_class", "make_curriculum",
    "allocate_rollouts", "fallback_allocation", "mixed_softmax", "normalise_and_cap", "make_gdro_curriculum",
    "group_statistics", "weighted_standard_error", "default_edges",
]


UNSEEN = -1  # the group of prompts never seen (DifficultyBins with unseen_pass=None)


def bin_key(b: int) -> str:
    """A bin's name in metric keys: its index, or "unseen"."""
    return "unseen" if b == UNSEEN else str(b)


# --------------------------------------------------------------------------------------------- helpers


def default_edges(num_bins: int = 10) -> list[float]:
    """``num_bins`` equal bins over [0, 1]: [0, 1/K, ..., 1]."""
    if not isinstance(num_bins, int) or isinstance(num_bins, bool) or num_bins < 1:
        raise ValueError(f"num_bins must be an int >= 1, got {num_bins!r}")
    return [i / num_bins for i in range(num_bins + 1)]


def _as_list(x) -> list:
    if hasattr(x, "detach"):
        x = x.detach().cpu()
    if hasattr(x, "tolist"):
        return x.tolist()
    return list(x)


def _scale_like(advantages, weights: list[float]):
    """``advantages * weights`` keeping the container type (torch tensor, numpy array or list)."""
    if hasattr(advantages, "new_tensor"):
        return advantages * advantages.new_tensor(weights)
    if isinstance(advantages, np.ndarray):
        return advantages * np.asarray(weights, dtype=advantages.dtype)
    return [float(a) * w for a, w in zip(advantages, weights)]


def mixed_softmax(scores: Sequence[float], eta: float, gamma: float) -> np.ndarray:
    """(1 - gamma) softmax(eta * scores) + gamma / len(scores), computed stably."""
    s = eta * np.asarray(scores, dtype=np.float64)
    if s.size == 0:
        return s
    e = np.exp(s - s.max())
    return (1.0 - gamma) * e / e.sum() + gamma / s.size


def normalise_and_cap(weights: Sequence[float], cap: float) -> list[float]:
    """Scale per-sample weights to mean 1, then clip each at ``cap`` (no renormalisation after the cap)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.size == 0:
        return []
    m = w.mean()
    if not m > 0:
        raise ValueError("weights must have a positive mean")
    return np.minimum(w / m, cap).tolist()


def _natural_key(s: str):
    return [(0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", str(s)) if t != ""]


def group_statistics(group_ids: Sequence, rewards: Sequence[float]) -> dict:
    """Per group (in first-appearance order): size, mean reward and unbiased within-group variance."""
    order: list = []
    members: dict = {}
    for g, r in zip(group_ids, rewards):
        if g not in members:
            members[g] = []
            order.append(g)
        members[g].append(float(r))
    out = {}
    for g in order:
        rs = members[g]
        n = len(rs)
        mean = sum(rs) / n
        var = sum((r - mean) ** 2 for r in rs) / (n - 1) if n > 1 else float("nan")
        out[g] = {"size": n, "mean": mean, "var": var, "max": max(rs)}
    return out


def weighted_standard_error(q: dict, sigma: dict, n: dict) -> float:
    """sum_b q_b sigma_b / sqrt(n_b) over the bins of ``q`` (bins with unknown sigma count as 0)."""
    total = 0.0
    for b, qb in q.items():
        s = sigma.get(b, 0.0)
        if s is None or not math.isfinite(s) or n.get(b, 0) <= 0:
            continue
        total += qb * s / math.sqrt(n[b])
    return total


def _bin_variance(stats: dict, bins_of_group: dict) -> dict:
    """Pooled unbiased within-group reward variance per bin (groups of size >= 2 only)."""
    num: dict = {}
    den: dict = {}
    for g, st in stats.items():
        if st["size"] < 2:
            continue
        b = bins_of_group[g]
        num[b] = num.get(b, 0.0) + st["var"] * (st["size"] - 1)
        den[b] = den.get(b, 0) + st["size"] - 1
    return {b: num[b] / den[b] for b in num}


# --------------------------------------------------------------------------------------------- difficulty groups


class DifficultyBins:
    """Online difficulty groups from per-prompt pass@k (see the module docstring for the exact rules).

    ``edges``: increasing, edges[0] == 0, edges[-1] == 1 (default ``default_edges(num_bins)``); ``window``:
    sightings kept per prompt (0 = all); ``delta``: hysteresis margin; ``unseen_pass``: None (default) puts a
    prompt never seen in the group UNSEEN, a number p in the bin of estimate p; ``success_threshold``: a
    rollout is correct when its reward is >= this value.
    """

    def __init__(self, edges: Sequence[float] | None = None, *, num_bins: int = 10, window: int = 50,
                 delta: float = 0.03, unseen_pass: float | None = None, success_threshold: float = 1.0):
        edges = list(default_edges(num_bins) if edges is None else edges)
        if len(edges) < 2 or any(not isinstance(e, (int, float)) or isinstance(e, bool) for e in edges):
            raise ValueError(f"edges must be a list of at least two numbers, got {edges!r}")
        if edges[0] != 0 or edges[-1] != 1 or any(b <= a for a, b in zip(edges, edges[1:])):
            raise ValueError(f"edges must increase strictly from 0 to 1, got {edges!r}")
        if not isinstance(window, int) or isinstance(window, bool) or window < 0:
            raise ValueError(f"window must be an int >= 0 (0 = cumulative), got {window!r}")
        if not 0 <= delta < 0.5:
            raise ValueError(f"delta must be in [0, 0.5), got {delta!r}")
        if unseen_pass is not None and not 0 <= unseen_pass <= 1:
            raise ValueError(f"unseen_pass must be None or in [0, 1], got {unseen_pass!r}")
        self.edges = [float(e) for e in edges]
        self.num_bins = len(edges) - 1
        self.window = window
        self.delta = float(delta)
        self.unseen_pass = None if unseen_pass is None else float(unseen_pass)
        self.success_threshold = float(success_threshold)
        self._history: dict[int, deque] = {}   # prompt -> recent outcomes (window > 0)
        self._totals: dict[int, list[int]] = {}  # prompt -> [successes, sightings] (window == 0)
        self._bin: dict[int, int] = {}

    def bin_of_value(self, p: float) -> int:
        """The bin whose [edges[b], edges[b+1]) holds ``p`` (1.0 goes to the last bin)."""
        for b in range(self.num_bins - 1, -1, -1):
            if p >= self.edges[b]:
                return b
        return 0

    def estimate(self, index: int) -> float | None:
        """pass@k estimate of a prompt (None if never seen)."""
        if self.window:
            h = self._history.get(index)
            return sum(h) / len(h) if h else None
        t = self._totals.get(index)
        return t[0] / t[1] if t else None

    def bin(self, index: int) -> int:
        """Current bin of a dataset index (the unseen rule for prompts never seen)."""
        b = self._bin.get(int(index))
        if b is not None:
            return b
        return UNSEEN if self.unseen_pass is None else self.bin_of_value(self.unseen_pass)

    def bins(self, indices: Sequence[int], labels: Sequence[str] | None = None) -> list[int]:
        return [self.bin(i) for i in indices]

    def update(self, outcomes: dict[int, int]) -> int:
        """Record one sighting per prompt (outcome 1/0) and reclassify; returns how many prompts moved."""
        moved = 0
        for index in sorted(outcomes):
            c = 1 if outcomes[index] else 0
            if self.window:
                h = self._history.setdefault(index, deque(maxlen=self.window))
                h.append(c)
            else:
                t = self._totals.setdefault(index, [0, 0])
                t[0] += c
                t[1] += 1
            p = self.estimate(index)
            old = self._bin.get(index)
            new = self._reclassify(old, p)
            if old is not None and new != old:
                moved += 1
            self._bin[index] = new
        return moved

    def _reclassify(self, old: int | None, p: float) -> int:
        target = self.bin_of_value(p)
        if old is None or target == old:
            return target
        lo = self.edges[old] - self.delta
        hi = self.edges[old + 1] + self.delta
        if old == self.num_bins - 1:
            hi = math.inf  # nothing above the top bin
        if old == 0:
            lo = -math.inf
        return target if (p < lo or p >= hi) else old

    def outcomes(self, dataset_indices: Sequence[int], rewards: Sequence[float]) -> dict[int, int]:
        """Any-of-n correctness per prompt of a batch."""
        out: dict[int, int] = {}
        for i, r in zip(dataset_indices, rewards):
            i = int(i)
            ok = 1 if (r is not None and math.isfinite(r) and r >= self.success_threshold) else 0
            out[i] = max(out.get(i, 0), ok)
        return out

    def observe(self, dataset_indices: Sequence[int], rewards: Sequence[float],
                labels: Sequence[str] | None = None) -> int:
        return self.update(self.outcomes(dataset_indices, rewards))

    @property
    def seen(self) -> int:
        return len(self._bin)

    def state_dict(self) -> dict:
        return {
            "kind": "pass",
            "history": {str(k): list(v) for k, v in self._history.items()},
            "totals": {str(k): list(v) for k, v in self._totals.items()},
            "bin": {str(k): v for k, v in self._bin.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        if state.get("kind", "pass") != "pass":
            raise ValueError(f"state is for {state.get('kind')!r} groups, not 'pass'")
        self._history = {int(k): deque(v, maxlen=self.window or None) for k, v in state.get("history", {}).items()}
        self._totals = {int(k): list(v) for k, v in state.get("totals", {}).items()}
        self._bin = {int(k): int(v) for k, v in state.get("bin", {}).items()}


class LabelBins:
    """Difficulty groups from the env's difficulty label (``--groups label``).

    With ``labels`` given (e.g. every label of the training set) the bins are their natural order; otherwise a
    label gets the next bin index at its first sighting (stable ids, order of appearance).
    """

    def __init__(self, labels: Sequence[str] | None = None):
        self._ids: dict[str, int] = {}
        for lab in sorted({str(x) for x in labels or ()}, key=_natural_key):
            self._ids[lab] = len(self._ids)

    @property
    def num_bins(self) -> int:
        return len(self._ids)

    @property
    def seen(self) -> int:
        return len(self._ids)

    def bins(self, indices: Sequence[int], labels: Sequence[str] | None = None) -> list[int]:
        if labels is None:
            raise ValueError("groups='label' needs the difficulty label of every sample")
        out = []
        for lab in labels:
            lab = str(lab)
            if lab not in self._ids:
                self._ids[lab] = len(self._ids)
            out.append(self._ids[lab])
        return out

    def observe(self, dataset_indices, rewards, labels=None) -> int:
        return 0

    def label_names(self) -> list[str]:
        return sorted(self._ids, key=self._ids.get)

    def state_dict(self) -> dict:
        return {"kind": "label", "ids": dict(self._ids)}

    def load_state_dict(self, state: dict) -> None:
        if state.get("kind") != "label":
            raise ValueError(f"state is for {state.get('kind')!r} groups, not 'label'")
        self._ids = {str(k): int(v) for k, v in state["ids"].items()}


def _make_bins(groups: str, *, edges=None, num_bins=10, window=50, delta=0.03, unseen_pass=None,
               success_threshold=1.0, labels=None):
    if groups == "pass":
        return DifficultyBins(edges, num_bins=num_bins, window=window, delta=delta, unseen_pass=unseen_pass,
                              success_threshold=success_threshold)
    if groups == "label":
        return LabelBins(labels)
    raise ValueError(f"groups must be 'pass' or 'label', got {groups!r}")


# --------------------------------------------------------------------------------------------- configs


@dataclass
class _GroupsConfig:
    groups: str = "pass"            # "pass" (online pass@k bins) or "label" (env difficulty label)
    num_bins: int = 10
    edges: list[float] | None = None  # overrides num_bins
    window: int = 50                # H sightings per prompt; 0 = cumulative
    delta: float = 0.03             # hysteresis margin
    unseen_pass: float | None = None  # None: unseen prompts form their own group; p: the bin of estimate p
    success_threshold: float = 1.0  # reward >= this counts as a correct rollout
    labels: list[str] | None = None  # groups="label": all labels, for a natural bin order

    @classmethod
    def from_kwargs(cls, kwargs: dict | None):
        kwargs = dict(kwargs or {})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} option(s) {unknown}; expected some of {sorted(names)}")
        return cls(**kwargs)


@dataclass
class PromptGDROConfig(_GroupsConfig):
    """Prompt-GDRO knobs (paper defaults)."""
    gamma: float = 0.01
    beta: float = 0.12
    eta_q: float = 0.65
    cap: float = 15.0
    loss_norm_by_class: bool = True
    share_floor: float = 0.01
    signal: str = "error"           # "error" (1 - mean reward / reward_max) or "surrogate" (-mean advantage)
    reward_max: float = 1.0

    def __post_init__(self):
        if not 0 <= self.gamma <= 1:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma!r}")
        if not 0 < self.beta <= 1:
            raise ValueError(f"beta must be in (0, 1], got {self.beta!r}")
        if not self.cap >= 1:
            raise ValueError(f"cap must be >= 1, got {self.cap!r}")
        if self.signal not in ("error", "surrogate"):
            raise ValueError(f"signal must be 'error' or 'surrogate', got {self.signal!r}")
        if not 0 < self.share_floor <= 1:
            raise ValueError(f"share_floor must be in (0, 1], got {self.share_floor!r}")


@dataclass
class RolloutGDROConfig(_GroupsConfig):
    """Rollout-GDRO knobs (official-code defaults: arms 2..12, budget 4)."""
    n_min: int = 2
    n_max: int = 12
    budget: float = 4.0             # mean rollouts per prompt, kept exactly
    eta: float = 0.65
    gamma: float = 0.01
    alpha_mu: float = 0.05
    mu0: float = 0.0
    score_beta: float = 0.12        # EMA rate of the arm scores

    def __post_init__(self):
        if not (isinstance(self.n_min, int) and isinstance(self.n_max, int) and 2 <= self.n_min <= self.n_max):
            raise ValueError(f"need ints 2 <= n_min <= n_max (GRPO compares >= 2 rollouts), got n_min={self.n_min!r}, "
                             f"n_max={self.n_max!r}")
        if not self.n_min <= self.budget <= self.n_max:
            raise ValueError(f"budget must lie in [n_min, n_max] = [{self.n_min}, {self.n_max}], got {self.budget!r}")
        if not 0 <= self.gamma <= 1:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma!r}")


# --------------------------------------------------------------------------------------------- Prompt-GDRO


class _GDROBase(Curriculum):
    config_cls: type = _GroupsConfig

    def __init__(self, config=None, **kwargs):
        if config is None:
            config = self.config_cls.from_kwargs(kwargs)
        elif kwargs:
            raise ValueError("give either a config or keyword options, not both")
        self.config = config
        c = config
        self.groups = _make_bins(c.groups, edges=c.edges, num_bins=c.num_bins, window=c.window, delta=c.delta,
                                 unseen_pass=c.unseen_pass, success_threshold=c.success_threshold, labels=c.labels)
        self._metrics: dict[str, float] = {}
        self._overhead = 0.0

    def metrics(self) -> dict[str, float]:
        out = dict(self._metrics)
        out["gdro/overhead_s"] = self._overhead
        self._overhead = 0.0
        return out

    def _common_metrics(self, bins: list[int], group_ids: Sequence) -> dict:
        m = {"gdro/bins_seen": float(self.groups.seen)}
        prompts_per_bin: dict[int, set] = {}
        for b, g in zip(bins, group_ids):
            prompts_per_bin.setdefault(b, set()).add(g)
        for b in range(max(self.groups.num_bins, max(bins, default=-1) + 1)):
            m[f"gdro/bin_count/{b}"] = float(len(prompts_per_bin.get(b, ())))
        if isinstance(self.groups, DifficultyBins):
            m["gdro/bin_count/unseen"] = float(len(prompts_per_bin.get(UNSEEN, ())))
        return m


class PromptGDRO(_GDROBase):
    """EMA-debiased exponential-weights adversary over difficulty bins; re-weights advantages per sample."""

    config_cls = PromptGDROConfig

    def __init__(self, config: PromptGDROConfig | None = None, **kwargs):
        super().__init__(config, **kwargs)
        self.ema: dict[int, float] = {}   # S(b)
        self.last_q: dict[int, float] = {}

    def bin_losses(self, bins: Sequence[int], group_ids: Sequence, rewards: Sequence[float],
                   advantages: Sequence[float]) -> dict[int, float]:
        """lbar(b): mean per-prompt loss of each bin present, divided by the bin's share if configured."""
        c = self.config
        per_group: dict = {}
        for b, g, r, a in zip(bins, group_ids, rewards, advantages):
            e = per_group.setdefault(g, [b, 0.0, 0.0, 0])
            e[1] += r
            e[2] += a
            e[3] += 1
        sums: dict[int, float] = {}
        counts: dict[int, int] = {}
        for b, rs, advs, n in per_group.values():
            loss = (1.0 - rs / n / c.reward_max) if c.signal == "error" else -advs / n
            sums[b] = sums.get(b, 0.0) + loss
            counts[b] = counts.get(b, 0) + 1
        n_prompts = sum(counts.values())
        out = {}
        for b in sorted(sums):
            lbar = sums[b] / counts[b]
            if c.loss_norm_by_class:
                lbar /= max(counts[b] / n_prompts, c.share_floor)
            out[b] = lbar
        return out

    def update_ema(self, lbar: dict[int, float]) -> None:
        beta = self.config.beta
        for b, v in lbar.items():
            self.ema[b] = v if b not in self.ema else (1.0 - beta) * self.ema[b] + beta * v

    def adversary(self, present: Sequence[int]) -> dict[int, float]:
        """q(b) over the bins present."""
        present = sorted(set(present))
        q = mixed_softmax([self.ema[b] for b in present], self.config.eta_q, self.config.gamma)
        return dict(zip(present, q.tolist()))

    def sample_weights(self, bins: Sequence[int], q: dict[int, float]) -> list[float]:
        return normalise_and_cap([q[b] for b in bins], self.config.cap)

    def on_batch(self, *, dataset_indices, group_ids, rewards, advantages, labels=None, step=0, **_):
        t0 = time.perf_counter()
        idx = [int(i) for i in _as_list(dataset_indices)]
        gids = list(group_ids)
        r = [float(x) if x is not None and math.isfinite(float(x)) else 0.0 for x in _as_list(rewards)]
        a = [float(x) for x in _as_list(advantages)]
        if not (len(idx) == len(gids) == len(r) == len(a)):
            raise ValueError("dataset_indices, group_ids, rewards and advantages must have the same length")
        if not idx:
            return advantages
        bins = self.groups.bins(idx, labels)
        lbar = self.bin_losses(bins, gids, r, a)
        self.update_ema(lbar)
        q = self.adversary(bins)
        self.last_q = q
        w = self.sample_weights(bins, q)
        out = _scale_like(advantages, w)
        self.groups.observe(idx, r, labels)

        m = self._common_metrics(bins, gids)
        weight_of_bin = {}
        for b, wi in zip(bins, w):
            weight_of_bin[b] = wi
        for b in sorted(q):
            m[f"gdro/q/{bin_key(b)}"] = q[b]
            m[f"gdro/weight/{bin_key(b)}"] = weight_of_bin[b]
        for b in sorted(self.ema):
            m[f"gdro/ema_loss/{bin_key(b)}"] = self.ema[b]
            m[f"gdro/log_ema_loss/{bin_key(b)}"] = math.log10(max(abs(self.ema[b]), 1e-12))
        m["gdro/max_weight"] = max(w)
        m["gdro/capped"] = 1.0 if max(w) >= self.config.cap else 0.0
        m.update(_wse_metrics(bins, gids, r, q))
        self._metrics = m
        self._overhead += time.perf_counter() - t0
        return out

    def state_dict(self) -> dict:
        return {"kind": "prompt-gdro", "groups": self.groups.state_dict(),
                "ema": {str(b): v for b, v in self.ema.items()}}

    def load_state_dict(self, state: dict) -> None:
        if state.get("kind") != "prompt-gdro":
            raise ValueError(f"not a prompt-gdro state: kind={state.get('kind')!r}")
        self.groups.load_state_dict(state["groups"])
        self.ema = {int(b): float(v) for b, v in state["ema"].items()}


def _wse_metrics(bins, group_ids, rewards, q: dict | None) -> dict:
    stats = group_statistics(group_ids, rewards)
    bin_of_group = {}
    for b, g in zip(bins, group_ids):
        bin_of_group.setdefault(g, b)
    var = _bin_variance(stats, bin_of_group)
    sizes: dict[int, list[int]] = {}
    for g, st in stats.items():
        sizes.setdefault(bin_of_group[g], []).append(st["size"])
    n = {b: sum(v) / len(v) for b, v in sizes.items()}
    if q is None:  # bin share of prompts
        total = sum(len(v) for v in sizes.values())
        q = {b: len(v) / total for b, v in sizes.items()}
    sigma = {b: math.sqrt(max(v, 0.0)) for b, v in var.items()}
    mean_n = sum(st["size"] for st in stats.values()) / len(stats)
    return {"gdro/wse": weighted_standard_error(q, sigma, n),
            "gdro/wse_uniform": weighted_standard_error(q, sigma, {b: mean_n for b in n})}


# --------------------------------------------------------------------------------------------- Rollout-GDRO


def allocate_rollouts(counts: dict[int, int], logp: dict[int, Sequence[float]], arms: Sequence[int],
                      total: int, budget: float | None = None) -> dict[int, int] | None:
    """Exact-budget allocation: n_b per bin maximising sum_b counts[b] * logp[b][n_b] s.t. sum counts*n = total.

    Dynamic programming over the bins (sorted) and the running rollout total. Ties go to the allocation with
    the smallest sum_b counts[b] (n_b - budget)^2. Returns None when no per-bin
    allocation reaches ``total`` exactly.
    """
    bins = sorted(b for b in counts if counts[b] > 0)
    arms = list(arms)
    if budget is None:
        budget = total / max(sum(counts[b] for b in bins), 1)
    NEG = -math.inf
    # best[t] = (objective, -tie_cost) for running total t; choice[j][t] = arm index chosen for bin j
    best = [(NEG, NEG)] * (total + 1)
    best[0] = (0.0, 0.0)
    choices = []
    for b in bins:
        c = counts[b]
        new = [(NEG, NEG)] * (total + 1)
        pick = [-1] * (total + 1)
        lp = logp[b]
        for t in range(total + 1):
            if best[t][0] == NEG:
                continue
            for k, a in enumerate(arms):
                u = t + c * a
                if u > total:
                    break
                cand = (best[t][0] + c * lp[k], best[t][1] - c * (a - budget) ** 2)
                # 1e-12: treat float-equal objectives as ties so the tie rule decides
                if (cand[0] > new[u][0] + 1e-12 or
                        (abs(cand[0] - new[u][0]) <= 1e-12 and cand[1] > new[u][1] + 1e-12)):
                    new[u] = cand
                    pick[u] = k * (total + 1) + t
        best = new
        choices.append(pick)
    if best[total][0] == NEG:
        return None
    out = {}
    t = total
    for j in range(len(bins) - 1, -1, -1):
        code = choices[j][t]
        k, prev = divmod(code, total + 1)
        out[bins[j]] = arms[k]
        t = prev
    return out


def fallback_allocation(bins: Sequence[int], expected: dict[int, float], n_min: int, n_max: int,
                        total: int) -> list[int]:
    """Per-prompt proportional allocation with an exact total.

    Each prompt's target is its bin's expected arm E_{p_b}[n], scaled so the targets sum to ``total`` and
    clipped to [n_min, n_max]; floors are taken and the missing rollouts go one each to the largest remainders
    (ties: earlier prompts). Raises ValueError if ``total`` is outside [len(bins) n_min, len(bins) n_max].
    """
    n = len(bins)
    if not n * n_min <= total <= n * n_max:
        raise ValueError(f"a total of {total} rollouts cannot be split over {n} prompts with {n_min}..{n_max} each")
    x = np.array([expected[b] for b in bins], dtype=np.float64)
    # scale toward the exact total, re-clipping until the clipped targets sum to total (a few passes suffice)
    for _ in range(50):
        free = (x > n_min) & (x < n_max)
        gap = total - x.sum()
        if abs(gap) < 1e-9 or not free.any():
            break
        x[free] += gap * x[free] / x[free].sum()
        x = np.clip(x, n_min, n_max)
    base = np.floor(x + 1e-9).astype(int)
    base = np.clip(base, n_min, n_max)
    rem = x - base
    missing = total - int(base.sum())
    order = sorted(range(n), key=lambda i: (-rem[i], i))
    i = 0
    while missing != 0:  # hand out (or take back) single rollouts, respecting the arm range
        j = order[i % n] if missing > 0 else order[::-1][i % n]
        if missing > 0 and base[j] < n_max:
            base[j] += 1
            missing -= 1
        elif missing < 0 and base[j] > n_min:
            base[j] -= 1
            missing += 1
        i += 1
    return base.tolist()


class RolloutGDRO(_GDROBase):
    """Per-bin exponential weights over rollout counts; exact-budget DP allocation; dual price of rollouts."""

    config_cls = RolloutGDROConfig

    def __init__(self, config: RolloutGDROConfig | None = None, **kwargs):
        super().__init__(config, **kwargs)
        c = self.config
        self.arms = list(range(c.n_min, c.n_max + 1))
        self.scores: dict[int, list[float]] = {}
        self.mu = float(c.mu0)
        self.last_allocation: dict[int, int] = {}
        self.last_fallback = False
        # set by VariableGroupGRPOTrainer: recompute advantages over the real (variable) groups
        self.variable_groups = False
        self.scale_rewards = "group"
        self._unscorable: list[bool] | None = None

    def arm_probs(self, b: int) -> np.ndarray:
        s = self.scores.get(b, [0.0] * len(self.arms))
        return mixed_softmax(s, self.config.eta, self.config.gamma)

    def total_for(self, n_prompts: int) -> int:
        t = n_prompts * self.config.budget
        if abs(t - round(t)) > 1e-9:
            raise ValueError(f"{n_prompts} prompts x budget {self.config.budget} = {t} rollouts is not an integer")
        return int(round(t))

    def allocate(self, bins: Sequence[int]) -> list[int]:
        """Rollouts per prompt for prompts in ``bins`` (their bins, in order); the total is exact."""
        c = self.config
        total = self.total_for(len(bins))
        counts: dict[int, int] = {}
        for b in bins:
            counts[b] = counts.get(b, 0) + 1
        logp = {b: np.log(self.arm_probs(b)).tolist() for b in counts}
        alloc = allocate_rollouts(counts, logp, self.arms, total, c.budget)
        self.last_fallback = alloc is None
        if alloc is not None:
            self.last_allocation = alloc
            return [alloc[b] for b in bins]
        expected = {b: float(np.dot(self.arm_probs(b), self.arms)) for b in counts}
        per_prompt = fallback_allocation(bins, expected, c.n_min, c.n_max, total)
        self.last_allocation = {b: float(np.mean([n for bb, n in zip(bins, per_prompt) if bb == b])) for b in counts}
        return per_prompt

    def rollouts_for(self, dataset_indices: Sequence[int], step: int = 0, labels: Sequence[str] | None = None):
        t0 = time.perf_counter()
        idx = [int(i) for i in dataset_indices]
        if isinstance(self.groups, LabelBins) and labels is None:
            raise ValueError("groups='label' needs labels in rollouts_for")
        out = self.allocate(self.groups.bins(idx, labels))
        self._overhead += time.perf_counter() - t0
        return out

    def update_scores(self, variances: dict[int, float]) -> None:
        """EMA update of score_b[a] with u = -(v_b / a) - mu (a - budget), every arm of every bin with a v_b."""
        c = self.config
        for b in sorted(variances):
            u = [-(variances[b] / a) - self.mu * (a - c.budget) for a in self.arms]
            if b not in self.scores:
                self.scores[b] = u
            else:
                self.scores[b] = [(1.0 - c.score_beta) * s + c.score_beta * x for s, x in zip(self.scores[b], u)]

    def preferred_mean(self, bins: Sequence[int]) -> float:
        """Prompt-weighted mean of each bin's preferred arm argmax p_b (ties: the smaller arm)."""
        prefs = {b: self.arms[int(np.argmax(self.arm_probs(b)))] for b in set(bins)}
        return sum(prefs[b] for b in bins) / len(bins)

    def update_dual(self, mean_rollouts: float) -> float:
        """mu <- mu + alpha_mu (mean_rollouts - budget); returns the new mu."""
        self.mu += self.config.alpha_mu * (mean_rollouts - self.config.budget)
        return self.mu

    def on_batch(self, *, dataset_indices, group_ids, rewards, advantages, labels=None, step=0, **_):
        t0 = time.perf_counter()
        idx = [int(i) for i in _as_list(dataset_indices)]
        gids = list(group_ids)
        r = [float(x) if x is not None and math.isfinite(float(x)) else 0.0 for x in _as_list(rewards)]
        if not (len(idx) == len(gids) == len(r)):
            raise ValueError("dataset_indices, group_ids and rewards must have the same length")
        if not idx:
            return advantages
        result = advantages
        if self.variable_groups:
            # inside the trainer: groups are runs of one dataset index (the sampler never puts a prompt next to
            # itself), and TRL's advantages (computed for fixed groups of num_generations) are replaced
            gids = run_length_groups(idx)
            unscorable, self._unscorable = self._unscorable, None
            result = variable_group_advantages(r, gids, self.scale_rewards, unscorable)
        bins = self.groups.bins(idx, labels)
        stats = group_statistics(gids, r)
        bin_of_group = {}
        for b, g in zip(bins, gids):
            bin_of_group.setdefault(g, b)
        self.update_scores(_bin_variance(stats, bin_of_group))
        prompt_bins = [bin_of_group[g] for g in stats]
        realised = len(r) / len(stats)
        self.update_dual(realised)
        self.groups.observe(idx, r, labels)

        m = self._common_metrics(bins, gids)
        sizes: dict[int, list[int]] = {}
        for g, st in stats.items():
            sizes.setdefault(bin_of_group[g], []).append(st["size"])
        for b in sorted(sizes):
            m[f"gdro/rollouts/{bin_key(b)}"] = sum(sizes[b]) / len(sizes[b])
        m["gdro/mean_rollouts"] = realised
        m["gdro/preferred_mean"] = self.preferred_mean(prompt_bins)
        m["gdro/budget"] = float(self.config.budget)
        m["gdro/mu"] = self.mu
        m["gdro/fallback"] = 1.0 if self.last_fallback else 0.0
        m.update(_wse_metrics(bins, gids, r, None))
        self._metrics = m
        self._overhead += time.perf_counter() - t0
        return result

    @property
    def trainer_class(self):
        """The trainer that runs this curriculum (variable group sizes): ``VariableGroupGRPOTrainer``."""
        return variable_group_trainer_class()

    def state_dict(self) -> dict:
        return {"kind": "rollout-gdro", "groups": self.groups.state_dict(), "mu": self.mu,
                "scores": {str(b): list(s) for b, s in self.scores.items()}}

    def load_state_dict(self, state: dict) -> None:
        if state.get("kind") != "rollout-gdro":
            raise ValueError(f"not a rollout-gdro state: kind={state.get('kind')!r}")
        self.groups.load_state_dict(state["groups"])
        self.mu = float(state["mu"])
        self.scores = {int(b): [float(x) for x in s] for b, s in state["scores"].items()}
        for b, s in self.scores.items():
            if len(s) != len(self.arms):
                raise ValueError(f"bin {b}: {len(s)} arm scores saved, {len(self.arms)} arms configured")


def make_gdro_curriculum(name: str, kwargs: dict | None = None, *, groups: str | None = None):
    """'prompt-gdro' -> PromptGDRO, 'rollout-gdro' -> RolloutGDRO, from a kwargs dict (the config's fields)."""
    kwargs = dict(kwargs or {})
    if groups is not None:
        kwargs.setdefault("groups", groups)
    if name == "prompt-gdro":
        return PromptGDRO(**kwargs)
    if name == "rollout-gdro":
        return RolloutGDRO(**kwargs)
    raise ValueError(f"curriculum must be 'prompt-gdro' or 'rollout-gdro', got {name!r}")


def make_curriculum(name: str, config: Any = None, dataset: Any = None):
    """The curriculum a run names (``config.curriculum``; agents/grpo/run.py calls this): "none" gives the no-op
    base class; for "prompt-gdro" / "rollout-gdro" ``config`` is a TrainConfig (its
    ``curriculum_kwargs`` and ``groups``; Rollout-GDRO's budget defaults to its ``num_generations``, so a run
    spends the same rollouts as plain GRPO) or a dict of options; ``dataset`` (with a ``label`` column) gives
    label groups their natural order."""
    if name == "none":
        return Curriculum()
    if config is None:
        kwargs: dict = {}
    elif isinstance(config, dict):
        kwargs = dict(config)
    else:
        kwargs = dict(getattr(config, "curriculum_kwargs", None) or {})
        kwargs.setdefault("groups", getattr(config, "groups", "pass"))
        if name == "rollout-gdro" and getattr(config, "num_generations", None):
            kwargs.setdefault("budget", float(config.num_generations))
    if kwargs.get("groups") == "label" and kwargs.get("labels") is None and dataset is not None:
        if "label" in getattr(dataset, "column_names", ()):
            kwargs["labels"] = sorted(set(str(x) for x in dataset["label"]), key=_natural_key)
    return make_gdro_curriculum(name, kwargs)


# --------------------------------------------------------------------------------------------- variable groups


def run_length_groups(dataset_indices: Sequence[int]) -> list[int]:
    """Group id per row: consecutive rows with the same dataset index form one group."""
    out, g, prev = [], -1, object()
    for i in dataset_indices:
        if i != prev:
            g += 1
            prev = i
        out.append(g)
    return out


def variable_group_advantages(rewards: Sequence[float], group_ids: Sequence[int], scale_rewards: str = "group",
                              unscorable: Sequence[bool] | None = None) -> list[float]:
    """GRPO advantages over groups of any size, as TRL computes them for fixed groups (sum_then_normalize):
    A = r - mean_g(r), divided by (std + 1e-4) where std is the group's unbiased std (scale_rewards "group"),
    the whole batch's ("batch") or nothing ("none"). Unscorable rows are left out of the group statistics and
    get advantage 0; a group with < 2 scorable rows has std NaN and advantage 0, as in TRL."""
    if scale_rewards not in ("group", "batch", "none"):
        raise ValueError(f"scale_rewards must be 'group', 'batch' or 'none', got {scale_rewards!r}")
    n = len(rewards)
    bad = list(unscorable) if unscorable is not None else [False] * n
    if len(bad) != n or len(group_ids) != n:
        raise ValueError("rewards, group_ids and unscorable must have the same length")

    def std(values):
        if len(values) < 2:
            return float("nan")
        m = sum(values) / len(values)
        return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))

    members: dict = {}
    for k, (g, r, b) in enumerate(zip(group_ids, rewards, bad)):
        if not b:
            members.setdefault(g, []).append(float(r))
    means = {g: sum(v) / len(v) for g, v in members.items()}
    if scale_rewards == "group":
        scale = {g: std(v) for g, v in members.items()}
    elif scale_rewards == "batch":
        s = std([float(r) for r, b in zip(rewards, bad) if not b])
        scale = {g: s for g in members}
    out = []
    for g, r, b in zip(group_ids, rewards, bad):
        if b or g not in means:
            out.append(0.0)
            continue
        a = float(r) - means[g]
        if scale_rewards != "none":
            a = a / (scale[g] + 1e-4)
        out.append(a if math.isfinite(a) else 0.0)
    return out


class GroupSampler:
    """Yields dataset indices in whole groups of varying size for TRL's GRPOTrainer (Rollout-GDRO).

    Each generation batch (``rows_per_batch`` = generation_batch_size rows) is ``prompts_per_batch`` distinct
    prompts from a seeded permutation of the dataset (a new permutation per epoch; the tail that does not fill
    a batch is dropped, as TRL's RepeatSampler does); ``allocate(indices, chunk)`` gives each prompt's rollout
    count (their sum must equal rows_per_batch) and each index is yielded that many times in a row. Each batch
    is yielded ``repeat_count`` times (num_iterations x steps_per_generation, like RepeatSampler: TRL reuses the
    first copy's generations and ignores the others). The DataLoader asks for the next batch before the
    current one has been scored, so allocations use the curriculum state of one generation earlier.
    """

    def __init__(self, dataset_size: int, prompts_per_batch: int, rows_per_batch: int, allocate, *,
                 repeat_count: int = 1, shuffle: bool = True, seed: int = 0):
        if prompts_per_batch < 1 or prompts_per_batch > dataset_size:
            raise ValueError(f"a generation batch needs {prompts_per_batch} distinct prompts but the dataset has "
                             f"{dataset_size} rows")
        self.dataset_size = dataset_size
        self.prompts_per_batch = prompts_per_batch
        self.rows_per_batch = rows_per_batch
        self.allocate = allocate
        self.repeat_count = repeat_count
        self.shuffle = shuffle
        self.rng = np.random.default_rng(seed)
        self.batches_made = 0

    def __len__(self) -> int:
        return (self.dataset_size // self.prompts_per_batch) * self.rows_per_batch * self.repeat_count

    def __iter__(self):
        order = self.rng.permutation(self.dataset_size).tolist() if self.shuffle else list(range(self.dataset_size))
        for start in range(0, len(order) - self.prompts_per_batch + 1, self.prompts_per_batch):
            chunk = order[start:start + self.prompts_per_batch]
            counts = list(self.allocate(chunk, self.batches_made))
            self.batches_made += 1
            if len(counts) != len(chunk) or sum(counts) != self.rows_per_batch or min(counts) < 1:
                raise ValueError(f"allocation {counts} does not give {len(chunk)} prompts "
                                 f"{self.rows_per_batch} rollouts in all")
            for _ in range(self.repeat_count):
                for index, n in zip(chunk, counts):
                    for _ in range(int(n)):
                        yield int(index)


_VG_TRAINER = None


def variable_group_trainer_class():
    """``VariableGroupGRPOTrainer``: RLVRGRPOTrainer with variable group sizes (imports TRL on first use).

    What it changes, and what is exact:
    - The train sampler is a ``GroupSampler`` driven by ``curriculum.rollouts_for``: a generation batch keeps
      TRL's size G = per_device_train_batch_size x steps_per_generation x processes rows, split over G / budget
      prompts (so budget must divide G), so the memory, batch shapes and total rollouts are those of plain GRPO
      with num_generations = budget.
    - Advantages: TRL computes them for fixed groups of num_generations; the curriculum's ``on_batch`` (called by
      RLVRGRPOTrainer with the all-process batch) replaces them with ``variable_group_advantages`` over the real
      groups: exact for every loss type and scale_rewards group/batch/none (each completion's advantage is its
      own group's normalised reward; the loss never looks at groups). multi_objective_aggregation
      "normalize_then_sum" is refused.
    - Generation: every row is generated on its own (n=1). TRL's transformers path and vLLM colocate already do
      this; vLLM server mode assumes num_generations copies per prompt (it sends every num_generations-th prompt
      with n=num_generations), so this trainer passes num_generations=1 there: correct, at the cost of vLLM's
      n>1 sampling shortcut (prefix caching still shares the prompt). A custom ``rollout_func`` must likewise
      return one completion per row it is given.
    - Not exact / cosmetic: TRL's own ``frac_reward_zero_std`` metric and the advantages in its completion logs
      are those of the fixed grouping (metrics.jsonl's curriculum keys are exact); iterable datasets are refused
      (the sampler needs indices); eval keeps fixed groups of num_generations_eval.
    """
    global _VG_TRAINER
    if _VG_TRAINER is not None:
        return _VG_TRAINER
    from rlvr_gym.agents.grpo.trainer import trainer_class  # noqa: PLC0415 (builds on TRL, imported on first use)

    base = trainer_class()

    class VariableGroupGRPOTrainer(base):
        def __init__(self, *args, curriculum=None, **kwargs):
            if not isinstance(curriculum, RolloutGDRO):
                raise TypeError("VariableGroupGRPOTrainer needs a RolloutGDRO curriculum")
            super().__init__(*args, curriculum=curriculum, **kwargs)
            if getattr(self, "multi_objective_aggregation", "sum_then_normalize") != "sum_then_normalize":
                raise ValueError("Rollout-GDRO supports multi_objective_aggregation='sum_then_normalize' only")
            budget = curriculum.config.budget
            rows = self.args.generation_batch_size
            prompts = rows / budget
            if abs(prompts - round(prompts)) > 1e-9:
                raise ValueError(f"Rollout-GDRO: the generation batch ({rows} rows) must split into whole prompts "
                                 f"of mean budget {budget}")
            curriculum.variable_groups = True
            curriculum.scale_rewards = self.scale_rewards
            self._gdro_prompts = int(round(prompts))

        def _get_train_sampler(self, dataset=None):
            dataset = self.train_dataset if dataset is None else dataset
            if not hasattr(dataset, "__len__"):
                raise TypeError("Rollout-GDRO needs a map-style dataset (its sampler picks rows by index)")
            labels = [str(x) for x in dataset["label"]] if "label" in dataset.column_names else None
            curriculum = self.curriculum
            step_of = lambda: int(self.state.global_step)  # noqa: E731

            def allocate(chunk, _batch):
                labs = [labels[i] for i in chunk] if labels is not None else None
                return curriculum.rollouts_for(chunk, step_of(), labels=labs)

            return GroupSampler(len(dataset), self._gdro_prompts, self.args.generation_batch_size, allocate,
                                repeat_count=self.num_iterations * self.args.steps_per_generation,
                                shuffle=self.shuffle_dataset, seed=self.args.seed)

        def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
            import torch

            out = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
            if self.model.training:
                self.curriculum._unscorable = torch.isnan(out).all(dim=1).tolist()
            return out

        def _generate_single_turn(self, prompt_ids, images, multimodal_fields, num_generations, *args, **kwargs):
            # rows are already repeated per prompt, in variable numbers: generate one completion per row
            if self.use_vllm and self.model.training:
                num_generations = 1
            return super()._generate_single_turn(prompt_ids, images, multimodal_fields, num_generations,
                                                 *args, **kwargs)

    VariableGroupGRPOTrainer.__qualname__ = VariableGroupGRPOTrainer.__name__
    _VG_TRAINER = VariableGroupGRPOTrainer
    return _VG_TRAINER
