"""Unmasking-v0 in a few lines: decode with Fast-dLLM, then run a batch of episodes in the vector env.

    rlvr dllm pretrain                   # once: trains the embedded tiny diffusion LM into the cache
    python examples/unmasking_quickstart.py
"""

import gymnasium as gym
import numpy as np

import rlvr_gym  # noqa: F401  (registers Unmasking-v0)
from rlvr_gym.agents.unmasking.policies import FastDLLMAgent

agent = FastDLLMAgent(threshold=0.9)

env = gym.make("Unmasking-v0", gen_length=8)
obs, info = env.reset(seed=0)
print("prompt:", info["prompt"], " reference answer:", info["answer"])
done = False
while not done:
    obs, reward, done, truncated, step_info = env.step(agent.act(obs))
    print(f"NFE {step_info['nfe']}: unmasked {step_info['unmasked']}")
print(f"decoded {step_info['text']!r} correct={step_info['correct']} reward={reward:.3f}")

# 16 episodes at once: one batched forward of the diffusion LM per step for all of them.
venv = gym.make_vec("Unmasking-v0", num_envs=16, vectorization_mode="vector_entry_point", gen_length=8)
obs, _ = venv.reset(seed=0)
finished, correct, nfe = np.zeros(16, bool), np.zeros(16, bool), np.zeros(16)
while not finished.all():
    obs, reward, terminated, truncated, infos = venv.step(agent.select(obs))
    for i in np.flatnonzero(terminated & ~finished):
        finished[i], correct[i], nfe[i] = True, infos["correct"][i], infos["nfe"][i]
print(f"vector env: accuracy {correct.mean():.0%}, mean NFE {nfe.mean():.2f}")
