"""``rlvr serve MODEL``: an OpenAI-compatible HTTP server for a local model.

    rlvr serve smollm2-135m --port 8000                   # our small transformers server (engine hf, the default)
    rlvr serve smollm2-135m --engine vllm --port 8001     # stock vLLM from .venv-vllm, runtime LoRA loading on
    rlvr eval Math-v0 --agent openai:smollm2-135m@http://127.0.0.1:8001/v1

The hf engine is for laptops, tests and CPU machines; the vllm engine is vLLM's own server (set it up once with
``bash scripts/setup_vllm.sh``), the rollout engine of ``rlvr train`` and the fast path on GPUs.
"""

from __future__ import annotations

import argparse

EPILOG = """engines:
  hf    our small transformers server (agents/serving/openai_server.py): batching, chat and completions endpoints
  vllm  stock vLLM's OpenAI server as a subprocess of the vLLM environment (.venv-vllm, made by
        `bash scripts/setup_vllm.sh`), with runtime LoRA loading (/v1/load_lora_adapter), logprobs after
        temperature (--logprobs-mode processed_logprobs) and an explicit KV cache; Ctrl-C stops it and all
        its processes. On a GPU machine the same command runs the CUDA build that setup_vllm.sh installed there.

examples:
  rlvr serve smollm2-135m --engine vllm --port 8001
  rlvr serve /models/Qwen3-0.6B --engine vllm --dtype bfloat16 --kv-cache-gib 8 --threads 0"""

_HF_ONLY = ("batch_size", "max_tokens", "device", "verbose", "merge", "max_body_bytes", "max_n", "max_queue",
            "max_connections", "read_timeout", "generation_timeout", "request_timeout")
_VLLM_ONLY = ("dtype", "kv_cache_gib", "max_model_len", "max_lora_rank", "max_loras", "no_lora", "vllm_python",
              "startup_timeout", "log_file", "vllm_arg")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.add_argument("model", help="smollm2-135m | tiny-random | a local model directory | a PEFT adapter directory "
                                      "(e.g. runs/main/final: loaded on its base model) | a cached hub name")
    parser.add_argument("--engine", choices=("hf", "vllm"), default="hf",
                        help="hf (default): our transformers server; vllm: stock vLLM's server from .venv-vllm")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000; 0 = any free port)")
    parser.add_argument("--served-name", default=None, help="model name clients must send (default: MODEL)")
    parser.add_argument("--api-key", default=None, help="require 'Authorization: Bearer KEY' on every request")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU compute threads (default 1: measured fastest on shared CPUs); "
                             "vllm: 0 = vLLM's own core binding")
    hf = parser.add_argument_group("hf engine")
    hf.add_argument("--batch-size", type=int, default=None, help="prompts generated together (default 8)")
    hf.add_argument("--max-tokens", type=int, default=None, help="default max_tokens when a request gives none (256)")
    hf.add_argument("--device", default=None, help="auto (default) | cpu | cuda | cuda:N | mps")
    hf.add_argument("--verbose", action="store_true", default=None, help="log every request")
    hf.add_argument("--merge", action="store_true", default=None,
                    help="merge a PEFT adapter into its base weights before serving (faster; same function up to "
                         "rounding)")
    limits = parser.add_argument_group("hf engine limits (what one request may ask; agents/serving/openai_server.py)")
    defaults = _default_limits()
    limits.add_argument("--max-body-bytes", type=int, default=None, metavar="B",
                        help=f"larger request bodies get 413 (default {defaults.max_body_bytes})")
    limits.add_argument("--max-n", type=int, default=None, metavar="N",
                        help=f"most completions per prompt (n) (default {defaults.max_n})")
    limits.add_argument("--max-queue", type=int, default=None, metavar="S",
                        help=f"sequences (prompts x n) waiting or generating; more get 429 (default {defaults.max_queue})")
    limits.add_argument("--max-connections", type=int, default=None, metavar="C",
                        help=f"connections handled at once; more get 503 (default {defaults.max_connections})")
    limits.add_argument("--read-timeout", type=float, default=None, metavar="S",
                        help=f"seconds for a request to arrive; then 408 (default {defaults.read_timeout_s:g})")
    limits.add_argument("--generation-timeout", type=float, default=None, metavar="S",
                        help=f"seconds one generate call may run; then it stops (default "
                             f"{defaults.generation_timeout_s:g})")
    limits.add_argument("--request-timeout", type=float, default=None, metavar="S",
                        help=f"seconds a request may wait and generate; then 503 (default "
                             f"{defaults.request_timeout_s:g})")
    vl = parser.add_argument_group("vllm engine")
    vl.add_argument("--dtype", default=None, help="float32 (default: faithful to transformers) | bfloat16 | float16 | auto")
    vl.add_argument("--kv-cache-gib", type=float, default=None, help="KV cache size in GiB (default 1)")
    vl.add_argument("--max-model-len", type=int, default=None, help="longest prompt + completion in tokens (default 2048)")
    vl.add_argument("--max-lora-rank", type=int, default=None, help="largest LoRA rank that can be loaded (default 16)")
    vl.add_argument("--max-loras", type=int, default=None, help="LoRA adapters in one batch (default 2)")
    vl.add_argument("--no-lora", action="store_true", default=None, help="serve without LoRA support")
    vl.add_argument("--vllm-python", default=None,
                    help="python of the vLLM environment (default: $RLVR_VLLM_PYTHON, else ./.venv-vllm)")
    vl.add_argument("--startup-timeout", type=float, default=None, help="seconds to wait for /health (default 300)")
    vl.add_argument("--log-file", default=None, help="the server's log (default: a temporary file, printed)")
    vl.add_argument("--vllm-arg", action="append", default=None, metavar="ARG",
                    help="one more argument for vLLM's server, as it is (repeat: --vllm-arg=--enforce-eager)")


