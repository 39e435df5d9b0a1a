"""``rlvr serve MODEL``: an OpenAI-compatible HTTP server for a local transformers model.

    rlvr serve smollm2-135m --port 8000
    rlvr eval Math-v0 --agent openai:smollm2-135m@http://127.0.0.1:8000/v1

For throughput on a GPU use vLLM (``vllm serve``); this server is for laptops, tests and CPU machines.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", help="smollm2-135m | tiny-random | a local model directory | a PEFT adapter directory "
                                      "(e.g. runs/main/final: loaded on its base model) | a cached hub name")
    parser.add_argument("--merge", action="store_true",
                        help="merge a PEFT adapter into its base weights before serving (faster; same function up "
                             "to rounding)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000; 0 = any free port)")
    parser.add_argument("--served-name", default=None, help="model name clients must send (default: MODEL)")
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY' on every request")
    parser.add_argument("--batch-size", type=int, default=8, help="prompts generated together (default 8)")
    parser.add_argument("--max-tokens", type=int, default=256, help="default max_tokens when a request gives none")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default 1: measured fastest on shared CPUs)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    limits = parser.add_argument_group("limits (what one request may ask; see agents/serving/openai_server.py)")
    defaults = _default_limits()
    limits.add_argument("--max-body-bytes", type=int, default=defaults.max_body_bytes, metavar="B",
                        help=f"larger request bodies get 413 (default {defaults.max_body_bytes})")
    limits.add_argument("--max-n", type=int, default=defaults.max_n, metavar="N",
                        help=f"most completions per prompt (n) (default {defaults.max_n})")
    limits.add_argument("--max-queue", type=int, default=defaults.max_queue, metavar="S",
                        help=f"sequences (prompts x n) waiting or generating; more get 429 (default {defaults.max_queue})")
    limits.add_argument("--max-connections", type=int, default=defaults.max_connections, metavar="C",
                        help=f"connections handled at once; more get 503 (default {defaults.max_connections})")
    limits.add_argument("--read-timeout", type=float, default=defaults.read_timeout_s, metavar="S",
                        help=f"seconds for a request to arrive; then 408 (default {defaults.read_timeout_s:g})")
    limits.add_argument("--generation-timeout", type=float, default=defaults.generation_timeout_s, metavar="S",
                        help=f"seconds one generate call may run; then it stops (default "
                             f"{defaults.generation_timeout_s:g})")
    limits.add_argument("--request-timeout", type=float, default=defaults.request_timeout_s, metavar="S",
                        help=f"seconds a request may wait and generate; then 503 (default "
                             f"{defaults.request_timeout_s:g})")


def _default_limits():
    from rlvr_gym.agents.serving.openai_server import ServerLimits

    return ServerLimits()


def limits_from_args(args: argparse.Namespace):
    """ServerLimits from the limit flags (a bad value raises ValueError: one line from `rlvr`)."""
    from rlvr_gym.agents.serving.openai_server import ServerLimits

    return ServerLimits(max_body_bytes=args.max_body_bytes, max_n=args.max_n, max_queue=args.max_queue,
                        max_connections=args.max_connections, read_timeout_s=args.read_timeout,
                        generation_timeout_s=args.generation_timeout, request_timeout_s=args.request_timeout).validate()


def run(args: argparse.Namespace) -> int:
    from rlvr_gym.agents.serving.openai_server import serve

    # Bad models, options or a port in use raise ValueError/OSError: the rlvr entry point prints them as one line.
    serve(
        args.model, args.host, args.port, served_name=args.served_name, api_key=args.api_key,
        batch_size=args.batch_size, max_tokens=args.max_tokens, device=args.device, threads=args.threads,
        verbose=args.verbose, limits=limits_from_args(args), **({"merge": True} if args.merge else {}),
    )
    return 0
