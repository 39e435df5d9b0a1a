"""GDRO curricula inside the real GRPO trainer (TRL GRPOTrainer, tiny-random model, CPU, 1 thread)."""

import json

import pytest

trainer_mod = pytest.importorskip("rlvr_gym.agents.grpo.run")
pytest.importorskip("trl")

from rlvr_gym.agents.grpo import gdro  # noqa: E402


def _reward_for_prompt_zero(completions, index, **kwargs):
    """Row 0 of the dataset: rewards 1, 0, 1, 0, ... over its rollouts in the batch (always mixed);
    every other row: 0 (hopeless)."""
    out, seen = [], 0
    for i in index:
        out.append(float(seen % 2 == 0) if i == 0 else 0.0)
        seen += i == 0
    return out


def _config(tmp_path, name, curriculum, **extra):
    base = dict(env=["Math-Easy-v0"], model="tiny-random", peft="full", train_size=2, max_steps=6,
                per_device_train_batch_size=8, num_generations=4, max_completion_length=6, eval_size=0,
                eval_before=False, eval_after=False, progress=False, plots=False, save_steps=3,
                curriculum=curriculum, out=str(tmp_path / name), learning_rate=1e-3, seed=0)
    base.update(extra)
    return trainer_mod.TrainConfig(**base)


def _rows(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]


class _Recorder(gdro.RolloutGDRO):
    """RolloutGDRO that records what the sampler asked and what the trainer scored (the real algorithm)."""

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.allocations, self.batches = [], []

    def rollouts_for(self, dataset_indices, step=0, labels=None):
        out = super().rollouts_for(dataset_indices, step, labels=labels)
        self.allocations.append((list(dataset_indices), list(out)))
        return out

    def on_batch(self, **kw):
        out = super().on_batch(**kw)
        self.batches.append((list(kw["dataset_indices"]), [float(x) for x in kw["rewards"]], list(out)))
        return out


def test_rollout_gdro_trains_with_variable_groups_and_exact_budget(tmp_path, monkeypatch):
    made = {}

    def factory(name, config, dataset=None):
        made["c"] = _Recorder(budget=4.0, n_min=2, n_max=6, groups=config.groups)
        return made["c"]

    monkeypatch.setattr(gdro, "make_curriculum", factory)
    cfg = _config(tmp_path, "rollout", "rollout-gdro", max_steps=3)
    result = trainer_mod.train(cfg, reward_funcs=[_reward_for_prompt_zero])
    assert result.steps == 3
    cur = made["c"]
    rows = [r for r in _rows(tmp_path / "rollout") if "curriculum/gdro/mean_rollouts" in r]
    assert len(rows) == 3
    for r in rows:
        assert r["curriculum/gdro/mean_rollouts"] == 4.0 and r["curriculum/gdro/budget"] == 4.0
        assert "curriculum/gdro/mu" in r and "curriculum/gdro/wse" in r and "curriculum/gdro/bin_count/0" in r
        # the key names, bare, with the same values as the prefixed ones
        assert r["gdro/mean_rollouts"] == 4.0 and r["gdro/budget"] == 4.0
        for key in [k for k in r if k.startswith("curriculum/gdro/")]:
            assert r[key[len("curriculum/"):]] == r[key], key
    assert sum(k.startswith("gdro/rollouts/") for k in rows[-1]) >= 1
    # every scored batch has the groups the sampler allocated, in order, and exact per-group advantages
    assert len(cur.allocations) >= len(cur.batches) == 3
    for (ds, rewards, adv), (chunk, alloc) in zip(cur.batches, cur.allocations):
        groups = gdro.run_length_groups(ds)
        sizes = [groups.count(g) for g in sorted(set(groups))]
        prompts = [ds[groups.index(g)] for g in sorted(set(groups))]
        assert prompts == chunk and sizes == alloc and len(ds) == 8
        assert adv == pytest.approx(gdro.variable_group_advantages(rewards, groups, "group"), abs=1e-6)
    # the hopeless prompt (row 1) gives rollouts to the mixed one (row 0) once both are classified and scored
    third = dict(zip(*cur.allocations[2]))
    assert third == {0: 6, 1: 2}, cur.allocations
    assert (tmp_path / "rollout" / "checkpoint-3" / "curriculum.json").is_file()
    state = json.loads((tmp_path / "rollout" / "checkpoint-3" / "curriculum.json").read_text())["state"]
    assert state["kind"] == "rollout-gdro" and state["scores"]


def test_prompt_gdro_reweights_in_the_trainer_and_logs_weights(tmp_path):
    cfg = _config(tmp_path, "prompt", "prompt-gdro", max_steps=2, train_size=4, groups="label",
                  curriculum_kwargs={"cap": 10.0})
    result = trainer_mod.train(cfg, reward_funcs=[_reward_for_prompt_zero])
    assert result.steps == 2
    rows = [r for r in _rows(tmp_path / "prompt") if any(k.startswith("curriculum/gdro/weight/") for k in r)]
    assert len(rows) == 2
    assert all("curriculum/gdro/wse" in r and "curriculum/gdro/bin_count/0" in r for r in rows)
    assert all(r["gdro/wse"] == r["curriculum/gdro/wse"] for r in rows)
    for r in rows:   # every bin weight of the batch, bare and prefixed, with the same value
        weights = [k for k in r if k.startswith("curriculum/gdro/weight/")]
        assert weights and all(r[k[len("curriculum/"):]] == r[k] for k in weights)
    assert not any(k.startswith("gdro/") for r in _rows(tmp_path / "prompt") for k in r
                   if f"curriculum/{k}" not in r)   # bare keys only mirror logged curriculum keys
