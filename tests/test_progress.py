"""Output into a file or a pipe: progress as periodic plain lines, tables at their natural width."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from rlvr_gym.agents.evaluation.progress import PlainProgress, progress_bar


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_plain_progress_prints_at_start_each_tenth_every_interval_and_at_the_end():
    clock, out = Clock(), io.StringIO()
    bar = PlainProgress(every_s=10.0, stream=out, clock=clock)
    with bar:
        task = bar.add_task("eval Math-v0", total=100, status="")
        for i in range(100):
            clock.now += 0.05                 # 20 items per second: a tenth every 0.5 s
            bar.update(task, advance=1, status=f"mean reward {i / 100:.2f}")
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("eval Math-v0: 0/100 (0%)")
    assert len(lines) == 11                  # the start, then 10%, 20%, ..., 100% (the last one once)
    assert lines[5].startswith("eval Math-v0: 50/100 (50%) 20/s mean reward 0.49, elapsed 2 s, eta 2 s")
    assert lines[-1].startswith("eval Math-v0: 100/100 (100%)") and "eta" not in lines[-1]

    clock, out = Clock(), io.StringIO()
    slow = PlainProgress(every_s=10.0, stream=out, clock=clock)
    task = slow.add_task("train", total=1000, completed=200, status="")   # a resumed run starts at 200
    for _ in range(30):
        clock.now += 4.0                       # 30 steps of 4 s: a line every 10 s, not every step
        slow.update(task, advance=1, status="reward 0.5")
    slow.stop()
    lines = out.getvalue().splitlines()
    assert 10 <= len(lines) <= 14, lines
    assert "0.25/s" in lines[-1] and "(stopped)" in lines[-1]           # the rate counts from where it began


def test_progress_bar_is_plain_when_stderr_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert isinstance(progress_bar(), PlainProgress)
    assert not isinstance(progress_bar(plain=False), PlainProgress)


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    return subprocess.run([sys.executable, "-m", "rlvr_gym.cli.main", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_eval_and_generate_into_pipes_print_plain_progress_lines(tmp_path):
    result = _run("eval", "TemporalClue-Easy-v0", "--agent", "random", "-n", "20", "--batch-size", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert any(line.startswith("eval TemporalClue-Easy-v0: 20/20 (100%)") for line in lines), lines
    assert "\x1b[" not in result.stderr and "━" not in result.stderr      # no escape codes, no bar
    assert "\x1b[" not in result.stdout

    result = _run("generate", "temporal-clue", "-n", "3", "--difficulty", "easy", "--workers", "1",
                  "--out", str(tmp_path / "p.jsonl"))
    assert result.returncode == 0, result.stderr
    assert "generating easy: 3/3 (100%)" in result.stderr


def test_tables_into_a_file_keep_their_width(monkeypatch):
    from rlvr_gym.cli.common import console
    from rlvr_gym.cli.eval import summary_table

    monkeypatch.delenv("COLUMNS", raising=False)
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    stats = {"episodes": 64, "mean_reward": 0.5, "solved_fraction": 0.5, "format_ok_fraction": 1.0,
             "mean_latency_s": 0.25, "mean_prompt_tokens": 120.0, "mean_completion_tokens": 31.0,
             "correct_fraction": 0.5, "mean_nfe": 3.0}
    summary = {"env_id": "TemporalClue-Expert-v0", "agent": "hf:runs/a-long-run-name/final", "seconds": 12.0,
               "by_difficulty": {"players-4-expert": stats}, **stats}
    console().print(summary_table(summary))
    text = out.getvalue()
    header = next(line for line in text.splitlines() if "difficulty" in line)
    for title in ("mean reward", "completion tok", "prompt tok", "latency s", "format ok"):
        assert title in header, header           # one header line: nothing wrapped at 80 columns
    assert len(header) > 80 and "\x1b[" not in text
