"""Unmasking policies: heuristics on hand-made observations, agent specs, the policy network (shapes, slow
start), its log-probability, checkpoints, and one GRPO update moving the policy the right way."""

import numpy as np
import pytest

from rlvr_gym.agents.base import AgentSpecError, load_agent
from rlvr_gym.agents.unmasking.policies import (FastDLLMAgent, LeftToRightAgent, RandomUnmaskAgent, TopKAgent,
                                                actionable, from_spec)

# 8 positions, current block = the first 4; position 1 is already decoded (confidence 1.0).
OBS = {
    "confidence": np.array([0.95, 1.0, 0.91, 0.50, 0.99, 0.30, 0.97, 0.10], dtype=np.float32),
    "mask": np.array([1, 0, 1, 1, 1, 1, 1, 1], dtype=np.int8),
    "block": np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=np.int8),
    "time": np.array([0.125], dtype=np.float32),
}


def chosen(agent, obs=OBS):
    return np.flatnonzero(agent.act(obs)).tolist()


def test_fast_dllm_threshold_rule():
    assert chosen(FastDLLMAgent(0.9)) == [0, 2]           # 0.99 and 0.97 lie outside the block; 1 is decoded
    assert chosen(FastDLLMAgent(0.93)) == [0]
    assert chosen(FastDLLMAgent(0.96)) == [0]             # none above: the most confident actionable one


def test_topk_random_l2r_step_budgets():
    # L = 8, BL = 4 -> 2 blocks; 4 steps in all -> 2 per block -> k = ceil(4 / 2) = 2 per step
    assert chosen(TopKAgent(4)) == [0, 2]
    assert chosen(TopKAgent()) == [0]                     # default: one token per step
    assert chosen(TopKAgent(2)) == [0, 2, 3]              # 1 step per block: k = 4, 3 actionable left
    assert chosen(LeftToRightAgent()) == [0]
    assert chosen(LeftToRightAgent(4)) == [0, 2]
    picks = [chosen(RandomUnmaskAgent(4, seed=s)) for s in range(20)]
    assert all(len(p) == 2 and set(p) <= {0, 2, 3} for p in picks)
    assert len({tuple(p) for p in picks}) > 1
    assert picks == [chosen(RandomUnmaskAgent(4, seed=s)) for s in range(20)]   # seeded


def test_heuristics_act_on_batches():
    batch = {k: np.stack([v, v]) for k, v in OBS.items()}
    actions = FastDLLMAgent(0.9).select(batch)
    assert actions.shape == (2, 8) and actions.dtype == np.int8
    assert actionable(batch)[0].tolist() == [True, False, True, True, False, False, False, False]


def test_specs():
    assert isinstance(load_agent("unmask:fast-dllm"), FastDLLMAgent)
    assert load_agent("unmask:fast-dllm:0.7").threshold == 0.7
    assert load_agent("unmask:topk:8").steps == 8
    assert isinstance(load_agent("unmask:random", seed=3), RandomUnmaskAgent)
    assert isinstance(load_agent("unmask:l2r"), LeftToRightAgent)
    for bad in ("unmask:topk:x", "unmask:fast-dllm:2", "unmask:greedy", "unmask:policy"):
        with pytest.raises(AgentSpecError):
            load_agent(bad)
    with pytest.raises(AgentSpecError, match="unknown options"):
        from_spec("topk", temperature=1.0)
    with pytest.raises(TypeError, match="Unmasking-v0 observations"):
        TopKAgent().act_batch(["a text prompt"])


# ---------------------------------------------------------------------------------------------- the network

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def net():
    from rlvr_gym.agents.unmasking.policies import policy_network

    torch.set_num_threads(1)
    return policy_network(seed=0)


def batch_tensors(n=3, length=8):
    from rlvr_gym.agents.unmasking.policies import obs_tensors

    return obs_tensors({k: np.stack([v] * n) for k, v in OBS.items()})


def test_network_shapes_and_slow_start(net):
    conf, mask, block, time = batch_tensors()
    logits = net(conf, mask, block, time)
    assert logits.shape == (3, 8)
    assert 250_000 < sum(p.numel() for p in net.parameters()) < 400_000     # paper: ~300K
    assert net.out.bias.item() == pytest.approx(-2.0)
    probs = torch.sigmoid(logits)
    assert 0.03 < probs.mean().item() < 0.35                                  # sigmoid(-2) ~ 0.12: a slow start
    assert torch.all(net.ada[1].weight == 0)                                  # adaLN-zero: the block starts as identity


