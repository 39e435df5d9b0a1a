"""GDRO curricula, algorithmic core: hand-computed values (no torch, no TRL needed)."""

import itertools
import json
import math

import numpy as np
import pytest

from rlvr_gym.agents.grpo.gdro import (
    UNSEEN, DifficultyBins, LabelBins, PromptGDRO, PromptGDROConfig, RolloutGDRO, RolloutGDROConfig, allocate_rollouts,
    fallback_allocation, group_statistics, make_gdro_curriculum, mixed_softmax, normalise_and_cap,
    weighted_standard_error,
)


# ----------------------------------------------------------------------------- difficulty groups

def test_unseen_prompts_form_their_own_group_or_go_to_the_bin_of_unseen_pass():
    assert DifficultyBins().bin(123) == UNSEEN == -1
    assert DifficultyBins(unseen_pass=0.0).bin(123) == 0
    assert DifficultyBins(unseen_pass=0.5).bin(123) == 5
    assert DifficultyBins(edges=[0, 0.2, 1.0], unseen_pass=1.0).bin(7) == 1


def test_bin_of_value_edges_are_left_closed_and_one_is_in_the_last_bin():
    g = DifficultyBins(edges=[0, 0.25, 0.5, 1.0])
    assert [g.bin_of_value(p) for p in (0.0, 0.2499, 0.25, 0.5, 0.99, 1.0)] == [0, 0, 1, 2, 2, 2]


def test_any_of_n_outcome_and_threshold():
    g = DifficultyBins(success_threshold=1.0)
    assert g.outcomes([4, 4, 5, 5], [0.0, 1.0, 0.5, 0.99]) == {4: 1, 5: 0}
    assert g.outcomes([6], [float("nan")]) == {6: 0}


def test_window_keeps_last_h_sightings_and_zero_means_cumulative():
    g = DifficultyBins(window=2)
    for c in (1, 0, 0):
        g.update({3: c})
    assert g.estimate(3) == 0.0
    g0 = DifficultyBins(window=0)
    for c in (1, 0, 0):
        g0.update({3: c})
    assert g0.estimate(3) == pytest.approx(1 / 3)


def test_first_classification_ignores_hysteresis():
    g = DifficultyBins(window=0)
    g.update({1: 1})          # pass@k 1.0 -> top bin straight away (it was UNSEEN)
    assert g.bin(1) == 9


def test_hysteresis_moves_only_past_edge_plus_delta():
    g = DifficultyBins(delta=0.03)        # bin 5 = [0.5, 0.6)
    assert g._reclassify(5, 0.61) == 5    # above 0.6 but within 0.6 + 0.03
    assert g._reclassify(5, 0.63) == 6
    assert g._reclassify(5, 0.48) == 5    # below 0.5 but within 0.5 - 0.03
    assert g._reclassify(5, 0.46) == 4
    assert g._reclassify(5, 0.95) == 9    # a big jump goes to the bin of the estimate


def test_hysteresis_through_updates():
    g = DifficultyBins(window=0, delta=0.03)
    g.update({0: 1})
    g.update({0: 0})                      # 0.5 -> leaves bin 9 ([0.87, inf)), lands in bin 5
    assert g.bin(0) == 5
    for c in (1, 1, 0, 1, 0, 1, 0, 0):    # 5/10 = 0.5 ... then one more success
        g.update({0: c})
    assert g.estimate(0) == pytest.approx(0.5)
    g.update({0: 1})                      # 6/11 = 0.545: still bin 5
    assert g.bin(0) == 5
    g.update({0: 1})                      # 7/12 = 0.583: inside [0.47, 0.63): stays
    g.update({0: 1})                      # 8/13 = 0.615: above 0.6 but below 0.63: stays
    assert g.bin(0) == 5
    g.update({0: 1})                      # 9/14 = 0.643 >= 0.63: moves to bin 6
    assert g.bin(0) == 6


