"""The engines users scale with, run for real (slow): verl's own dataset loader, reward-function loader and reward
manager on ``rlvr export verl`` parquet; Prime Intellect verifiers' taskset scoring for every text env id, and its
evaluation (``vf-eval``) of the tiny model served by ``rlvr serve`` on 127.0.0.1. Every reward is checked against
``env.step`` on the same response.

verl and verifiers pin versions this project's environment cannot share (verl 0.9 wants transformers < 5.11), so
each runs in its own Python environment with this checkout installed there:

    python -m venv /tmp/verl && /tmp/verl/bin/pip install torch==2.13.0 verl && \\
        /tmp/verl/bin/pip install --no-deps -e . && /tmp/verl/bin/pip install gymnasium ortools math-verify rich
    python -m venv /tmp/vf && /tmp/vf/bin/pip install verifiers uv gymnasium ortools rich && \\
        /tmp/vf/bin/pip install --no-deps -e . -e environments/rlvr_gym_env
    RLVR_VERL_PYTHON=/tmp/verl/bin/python RLVR_VERIFIERS_PYTHON=/tmp/vf/bin/python pytest -m slow tests/test_engines.py

A test is skipped, with the reason, where its variable is not set (and this interpreter lacks the package) or the
environment it names cannot import the engine and this checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import rlvr_gym  # noqa: F401
from rlvr_gym.envs.registration import make_env

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
CHECKS = ROOT / "tests" / "engines"


def _engine_python(variable: str, module: str, tmp_path: Path) -> str:
    """The interpreter that has ``module`` and this checkout's rlvr_gym, or skip saying why."""
    candidates = [os.environ[variable]] if os.environ.get(variable) else [sys.executable]
    python = candidates[0]
    try:
        probe = subprocess.run([python, "-c", f"import {module}, rlvr_gym; print(rlvr_gym.__file__)"], cwd=tmp_path,
                               capture_output=True, text=True, timeout=300)
    except OSError as exc:
        pytest.skip(f"{variable}={python} cannot run: {exc}")
    if probe.returncode != 0:
        reason = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else "import failed"
        pytest.skip(f"{module} is not usable from {python} ({reason}); set {variable} (see this file's docstring)")
    if not Path(probe.stdout.strip()).resolve().is_relative_to(ROOT):
        pytest.skip(f"rlvr_gym in {python} is not this checkout ({probe.stdout.strip()}): pip install --no-deps -e .")
    return python


