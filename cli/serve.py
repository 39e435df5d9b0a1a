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


def run(args: argparse.Namespace) -> int:
    from rlvr_gym.agents.serving.openai_server import serve

    # Bad models, options or a port in use raise ValueError/OSError: the rlvr entry point prints them as one line.
    serve(
        args.model, args.host, args.port, served_name=args.served_name, api_key=args.api_key,
        batch_size=args.batch_size, max_tokens=args.max_tokens, device=args.device, threads=args.threads,
        verbose=args.verbose, **({"merge": True} if args.merge else {}),
    )
    return 0
