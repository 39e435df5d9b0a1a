"""Unmasking-v0: spaces (check_env), reward formula, NFE accounting, block semantics, the batched vector env,
the tasks, and `rlvr eval` on it. The backbone is a tiny BERT masked LM built from a config (untrained:
these tests are about the decoding mechanics, not about answers being right)."""

import json

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import rlvr_gym  # noqa: F401  (registers Unmasking-v0)
from rlvr_gym.envs.unmasking.env import UnmaskingEnv, UnmaskingVectorEnv, unmasking_reward
from rlvr_gym.envs.unmasking.tasks import AdditionTask, MathEasyTask, TaskItem, make_task

pytest.importorskip("torch")
pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, lm):
    path = tmp_path_factory.mktemp("dllm") / "tiny"
    lm.model.save_pretrained(path)
    lm.tokenizer.save_pretrained(path)
    return path


def play(env, policy, **reset_kwargs):
    obs, info = env.reset(**reset_kwargs)
    steps, done = 0, False
    while not done:
        obs, reward, done, truncated, step_info = env.step(policy(obs))
        steps += 1
        assert not truncated
    return reward, step_info, steps


# ---------------------------------------------------------------------------------------------- spaces


def test_check_env_passes(lm):
    check_env(UnmaskingEnv(model=lm, gen_length=8, block_length=4), skip_render_check=True)
    check_env(UnmaskingEnv(model=lm, gen_length=8, include_tokens=True), skip_render_check=True)


def test_gym_make_and_observation_layout(lm):
    env = gym.make("Unmasking-v0", model=lm, gen_length=8, block_length=4)
    obs, info = env.reset(seed=0)
    assert set(obs) == {"confidence", "mask", "block", "time"}
    assert obs["mask"].tolist() == [1] * 8
    assert obs["block"].tolist() == [1, 1, 1, 1, 0, 0, 0, 0]
    assert obs["time"].tolist() == [0.0]
    assert env.observation_space.contains(obs)
    assert info["prompt"].endswith("=") and info["answer"].isdigit()


# ---------------------------------------------------------------------------------------------- reward


def test_reward_formula():
    assert unmasking_reward(True, 1, 8, alpha=1.0) == pytest.approx(1.0)          # (8 - 1 + 1) / 8
    assert unmasking_reward(True, 8, 8, alpha=1.0) == pytest.approx(1 / 8)
    assert unmasking_reward(True, 4, 8, alpha=2.0) == pytest.approx((5 / 8) ** 2)
    assert unmasking_reward(True, 20, 8, alpha=1.0) == pytest.approx(1 / 8)       # NFE capped at L
    assert unmasking_reward(True, 5, 8, alpha=0.0) == 1.0
    assert unmasking_reward(False, 1, 8, alpha=1.0) == 0.0
    assert unmasking_reward(True, 4, 8, alpha=0.5, form="additive") == pytest.approx(1 - 0.5 * 4 / 8)
    assert unmasking_reward(False, 4, 8, alpha=0.5, form="additive") == pytest.approx(-0.25)
    with pytest.raises(ValueError, match="reward form"):
        unmasking_reward(True, 1, 8, 1.0, form="mult")


def test_reward_end_to_end_with_a_known_answer(lm):
    """Decode once left to right, then replay the same prompt with that text as the gold answer: the
    decoding is deterministic, so the episode is correct and the reward follows the formula."""
    env = UnmaskingEnv(model=lm, gen_length=8, alpha=2.0)
    one_at_a_time = lambda obs: np.eye(8, dtype=np.int8)[int(np.argmax(obs["mask"]))]  # noqa: E731
    reward, info, steps = play(env, one_at_a_time, options={"prompt": "12+34=", "answer": "46"})
    assert steps == 8 and info["nfe"] == 8 and info["correct"] is (info["text"].strip() == "46")
    text = info["text"]
    if not text.strip():
        pytest.skip("the random model decoded only end-of-sequence tokens")
    reward, info, _ = play(env, one_at_a_time, options={"prompt": "12+34=", "answer": text.strip()})
    assert info["correct"] is True and info["text"] == text
    assert reward == pytest.approx(((8 - 8 + 1) / 8) ** 2)


def test_additive_ablation_pays_for_unmasking_everything_at_once(lm):
    env = UnmaskingEnv(model=lm, gen_length=8, reward_form="additive", alpha=1.0)
    reward, info, steps = play(env, lambda obs: np.ones(8, dtype=np.int8), seed=3)
    assert steps == 1 and info["nfe"] == 1
    assert reward == pytest.approx(float(info["correct"]) - 1 / 8)