def test_bad_edges_and_window_are_rejected():
    with pytest.raises(ValueError, match="edges"):
        DifficultyBins(edges=[0.1, 1.0])
    with pytest.raises(ValueError, match="edges"):
        DifficultyBins(edges=[0, 0.5, 0.5, 1])
    with pytest.raises(ValueError, match="window"):
        DifficultyBins(window=-1)
    with pytest.raises(ValueError, match="groups"):
        make_gdro_curriculum("prompt-gdro", {"groups": "levels"})
    with pytest.raises(ValueError, match="unknown"):
        make_gdro_curriculum("rollout-gdro", {"n_maximum": 3})


def test_label_groups_natural_order_and_new_labels_appended():
    g = LabelBins(["level-10", "level-2", "level-1", "level-2"])
    assert g.bins([0, 1, 2], ["level-1", "level-2", "level-10"]) == [0, 1, 2]
    assert g.bins([3], ["expert"]) == [3]
    with pytest.raises(ValueError, match="label"):
        g.bins([0])


# ----------------------------------------------------------------------------- Prompt-GDRO pieces

def test_mixed_softmax_by_hand():
    # softmax([0, ln 3]) = [1/4, 3/4]; (1 - 0.2) * that + 0.2 / 2
    q = mixed_softmax([0.0, math.log(3.0)], eta=1.0, gamma=0.2)
    assert q.tolist() == pytest.approx([0.3, 0.7])
    assert mixed_softmax([5.0, 5.0, 5.0], 0.65, 0.01).tolist() == pytest.approx([1 / 3] * 3)


def test_normalise_then_cap():
    assert normalise_and_cap([1, 1, 2], cap=15) == pytest.approx([0.75, 0.75, 1.5])
    assert normalise_and_cap([1, 1, 2], cap=1.2) == pytest.approx([0.75, 0.75, 1.2])  # no renormalisation


def test_ema_first_sighting_then_beta():
    p = PromptGDRO(beta=0.12)
    p.update_ema({0: 0.5})
    assert p.ema[0] == 0.5                       # debiased: the first value, not beta * 0.5
    p.update_ema({0: 1.0, 3: 0.2})
    assert p.ema[0] == pytest.approx(0.88 * 0.5 + 0.12 * 1.0)
    assert p.ema[3] == 0.2


def test_bin_losses_error_signal_with_class_share():
    p = PromptGDRO()
    # bin 0: groups a (rewards 0, 0) and b (1, 0) -> losses 1.0 and 0.5, mean 0.75, share 2/3 -> 1.125
    # bin 3: group c (1, 1) -> loss 0.0, share 1/3 -> 0.0
    bins = [0, 0, 0, 0, 3, 3]
    gids = ["a", "a", "b", "b", "c", "c"]
    rewards = [0, 0, 1, 0, 1, 1]
    lbar = p.bin_losses(bins, gids, rewards, [0.0] * 6)
    assert lbar == pytest.approx({0: 1.125, 3: 0.0})
    p2 = PromptGDRO(loss_norm_by_class=False)
    assert p2.bin_losses(bins, gids, rewards, [0.0] * 6) == pytest.approx({0: 0.75, 3: 0.0})
    p3 = PromptGDRO(signal="surrogate", loss_norm_by_class=False)
    assert p3.bin_losses(bins, gids, rewards, [0, 0, 1, -1, 0.5, 0.1]) == pytest.approx({0: 0.0, 3: -0.3})


def test_prompt_gdro_on_batch_weights_by_hand():
    p = PromptGDRO(gamma=0.01, eta_q=0.65, loss_norm_by_class=False, groups="label")
    labels = ["hard", "hard", "easy", "easy"]
    adv = np.array([1.0, -1.0, 1.0, -1.0])
    out = p.on_batch(dataset_indices=[0, 0, 1, 1], group_ids=[0, 0, 1, 1], rewards=[1.0, 0.0, 1.0, 1.0],
                     advantages=adv, labels=labels, step=0)
    # label bins in first-seen order: hard=0, easy=1; losses 0.5 and 0.0
    e = math.exp(0.65 * 0.5)
    q0 = 0.99 * e / (e + 1) + 0.005
    q1 = 0.99 * 1 / (e + 1) + 0.005
    w0, w1 = q0 / ((q0 + q1) / 2), q1 / ((q0 + q1) / 2)
    assert out.tolist() == pytest.approx([w0, -w0, w1, -w1])
    m = p.metrics()
    assert m["gdro/weight/0"] == pytest.approx(w0) and m["gdro/q/1"] == pytest.approx(q1)
    assert m["gdro/bin_count/0"] == 1 and m["gdro/bin_count/1"] == 1
    assert "gdro/wse" in m and "gdro/overhead_s" in m