def _given(args: argparse.Namespace, names: tuple[str, ...]) -> list[str]:
    return ["--" + n.replace("_", "-") for n in names if getattr(args, n) is not None]


def _default_limits():
    from rlvr_gym.agents.serving.openai_server import ServerLimits

    return ServerLimits()


_LIMITS = {"max_body_bytes": "max_body_bytes", "max_n": "max_n", "max_queue": "max_queue",
           "max_connections": "max_connections", "read_timeout": "read_timeout_s",
           "generation_timeout": "generation_timeout_s", "request_timeout": "request_timeout_s"}


def limits_from_args(args: argparse.Namespace):
    """ServerLimits from the limit flags given, defaults for the rest (a bad value raises ValueError: one line)."""
    from rlvr_gym.agents.serving.openai_server import ServerLimits

    given = {field: getattr(args, flag) for flag, field in _LIMITS.items() if getattr(args, flag) is not None}
    return ServerLimits(**given).validate()



def run(args: argparse.Namespace) -> int:
    from rlvr_gym.cli.common import CLIError

    other = _VLLM_ONLY if args.engine == "hf" else _HF_ONLY
    wrong = _given(args, other)
    if wrong:
        verb = "applies" if len(wrong) == 1 else "apply"
        raise CLIError(f"{', '.join(wrong)} {verb} only to --engine {'vllm' if args.engine == 'hf' else 'hf'} "
                       f"(this is --engine {args.engine})")
    if args.engine == "vllm":
        return _run_vllm(args)
    from rlvr_gym.agents.serving.openai_server import serve

    # Bad models, options or a port in use raise ValueError/OSError: the rlvr entry point prints them as one line.
    serve(
        args.model, args.host, args.port, served_name=args.served_name, api_key=args.api_key,
        batch_size=8 if args.batch_size is None else args.batch_size,
        max_tokens=256 if args.max_tokens is None else args.max_tokens,
        device=args.device or "auto", threads=args.threads, verbose=bool(args.verbose),
        limits=limits_from_args(args), **({"merge": True} if args.merge else {}),
    )
    return 0


def _run_vllm(args: argparse.Namespace) -> int:
    from rlvr_gym.agents.serving.vllm_server import (VLLMServer, VLLMServerConfig, resolve_vllm_python, serve_forever,
                                                     vllm_model_dir)

    def pick(value, default):
        return default if value is None else value

    threads = pick(args.threads, 1)
    config = VLLMServerConfig(
        model=vllm_model_dir(args.model), served_name=args.served_name or args.model, host=args.host,
        port=args.port, dtype=pick(args.dtype, "float32"), enable_lora=not args.no_lora,
        max_lora_rank=pick(args.max_lora_rank, 16), max_loras=pick(args.max_loras, 2),
        kv_cache_gib=pick(args.kv_cache_gib, 1.0), max_model_len=pick(args.max_model_len, 2048),
        threads=None if threads == 0 else threads, api_key=args.api_key, extra_args=tuple(args.vllm_arg or ()),
    )
    python = resolve_vllm_python(args.vllm_python)  # a missing vLLM environment fails before anything starts
    server = VLLMServer(config, python=python, log_file=args.log_file,
                        startup_timeout_s=pick(args.startup_timeout, 300.0))
    print(f"starting vLLM ({python}) for {config.model} (the first start takes ~30-60 s on CPU) ...", flush=True)
    return serve_forever(server, announce=lambda line: print(line, flush=True))
