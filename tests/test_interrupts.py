"""Ctrl-C as a user presses it: SIGINT to the whole foreground process group of a real ``rlvr`` process.

``rlvr generate`` with worker processes stops within 2 s, leaves no process behind and leaves a file of complete
JSON lines; with one worker it says "interrupted" (not a solver status); ``rlvr play`` leaves the case at its
prompt, also after a hint has run the solver (OR-Tools used to leave SIGINT at the OS default after a solve).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups are read from /proc")


def _group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group, read from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()   # after "pid (comm) ": state, ppid, pgrp, ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def default_sigint() -> None:
    """Run in the child before exec: SIGINT at its default, as in a terminal. A test suite started in the background
    by a non-interactive shell (`pytest &`, nohup) inherits SIGINT ignored, and Python then installs no
    KeyboardInterrupt handler, so the child would never see the Ctrl-C these tests send."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_generate(out: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "rlvr_gym.cli.main", "generate", "temporal-clue", "-n", "50", "--players", "4",
           "--seed", "11", "--out", str(out), *extra]
    env = {**os.environ, "COLUMNS": "120"}
    # A new session = a new process group, as a shell gives each foreground job: Ctrl-C signals all of it.
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True, preexec_fn=default_sigint)


def _wait_for_lines(proc: subprocess.Popen, out: Path, timeout_s: float = 180.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not (out.is_file() and out.stat().st_size > 0):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no puzzle was written in time"
        time.sleep(0.1)


def _interrupt(proc: subprocess.Popen) -> tuple[float, str]:
    os.killpg(proc.pid, signal.SIGINT)      # what the terminal does on Ctrl-C
    sent = time.monotonic()
    try:
        _, stderr = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("rlvr generate did not exit within 20 s of Ctrl-C")
    return time.monotonic() - sent, stderr


def _assert_complete_lines(out: Path) -> int:
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n")
    lines = text.splitlines()
    for line in lines:
        assert json.loads(line)["setting"]
    return len(lines)


def test_ctrl_c_stops_generate_with_workers_at_once_and_leaves_nothing(tmp_path):
    out = tmp_path / "p.jsonl"
    proc = _start_generate(out, "--workers", "2")
    try:
        _wait_for_lines(proc, out)
        seconds, stderr = _interrupt(proc)
        assert seconds < 2.0, f"exit took {seconds:.2f} s after Ctrl-C"
        assert proc.returncode == 130, stderr
        assert "interrupted" in stderr and "Traceback" not in stderr, stderr
        time.sleep(0.2)
        assert _group_members(proc.pid) == [], "worker processes were left running"
        written = _assert_complete_lines(out)
        assert 1 <= written < 50
        assert f"first {written} of 50" in " ".join(stderr.split())
    finally:
        for pid in _group_members(proc.pid):
            os.kill(pid, signal.SIGKILL)


def test_ctrl_c_with_one_worker_says_interrupted_not_a_solver_status(tmp_path):
    out = tmp_path / "p.jsonl"
    proc = _start_generate(out, "--workers", "1")
    try:
        _wait_for_lines(proc, out)
        seconds, stderr = _interrupt(proc)
        assert seconds < 2.0 and proc.returncode == 130, (seconds, stderr)
        assert "interrupted" in stderr and "CP-SAT" not in stderr and "UNKNOWN" not in stderr, stderr
        _assert_complete_lines(out)
    finally:
        for pid in _group_members(proc.pid):
            os.kill(pid, signal.SIGKILL)


def test_iter_puzzles_terminates_its_workers_when_closed():
    import multiprocessing

    from rlvr_gym.envs.temporal_clue.config import resolve_config
    from rlvr_gym.envs.temporal_clue.generator import iter_puzzles

    # 5 players, seed 5: item 0 takes ~0.6 s, item 1 ~8 s (measured), so a worker is mid-solve at close()
    items = iter_puzzles(resolve_config(players=5), 40, seed=5, workers=2)
    first = next(items)
    assert first[0] == 0 and multiprocessing.active_children()
    started = time.monotonic()
    items.close()
    assert time.monotonic() - started < 2.0
    assert multiprocessing.active_children() == []


def test_ctrl_c_at_the_play_prompt_leaves_the_case_after_a_hint():
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:   # the child: `rlvr play` on a terminal (its own session, with the pty as controlling terminal)
        default_sigint()
        os.environ["COLUMNS"] = "120"
        os.execv(sys.executable, [sys.executable, "-m", "rlvr_gym.cli.main", "play", "temporal-clue",
                                  "--difficulty", "easy", "--seed", "3", "--plain"])
    transcript = b""

    def read_until(marker: bytes, timeout_s: float) -> None:
        nonlocal transcript
        deadline = time.monotonic() + timeout_s
        while marker not in transcript:
            left = deadline - time.monotonic()
            assert left > 0, f"waited for {marker!r}; got: {transcript[-2000:]!r}"
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                transcript += chunk

    try:
        read_until(b"> ", 120)
        os.write(fd, b"hint\n")                    # runs the CP-SAT solver
        transcript = transcript.replace(b"> ", b"", 1)
        read_until(b"> ", 60)
        # A person presses Ctrl-C at the prompt, not in the same microsecond it is drawn: CPython's readline loses
        # a signal that lands between drawing the prompt and waiting for a key (seen with no delay at all).
        time.sleep(0.5)
        os.write(fd, b"\x03")                      # Ctrl-C typed at the terminal: SIGINT to its foreground group
        read_until(b"Interrupted: leaving the case.", 10)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 130
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