def test_prompt_gdro_caps_a_tiny_bin():
    p = PromptGDRO(cap=3.0, groups="label", gamma=0.0, eta_q=50.0, loss_norm_by_class=False)
    labels = ["hard"] + ["easy"] * 9
    out = p.on_batch(dataset_indices=list(range(10)), group_ids=list(range(10)), rewards=[0.0] + [1.0] * 9,
                     advantages=[1.0] * 10, labels=labels, step=0)
    assert out[0] == pytest.approx(3.0)     # would be ~10 before the cap
    assert p.metrics()["gdro/capped"] == 1.0


def test_prompt_gdro_keeps_torch_tensors():
    torch = pytest.importorskip("torch")
    p = PromptGDRO()
    adv = torch.tensor([0.5, -0.5, 0.0, 0.0])
    out = p.on_batch(dataset_indices=[0, 0, 1, 1], group_ids=[0, 0, 1, 1], rewards=torch.tensor([1.0, 0, 0, 0]),
                     advantages=adv, labels=None, step=0)
    assert isinstance(out, torch.Tensor) and out.shape == adv.shape


# ----------------------------------------------------------------------------- Rollout-GDRO pieces

def _brute_force(counts, logp, arms, total):
    bins = sorted(counts)
    best, arg = -math.inf, None
    for combo in itertools.product(range(len(arms)), repeat=len(bins)):
        if sum(counts[b] * arms[k] for b, k in zip(bins, combo)) != total:
            continue
        val = sum(counts[b] * logp[b][k] for b, k in zip(bins, combo))
        if val > best + 1e-12:
            best, arg = val, {b: arms[k] for b, k in zip(bins, combo)}
    return best, arg


def test_dp_exact_budget_awkward_counts():
    arms = list(range(2, 13))
    counts = {0: 3, 1: 5, 2: 7}                       # 15 prompts x 4 = 60 rollouts
    rng = np.random.default_rng(0)
    for _ in range(5):
        logp = {b: np.log(rng.dirichlet(np.ones(len(arms)))).tolist() for b in counts}
        alloc = allocate_rollouts(counts, logp, arms, 60, 4.0)
        assert sum(counts[b] * alloc[b] for b in counts) == 60
        best, _ = _brute_force(counts, logp, arms, 60)
        assert sum(counts[b] * logp[b][alloc[b] - 2] for b in counts) == pytest.approx(best)


def test_dp_by_hand_and_ties_go_to_budget():
    arms = [2, 3, 4, 5, 6]
    flat = {0: [0.0] * 5, 1: [0.0] * 5}
    assert allocate_rollouts({0: 2, 1: 2}, flat, arms, 16, 4.0) == {0: 4, 1: 4}
    # bin 0 strongly prefers 6; 2*6 + 2*n1 = 16 -> n1 = 2
    pref = {0: [-9, -9, -9, -9, 0.0], 1: [-1.0] * 5}
    assert allocate_rollouts({0: 2, 1: 2}, pref, arms, 16, 4.0) == {0: 6, 1: 2}


def test_dp_infeasible_returns_none_and_fallback_is_exact():
    arms = list(range(2, 13))
    flat = {0: [0.0] * 11, 1: [0.0] * 11}
    assert allocate_rollouts({0: 2, 1: 4}, flat, arms, 21) is None      # even counts, odd total
    # hand-computed proportional fallback: targets [3, 4.5, 4.5] scaled to 13 -> [3.25, 4.875, 4.875]
    assert fallback_allocation([0, 1, 1], {0: 3.0, 1: 4.5}, 2, 12, 13) == [3, 5, 5]
    assert fallback_allocation([0, 0, 1, 1], {0: 2.0, 1: 6.0}, 2, 12, 14) == [2, 2, 5, 5]
    with pytest.raises(ValueError, match="cannot be split"):
        fallback_allocation([0, 1], {0: 3.0, 1: 3.0}, 2, 12, 30)


