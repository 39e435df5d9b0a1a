"""Every example runs as its docstring says and shows something; the README's python: agent spec works from the
repository root with the installed ``rlvr`` command (not only with ``python -m``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RLVR = Path(sys.executable).parent / "rlvr"       # the console script, as a user runs it


def _run(args, cwd=ROOT, timeout=300) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


def test_my_agent_example_prints_what_it_did():
    result = _run([sys.executable, "examples/my_agent.py"])
    assert result.returncode == 0, result.stderr
    assert "the agent answered" in result.stdout and "mean reward" in result.stdout


@pytest.mark.skipif(not RLVR.is_file(), reason="the rlvr console script is not installed next to this python")
@pytest.mark.parametrize("spec", ["python:examples.my_agent:FirstCandidateAgent",
                                  "python:examples/my_agent.py:FirstCandidateAgent"])
def test_the_readme_agent_spec_works_from_the_repository_root(spec):
    result = _run([str(RLVR), "eval", "TemporalClue-Easy-v0", "--agent", spec, "-n", "2", "--json"])
    assert result.returncode == 0, result.stderr
    assert '"episodes": 2' in result.stdout.strip().splitlines()[-1]


def test_a_module_that_is_nowhere_is_reported_with_where_it_was_looked_for(tmp_path):
    result = _run([sys.executable, "-m", "rlvr_gym.cli.main", "eval", "TemporalClue-Easy-v0", "--agent",
                   "python:examples.my_agent:FirstCandidateAgent", "-n", "1"], cwd=tmp_path)
    assert result.returncode == 2 and "No module named 'examples'" in result.stderr


def test_quickstart_example_solves_its_case():
    result = _run([sys.executable, "examples/quickstart.py"])
    assert result.returncode == 0, result.stderr
    assert "oracle reward: 1.00" in result.stdout


def test_unmasking_quickstart_decodes_quietly():
    from rlvr_gym.envs.unmasking.dllm import COMPLETE_MARKER, default_model_dir

    if not (default_model_dir() / COMPLETE_MARKER).is_file():
        pytest.skip("the tiny diffusion LM is not in the cache (rlvr dllm pretrain)")
    result = _run([sys.executable, "examples/unmasking_quickstart.py"])
    assert result.returncode == 0, result.stderr
    assert "decoded" in result.stdout and "vector env: accuracy" in result.stdout
    assert "Loading weights" not in result.stderr
