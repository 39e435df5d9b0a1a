"""A GRPO run as a user meets it: a finished run re-run is reported and changes nothing (extending it takes an
explicit larger --max-steps), a mistake is reported before the model loads and leaves no folder, the run warns when
its groups carry no learning signal, and it prints the command that evaluates what it trained."""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path

import pytest

from rlvr_gym.agents.grpo import TrainConfig
from rlvr_gym.agents.grpo.checks import no_signal_warning

pytestmark = pytest.mark.usefixtures("one_torch_thread")   # tests/conftest.py

TINY_FLAGS = ["--env", "Math-Easy-v0", "--model", "tiny-random", "--lora-r", "4", "--train-size", "8",
              "--eval-size", "2", "--max-completion-length", "8", "--batch-size", "4", "--num-generations", "2",
              "--max-steps", "2", "--save-steps", "1", "--eval-batch-size", "4", "--no-progress", "--no-plots"]


# ----- the no-signal rule, as a pure function ------------------------------------------------------------------
def _rows(fracs, reward=0.0):
    return [{"step": i + 1, "frac_reward_zero_std": f, "reward": reward} for i, f in enumerate(fracs)]


def test_no_signal_rule():
    assert no_signal_warning(_rows([1.0] * 4)) is None                      # fewer steps than the window
    message = no_signal_warning(_rows([1.0] * 5))
    assert message and "no learning signal" in message and "100%" in message
    assert "easier env or level" in message and "--num-generations" in message and "last_number" in message
    assert "too easy" in no_signal_warning(_rows([1.0] * 5, reward=1.0))
    mixed = no_signal_warning(_rows([0.9] * 5, reward=0.5))
    assert mixed and "--temperature" in mixed
    assert no_signal_warning(_rows([1.0, 1.0, 1.0, 1.0, 0.5])) is not None  # 90% over the window
    assert no_signal_warning(_rows([1.0, 1.0, 1.0, 0.7, 0.7])) is None      # 88% < 90%
    assert no_signal_warning(_rows([0.2] * 20 + [1.0] * 5)) is not None     # the last steps count
    assert no_signal_warning(_rows([1.0] * 20 + [0.5] * 5)) is None
    assert no_signal_warning([{"step": 1, "loss": 0.1}] * 10) is None        # no such metric: no verdict


# ----- a whole tiny run through the CLI -------------------------------------------------------------------------
def _tree_digest(root: Path) -> dict[str, tuple[str, int]]:
    return {str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def _rlvr(capsys, *args) -> tuple[int, str, str]:
    from rlvr_gym.cli.main import main

    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_finished_run_is_reported_not_trained_again_and_extends_on_request(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    out = tmp_path / "run"
    code, stdout, stderr = _rlvr(capsys, "train", *TINY_FLAGS, "--out", str(out))
    assert code == 0, stderr
    result = json.loads((out / "result.json").read_text())
    assert result["steps"] == 2 and not result["reported"]

    # tiny-random answers nothing right: every group is all-wrong, and the run says so once, with what to change
    assert "no learning signal" in stderr and stderr.count("no learning signal") == 1
    assert any("no learning signal" in note for note in result["notes"])
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r.get("no_signal_warning") for r in rows] == [None, 1.0]

    # the printed command evaluates final/ on the run's held-out episodes and gets the run's after-accuracy
    command = next(line.strip() for line in stdout.splitlines() if line.strip().startswith("rlvr eval"))
    words = shlex.split(command)
    assert words[:4] == ["rlvr", "eval", "Math-Easy-v0", "--agent"] and words[4] == f"hf:{out}/final"
    code, eval_out, eval_err = _rlvr(capsys, *words[1:], "--json")
    assert code == 0, eval_err
    summary = json.loads(eval_out.strip().splitlines()[-1])
    assert summary["episodes"] == 2
    assert summary["solved_fraction"] == result["eval_after"]["accuracy"]

    # a re-run (as scripts/main.sh does it, with --resume; or the same command again) reports and touches nothing
    before = _tree_digest(out)
    for extra in (["--resume"], []):
        code, stdout, stderr = _rlvr(capsys, "train", *TINY_FLAGS, "--out", str(out), *extra)
        assert code == 0, stderr
        assert "finished run" in stdout and "nothing was changed" in " ".join(stdout.split())
        assert _tree_digest(out) == before
    code, _, stderr = _rlvr(capsys, "train", *TINY_FLAGS, "--out", str(out), "--learning-rate", "0.1")
    assert code == 2 and "finished run with other settings" in stderr and "learning_rate" in stderr
    assert _tree_digest(out) == before

    # a larger --max-steps with --resume extends it
    code, stdout, stderr = _rlvr(capsys, "train", *TINY_FLAGS, "--out", str(out), "--resume", "--max-steps", "3")
    assert code == 0, stderr
    assert [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3]
    extended = json.loads((out / "result.json").read_text())
    assert extended["steps"] == 3 and extended["resumed_from"].endswith("checkpoint-2")
    heldout = [json.loads(line) for line in (out / "heldout.jsonl").read_text().splitlines()]
    assert [(h["name"], h["step"]) for h in heldout] == [("eval_before", 0), ("eval_after", 3)]


# ----- mistakes cost seconds and leave nothing --------------------------------------------------------------------
@pytest.mark.parametrize("flags, message", [
    (["--env", "Math-Esay-v0"], "unknown env id 'Math-Esay-v0'"),
    (["--env", "Math-v0", "--env-kwargs", '{"Math-v0": {"levle": 1}}'], "has no option 'levle'"),
    (["--env", "Math-v0", "--eval-env-kwargs", '{"Math-v0": {"split": "tset"}}'], "tset"),
    (["--env", "Math-v0", "--env-kwargs", '{"Math-v1": {"levels": [1]}}'], "Math-v1"),
    (["--model", "./no/such/model"], "does not exist"),
    (["--grpo", "epsilon_hihg=0.3"], "epsilon_high"),
])
def test_a_mistake_is_reported_before_the_model_loads_and_leaves_no_folder(tmp_path, capsys, monkeypatch, flags,
                                                                            message):
    from rlvr_gym.agents.lm import models

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded before the mistake was found")

    monkeypatch.setattr(models, "load_model", no_loading)
    monkeypatch.setattr("rlvr_gym.agents.grpo.run.load_model", no_loading)
    out = tmp_path / "run"
    args = ["train", "--model", "tiny-random", "--max-steps", "1", "--out", str(out), *flags]
    code, _, stderr = _rlvr(capsys, *args)
    assert code == 2 and message in " ".join(stderr.split()) and "Traceback" not in stderr, stderr
    assert not out.exists()


def test_a_run_that_fails_while_setting_up_removes_its_folder(tmp_path):
    from rlvr_gym.agents.grpo import train

    out = tmp_path / "run"
    with pytest.raises(ValueError, match="nosuch_proj"):
        train(TrainConfig(env=["Math-Easy-v0"], model="tiny-random", target_modules=["nosuch_proj"], out=str(out),
                          train_size=4, eval_size=0, max_steps=1, per_device_train_batch_size=4, num_generations=2,
                          max_completion_length=4, progress=False, plots=False))
    assert not out.exists()


def test_grpo_option_errors_point_to_a_list_that_exists(capsys):
    code, stdout, stderr = _rlvr(capsys, "train", "--list-grpo-options")
    assert code == 0 and "epsilon_high" in stdout and "num_generations" in stdout
    code, _, stderr = _rlvr(capsys, "train", "--grpo", "foo=1", "--out", "/nonexistent/never")
    assert code == 2 and "rlvr train --list-grpo-options" in stderr