def test_rollout_gdro_fallback_keeps_budget():
    r = RolloutGDRO(budget=3.5, n_min=2, n_max=12)
    bins = [0, 0, 1, 1, 1, 1]                           # 6 prompts x 3.5 = 21, only even per-bin sums
    alloc = r.allocate(bins)
    assert sum(alloc) == 21 and r.last_fallback
    with pytest.raises(ValueError, match="not an integer"):
        r.allocate([0, 1, 2])                           # 3 x 3.5 = 10.5


def test_score_update_and_dual_by_hand():
    r = RolloutGDRO(n_min=2, n_max=4, budget=3, alpha_mu=0.05, mu0=0.1, score_beta=0.5)
    r.update_scores({0: 0.25})
    assert r.scores[0] == pytest.approx([-0.125 + 0.1, -0.25 / 3, -0.0625 - 0.1])
    r.update_scores({0: 0.0})                           # EMA, rate 0.5: u = [0.1, 0, -0.1]
    assert r.scores[0] == pytest.approx([0.5 * (-0.025) + 0.05, 0.5 * (-0.25 / 3), 0.5 * (-0.1625) - 0.05])
    assert r.update_dual(5.0) == pytest.approx(0.2)     # 0.1 + 0.05 * (5 - 3)
    assert r.update_dual(1.0) == pytest.approx(0.1)


def _run_rollout_steps(r, idx, labels_of, rewards_of, steps):
    for step in range(steps):
        labels = [labels_of[i] for i in idx]
        alloc = r.rollouts_for(idx, step, labels=labels)
        assert sum(alloc) == len(idx) * r.config.budget
        ds, rew, labs = [], [], []
        for i, n in zip(idx, alloc):
            pattern = rewards_of[labels_of[i]]
            ds += [i] * n
            labs += [labels_of[i]] * n
            rew += [pattern[k % len(pattern)] for k in range(n)]
        r.on_batch(dataset_indices=ds, group_ids=ds, rewards=rew, advantages=[0.0] * len(ds), labels=labs,
                   step=step)
        m = r.metrics()
        assert m["gdro/mean_rollouts"] == r.config.budget and m["gdro/budget"] == r.config.budget
        assert m["gdro/mu"] == 0.0 and m["gdro/fallback"] == 0.0
    return m


def test_budget_moves_to_the_frontier_bin():
    r = RolloutGDRO(groups="label", labels=["a-hopeless", "b-frontier", "c-solved"])  # arms 2..12, budget 4
    idx = list(range(12))
    labels_of = {i: ("a-hopeless" if i < 4 else "b-frontier" if i < 8 else "c-solved") for i in idx}
    rewards_of = {"a-hopeless": [0], "b-frontier": [1, 0], "c-solved": [1]}
    m = _run_rollout_steps(r, idx, labels_of, rewards_of, 3)
    final = r.rollouts_for(idx, 3, labels=[labels_of[i] for i in idx])
    # v = 0 in the hopeless and solved bins: they give everything above n_min to the frontier:
    # 4*2 + 4*n + 4*2 = 48 -> n = 8
    assert final == [2] * 4 + [8] * 4 + [2] * 4
    assert m["gdro/rollouts/1"] == 8.0 and m["gdro/rollouts/0"] == 2.0
    assert m["gdro/wse"] < m["gdro/wse_uniform"]


