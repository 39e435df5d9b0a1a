"""One CLI grammar: the same option has the same name in every command (--out, --max-steps, --learning-rate,
--resume), older spellings keep working unseen, every option says what it does, ``rlvr envs`` lists what the envs
take, and errors name what the user typed."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest

from rlvr_gym.cli.main import SUBCOMMANDS, build_parser


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def _all_parsers():
    """(name, parser) for every subcommand and every nested action (rlvr dllm pretrain, ...)."""
    for name in SUBCOMMANDS:
        todo = [(name, _subparser(build_parser(name), name))]
        while todo:
            label, parser = todo.pop()
            yield label, parser
            for action in parser._actions:
                if isinstance(action, argparse._SubParsersAction):
                    todo.extend((f"{label} {sub}", p) for sub, p in action.choices.items())


PARSERS = dict(_all_parsers())
TRAINERS = {"train": ("train",), "pretrain": ("pretrain",), "dllm pretrain": ("dllm", "pretrain"),
            "dllm train-policy": ("dllm", "train-policy")}


@pytest.mark.parametrize("label", sorted(PARSERS))
def test_every_option_says_what_it_does(label):
    missing = [a.option_strings or a.dest for a in PARSERS[label]._actions
               if not isinstance(a, (argparse._HelpAction, argparse._SubParsersAction))
               and a.help != argparse.SUPPRESS and not (a.help or "").strip()]
    assert missing == [], f"rlvr {label}: options without help text: {missing}"


@pytest.mark.parametrize("label", sorted(TRAINERS))
def test_trainers_share_one_grammar_and_keep_the_old_spellings(label):
    parser = PARSERS[label]
    shown = parser.format_help()
    for flag in ("--out", "--max-steps", "--learning-rate"):
        assert flag in shown, f"rlvr {label} has no {flag}"
    for old in ("--output-dir", "--steps ", "--lr "):
        assert old not in shown, f"rlvr {label} still shows {old.strip()}"
    required = ["--out", "d"] if label == "dllm train-policy" else []
    new = parser.parse_args([*required, "--out", "d", "--max-steps", "7", "--learning-rate", "0.5"])
    old_flags = {"pretrain": ["--output-dir", "d", "--max-steps", "7", "--lr", "0.5"],
                 "train": ["--out", "d", "--max-steps", "7", "--learning-rate", "0.5"],
                 "dllm pretrain": ["--out", "d", "--steps", "7", "--lr", "0.5"],
                 "dllm train-policy": ["--out", "d", "--steps", "7", "--lr", "0.5"]}[label]
    old = parser.parse_args(old_flags)
    assert vars(new) == vars(old)


@pytest.mark.parametrize("label", ["train", "pretrain"])
def test_resume_alone_continues_the_run_in_out(label):
    args = PARSERS[label].parse_args(["--out", "runs/x", "--resume"])
    assert args.resume in (True, "auto")


def test_pretrain_reads_the_train_names_in_yaml_too(tmp_path):
    from rlvr_gym.agents.pretrain.trainer import PretrainConfig

    config = PretrainConfig.from_dict({"out": "runs/p", "learning_rate": 0.01, "method": "baseline"})
    assert (config.output_dir, config.lr) == ("runs/p", 0.01)
    yaml_file = tmp_path / "p.yaml"
    yaml_file.write_text("out: runs/from-yaml\nlr: 0.5\nmethod: baseline\nresume: true\n")
    config = PretrainConfig.from_yaml(yaml_file, output_dir="runs/flag").validate()
    assert (config.output_dir, config.lr, config.resume) == ("runs/flag", 0.5, "auto")
    with pytest.raises(ValueError, match="same setting"):
        PretrainConfig.from_dict({"out": "a", "output_dir": "b"})


def test_dllm_options_reach_their_configs():
    from rlvr_gym.agents.unmasking.dllm_pretrain import PretrainConfig
    from rlvr_gym.agents.unmasking.train import TrainPolicyConfig
    from rlvr_gym.cli.common import config_overrides

    args = PARSERS["dllm pretrain"].parse_args(["--steps", "3", "--tasks", "addition,permute", "--weighting", "1/t",
                                                "--model-json", '{"hidden_size": 32}'])
    config = PretrainConfig(**config_overrides(args, PretrainConfig))
    config.validate()
    assert (config.steps, config.tasks, config.weighting, config.model) == (3, ("addition", "permute"), "1/t",
                                                                           {"hidden_size": 32})
    args = PARSERS["dllm train-policy"].parse_args(["--out", "o", "--max-steps", "4", "--block-length", "4",
                                                    "--policy-json", '{"d_model": 16}'])
    config = TrainPolicyConfig(**config_overrides(args, TrainPolicyConfig))
    assert (config.steps, config.block_length, config.policy, config.lr) == (4, 4, {"d_model": 16}, 1e-3)


def _rlvr(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "rlvr_gym.cli.main", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_rlvr_envs_lists_every_id_with_its_options_and_imports_nothing_heavy():
    from rlvr_gym.envs.registration import rlvr_env_ids

    code = ("import sys, json\nfrom rlvr_gym.cli.main import main\nmain(['envs', '--json'])\n"
            "print(json.dumps([m for m in ('torch', 'transformers', 'trl') if m in sys.modules]))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    *listing, heavy = result.stdout.strip().splitlines()
    assert json.loads(heavy) == []
    envs = {e["id"]: e for e in json.loads("\n".join(listing))}
    assert sorted(envs) == rlvr_env_ids()
    assert all(e["description"] for e in envs.values())
    assert envs["Math-Easy-v0"]["options"]["levels"] == [1, 2, 3] and envs["Math-v0"]["options"]["limit"] is None
    assert envs["TemporalClue-Hard-v0"]["options"]["preset"] == "hard"
    assert envs["TemporalClue-Feedback-v0"]["options"]["max_attempts"] == 3
    assert "grading" in envs["TemporalClue-Feedback-v0"]["options"]         # passed on to the inner env

    text = _rlvr("envs")
    assert text.returncode == 0 and "TemporalClue-Feedback-v0" in text.stdout and "options:" in text.stdout
    one = _rlvr("envs", "Math-v0")
    assert one.returncode == 0 and "    last_number = False" in one.stdout


@pytest.mark.parametrize("args, says, never", [
    (["eval", "Math-v0", "--agent", "random", "--puzzles", "val.json"], "--env-kwargs '{\"source\": \"val.json\"}'",
     "__init__"),
    (["eval", "Math-v0", "--agent", "random", "--env-kwargs", '{"levle": 1}'], "levels", "__init__"),
    (["eval", "TemporalClue-v0", "--agent", "random", "--env-kwargs", '{"player": 3}'], "players", "__init__"),
    (["envs", "Math-v9"], "unknown env id 'Math-v9'", "Traceback"),
])
def test_errors_name_what_the_user_typed(args, says, never):
    result = _rlvr(*args)
    assert result.returncode == 2 and says in result.stderr and never not in result.stderr, result.stderr
