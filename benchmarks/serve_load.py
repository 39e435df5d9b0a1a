"""Load and fault test of ``rlvr serve`` (agents/serving/openai_server.py): valid requests at a fixed concurrency,
alone and while other clients send bad requests; latency of the valid ones, how each bad one is refused and how
fast, the server's memory. Bounded loops on loopback only; it stops by itself.

    python benchmarks/serve_load.py                          # tiny-random, 200 valid requests at concurrency 8
    python benchmarks/serve_load.py --model smollm2-135m --valid 100
    python benchmarks/serve_load.py --quick                  # a smoke run (no results written)

The server runs as ``rlvr serve`` in its own process (its RSS is read from /proc); results go to
benchmarks/results/serve_load.md (and .json) with the machine and its load. ``run_load`` and ``BAD_REQUESTS`` are
also used by tests/test_serve_load.py against an in-process server with small limits.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

# ----- clients ------------------------------------------------------------------------------------------------------


def post_json(host: str, port: int, path: str, body: dict | bytes, timeout: float = 120.0) -> tuple[int, dict]:
    """One POST over a fresh connection; (status, JSON body). Connection errors come back as status 0."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        raw = resp.read()
        try:
            return resp.status, json.loads(raw or b"{}")
        except ValueError:
            return resp.status, {"raw": raw[:200].decode(errors="replace")}
    except OSError as exc:
        return 0, {"error": f"{type(exc).__name__}: {exc}"}
    finally:
        conn.close()


def raw_request(host: str, port: int, head: bytes, body: bytes = b"", *, stall_s: float = 0.0,
                timeout: float = 60.0) -> tuple[int | str, float]:
    """Send raw bytes (then optionally stay silent ``stall_s`` seconds); (status code or "closed", seconds until the
    server answered or closed)."""
    started = time.monotonic()
    with socket.create_connection((host, port), timeout=timeout) as sock:
        try:
            sock.sendall(head + body)
        except OSError:
            return "closed", time.monotonic() - started
        data = b""
        deadline = started + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            except OSError:
                break
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                break
        elapsed = time.monotonic() - started
    match = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    return (int(match.group(1)) if match else "closed"), elapsed


def valid_body(i: int, max_tokens: int = 16) -> dict:
    return {"messages": [{"role": "user", "content": f"What is {i % 97} + {i % 13}? Answer with a number."}],
            "max_tokens": max_tokens, "temperature": 0}