def _run(cmd: list[str], cwd: Path, timeout: int, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert done.returncode == 0, f"{cmd[:3]} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _text_ids() -> list[str]:
    from test_reward_parity import TEXT_IDS

    return TEXT_IDS


# ---------------------------------------------------------------------------------------------------------------
# verl


def test_verl_reads_the_export_and_its_reward_manager_scores_like_step(tmp_path):
    python = _engine_python("RLVR_VERL_PYTHON", "verl", tmp_path)
    from test_reward_parity import engine_cases

    from rlvr_gym.agents.lm.models import resolve_model
    from rlvr_gym.envs.interop.verl import verl_row, write_verl_parquet

    rows, responses, ids = [], [], []
    for env_id in _text_ids():
        names = make_env(env_id).unwrapped.reward_column_names
        cases = [c for c in engine_cases(env_id, {}) if len(c["replies"]) == 1]
        rows.append(verl_row(cases[0]["row"], split="test", ability="x", reward_column_names=names))
        responses.append([c["replies"][0] for c in cases])
        ids.append(env_id)
    write_verl_parquet(rows, tmp_path / "all.parquet")
    (tmp_path / "responses.json").write_text(json.dumps(responses), encoding="utf-8")
    _run([python, str(CHECKS / "verl_check.py"), "--parquet", str(tmp_path / "all.parquet"),
          "--tokenizer", str(resolve_model("tiny-random")), "--responses", str(tmp_path / "responses.json"),
          "--out", str(tmp_path / "report.json")], tmp_path, timeout=600)
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["verl_version"].startswith("0.")
    assert len(report["rows"]) == len(rows)
    checked = 0
    for env_id, row, got in zip(ids, rows, report["rows"]):
        # verl's RLHFDataset hands the reward what we wrote
        assert got["data_source"] == row["data_source"] == f"rlvr_gym/{env_id}"
        assert got["raw_prompt"] == row["prompt"] and got["reward_model"] == row["reward_model"]
        assert {k: got["extra_info"][k] for k in row["extra_info"]} == row["extra_info"]
        env = make_env(env_id, **({"max_attempts": 1} if make_env(env_id).unwrapped.multi_turn else {}))
        for scored in got["scored"]:
            env.reset(seed=row["extra_info"]["seed"])
            step = env.step(scored["decoded"])[1]          # the response verl decoded from token ids
            assert scored["reward"] == scored["file_reward"] == step, (env_id, scored)
            checked += 1
    assert checked >= 3 * len(rows)
    assert any(s["reward"] == 1.0 for r in report["rows"] for s in r["scored"])


# ---------------------------------------------------------------------------------------------------------------
# Prime Intellect verifiers


def test_verifiers_taskset_reward_equals_step_for_every_text_env(tmp_path):
    python = _engine_python("RLVR_VERIFIERS_PYTHON", "verifiers.v1", tmp_path)
    from test_reward_parity import VARIANTS, engine_cases

    cases = [c for env_id in _text_ids() for c in engine_cases(env_id, {})]
    cases += [c for env_id, kwargs in VARIANTS for c in engine_cases(env_id, kwargs)]
    (tmp_path / "cases.json").write_text(json.dumps([{"row": c["row"], "replies": c["replies"]} for c in cases]),
                                         encoding="utf-8")
    _run([python, str(CHECKS / "verifiers_check.py"), "--cases", str(tmp_path / "cases.json"),
          "--out", str(tmp_path / "rewards.json")], tmp_path, timeout=600)
    rewards = json.loads((tmp_path / "rewards.json").read_text(encoding="utf-8"))["rewards"]
    assert rewards == [c["step"] for c in cases]
    assert {c["row"]["env_id"] for c in cases} >= set(_text_ids()) and max(rewards) >= 1.0


@pytest.fixture
def vf_python(tmp_path) -> str:
    """The interpreter with verifiers and the rlvr-gym-env taskset package (or skip)."""
    return _engine_python("RLVR_VERIFIERS_PYTHON", "verifiers.v1, rlvr_gym_env", tmp_path)


@pytest.fixture
def rlvr_server(tmp_path, vf_python):
    """``rlvr serve tiny-random --port 0`` on 127.0.0.1 in a subprocess (this environment), killed at the end."""
    log = (tmp_path / "serve.log").open("w+", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "rlvr_gym.cli.main", "serve", "tiny-random", "--port", "0",
                             "--max-tokens", "24", "--threads", "1"], stdout=log, stderr=subprocess.STDOUT,
                            cwd=tmp_path)
    try:
        deadline = time.monotonic() + 180
        url = None
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
            log.seek(0)
            for line in log.read().splitlines():
                if line.startswith("serving ") and " at http" in line:
                    url = line.split(" at ", 1)[1].split(" ", 1)[0]
        assert url is not None, f"rlvr serve did not start:\n{(tmp_path / 'serve.log').read_text()[-2000:]}"
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
        log.close()


def _traces(out: Path) -> list[dict]:
    (path,) = list(out.glob("*/traces.jsonl"))
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("env_id,n,kwargs", [("Math-v0", 3, {"levels": [1, 2]}), ("TemporalClue-Easy-v0", 1, {}),
                                             ("TemporalClue-Feedback-v0", 2, {})])
def test_verifiers_evaluation_against_rlvr_serve(tmp_path, vf_python, rlvr_server, env_id, n, kwargs):
    python = vf_python
    vf_eval = Path(python).parent / "vf-eval"
    env = dict(os.environ, RLVR_TEST_KEY="unused", PATH=f"{Path(python).parent}{os.pathsep}{os.environ['PATH']}")
    _run([str(vf_eval), "rlvr-gym-env", "--env.taskset.env-id", env_id, "--env.taskset.n", str(n),
          "--env.taskset.env-kwargs", json.dumps(kwargs), "--env.agent.harness.id", "null",
          "--env.agent.runtime.type", "subprocess", "-m", "tiny-random", "--client.base-url", rlvr_server,
          "--client.api-key-var", "RLVR_TEST_KEY", "--sampling.max-tokens", "24", "--no-push", "--no-rich",
          "-o", str(tmp_path / "out")], tmp_path, timeout=540, env=env)
    episodes = _traces(tmp_path / "out")
    assert len(episodes) == n
    for episode in episodes:
        (trace,) = episode["traces"]
        data = trace["task"]["data"]
        assert (data["env_id"], json.loads(data["env_kwargs"])) == (env_id, kwargs)
        messages = [node["message"] for node in trace["nodes"]]
        replies = [m["content"] for m in messages if m["role"] == "assistant"]
        assert replies and all(isinstance(r, str) for r in replies)
        stepped = make_env(env_id, **kwargs)
        stepped.reset(seed=data["seed"])
        total, feedback = 0.0, []
        for reply in replies:                                   # the saved completions, stepped afresh
            _, reward, terminated, truncated, info = stepped.step(reply)
            total += reward
            if terminated or truncated:
                break
            feedback.append(info["feedback"])
        assert terminated or truncated
        assert trace["rewards"]["env_reward"]["score"] == total
        users = [m["content"] for m in messages if m["role"] == "user"]
        assert users[1:] == feedback                            # the env's feedback was the next user turn
        if not stepped.unwrapped.multi_turn:
            assert len(replies) == 1