def test_square_root_law_between_two_frontier_bins():
    # within-group variances 1/4 (p = 1/2) and 1/16 (p = 1/4... as a 0/1 pattern of period 4: var = 3/16 * 4/3)
    r = RolloutGDRO(groups="label", n_min=2, n_max=12, budget=6)
    idx = list(range(8))
    labels_of = {i: ("x" if i < 4 else "y") for i in idx}
    rewards_of = {"x": [1, 0], "y": [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]}
    _run_rollout_steps(r, idx, labels_of, rewards_of, 4)
    final = r.rollouts_for(idx, 4, labels=[labels_of[i] for i in idx])
    nx, ny = final[0], final[4]
    assert nx + ny == 12 and nx > ny     # the higher-variance bin gets more, sum exact


def test_pass_bins_put_any_of_n_solved_prompts_on_top():
    r = RolloutGDRO()
    idx = list(range(8))
    labels_of = {i: ("hopeless" if i < 4 else "half") for i in idx}
    _run_rollout_steps(r, idx, labels_of, {"hopeless": [0], "half": [1, 0]}, 2)
    assert r.groups.bins(idx) == [0] * 4 + [9] * 4    # any-of-n: a half-right prompt has pass@k 1


# ----------------------------------------------------------------------------- diagnostics and state

def test_group_statistics_and_wse():
    st = group_statistics(["a", "a", "b", "b", "b"], [1, 0, 1, 1, 1])
    assert st["a"] == {"size": 2, "mean": 0.5, "var": 0.5, "max": 1.0}
    assert st["b"]["var"] == 0.0
    assert weighted_standard_error({0: 0.5, 1: 0.5}, {0: 0.5, 1: 0.0}, {0: 4, 1: 4}) == pytest.approx(0.125)


