"""GRPO vs Prompt-GDRO vs Rollout-GDRO at the same total rollouts, on a mixed-difficulty training set.

What runs here (and why): the curricula are the real ones (``rlvr_gym.agents.grpo.gdro``: the same ``on_batch`` /
``rollouts_for`` calls the trainer makes, the same exact-budget allocation and per-group advantages), but the
policy is a MINIATURE, not a language model: on this 2-core machine, shared with other jobs, one GRPO step of
the embedded SmolLM2-135M takes minutes, so three methods x several seeds x hundreds of steps cannot run.

The miniature (Math-like levels 1..10 over a shared, bounded skill): prompt x of level l is solved by one
rollout with probability p_x = sigmoid(base_l + u_x + theta . f_l): base_l falls with the level (level 1 ~ 92%,
level 10 ~ 0.3% before training), u_x ~ N(0, 1) is the prompt's own ease, and the policy learns a skill vector
theta of dimension 3 < 10 levels (level features f_l drift smoothly with the level), kept in a ball
||theta|| <= 4 and trained with Adam: levels compete for shared capacity as they do for an LM's weights, and
Adam makes the step size independent of the advantages' scale, so re-weighting cannot win by acting as a
larger learning rate (it did, by a lot, in a first SGD version of this miniature). A GRPO step samples prompts
without replacement from an epoch permutation (like TRL's sampler), draws n Bernoulli rollouts per prompt,
computes TRL's group advantages (r - mean) / (std + 1e-4), lets the curriculum re-weight them (Prompt-GDRO)
or choose n per prompt (Rollout-GDRO, exact mean budget), and takes the exact policy-gradient step of the
sample-mean GRPO surrogate (d/dz log P(y) = y - p). Same seeds, same data, same total rollouts for all
methods; learning rates swept for every method, headline at plain GRPO's best.

Held-out: new prompts of each level: accuracy = mean p (mean@inf), pass@8 = mean 1 - (1 - p)^8.
Also: how Rollout-GDRO's budget moved across pass@k bins, the WSE diagnostic, and the per-step overhead of
each curriculum's hooks, measured here and at the paper's batch shape (512 prompts x 4 rollouts, 10 bins).

    nice -n 19 python benchmarks/gdro_compare.py            # writes benchmarks/results/gdro_compare.{md,json,png}
    python benchmarks/gdro_compare.py --seeds 2 --steps 40  # quick look
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from rlvr_gym.agents.grpo.gdro import PromptGDRO, RolloutGDRO, variable_group_advantages

LEVELS = 10
PAPER = {"Qwen3-1.7B": (50.74, 55.68, 56.14), "Qwen3-4B": (56.31, 63.70, 62.27), "Qwen3-8B": (62.04, 67.60, 67.75)}


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class SkillPolicy:
    """z_x = base_l + u_x + theta . f_l: a skill vector theta of dimension d < levels shared by all levels
    (features f_l drift smoothly from level to level), kept in a ball ||theta|| <= radius, trained with Adam.
    Shared, bounded capacity makes levels compete, as they do for an LM's weights; Adam makes the update size
    independent of the advantages' overall scale, so re-weighting can only change the DIRECTION of learning
    (with plain SGD, up-weighting would act as a larger learning rate and win for that reason alone)."""

    def __init__(self, features: np.ndarray, lr: float, radius: float):
        self.f = features
        self.theta = np.zeros(features.shape[1])
        self.m = np.zeros_like(self.theta)
        self.s = np.zeros_like(self.theta)
        self.t = 0
        self.lr = lr
        self.radius = radius

    def logits(self, base, u, level):
        return base[level] + u + self.f[level] @ self.theta

    def step(self, level, y, p, adv):
        """Adam ascent on mean_i A_i log P(y_i); d/dz log P(y) = y - p, dz/dtheta = f_level."""
        grad = ((adv * (y - p))[:, None] * self.f[level]).sum(axis=0) / len(y)
        self.t += 1
        self.m = 0.9 * self.m + 0.1 * grad
        self.s = 0.999 * self.s + 0.001 * grad ** 2
        mhat = self.m / (1 - 0.9 ** self.t)
        shat = self.s / (1 - 0.999 ** self.t)
        self.theta += self.lr * mhat / (np.sqrt(shat) + 1e-8)
        norm = np.linalg.norm(self.theta)
        if norm > self.radius:
            self.theta *= self.radius / norm


def make_task(seed: int, n_train: int, n_heldout_per_level: int, dim: int = 3):
    rng = np.random.default_rng(seed)
    base = 2.5 - 0.9 * np.arange(LEVELS)            # level l = index l-1
    feats = [rng.normal(size=dim)]
    for _ in range(LEVELS - 1):                      # neighbouring levels share most of their skill direction
        feats.append(0.8 * feats[-1] + 0.6 * rng.normal(size=dim))
    features = np.array(feats)
    train_level = rng.integers(0, LEVELS, n_train)
    train_u = rng.normal(0.0, 1.0, n_train)
    held_level = np.repeat(np.arange(LEVELS), n_heldout_per_level)
    held_u = rng.normal(0.0, 1.0, held_level.size)
    return base, train_level, train_u, held_level, held_u, features


def evaluate(policy, base, held_level, held_u, k=8):
    p = sigmoid(policy.logits(base, held_u, held_level))
    acc = np.array([p[held_level == lv].mean() for lv in range(LEVELS)])
    passk = np.array([(1 - (1 - p[held_level == lv]) ** k).mean() for lv in range(LEVELS)])
    return acc, passk


def run(method: str, seed: int, *, steps: int, prompts: int, budget: int, n_train: int, lr, n_max: int,
        groups: str = "pass", lr_scale: float = 1.0, radius: float = 4.0, dim: int = 3):
    base, tl, tu, hl, hu, feats = make_task(1000 + seed, n_train, 200, dim)
    policy = SkillPolicy(feats, lr * lr_scale, radius)
    rng = np.random.default_rng(seed)
    labels_all = [f"level-{lv + 1}" for lv in tl]
    cur = None
    if method in ("prompt-gdro", "prompt-gdro-surrogate"):
        cur = PromptGDRO(groups=groups, labels=sorted(set(labels_all)) if groups == "label" else None,
                         signal="surrogate" if method.endswith("surrogate") else "error")
    elif method == "rollout-gdro":
        cur = RolloutGDRO(groups=groups, budget=float(budget), n_min=2, n_max=n_max,
                          labels=sorted(set(labels_all)) if groups == "label" else None)
        cur.variable_groups = True
    order, pos = rng.permutation(n_train), 0
    total_rollouts, hook_s, alloc_log, curve = 0, 0.0, [], []
    for step in range(steps):
        if pos + prompts > n_train:
            order, pos = rng.permutation(n_train), 0
        chunk = order[pos:pos + prompts].tolist()
        pos += prompts
        labs = [labels_all[i] for i in chunk]
        if isinstance(cur, RolloutGDRO):
            t0 = time.perf_counter()
            counts = cur.rollouts_for(chunk, step, labels=labs)
            hook_s += time.perf_counter() - t0
        else:
            counts = [budget] * len(chunk)
        idx = np.repeat(chunk, counts)
        level = tl[idx]
        p = sigmoid(policy.logits(base, tu[idx], level))
        y = (rng.random(idx.size) < p).astype(float)
        groups_ = np.repeat(np.arange(len(chunk)), counts).tolist()
        adv = np.asarray(variable_group_advantages(y.tolist(), groups_, "group"))
        total_rollouts += idx.size
        if cur is not None:
            t0 = time.perf_counter()
            out = cur.on_batch(dataset_indices=idx.tolist(), group_ids=groups_, rewards=y.tolist(),
                               advantages=adv, labels=[labels_all[i] for i in idx], step=step)
            hook_s += time.perf_counter() - t0
            adv = np.asarray(out, dtype=float)
            m = cur.metrics()
            if isinstance(cur, RolloutGDRO):
                alloc_log.append({k: v for k, v in m.items() if k.startswith(("gdro/rollouts/", "gdro/bin_count/"))}
                                 | {"step": step, "gdro/wse": m["gdro/wse"], "gdro/wse_uniform": m["gdro/wse_uniform"]})
            else:
                alloc_log.append({k: v for k, v in m.items() if k.startswith(("gdro/weight/", "gdro/bin_count/"))}
                                 | {"step": step, "gdro/wse": m["gdro/wse"], "gdro/wse_uniform": m["gdro/wse_uniform"]})
        policy.step(level, y, p, adv)
        if (step + 1) % max(steps // 10, 1) == 0:
            acc, passk = evaluate(policy, base, hl, hu)
            curve.append({"step": step + 1, "mean_acc": float(acc.mean()), "pass8": float(passk.mean())})
    acc, passk = evaluate(policy, base, hl, hu)
    return {"method": method, "seed": seed, "lr_scale": lr_scale,
            "acc_by_level": acc.tolist(), "pass8_by_level": passk.tolist(),
            "mean_acc": float(acc.mean()), "mean_pass8": float(passk.mean()), "worst_acc": float(acc.min()),
            "worst_pass8": float(passk.min()), "hard3_acc": float(acc[-3:].mean()),
            "hard3_pass8": float(passk[-3:].mean()), "total_rollouts": int(total_rollouts),
            "hook_s_per_step": hook_s / steps, "log": alloc_log, "curve": curve}


def paper_scale_overhead(repeats: int = 3) -> dict:
    """Seconds per step of each curriculum's hooks at the paper's batch shape (512 prompts x 4, 10 bins)."""
    rng = np.random.default_rng(0)
    P, n = 512, 4
    out = {}
    for name in ("grpo", "prompt-gdro", "rollout-gdro"):
        times = []
        cur = PromptGDRO() if name == "prompt-gdro" else RolloutGDRO() if name == "rollout-gdro" else None
        if isinstance(cur, RolloutGDRO):
            cur.variable_groups = True
        for rep in range(repeats + 1):
            chunk = rng.choice(20_000, P, replace=False).tolist()
            # pre-seed some history so prompts spread over the bins
            if cur is not None and rep == 0:
                cur.groups.update({i: int(rng.random() < 0.5) for i in chunk})
            t0 = time.perf_counter()
            counts = cur.rollouts_for(chunk, rep) if isinstance(cur, RolloutGDRO) else [n] * P
            idx = np.repeat(chunk, counts)
            y = (rng.random(idx.size) < 0.4).astype(float).tolist()
            gids = np.repeat(np.arange(P), counts).tolist()
            adv = variable_group_advantages(y, gids, "group")
            if cur is not None:
                cur.on_batch(dataset_indices=idx.tolist(), group_ids=gids, rewards=y, advantages=adv, labels=None,
                             step=rep)
                cur.metrics()
            if rep:
                times.append(time.perf_counter() - t0)
        out[name] = float(np.median(times))
    return out


def trainer_overhead(steps: int) -> dict:
    """Each curriculum inside the real trainer (rlvr train's code path, TRL GRPOTrainer, tiny-random, CPU, 1
    thread) for ``steps`` steps with a synthetic mixed reward (tiny-random cannot solve anything): median step
    time and median curriculum hook time per step, from metrics.jsonl."""
    import tempfile
    import zlib

    from rlvr_gym.agents.grpo import TrainConfig, train
    from rlvr_gym.verifiers.text import completion_text

    def reward(completions, **kwargs):
        return [float(zlib.crc32((completion_text(c) or "").encode()) % 3 == 0) for c in completions]

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("none", "prompt-gdro", "rollout-gdro"):
            cfg = TrainConfig(env=["Math-v0"], model="tiny-random", peft="lora", train_size=8, max_steps=steps,
                              per_device_train_batch_size=16, num_generations=4, max_completion_length=16,
                              eval_size=0, eval_before=False, eval_after=False, progress=False, plots=False,
                              save_steps=10_000, curriculum=name, out=f"{tmp}/{name}")
            result = train(cfg, reward_funcs=[reward])
            rows = result.metrics[1:] or result.metrics
            step_t = [r["step_time"] for r in rows if "step_time" in r]
            hook_t = [r.get("curriculum/gdro/overhead_s", 0.0) for r in rows]
            means = [r["curriculum/gdro/mean_rollouts"] for r in result.metrics if "curriculum/gdro/mean_rollouts" in r]
            out[name] = {"steps": result.steps, "median_step_s": float(np.median(step_t)) if step_t else None,
                         "median_hook_s": float(np.median(hook_t)), "mean_rollouts": means}
    return out


def summarise(results, methods):
    table = {}
    for m in methods:
        rs = [r for r in results if r["method"] == m]
        row = {}
        for key in ("mean_acc", "mean_pass8", "worst_acc", "worst_pass8", "hard3_acc", "hard3_pass8",
                    "hook_s_per_step"):
            vals = np.array([r[key] for r in rs])
            row[key] = (float(vals.mean()), float(vals.std(ddof=1)) if len(vals) > 1 else 0.0)
        base_runs = {r["seed"]: r for r in results if r["method"] == "grpo"}
        for key in ("mean_pass8", "hard3_pass8", "worst_acc", "mean_acc"):
            d = np.array([r[key] - base_runs[r["seed"]][key] for r in rs if r["seed"] in base_runs])
            row["delta_" + key] = (float(d.mean()), float(d.std(ddof=1)) if len(d) > 1 else 0.0,
                                   int((d > 0).sum()), int(len(d)))
        row["acc_by_level"] = np.mean([r["acc_by_level"] for r in rs], axis=0).tolist()
        row["pass8_by_level"] = np.mean([r["pass8_by_level"] for r in rs], axis=0).tolist()
        row["total_rollouts"] = sorted({r["total_rollouts"] for r in rs})
        table[m] = row
    return table


def budget_shift(results):
    """Rollout-GDRO: share of rollouts spent per pass@k bin vs share of prompts, over the last half of the run."""
    shares = {}
    for r in results:
        if r["method"] != "rollout-gdro":
            continue
        log = r["log"][len(r["log"]) // 2:]
        for row in log:
            for k, v in row.items():
                if k.startswith("gdro/bin_count/"):
                    b = k.rsplit("/", 1)[1]
                    n = row.get(f"gdro/rollouts/{b}", 0.0)
                    s = shares.setdefault(b, [0.0, 0.0])
                    s[0] += v
                    s[1] += v * n
    tot_p = sum(s[0] for s in shares.values()) or 1.0
    tot_r = sum(s[1] for s in shares.values()) or 1.0
    return {b: {"prompt_share": s[0] / tot_p, "rollout_share": s[1] / tot_r,
                "rollouts_per_prompt": s[1] / s[0] if s[0] else None} for b, s in shares.items() if s[0] > 0}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--prompts", type=int, default=32, help="prompts per step (GRPO / Prompt-GDRO)")
    ap.add_argument("--budget", type=int, default=4, help="rollouts per prompt (the mean for Rollout-GDRO)")
    ap.add_argument("--n-max", type=int, default=12)
    ap.add_argument("--train-size", type=int, default=320,
                    help="training prompts (320 at 32 per step: each prompt is seen every 10 steps)")
    ap.add_argument("--groups", default="pass", choices=["pass", "label"])
    ap.add_argument("--lr", type=float, default=0.01, help="Adam learning rate of the skill vector")
    ap.add_argument("--radius", type=float, default=4.0, help="capacity: ||theta|| <= radius")
    ap.add_argument("--dim", type=int, default=3, help="skill dimensions shared by the 10 levels")
    ap.add_argument("--lr-scales", type=float, nargs="+", default=[0.3, 1.0, 3.0],
                    help="learning-rate multipliers swept for every method; the headline uses GRPO's best")
    ap.add_argument("--trainer-steps", type=int, default=0,
                    help="also run each curriculum in the real trainer (tiny-random) for this many steps")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = ap.parse_args(argv)
    methods = ["grpo", "prompt-gdro", "prompt-gdro-surrogate", "rollout-gdro"]
    t0 = time.perf_counter()
    all_results = []
    for scale in args.lr_scales:
        for seed in range(args.seeds):
            for m in methods:
                all_results.append(run(m, seed, steps=args.steps, prompts=args.prompts, budget=args.budget,
                                       n_train=args.train_size, lr=args.lr, n_max=args.n_max, groups=args.groups,
                                       lr_scale=scale, radius=args.radius, dim=args.dim))
                r = all_results[-1]
                print(f"lr x{scale:g} seed {seed} {m:22s} mean acc {r['mean_acc']:.4f} pass@8 {r['mean_pass8']:.4f} "
                      f"hard-3 pass@8 {r['hard3_pass8']:.4f} rollouts {r['total_rollouts']}", flush=True)
    tables = {scale: summarise([r for r in all_results if r["lr_scale"] == scale], methods)
              for scale in args.lr_scales}
    # the headline compares at the learning rate that is best for plain GRPO (tuned baseline)
    best = max(args.lr_scales, key=lambda sc: tables[sc]["grpo"]["mean_pass8"][0])
    results = [r for r in all_results if r["lr_scale"] == best]
    table = tables[best]
    shift = budget_shift(results)
    overhead = paper_scale_overhead()
    in_trainer = trainer_overhead(args.trainer_steps) if args.trainer_steps else None
    wall = time.perf_counter() - t0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    payload = {"args": vars(args), "best_lr_scale_for_grpo": best, "table": table,
               "tables_by_lr_scale": {str(k): v for k, v in tables.items()}, "budget_shift": shift,
               "paper_scale_overhead_s": overhead, "in_trainer": in_trainer, "wall_s": wall, "paper_pass8": PAPER,
               "runs": [{k: v for k, v in r.items() if k != "log"} for r in all_results]}
    (out / "gdro_compare.json").write_text(json.dumps(payload, indent=1), encoding="utf-8")
    _plot(results, table, out / "gdro_compare.png")
    (out / "gdro_compare.md").write_text(_markdown(args, table, tables, best, shift, overhead, wall, in_trainer),
                                         encoding="utf-8")
    print((out / "gdro_compare.md").read_text())


def _fmt(ms):
    return f"{100 * ms[0]:.2f} ± {100 * ms[1]:.2f}"


def _markdown(args, table, tables, best, shift, overhead, wall, in_trainer=None):
    g = table["grpo"]
    lines = [
        "# GDRO curricula vs GRPO (miniature)",
        "",
        f"`python benchmarks/gdro_compare.py --seeds {args.seeds} --steps {args.steps}` "
        f"({args.prompts} prompts x {args.budget} rollouts per step, Rollout-GDRO arms 2..{args.n_max} at mean "
        f"{args.budget}, groups={args.groups}, train set {args.train_size} prompts over 10 levels). "
        f"Policy: the logistic skill miniature of the script's docstring (NOT a language model); curricula: the "
        f"real `rlvr_gym.agents.grpo.gdro` classes with default hyperparameters. Wall time {wall:.0f} s on the shared "
        f"2-core CPU machine.",
        "",
        f"Headline at learning-rate scale x{best:g}, the best of {', '.join(f'x{x:g}' for x in tables)} for plain "
        "GRPO (a tuned baseline: at an untuned, too small learning rate any up-weighting looks like a win). "
        "Held-out (200 new prompts per level), mean ± std over seeds, in %:",
        "",
        "| method | mean acc | mean pass@8 | rel. pass@8 vs GRPO | worst-level acc | hardest-3 acc | "
        "hardest-3 pass@8 | rollouts |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for m, row in table.items():
        rel = 100 * (row["mean_pass8"][0] / g["mean_pass8"][0] - 1)
        lines.append(f"| {m} | {_fmt(row['mean_acc'])} | {_fmt(row['mean_pass8'])} | {rel:+.1f}% | "
                     f"{_fmt(row['worst_acc'])} | {_fmt(row['hard3_acc'])} | {_fmt(row['hard3_pass8'])} | "
                     f"{', '.join(str(x) for x in row['total_rollouts'])} |")
    lines += ["", "Paired differences to GRPO on the same seed (percentage points, mean ± std; wins = seeds where the "
              "method is ahead):", "",
              "| method | Δ mean pass@8 | Δ hardest-3 pass@8 | Δ worst-level acc | Δ mean acc |",
              "| --- | --- | --- | --- | --- |"]
    for m, row in table.items():
        if m == "grpo":
            continue
        cells = []
        for key in ("delta_mean_pass8", "delta_hard3_pass8", "delta_worst_acc", "delta_mean_acc"):
            mu, sd, wins, n = row[key]
            cells.append(f"{100 * mu:+.2f} ± {100 * sd:.2f} ({wins}/{n} wins)")
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    lines += ["", "Mean held-out pass@8 (%) by learning-rate scale (every method, same seeds):", "",
              "| lr scale | " + " | ".join(table) + " |", "| --- |" + " --- |" * len(table)]
    for sc, tb in tables.items():
        lines.append(f"| x{sc:g} | " + " | ".join(f"{_fmt(tb[m]['mean_pass8'])}" for m in tb) + " |")
    lines += ["", "Hardest-3-levels held-out pass@8 (%) by learning-rate scale:", "",
              "| lr scale | " + " | ".join(table) + " |", "| --- |" + " --- |" * len(table)]
    for sc, tb in tables.items():
        lines.append(f"| x{sc:g} | " + " | ".join(f"{_fmt(tb[m]['hard3_pass8'])}" for m in tb) + " |")
    lines += ["", f"Accuracy by level at x{best:g} (mean over seeds, %):", "",
              "| method | " + " | ".join(f"L{i + 1}" for i in range(LEVELS)) + " |",
              "| --- |" + " --- |" * LEVELS]
    for m, row in table.items():
        lines.append(f"| {m} | " + " | ".join(f"{100 * x:.1f}" for x in row["acc_by_level"]) + " |")
    lines += ["", "Rollout-GDRO budget by pass@k bin (second half of the runs, all seeds):", "",
              "| bin | share of prompts | share of rollouts | rollouts per prompt |", "| --- | --- | --- | --- |"]
    for b in sorted(shift, key=lambda s: (s == "unseen", int(s) if s.lstrip("-").isdigit() else 99)):
        s = shift[b]
        lines.append(f"| {b} | {100 * s['prompt_share']:.1f}% | {100 * s['rollout_share']:.1f}% | "
                     f"{s['rollouts_per_prompt']:.2f} |")
    lines += ["", "Curriculum hook time per step (rollouts_for + on_batch, Python, one core):", "",
              "| method | this benchmark | paper's batch shape (512 x 4, 10 bins) | paper (advantage stage) |",
              "| --- | --- | --- | --- |"]
    paper_ov = {"grpo": "0.04 s", "prompt-gdro": "0.36 s", "rollout-gdro": "0.45 s"}
    for m, row in table.items():
        if m not in overhead:
            continue
        lines.append(f"| {m} | {1000 * row['hook_s_per_step'][0]:.2f} ms | {1000 * overhead[m]:.1f} ms | "
                     f"{paper_ov[m]} |")
    lines += ["", "(grpo's number at the paper's shape is the group-advantage computation alone.)", ""]
    if in_trainer:
        lines += [f"Inside the real trainer (`rlvr train` code path: TRL GRPOTrainer, tiny-random, LoRA, CPU, 1 "
                  f"thread, 4 prompts x 4 rollouts, 16 new tokens, synthetic mixed reward, {args.trainer_steps} "
                  "steps, medians without the first step; the machine was shared, so step times are noisy):", "",
                  "| curriculum | step time | curriculum hooks per step | realised mean rollouts per step |",
                  "| --- | --- | --- | --- |"]
        for name, v in in_trainer.items():
            means = ", ".join(f"{x:g}" for x in v["mean_rollouts"]) or "-"
            lines.append(f"| {name} | {v['median_step_s']:.2f} s | {1000 * v['median_hook_s']:.2f} ms | {means} |")
        lines.append("")
    rel_p = 100 * (table["prompt-gdro"]["mean_pass8"][0] / g["mean_pass8"][0] - 1)
    rel_r = 100 * (table["rollout-gdro"]["mean_pass8"][0] / g["mean_pass8"][0] - 1)
    frontier = [b for b, v in shift.items() if b.isdigit() and 0 < int(b) < 9]
    fp = 100 * sum(shift[b]["prompt_share"] for b in frontier)
    fr = 100 * sum(shift[b]["rollout_share"] for b in frontier)
    lines += [
        "## Against the paper",
        "",
        f"The paper reports +9% to +13% relative pass@8 over GRPO for both curricula (Qwen3-1.7B/4B/8B-Base on "
        f"DAPO-Math-17k, 500-1000 steps of 512 prompts x 4). Here, at plain GRPO's best learning rate: "
        f"Prompt-GDRO {rel_p:+.1f}%, Rollout-GDRO {rel_r:+.1f}% relative mean pass@8. What reproduces: "
        f"Rollout-GDRO moves its budget to the frontier bins 1-8 ({fp:.0f}% of the prompts received "
        f"{fr:.0f}% of the rollouts in the second half) and away from bins 0 (never solved) and 9 (always "
        "solved), as the paper's \"reasoning frontier\" figure describes; Prompt-GDRO trades easy-level accuracy "
        "for the hardest levels (worst-group behaviour, the point of DRO). What does not, or not clearly: the "
        "seed-to-seed spread of the miniature is as large as the effects (see the paired table), and Rollout-GDRO "
        "does not beat GRPO here. Why the miniature can differ: a 3-dimensional skill shared by 10 levels is not "
        "an LM; pass@k bins need many sightings per prompt (each prompt is seen every 10 steps here, about 30 "
        "times per run; the paper sees each DAPO prompt about 30 times in 1000 steps too, but with 512 prompts per "
        "step the bin statistics are far less noisy than with 32); and the paper's Prompt-GDRO loss is the GRPO "
        "surrogate, which at sampling time is ~0 for every prompt, so taken literally it leaves the weights "
        "uniform (the `prompt-gdro-surrogate` rows match GRPO to the printed precision); the default here is the "
        "expected 0/1 loss (see agents/grpo/gdro.py). Hook overhead is tens of milliseconds at the paper's batch "
        "shape against the paper's 0.36-0.45 s.",
        "",
        "Not run: the embedded SmolLM2-135M (or any LM that can learn Math levels) with these curricula. "
        "SmolLM2 generates ~40 tokens/s on one free core here (benchmarks/results/threads.md), so one GRPO step "
        "of 8 prompts x 4 rollouts x 128 tokens costs minutes, and the machine was shared with ~6 other jobs "
        "(load average ~9 on 2 cores); three methods x several seeds x the hundreds of steps a curriculum needs "
        "to act were out of reach. The real trainer path is exercised by tests/test_gdro_trainer.py and the "
        "in-trainer rows above (tiny-random).",
        "",
    ]
    return "\n".join(lines)


def _plot(results, table, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from rlvr_gym.agents.grpo.plots import series_by_bin

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.2))
    ax = axes[0]
    x = np.arange(1, LEVELS + 1)
    shown = [m for m in ("grpo", "prompt-gdro", "rollout-gdro") if m in table]
    for j, m in enumerate(shown):
        ax.bar(x + (j - 1) * 0.27, 100 * np.array(table[m]["pass8_by_level"]), width=0.27, label=m)
    ax.set_xlabel("level")
    ax.set_ylabel("held-out pass@8 (%)")
    ax.set_title("held-out pass@8 by level (mean over seeds)")
    ax.legend(loc="lower left", fontsize=8)
    rg = next(r for r in results if r["method"] == "rollout-gdro")
    steps, series = series_by_bin(rg["log"], "rollouts")
    names = list(series)
    grid = np.array([series[n] for n in names], dtype=float)
    ax = axes[1]
    im = ax.imshow(np.ma.masked_invalid(grid), aspect="auto", origin="lower", cmap="magma", interpolation="nearest")
    ax.set_yticks(range(len(names)), [f"bin {n}" for n in names])
    ax.set_xlabel("step")
    ax.set_title("Rollout-GDRO rollouts per prompt (seed 0)")
    fig.colorbar(im, ax=ax)
    pg = next(r for r in results if r["method"] == "prompt-gdro")
    steps, series = series_by_bin(pg["log"], "weight")
    ax = axes[2]
    cmap = plt.get_cmap("viridis")
    for j, (name, vals) in enumerate(series.items()):
        ax.plot(steps, vals, lw=0.9, color=cmap(j / max(len(series) - 1, 1)), label=f"bin {name}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_title("Prompt-GDRO per-sample weight by bin (seed 0)")
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
