"""GRPO on multi-turn text envs (``TextEnv.multi_turn``, e.g. TemporalClue-Feedback-v0) through TRL's rollout_func.

Each rollout is one episode of the row's env, played by the policy being trained: ``reset(seed=row seed)``, then
the policy answers, the env steps, and while the episode goes on the env's ``info["feedback"]`` becomes the next
user turn. The reward is the episode's return, summed from the env's own step rewards (``run_episode``), so the
env's reward rule is the only one. The completion is every token after the prompt; ``env_mask`` marks the
feedback tokens (0) so that only the model's own tokens are trained.

Generation is one rollout at a time with the policy's ``generate`` (``max_completion_length`` new tokens per turn):
fine for CPU tests and small runs.
"""

from __future__ import annotations

from typing import Any, Callable

__all__ = ["run_episode", "make_multi_turn_rollout", "MAX_TURNS"]

MAX_TURNS = 16  # a cap on responses per episode for envs that do not end their own episodes


def run_episode(env, seed: int | None, messages: list[dict], respond: Callable[[list[dict]], str], *,
                max_turns: int = MAX_TURNS) -> tuple[float, int, list[dict]]:
    """Play one episode of a text env: ``respond(chat) -> text`` answers the chat so far; each answer is stepped in
    the env, and the step's ``info["feedback"]`` (else its observation) becomes the next user message. Returns
    (the episode's return, the number of responses, the final chat)."""
    env.reset(seed=seed)
    chat = list(messages)
    total = 0.0
    for turn in range(1, max_turns + 1):
        text = respond(chat)
        observation, reward, terminated, truncated, info = env.step(text)
        total += float(reward)
        chat = chat + [{"role": "assistant", "content": text}]
        if terminated or truncated:
            return total, turn, chat
        chat.append({"role": "user", "content": info.get("feedback") or observation})
    return total, max_turns, chat


def make_multi_turn_rollout(dataset, env_kwargs: dict | None = None, *, max_turns: int = MAX_TURNS):
    """(rollout_func, reward_func) for the rows of `dataset` (agents/grpo/data.py rows: prompt, env_id, seed).

    rollout_func(prompts, trainer) returns TRL's contract: prompt_ids, completion_ids, logprobs (None: TRL
    recomputes them), env_mask, plus the extra fields env_reward and turns, which TRL passes to the reward
    functions; reward_func (named env_reward) returns env_reward."""
    from rlvr_gym.envs.registration import make_env

    env_kwargs = env_kwargs or {}
    rows: dict[str, tuple[str, int]] = {}
    for row in dataset:
        rows[row["prompt"][-1]["content"]] = (row["env_id"], int(row["seed"]))
    envs: dict[str, Any] = {}

    def rollout_func(prompts, trainer):
        import torch

        tok = trainer.processing_class
        model = trainer.accelerator.unwrap_model(trainer.model)
        device = trainer.accelerator.device
        eos = tok.eos_token_id
        out = {"prompt_ids": [], "completion_ids": [], "logprobs": None, "env_mask": [], "env_reward": [],
               "turns": []}
        gen_kwargs = dict(max_new_tokens=trainer.args.max_completion_length, do_sample=True,
                          temperature=trainer.args.temperature, top_k=0, top_p=1.0, pad_token_id=tok.pad_token_id,
                          eos_token_id=eos)
        for messages in prompts:
            key = messages[-1]["content"]
            if key not in rows:
                raise ValueError("rollout prompt not found in the training dataset")
            env_id, seed = rows[key]
            if env_id not in envs:
                envs[env_id] = make_env(env_id, **dict(env_kwargs.get(env_id, {})))
            prompt_text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            prompt_ids = tok(prompt_text, add_special_tokens=False)["input_ids"]
            completion: list[int] = []
            mask: list[int] = []
            state = {"transcript": prompt_text, "last": []}

            def respond(chat: list[dict]) -> str:
                if len(chat) > len(messages):
                    # The user turn since the last answer: what the chat template adds after the transcript so far.
                    full = tok.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
                    so_far = state["transcript"] + tok.decode(state["last"], skip_special_tokens=False)
                    tail = full[len(so_far):] if full.startswith(so_far) else full[len(state["transcript"]):]
                    feedback_ids = tok(tail, add_special_tokens=False)["input_ids"]
                    completion.extend(feedback_ids)
                    mask.extend([0] * len(feedback_ids))
                    state["transcript"] = full
                ids = torch.tensor([prompt_ids + completion], device=device)
                with torch.no_grad():
                    new = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **gen_kwargs)
                new = new[0, ids.shape[1]:].tolist()
                if eos in new:
                    new = new[:new.index(eos) + 1]
                completion.extend(new)
                mask.extend([1] * len(new))
                state["last"] = new
                return tok.decode([t for t in new if t != eos], skip_special_tokens=True)

            reward, turns, _ = run_episode(envs[env_id], seed, messages, respond, max_turns=max_turns)
            out["prompt_ids"].append(prompt_ids)
            out["completion_ids"].append(completion)
            out["env_mask"].append(mask)
            out["env_reward"].append(float(reward))
            out["turns"].append(turns)
        return out

    def env_reward(completions, env_reward, **kwargs):
        return [float(r) for r in env_reward]

    return rollout_func, env_reward