def _batch(seed):
    rng = np.random.default_rng(seed)
    idx = [int(i) for i in rng.choice(20, size=4, replace=False) for _ in range(4)]
    return dict(dataset_indices=idx, group_ids=[k // 4 for k in range(16)],
                rewards=rng.integers(0, 2, 16).astype(float).tolist(), advantages=rng.normal(size=16).tolist(),
                labels=[f"level-{i % 3}" for i in idx])


@pytest.mark.parametrize("name", ["prompt-gdro", "rollout-gdro"])
@pytest.mark.parametrize("groups", ["pass", "label"])
def test_state_round_trip_through_json(name, groups):
    a = make_gdro_curriculum(name, {"window": 3}, groups=groups)
    for s in range(4):
        a.on_batch(step=s, **_batch(s))
    b = make_gdro_curriculum(name, {"window": 3}, groups=groups)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    batch = _batch(99)
    assert list(a.on_batch(step=4, **batch)) == pytest.approx(list(b.on_batch(step=4, **batch)))
    assert a.state_dict() == b.state_dict()
    if name == "rollout-gdro":
        labels = batch["labels"][::4]
        assert a.rollouts_for(batch["dataset_indices"][::4], 5, labels=labels) == \
            b.rollouts_for(batch["dataset_indices"][::4], 5, labels=labels)
    with pytest.raises(ValueError, match="not a"):
        b.load_state_dict({"kind": "something-else"})


def test_configs_validate():
    with pytest.raises(ValueError, match="budget"):
        RolloutGDROConfig(n_min=2, n_max=12, budget=13)
    with pytest.raises(ValueError, match="signal"):
        PromptGDROConfig(signal="loss")
    with pytest.raises(ValueError, match="curriculum"):
        make_gdro_curriculum("gdro")


def test_plots_from_metrics_rows(tmp_path):
    pytest.importorskip("matplotlib")
    from rlvr_gym.agents.grpo.plots import plot_allocation_heatmap, plot_bin_weights, plot_gdro_run, series_by_bin

    rows = [{"step": 1, "curriculum/gdro/weight/0": 1.5, "curriculum/gdro/weight/unseen": 0.5,
             "curriculum/gdro/rollouts/2": 6.0},
            {"step": 2, "gdro/weight/0": 1.2, "gdro/rollouts/2": 5.0, "gdro/rollouts/10": 2.0}]
    steps, series = series_by_bin(rows, "weight")
    assert steps == [1, 2] and list(series) == ["0", "unseen"]
    assert series["0"] == [1.5, 1.2] and math.isnan(series["unseen"][1])
    _, alloc = series_by_bin(rows, "rollouts")
    assert list(alloc) == ["2", "10"]                     # numeric order, not text order
    assert plot_bin_weights(rows, tmp_path / "w.png").stat().st_size > 1000
    assert plot_allocation_heatmap(rows, tmp_path / "a.png").stat().st_size > 1000
    assert plot_bin_weights([{"step": 1}], tmp_path / "none.png") is None
    (tmp_path / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert sorted(p.name for p in plot_gdro_run(tmp_path)) == ["gdro_allocation.png", "gdro_weights.png"]


def test_factory_from_train_config_and_dataset():
    from types import SimpleNamespace

    from rlvr_gym.agents.grpo import gdro

    cfg = SimpleNamespace(curriculum_kwargs={"n_max": 8}, groups="label", num_generations=6)
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_dict({"label": ["level-10", "level-2", "level-2"], "index": [0, 1, 2]})
    r = gdro.make_curriculum("rollout-gdro", cfg, ds)
    assert isinstance(r, RolloutGDRO) and r.config.budget == 6.0 and r.config.n_max == 8
    assert r.groups.bins([0, 1], ["level-2", "level-10"]) == [0, 1]
    p = gdro.make_curriculum("prompt-gdro", SimpleNamespace(curriculum_kwargs={}, groups="pass", num_generations=4))
    assert isinstance(p, PromptGDRO) and p.config.groups == "pass"
    with pytest.raises(ValueError, match="2 <= n_min"):
        gdro.make_curriculum("rollout-gdro", {"n_min": 1})


def test_variable_group_advantages_by_hand():
    from rlvr_gym.agents.grpo.gdro import run_length_groups, variable_group_advantages

    assert run_length_groups([5, 5, 3, 3, 3, 5]) == [0, 0, 1, 1, 1, 2]
    r = [1, 0, 1, 0, 0]
    g = [0, 0, 0, 1, 1]
    s0 = math.sqrt(1 / 3)                     # unbiased std of (1, 0, 1)
    a = variable_group_advantages(r, g, "group")
    assert a == pytest.approx([(1 / 3) / (s0 + 1e-4), (-2 / 3) / (s0 + 1e-4), (1 / 3) / (s0 + 1e-4), 0.0, 0.0])
    assert variable_group_advantages(r, g, "none") == pytest.approx([1 / 3, -2 / 3, 1 / 3, 0, 0])
    sb = math.sqrt((2 * 0.6 ** 2 + 3 * 0.4 ** 2) / 4)  # batch std of (1, 0, 1, 0, 0)
    assert variable_group_advantages(r, g, "batch")[0] == pytest.approx((1 / 3) / (sb + 1e-4))
    # an unscorable row is left out of its group's statistics and gets 0
    assert variable_group_advantages([1, 0, 5], [0, 0, 0], "none", [False, False, True]) == pytest.approx(
        [0.5, -0.5, 0.0])
    assert variable_group_advantages([1.0], [0], "group") == [0.0]   # std of one row is NaN -> 0, as in TRL


def test_group_sampler_yields_whole_groups_and_checks_the_budget():
    from rlvr_gym.agents.grpo.gdro import GroupSampler

    calls = []

    def allocate(chunk, k):
        calls.append(list(chunk))
        return [6, 2] if k % 2 == 0 else [4, 4]

    s = GroupSampler(4, 2, 8, allocate, repeat_count=2, seed=0)
    out = list(s)
    assert len(out) == len(s) == 32
    first = out[:8]
    assert first == [calls[0][0]] * 6 + [calls[0][1]] * 2 and out[8:16] == first   # repeated for TRL's reuse
    assert sorted(calls[0] + calls[1]) == [0, 1, 2, 3]                                # an epoch permutation
    with pytest.raises(ValueError, match="rollouts in all"):
        list(GroupSampler(4, 2, 8, lambda c, k: [4, 3]))
    with pytest.raises(ValueError, match="distinct prompts"):
        GroupSampler(1, 2, 8, allocate)
