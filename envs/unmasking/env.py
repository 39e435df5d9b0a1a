"""``Unmasking-v0``: choosing which tokens a masked diffusion LM unmasks, as a Gymnasium environment.

The MDP of "Learning unmasking policies for diffusion LMs" (arXiv 2512.09106) over a frozen backbone
(``rlvr_gym.envs.unmasking.dllm``) and a task with a verifier (``rlvr_gym.envs.unmasking.tasks``). The sections of
``UnmaskingEnv``'s docstring describe it.

``UnmaskingVectorEnv`` runs N episodes with ONE batched forward per step for all of them (Gymnasium
``VectorEnv``, next-step autoreset); sub-env i seeded with ``seed + i`` plays exactly what
``UnmaskingEnv.reset(seed=seed + i)`` plays. ``gymnasium.make_vec("Unmasking-v0", num_envs=N,
vectorization_mode="vector_entry_point")`` builds it. ``UnmaskingBatch`` is the shared core without Gym
semantics (for trainers that run groups of episodes to completion).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import gymnasium as gym
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from rlvr_gym.envs.text_env import reset_options
from rlvr_gym.envs.unmasking.tasks import Task, TaskItem, make_task

__all__ = ["UnmaskingEnv", "UnmaskingVectorEnv", "UnmaskingBatch", "unmasking_reward", "REWARD_FORMS",
           "make_observation_space"]

REWARD_FORMS = ("multiplicative", "additive")
ITEM_RANGE = 2**31


def unmasking_reward(correct: bool, nfe: int, gen_length: int, alpha: float, form: str = "multiplicative") -> float:
    """Terminal reward. multiplicative: correct * ((L - min(NFE, L) + 1) / L) ** alpha; additive:
    correct - alpha * NFE / L."""
    if form == "multiplicative":
        return float(correct) * ((gen_length - min(nfe, gen_length) + 1) / gen_length) ** alpha
    if form == "additive":
        return float(correct) - alpha * nfe / gen_length
    raise ValueError(f"reward form must be one of {REWARD_FORMS}, got {form!r}")


def make_observation_space(gen_length: int, include_tokens: bool = False, vocab_size: int | None = None) -> spaces.Dict:
    obs = {
        "confidence": spaces.Box(0.0, 1.0, (gen_length,), np.float32),
        "mask": spaces.MultiBinary(gen_length),
        "block": spaces.MultiBinary(gen_length),
        "time": spaces.Box(0.0, 1.0, (1,), np.float32),
    }
    if include_tokens:
        obs["tokens"] = spaces.Box(0, max(1, (vocab_size or 2) - 1), (gen_length,), np.int64)
    return spaces.Dict(obs)


TRAIN_EXTRA_HINT = "pip install 'rlvr-gym[train]'"


def require_model_stack() -> None:
    """Unmasking-v0 runs a neural network: say so at ``gymnasium.make`` when torch or transformers is missing,
    instead of failing deep inside the model loader."""
    missing = []
    for name in ("torch", "transformers"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ImportError(f"Unmasking-v0 decodes with a diffusion LM and needs {' and '.join(missing)}, which "
                          f"{'is' if len(missing) == 1 else 'are'} not installed: {TRAIN_EXTRA_HINT}")


def _load_lm(model, device: str, trust_remote_code: bool | None):
    from rlvr_gym.envs.unmasking.dllm import MaskedDiffusionLM

    if isinstance(model, MaskedDiffusionLM):
        return model
    if model is not None and not isinstance(model, str) and not hasattr(model, "__fspath__"):
        raise TypeError("model must be None (the embedded tiny diffusion LM), a path, a hub name or a "
                        f"MaskedDiffusionLM, got {type(model).__name__}")
    return MaskedDiffusionLM.from_pretrained(model, device=device, trust_remote_code=trust_remote_code)


def _vocab_size(lm) -> int:
    size = getattr(getattr(lm.model, "config", None), "vocab_size", None)
    return int(size) if size else len(lm.tokenizer)


class UnmaskingBatch:
    """Decoding state of B episodes and the batched transition (no Gym semantics; see module docstring)."""

    def __init__(self, lm, task: Task, num_slots: int, gen_length: int = 16, block_length: int | None = None,
                 alpha: float = 1.0, reward_form: str = "multiplicative"):
        for name, value in (("num_slots", num_slots), ("gen_length", gen_length)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        block_length = gen_length if block_length is None else block_length
        if isinstance(block_length, bool) or not isinstance(block_length, int) or block_length < 1 \
                or gen_length % block_length:
            raise ValueError(f"block_length must be a positive int that divides gen_length={gen_length}, "
                             f"got {block_length!r}")
        if reward_form not in REWARD_FORMS:
            raise ValueError(f"reward_form must be one of {REWARD_FORMS}, got {reward_form!r}")
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha < 0:
            raise ValueError(f"alpha must be a number >= 0, got {alpha!r}")
        self.lm, self.task = lm, task
        self.num_slots, self.gen_length, self.block_length = num_slots, gen_length, block_length
        self.num_blocks = gen_length // block_length
        self.alpha, self.reward_form = float(alpha), reward_form
        B, L = num_slots, gen_length
        self.items: list[TaskItem | None] = [None] * B
        self.prompts: list[list[int]] = [[] for _ in range(B)]
        self.tokens = np.full((B, L), lm.mask_token_id, dtype=np.int64)
        self.masked = np.ones((B, L), dtype=bool)
        self.confidence = np.zeros((B, L), dtype=np.float32)
        self.predicted = np.zeros((B, L), dtype=np.int64)
        self.block = np.zeros(B, dtype=np.int64)
        self.nfe = np.zeros(B, dtype=np.int64)
        self.done = np.ones(B, dtype=bool)
        self.forward_calls = 0        # batched forward passes run (for tests and benchmarks)
        self.forward_rows = 0         # rows those passes covered

    # ------------------------------------------------------------------------------------------ state

    def reset_slots(self, slots: Sequence[int], items: Sequence[TaskItem]) -> None:
        """Start new episodes in ``slots`` (no forward yet; call ``refresh``)."""
        for slot, item in zip(slots, items):
            self.items[slot] = item
            self.prompts[slot] = self.lm.encode_prompt(item.prompt)
            self.tokens[slot] = self.lm.mask_token_id
            self.masked[slot] = True
            self.block[slot] = 0
            self.nfe[slot] = 0
            self.done[slot] = False

    def refresh(self, slots: Sequence[int]) -> None:
        """ONE batched forward pass for ``slots``: updates their confidences and top-1 tokens."""
        slots = [int(s) for s in slots]
        if not slots:
            return
        conf, pred = self.lm.predict([self.prompts[s] for s in slots], self.tokens[slots])
        self.confidence[slots] = conf
        self.predicted[slots] = pred
        self.forward_calls += 1
        self.forward_rows += len(slots)

    def block_mask(self, slots: Sequence[int] | None = None) -> np.ndarray:
        """[n, L] bool: positions of each slot's current block."""
        block = self.block if slots is None else self.block[list(slots)]
        pos = np.arange(self.gen_length)[None, :] // self.block_length
        return pos == block[:, None]

    def observe(self, slots: Sequence[int] | None = None, include_tokens: bool = False) -> dict[str, np.ndarray]:
        """Observation arrays for ``slots`` (all slots when None), each with a leading slot axis."""
        idx = np.arange(self.num_slots) if slots is None else np.asarray(list(slots), dtype=np.int64)
        masked = self.masked[idx]
        obs = {
            "confidence": np.where(masked, self.confidence[idx], np.float32(1.0)).astype(np.float32),
            "mask": masked.astype(np.int8),
            "block": self.block_mask(idx).astype(np.int8),
            "time": np.minimum(self.nfe[idx, None] / self.gen_length, 1.0).astype(np.float32),
        }
        if include_tokens:
            obs["tokens"] = self.tokens[idx].copy()
        return obs

    # ------------------------------------------------------------------------------------------ transition

    def apply(self, slots: Sequence[int], actions: np.ndarray, forward: bool = True
              ) -> tuple[np.ndarray, np.ndarray, list[dict]]:
        """Apply one action per slot (rows of ``actions`` [n, L], truthy = unmask) to the running episodes in
        ``slots``, then ONE forward for those still running (``forward=False``: the caller runs it, e.g.
        together with freshly reset slots). Returns (rewards [n], terminated [n], infos)."""
        slots = [int(s) for s in slots]
        actions = np.asarray(actions)
        if actions.shape != (len(slots), self.gen_length):
            raise ValueError(f"actions must have shape ({len(slots)}, {self.gen_length}), got {actions.shape}")
        rewards = np.zeros(len(slots), dtype=np.float64)
        terminated = np.zeros(len(slots), dtype=bool)
        infos: list[dict] = []
        in_block = self.block_mask(slots)
        for j, slot in enumerate(slots):
            if self.done[slot]:
                raise RuntimeError(f"episode in slot {slot} is over; reset it first")
            allowed = self.masked[slot] & in_block[j]
            chosen = allowed & (actions[j] != 0)
            if not chosen.any():  # empty choice: the most confident masked position of the block
                conf = np.where(allowed, self.confidence[slot], -1.0)
                chosen = np.zeros(self.gen_length, dtype=bool)
                chosen[int(np.argmax(conf))] = True
            self.tokens[slot, chosen] = self.predicted[slot, chosen]
            self.masked[slot, chosen] = False
            self.nfe[slot] += 1
            while self.block[slot] < self.num_blocks and not self.masked[slot, in_block[j]].any():
                self.block[slot] += 1
                in_block[j] = (np.arange(self.gen_length) // self.block_length) == self.block[slot]
            info = {"nfe": int(self.nfe[slot]), "block_index": int(min(self.block[slot], self.num_blocks - 1)),
                    "unmasked": np.flatnonzero(chosen).tolist()}
            if not self.masked[slot].any():
                self.done[slot] = True
                terminated[j] = True
                item = self.items[slot]
                text = self.lm.decode(self.tokens[slot])
                correct = bool(self.task.verify(item, text))
                rewards[j] = unmasking_reward(correct, int(self.nfe[slot]), self.gen_length, self.alpha,
                                              self.reward_form)
                info.update(text=text, correct=correct, answer=item.answer, prompt=item.prompt, item_id=item.id,
                            steps=int(self.nfe[slot]))
            infos.append(info)
        if forward:
            self.refresh([s for s in slots if not self.done[s]])
        return rewards, terminated, infos


class _UnmaskingConfig:
    """Argument handling shared by the single and the vector env."""

    def _setup(self, model, task, gen_length, block_length, alpha, reward_form, include_tokens, task_seed, device,
               trust_remote_code, num_slots, torch_threads):
        require_model_stack()
        if torch_threads is not None:
            # Deliberate process-wide setting: tiny backbones run many times faster on one thread than on two
            # on small CPUs (see the threads note in the README); None leaves torch's default alone.
            import torch

            if isinstance(torch_threads, bool) or not isinstance(torch_threads, int) or torch_threads < 1:
                raise ValueError(f"torch_threads must be a positive int or None, got {torch_threads!r}")
            torch.set_num_threads(torch_threads)
        self.lm = _load_lm(model, device, trust_remote_code)
        if task is None:  # the task the backbone was pretrained on (the embedded model's), else addition
            task = (self.lm.trained_tasks or ["addition"])[0]
        self.task = make_task(task, seed=task_seed)
        self.core = UnmaskingBatch(self.lm, self.task, num_slots, gen_length, block_length, alpha, reward_form)
        self.gen_length, self.block_length = self.core.gen_length, self.core.block_length
        self.alpha, self.reward_form = self.core.alpha, reward_form
        self.include_tokens = bool(include_tokens)
        return make_observation_space(gen_length, self.include_tokens, _vocab_size(self.lm))

    def _item_from(self, rng: np.random.Generator, options: dict | None) -> TaskItem:
        options = reset_options(options)
        if "prompt" in options:
            prompt, answer = options["prompt"], options.get("answer", "")
            if not isinstance(prompt, str) or not isinstance(answer, str):
                raise TypeError("options 'prompt' and 'answer' must be str")
            return TaskItem(id=str(options.get("id", "custom")), prompt=prompt, answer=answer)
        index = options.get("index")
        if index is None:
            index = int(rng.integers(0, ITEM_RANGE))
        return self.task.item(int(index))

    def _reset_info(self, item: TaskItem) -> dict:
        return {"prompt": item.prompt, "answer": item.answer, "item_id": item.id, "task": self.task.name,
                "gen_length": self.gen_length, "block_length": self.block_length}


class UnmaskingEnv(_UnmaskingConfig, gym.Env):
    """One decoding episode at a time: which completion positions a frozen masked diffusion LM reveals each step.

    ## Description
    An episode is one prompt of the task; the completion of ``gen_length`` L tokens starts fully masked and is
    decoded in blocks of ``block_length`` BL, left to right (semi-autoregressive; BL = L is full diffusion). A block
    is left when all its tokens are unmasked; later blocks stay masked in the model's input. Defaults: the embedded
    tiny diffusion LM (``rlvr dllm pretrain`` makes it) and the task it was pretrained on first ("permute": reorder
    3-5 letters, any order is right), L = 8, BL = L, alpha = 1, multiplicative reward.

    Arguments: model (None: the embedded tiny diffusion LM from the cache; a directory or hub name; or a
    MaskedDiffusionLM, shared between envs to load it once); task (a spec of ``tasks.TASK_SPECS`` or a Task;
    default: the first task the backbone was pretrained on, else "addition"); gen_length; block_length; alpha;
    reward_form ("multiplicative" | "additive"); include_tokens (add the token ids to the observation);
    task_seed (the item sequence; 1 = held out from pretraining); torch_threads (sets torch.set_num_threads for
    the process; default 1, tiny backbones run fastest on one thread; None leaves torch's setting alone).

    ## Action Space
    ``MultiBinary(L)``. Only masked positions of the current block count; the chosen ones take the model's top-1
    token. An action that selects none of them unmasks the most confident one, so every step makes progress and
    an episode has at most L steps.

    ## Observation Space
    A Dict of arrays over the L completion positions: ``confidence`` Box[0, 1] float32 (L,): the top-1 probability
    of the latest forward pass at masked positions, 1.0 at positions already decoded; ``mask`` MultiBinary(L): 1 =
    still masked; ``block`` MultiBinary(L): 1 = position in the current block; ``time`` Box[0, 1] float32 (1,):
    steps / L; with ``include_tokens=True`` also ``tokens`` Box[0, V-1] int64 (L,): the current completion ids (the
    mask id where masked).

    ## Rewards
    At the end only (0 before): ``multiplicative`` (default) ``correct * ((L - min(NFE, L) + 1) / L) ** alpha``, or
    the ``additive`` ablation ``correct - alpha * NFE / L`` (it pays to unmask everything at once; the paper shows
    policies learn exactly that). Each step costs one forward pass (NFE): the forward that produced the
    observation the action was chosen from; ``reset`` runs the first forward, each non-final ``step`` the next, so
    NFE = steps. Correctness is the task's verifier on the decoded completion.

    ## Starting State
    ``reset(options=...)``: ``{"index": i}`` plays task item i; ``{"prompt": str, "answer": str}`` plays a custom
    prompt (verified against the answer by the task's verifier). Otherwise the item index is drawn from
    ``self.np_random``.

    ## Episode End
    Terminated when every position is unmasked (at most L steps); never truncated.

    ## Information
    reset: prompt, answer (gold; not for the policy), item_id, task, gen_length, block_length. Every step: nfe,
    block_index, unmasked (positions unmasked by this step). Final step also: text (the decoded completion),
    correct, answer, prompt, item_id, steps.

    ## Version History
    - v0: the initial version.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(self, model=None, task: "str | Task | None" = None, gen_length: int = 8,
                 block_length: int | None = None, alpha: float = 1.0, reward_form: str = "multiplicative",
                 include_tokens: bool = False, task_seed: int = 1, device: str = "cpu",
                 trust_remote_code: bool | None = None, torch_threads: int | None = 1, render_mode: str | None = None):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.render_mode = render_mode
        self.observation_space = self._setup(model, task, gen_length, block_length, alpha, reward_form,
                                             include_tokens, task_seed, device, trust_remote_code, 1, torch_threads)
        self.action_space = spaces.MultiBinary(gen_length)
        self._item: TaskItem | None = None

    def _obs(self) -> dict[str, np.ndarray]:
        return {k: v[0] for k, v in self.core.observe([0], self.include_tokens).items()}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._item = self._item_from(self.np_random, options)
        self.core.reset_slots([0], [self._item])
        self.core.refresh([0])
        return self._obs(), self._reset_info(self._item)

    def step(self, action):
        if self._item is None:
            raise RuntimeError("call reset() before step()")
        if self.core.done[0]:
            raise RuntimeError("the episode is over; call reset()")
        action = np.asarray(action)
        if action.shape != (self.gen_length,):
            raise ValueError(f"action must be a MultiBinary({self.gen_length}) array of 0/1, got shape {action.shape}")
        rewards, terminated, infos = self.core.apply([0], action[None, :])
        return self._obs(), float(rewards[0]), bool(terminated[0]), False, infos[0]

    @property
    def nfe(self) -> int:
        return int(self.core.nfe[0])

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self._item is None:
            return None
        mask_char = "_"
        shown = []
        for pos in range(self.gen_length):
            if self.core.masked[0, pos]:
                shown.append(mask_char)
            else:
                text = self.lm.tokenizer.decode([int(self.core.tokens[0, pos])])
                shown.append(text if text else "·")
        return f"{self._item.prompt}{''.join(shown)}  (NFE {self.nfe})"


class UnmaskingVectorEnv(_UnmaskingConfig, VectorEnv):
    """N Unmasking-v0 episodes with one batched forward per step (next-step autoreset: the step after an
    episode ends resets that sub-env and ignores its action). Arguments as UnmaskingEnv plus num_envs."""

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 8, model=None, task: "str | Task | None" = None, gen_length: int = 8,
                 block_length: int | None = None, alpha: float = 1.0, reward_form: str = "multiplicative",
                 include_tokens: bool = False, task_seed: int = 1, device: str = "cpu",
                 trust_remote_code: bool | None = None, torch_threads: int | None = 1, render_mode: str | None = None):
        if render_mode is not None:
            raise ValueError("UnmaskingVectorEnv does not render")
        self.num_envs = num_envs
        self.single_observation_space = self._setup(model, task, gen_length, block_length, alpha, reward_form,
                                                    include_tokens, task_seed, device, trust_remote_code, num_envs,
                                                    torch_threads)
        self.single_action_space = spaces.MultiBinary(gen_length)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.render_mode = None
        self._rngs: list[np.random.Generator] = [np.random.default_rng() for _ in range(num_envs)]
        self._needs_reset = np.ones(num_envs, dtype=bool)

    def _seed_slot(self, slot: int, seed: int | None) -> None:
        from gymnasium.utils import seeding

        if seed is not None:
            self._rngs[slot], _ = seeding.np_random(seed)

    def reset(self, *, seed: "int | Sequence[int | None] | None" = None, options: dict | None = None):
        if seed is None or isinstance(seed, int):
            seeds = [None if seed is None else seed + i for i in range(self.num_envs)]
        else:
            seeds = list(seed)
            if len(seeds) != self.num_envs:
                raise ValueError(f"got {len(seeds)} seeds for {self.num_envs} envs")
        options = reset_options(options)
        indices = options.pop("index", None)
        if indices is not None and (np.ndim(indices) == 0 or len(indices) != self.num_envs):
            raise ValueError(f"options['index'] must be a list of {self.num_envs} item indices")
        items = []
        for slot in range(self.num_envs):
            self._seed_slot(slot, seeds[slot])
            slot_options = dict(options, index=int(indices[slot])) if indices is not None else (options or None)
            items.append(self._item_from(self._rngs[slot], slot_options))
        self.core.reset_slots(range(self.num_envs), items)
        self.core.refresh(range(self.num_envs))
        self._needs_reset[:] = False
        infos: dict = {}
        for slot, item in enumerate(items):
            infos = self._add_info(infos, self._reset_info(item), slot)
        return self.core.observe(None, self.include_tokens), infos

    def step(self, actions):
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs, self.gen_length):
            raise ValueError(f"actions must have shape ({self.num_envs}, {self.gen_length}), got {actions.shape}")
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        terminated = np.zeros(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        infos: dict = {}
        restart = np.flatnonzero(self._needs_reset).tolist()
        running = [s for s in range(self.num_envs) if s not in restart]
        if restart:
            items = [self._item_from(self._rngs[s], None) for s in restart]
            self.core.reset_slots(restart, items)
            for s, item in zip(restart, items):
                infos = self._add_info(infos, self._reset_info(item), s)
        # Apply the running slots' actions without their forward, then ONE forward for every slot that needs
        # a fresh observation (the still-running ones and the restarted ones).
        step_rewards, step_term, step_infos = (self.core.apply(running, actions[running], forward=False) if running
                                               else (np.zeros(0), np.zeros(0, dtype=bool), []))
        for j, s in enumerate(running):
            rewards[s], terminated[s] = step_rewards[j], step_term[j]
            infos = self._add_info(infos, step_infos[j], s)
        self.core.refresh([s for s in range(self.num_envs) if not self.core.done[s]])
        self._needs_reset = terminated.copy()
        return self.core.observe(None, self.include_tokens), rewards, terminated, truncated, infos