def test_log_prob_counts_only_actionable_positions():
    from rlvr_gym.agents.unmasking.policies import policy_log_prob

    logits = torch.tensor([[0.0, 2.0, -1.0, 5.0]])
    actions = torch.tensor([[1, 0, 0, 1]])
    allowed = torch.tensor([[True, True, True, False]])
    p = torch.sigmoid(logits)
    expected = torch.log(p[0, 0]) + torch.log(1 - p[0, 1]) + torch.log(1 - p[0, 2])
    assert policy_log_prob(logits, actions, allowed).item() == pytest.approx(expected.item(), rel=1e-5)
    expected_t = torch.log(torch.sigmoid(torch.tensor(0.0))) + torch.log(1 - torch.sigmoid(torch.tensor(1.0))) \
        + torch.log(1 - torch.sigmoid(torch.tensor(-0.5)))
    assert policy_log_prob(logits, actions, allowed, tau=2.0).item() == pytest.approx(expected_t.item(), rel=1e-5)


def test_checkpoint_round_trip_and_policy_agent(net, tmp_path):
    from rlvr_gym.agents.unmasking.policies import UnmaskingPolicyAgent, load_policy, save_policy

    path = save_policy(tmp_path / "p.pt", net, alpha=3.0, tau=0.5)
    loaded, meta = load_policy(path)
    assert meta["alpha"] == 3.0
    conf, mask, block, time = batch_tensors()
    assert torch.allclose(loaded(conf, mask, block, time), net(conf, mask, block, time))
    agent = load_agent(f"unmask:policy:{path}", seed=1)
    assert isinstance(agent, UnmaskingPolicyAgent) and agent.tau == 0.5       # the checkpoint's default tau
    for _ in range(10):
        picked = chosen(agent)
        assert picked and set(picked) <= {0, 2, 3}                            # never outside actionable positions
    greedy = UnmaskingPolicyAgent(loaded, greedy=True)                        # p ~ 0.12 < 0.5: nothing selected ...
    logits = loaded(conf, mask, block, time)[0].detach().numpy()
    assert chosen(greedy) == [int(np.argmax(np.where(actionable(OBS)[0], logits, -np.inf)))]  # ... -> top logit
    with pytest.raises(FileNotFoundError, match="train-policy"):
        load_policy(tmp_path / "missing.pt")
    torch.save({"something": 1}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an rlvr-gym"):
        load_policy(tmp_path / "other.pt")


# ---------------------------------------------------------------------------------------------- GRPO


def test_grpo_update_raises_the_probability_of_advantaged_actions(lm):
    from rlvr_gym.agents.unmasking.policies import PolicyConfig, policy_log_prob, policy_network
    from rlvr_gym.agents.unmasking.train import grpo_update, rollout_group
    from rlvr_gym.envs.unmasking.env import UnmaskingBatch
    from rlvr_gym.envs.unmasking.tasks import make_task

    task = make_task("addition")
    core = UnmaskingBatch(lm, task, 4, gen_length=8)
    net = policy_network(PolicyConfig(d_model=32, heads=2, ffn=64), seed=0)
    before = [p.detach().clone() for p in net.parameters()]
    roll = rollout_group(core, net, [task.item(0)] * 4, tau=1.0, generator=torch.Generator().manual_seed(0))
    batch = roll["batch"]
    assert batch["slot"].numel() == int(roll["nfe"].sum())                    # one record per decision (= NFE)
    advantages = np.array([1.0, -1.0, 0.0, 0.0])
    allowed = (batch["mask"] * batch["block"]).bool()

    def logp():
        with torch.no_grad():
            return policy_log_prob(net(batch["conf"], batch["mask"], batch["block"], batch["time"]),
                                   batch["action"], allowed)

    old = logp()
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4, weight_decay=0.0)
    stats = grpo_update(net, optimizer, batch, advantages, tau=1.0, clip_eps=0.5, iterations=1, grad_clip=0.2)
    assert np.isfinite(stats["loss"]) and 0.0 <= stats["clip_fraction"] <= 1.0
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))
    new = logp()
    # the surrogate sum_t A_t log pi(a_t|s_t) went up: advantaged decisions gained probability relative to the
    # disadvantaged ones (a small Adam step moves along sign(gradient), so this holds to first order)
    up, down = batch["slot"] == 0, batch["slot"] == 1
    assert (new - old)[up].sum() - (new - old)[down].sum() > 0


def test_train_policy_end_to_end_writes_checkpoint_and_metrics(lm, tmp_path):
    import json

    from rlvr_gym.agents.unmasking.policies import load_policy
    from rlvr_gym.agents.unmasking.train import TrainPolicyConfig, train_policy

    config = TrainPolicyConfig(gen_length=8, block_length=4, steps=2, prompts_per_step=2, group_size=2,
                               eval_items=4, eval_every=1, expert_steering=1, policy={"d_model": 16, "ffn": 32})
    final = train_policy(config, tmp_path / "run", lm=lm, log=None)
    assert set(final) >= {"accuracy", "mean_nfe", "mean_reward"} and 2 <= final["mean_nfe"] <= 8
    lines = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [x["step"] for x in lines if not x.get("eval")] == [1, 2]
    net, meta = load_policy(tmp_path / "run")
    assert meta["alpha"] == 1.0 and meta["block_length"] == 4 and meta["tau"] == 0.5   # semi-AR default tau
    assert (tmp_path / "run" / "training.png").is_file()
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["step1.pt", "step2.pt"]