# ---------------------------------------------------------------------------------------------- NFE, blocks


def test_one_forward_per_step(lm):
    env = UnmaskingEnv(model=lm, gen_length=8, block_length=4)
    rng = np.random.default_rng(0)
    for seed in range(3):
        before = env.core.forward_calls
        reward, info, steps = play(env, lambda obs: rng.integers(0, 2, 8), seed=seed)
        assert info["nfe"] == steps == env.core.forward_calls - before  # reset's forward + one per non-final step
        assert 2 <= steps <= 8                                           # two blocks, at least one step each


def test_positions_outside_the_block_are_never_unmasked(lm):
    env = UnmaskingEnv(model=lm, gen_length=8, block_length=4)
    obs, _ = env.reset(seed=1)
    obs, _, done, _, info = env.step(np.ones(8, dtype=np.int8))     # select everything
    assert obs["mask"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]          # only the first block was decoded
    assert obs["block"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1]          # and the block advanced
    assert info["unmasked"] == [0, 1, 2, 3] and not done
    obs, _, done, _, info = env.step(np.array([1, 1, 1, 1, 0, 0, 0, 0]))  # only old-block positions: empty
    assert len(info["unmasked"]) == 1 and info["unmasked"][0] >= 4


def test_empty_action_unmasks_the_most_confident_position_of_the_block(lm):
    env = UnmaskingEnv(model=lm, gen_length=8, block_length=4)
    obs, _ = env.reset(seed=2)
    best = int(np.argmax(np.where(obs["block"] == 1, obs["confidence"], -1)))
    obs2, _, _, _, info = env.step(np.zeros(8, dtype=np.int8))
    assert info["unmasked"] == [best]
    assert obs2["mask"].sum() == 7 and obs2["confidence"][best] == 1.0
    assert obs2["time"][0] == pytest.approx(1 / 8)


def test_bad_arguments_are_clear_errors(lm):
    with pytest.raises(ValueError, match="divides"):
        UnmaskingEnv(model=lm, gen_length=8, block_length=3)
    with pytest.raises(ValueError, match="reward_form"):
        UnmaskingEnv(model=lm, reward_form="sum")
    with pytest.raises(TypeError, match="model must be"):
        UnmaskingEnv(model=42)
    env = UnmaskingEnv(model=lm, gen_length=8)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(8))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="MultiBinary"):
        env.step(np.zeros(5))


def test_missing_default_model_says_how_to_make_it(monkeypatch, tmp_path):
    from rlvr_gym.envs.unmasking.dllm import DiffusionLMNotFound

    monkeypatch.setenv("RLVR_GYM_CACHE", str(tmp_path))
    with pytest.raises(DiffusionLMNotFound, match="rlvr dllm pretrain"):
        UnmaskingEnv()


# ---------------------------------------------------------------------------------------------- vector env


def test_vector_env_equals_single_envs_with_one_forward_per_step(lm):
    n, length = 3, 8
    venv = UnmaskingVectorEnv(num_envs=n, model=lm, gen_length=length, block_length=4)
    singles = [UnmaskingEnv(model=lm, gen_length=length, block_length=4) for _ in range(n)]
    vobs, vinfo = venv.reset(seed=10)
    sobs = [env.reset(seed=10 + i)[0] for i, env in enumerate(singles)]
    assert list(vinfo["prompt"]) == [env._item.prompt for env in singles]
    for i in range(n):
        np.testing.assert_allclose(vobs["confidence"][i], sobs[i]["confidence"], atol=1e-5)
    rng = np.random.default_rng(0)
    finished = np.zeros(n, dtype=bool)
    results = [None] * n
    while not finished.all():
        actions = rng.integers(0, 2, (n, length)).astype(np.int8)
        calls = venv.core.forward_calls
        vobs, vrew, vterm, _, vinf = venv.step(actions)
        assert venv.core.forward_calls - calls <= 1          # ONE batched forward for every sub-env
        for i, env in enumerate(singles):
            if finished[i]:
                continue
            obs, reward, term, _, info = env.step(actions[i])
            assert term == vterm[i] and reward == pytest.approx(vrew[i])
            if term:
                finished[i] = True
                results[i] = info
                assert vinf["text"][i] == info["text"] and vinf["nfe"][i] == info["nfe"]
            else:
                np.testing.assert_allclose(vobs["confidence"][i], obs["confidence"], atol=1e-5)
                assert (vobs["mask"][i] == obs["mask"]).all()