def _head(length: str | None, extra: str = "") -> bytes:
    lines = ["POST /v1/chat/completions HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if extra:
        lines.append(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _json_request(body: dict | bytes, path: str = "/v1/chat/completions"):
    def send(host: str, port: int, read_timeout_s: float) -> tuple[int | str, float]:
        started = time.monotonic()
        status, _ = post_json(host, port, path, body, timeout=read_timeout_s + 30)
        return (status or "closed"), time.monotonic() - started
    return send


def _raw(head: bytes, body: bytes = b"", stall: bool = False):
    def send(host: str, port: int, read_timeout_s: float) -> tuple[int | str, float]:
        return raw_request(host, port, head, body, stall_s=read_timeout_s if stall else 0.0,
                           timeout=read_timeout_s + 30)
    return send


def _deep_json(depth: int) -> bytes:
    return b'{"messages": ' + b"[" * depth + b"]" * depth + b"}"


def bad_requests(max_body_bytes: int) -> dict[str, tuple[Callable, set]]:
    """kind -> (send(host, port, read_timeout_s) -> (status, seconds), the statuses that count as a correct
    refusal). Sized against ``max_body_bytes``."""
    user = {"role": "user", "content": "hi"}
    big = "x " * (5 * 1024 * 1024 // 2)                                   # a ~5 MB prompt
    long_prompt = "1 " * min(12_000, max(1000, max_body_bytes // 3))        # more tokens than the context, in limits
    return {
        "5 MB prompt": (_json_request({"messages": [{"role": "user", "content": big}]}), {413}),
        "max_tokens 10**9": (_json_request({"messages": [user], "max_tokens": 10**9}), {400}),
        "prompt over the context": (_json_request({"prompt": long_prompt, "max_tokens": 4}, "/v1/completions"), {400}),
        "n 1000": (_json_request({"messages": [user], "n": 1000}), {400}),
        "nested JSON": (_json_request(_deep_json(min(200_000, max_body_bytes // 2 - 20))), {400}),
        "negative Content-Length": (_raw(_head("-5")), {400}),
        "huge Content-Length": (_raw(_head(str(10**12)), b'{"messages": []}'), {413}),
        "no Content-Length": (_raw(_head(None)), {411}),
        "stalled body": (_raw(_head("1000"), b'{"messages": [', stall=True), {408, "closed"}),
        "stalled headers": (_raw(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.", stall=True), {408, "closed"}),
    }


# ----- the load ------------------------------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_load(host: str, port: int, *, valid: int = 200, concurrency: int = 8, bad_clients: int = 0,
             bad_rounds: int = 1, read_timeout_s: float = 10.0, max_body_bytes: int = 1 << 20,
             max_tokens: int = 16) -> dict:
    """``valid`` valid chat requests at ``concurrency``; with ``bad_clients`` > 0, as many threads meanwhile send
    every bad request kind ``bad_rounds`` times (each kind once per round, in a fixed order). Returns latencies and
    statuses; bounded: it ends when both loops have run."""
    kinds = bad_requests(max_body_bytes)
    bad: list[dict] = []
    bad_lock = threading.Lock()

    def bad_client(worker: int) -> None:
        names = list(kinds)
        for _ in range(bad_rounds):
            for k in range(len(names)):
                name = names[(k + worker) % len(names)]
                send, expected = kinds[name]
                status, seconds = send(host, port, read_timeout_s)
                with bad_lock:
                    bad.append({"kind": name, "status": status, "seconds": seconds, "refused": status in expected})

    def one(i: int) -> tuple[int, float]:
        started = time.monotonic()
        status, body = post_json(host, port, "/v1/chat/completions", valid_body(i, max_tokens))
        ok = status == 200 and bool(body.get("choices"))
        return (status if ok or status != 200 else -1), time.monotonic() - started

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, bad_clients)) as bad_pool:
        bad_futures = [bad_pool.submit(bad_client, w) for w in range(bad_clients)]
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            outcomes = list(pool.map(one, range(valid)))
        valid_seconds = time.monotonic() - started
        for fut in bad_futures:
            fut.result()
    latencies = [s for status, s in outcomes if status == 200]
    statuses: dict[str, int] = {}
    for status, _ in outcomes:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    by_kind: dict[str, dict] = {}
    for row in bad:
        entry = by_kind.setdefault(row["kind"], {"sent": 0, "refused": 0, "statuses": {}, "seconds": []})
        entry["sent"] += 1
        entry["refused"] += int(row["refused"])
        entry["statuses"][str(row["status"])] = entry["statuses"].get(str(row["status"]), 0) + 1
        entry["seconds"].append(row["seconds"])
    for entry in by_kind.values():
        entry["median_s"] = statistics.median(entry.pop("seconds"))
    return {
        "valid": valid, "concurrency": concurrency, "bad_clients": bad_clients, "valid_statuses": statuses,
        "ok": len(latencies), "p50_s": _percentile(latencies, 0.5) if latencies else None,
        "p95_s": _percentile(latencies, 0.95) if latencies else None, "max_s": max(latencies) if latencies else None,
        "valid_seconds": valid_seconds, "requests_per_s": len(latencies) / valid_seconds if valid_seconds else None,
        "bad": by_kind,
    }


# ----- the benchmark -------------------------------------------------------------------------------------------------


class RssSampler:
    """The RSS of a process from /proc every ``every_s`` seconds: .current(), .peak."""

    def __init__(self, pid: int, every_s: float = 0.2):
        self.pid, self.every_s, self.peak = pid, every_s, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def current(self) -> int:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def reset_peak(self) -> None:
        self.peak = self.current()

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.peak = max(self.peak, self.current())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def start_serve(model: str, max_tokens: int) -> tuple[subprocess.Popen, str, int]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "rlvr_gym.cli.main", "serve", model, "--port", "0",
                             "--max-tokens", str(max_tokens)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        match = re.search(r"at http://(127\.0\.0\.1):(\d+)/v1", line)
        if match:
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()   # keep draining
            return proc, match.group(1), int(match.group(2))
    proc.kill()
    raise RuntimeError("rlvr serve did not announce its address")


def _mib(n: int) -> str:
    return f"{n / 2**20:.0f} MiB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny-random")
    parser.add_argument("--valid", type=int, default=200, help="valid requests per phase")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--bad-clients", type=int, default=2, help="threads sending bad requests in phase B")
    parser.add_argument("--bad-rounds", type=int, default=3, help="rounds of every bad kind per bad client")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 24 valid requests, 1 round, no files")
    args = parser.parse_args(argv)
    if args.quick:
        args.valid, args.bad_rounds = 24, 1
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from machine import machine_info  # noqa: E402

    from rlvr_gym.agents.serving.openai_server import ServerLimits

    limits = ServerLimits()
    proc, host, port = start_serve(args.model, args.max_tokens)
    rss = RssSampler(proc.pid)
    try:
        load_start = os.getloadavg()[0]
        run_load(host, port, valid=8, concurrency=4, max_tokens=args.max_tokens)         # warm-up
        rss_start = rss.current()
        rss.reset_peak()
        alone = run_load(host, port, valid=args.valid, concurrency=args.concurrency, max_tokens=args.max_tokens)
        alone["rss_peak"] = rss.peak
        rss_after_alone = rss.current()
        rss.reset_peak()
        under_attack = run_load(host, port, valid=args.valid, concurrency=args.concurrency,
                                bad_clients=args.bad_clients, bad_rounds=args.bad_rounds,
                                read_timeout_s=limits.read_timeout_s, max_body_bytes=limits.max_body_bytes,
                                max_tokens=args.max_tokens)
        under_attack["rss_peak"] = rss.peak
        rss_end = rss.current()
        health = post_json(host, port, "/v1/chat/completions", valid_body(1, args.max_tokens))[0]
        load_end = os.getloadavg()[0]
    finally:
        rss.stop()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    info = machine_info(["torch", "transformers"])
    report = {"model": args.model, "max_tokens": args.max_tokens, "bad_rounds": args.bad_rounds, "limits": limits.__dict__, "alone": alone, "with_bad_requests": under_attack,
              "rss": {"start": rss_start, "after_valid_only": rss_after_alone, "end": rss_end},
              "answers_after": health, "load_average_start": load_start, "load_average_end": load_end,
              "machine": info, "command": "python benchmarks/serve_load.py " + " ".join(argv or sys.argv[1:])}
    print(json.dumps(report, indent=2))
    if args.quick:
        return 0
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "serve_load.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS / "serve_load.md").write_text(render(report) + "\n")
    return 0


def render(r: dict) -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from machine import machine_line  # noqa: E402

    a, b = r["alone"], r["with_bad_requests"]
    lines = [
        "# `rlvr serve` under load and bad requests",
        "",
        f"Model `{r['model']}`, server in its own process (`rlvr serve {r['model']} --max-tokens "
        f"{r['max_tokens']}`, default limits), clients on loopback. Each phase: {a['valid']} valid chat requests "
        f"({r['max_tokens']} new tokens at most, greedy) at concurrency {a['concurrency']}; phase B adds "
        f"{b['bad_clients']} clients sending every bad request kind in turn ({r['bad_rounds']} rounds each) while "
        f"the valid ones run.",
        "",
        f"Machine: {machine_line(r['machine'])} (at the end). 1-minute load average {r['load_average_start']:.1f} "
        f"at the start, {r['load_average_end']:.1f} at the end: other jobs shared the 2 cores throughout, so "
        f"differences of a few tenths of a second between the phases are the machine's, not the server's.",
        f"Command: `{r['command'].strip()}`.",
        "",
        "| phase | valid ok | p50 s | p95 s | max s | requests/s | server RSS peak |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, p in (("A: valid only", a), ("B: valid + bad requests", b)):
        lines.append(f"| {name} | {p['ok']}/{p['valid']} | {p['p50_s']:.3f} | {p['p95_s']:.3f} | {p['max_s']:.3f} | "
                     f"{p['requests_per_s']:.1f} | {_mib(p['rss_peak'])} |")
    rss = r["rss"]
    lines += [
        "",
        f"Server RSS: {_mib(rss['start'])} after warm-up, {_mib(rss['after_valid_only'])} after phase A, "
        f"{_mib(rss['end'])} after phase B. A valid request after phase B: HTTP {r['answers_after']}.",
        "",
        "| bad request (phase B) | sent | refused as expected | statuses | median time to answer s |",
        "| --- | --- | --- | --- | --- |",
    ]
    for kind, e in b["bad"].items():
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(e["statuses"].items()))
        lines.append(f"| {kind} | {e['sent']} | {e['refused']} | {statuses} | {e['median_s']:.3f} |")
    limits = r["limits"]
    lines += [
        "",
        "Limits (defaults of `rlvr serve`, `ServerLimits`): "
        + ", ".join(f"{k} {v}" for k, v in limits.items()) + ".",
        "\"stalled\" kinds are clients that send part of a request and then nothing: the server answers 408 (or "
        "closes) at the read deadline, so their time is that deadline; every other refusal is immediate and never "
        "reaches the model.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