def test_vector_env_autoresets_on_the_next_step(lm):
    venv = UnmaskingVectorEnv(num_envs=2, model=lm, gen_length=4)
    venv.reset(seed=0)
    obs, rew, term, _, _ = venv.step(np.ones((2, 4), dtype=np.int8))       # everything at once: both end
    assert term.all() and venv.core.nfe.tolist() == [1, 1]
    obs, rew, term, _, info = venv.step(np.ones((2, 4), dtype=np.int8))    # ignored: the sub-envs restart
    assert not term.any() and rew.tolist() == [0.0, 0.0]
    assert obs["mask"].sum() == 8 and venv.core.nfe.tolist() == [0, 0]
    assert "prompt" in info


def test_make_vec_uses_the_batched_vector_env(lm):
    venv = gym.make_vec("Unmasking-v0", num_envs=2, vectorization_mode="vector_entry_point", model=lm, gen_length=4)
    assert isinstance(venv.unwrapped, UnmaskingVectorEnv)
    obs, _ = venv.reset(seed=0)
    assert obs["confidence"].shape == (2, 4) and venv.observation_space.contains(obs)


# ---------------------------------------------------------------------------------------------- tasks


def test_addition_task_is_addressable_and_strict():
    task = AdditionTask(max_digits=3, seed=1)
    a, b = task.item(5), AdditionTask(max_digits=3, seed=1).item(5)
    assert a == b and a.prompt == f"{a.meta['a']}+{a.meta['b']}=" and a.answer == str(a.meta["a"] + a.meta["b"])
    assert task.verify(a, a.answer) and task.verify(a, f" {a.answer} ")
    assert not task.verify(a, a.answer + "0") and not task.verify(a, f"{a.answer} or 1")
    assert any(len(task.item(i).answer) > max(len(str(task.item(i).meta["a"])), len(str(task.item(i).meta["b"])))
               for i in range(50))                                          # carries into a new digit happen
    with pytest.raises(ValueError):
        make_task("addition:x")
    padded = make_task("addition-pad:3").item(5)
    assert padded.meta == a.meta and padded.prompt == f"{a.meta['a']:03d}+{a.meta['b']:03d}="
    assert padded.answer == f"{int(a.answer):04d}"


def test_permute_task_accepts_every_ordering_and_nothing_else():
    from itertools import permutations

    task = make_task("permute")
    item = task.item(7)
    letters = item.meta["letters"]
    assert item.prompt == letters + "=" and 3 <= len(letters) <= 5 and len(set(letters)) == len(letters)
    assert task.item(7) == make_task("permute").item(7) and task.verify(item, item.answer)
    assert all(task.verify(item, "".join(p)) for p in permutations(letters))
    for wrong in (letters[0] * len(letters), letters[:-1], letters + letters[0], letters[::-1].upper(), ""):
        assert not task.verify(item, wrong), wrong


def test_split_task_accepts_every_split_and_nothing_else():
    task = make_task("split")
    item = task.item(3)
    n = item.meta["n"]
    assert item.prompt == f"{n}=" and task.verify(item, item.answer)
    assert all(task.verify(item, f"{a}+{n - a}") for a in range(n + 1))
    for wrong in (f"{n}+1", f"0{n}+0", f"{n}", f"{n}+0+0", f"{n}-0", ""):
        assert not task.verify(item, wrong), wrong
    assert task.verify(TaskItem(id="c", prompt="5=", answer="2+3"), "5+0")     # custom items: the total counts


def test_math_easy_task_uses_the_math_verifier():
    task = make_task("math-easy")
    assert isinstance(task, MathEasyTask) and task.levels == (1,)
    item = task.item(0)
    assert task.verify(item, item.answer) and not task.verify(item, item.answer + "x")
    assert not task.verify(item, "")
    custom = TaskItem(id="x", prompt="What is 1/2 + 1/4? Answer:", answer="3/4")
    assert task.verify(custom, "0.75")


# ---------------------------------------------------------------------------------------------- rlvr eval


def test_rlvr_eval_steps_until_done_and_reports_mean_nfe(model_dir, tmp_path, capsys):
    from rlvr_gym.cli.main import main

    kwargs = json.dumps({"model": str(model_dir), "gen_length": 8, "block_length": 4})
    code = main(["eval", "Unmasking-v0", "--agent", "unmask:topk:4", "--env-kwargs", kwargs, "-n", "3",
                 "--out", str(tmp_path / "run"), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["mean_nfe"] == pytest.approx(4.0)   # 2 blocks x 2 steps of 2 tokens
    assert 0.0 <= summary["correct_fraction"] <= 1.0
    rows = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert [r["steps"] for r in rows] == [4, 4, 4] and all(r["prompt"].endswith("=") for r in rows)
    assert all(isinstance(r["response"], str) for r in rows)
