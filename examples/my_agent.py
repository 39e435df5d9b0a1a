"""A custom agent plugs in by import path. From the repository root:

    rlvr eval TemporalClue-Easy-v0 --agent python:examples.my_agent:FirstCandidateAgent -n 5
    rlvr eval TemporalClue-Easy-v0 --agent python:examples/my_agent.py:FirstCandidateAgent -n 5   # a file path
    python examples/my_agent.py            # plays 5 episodes here and prints what it did (a few seconds)

(a dotted module is looked up on sys.path and in the current directory.) Any class with
``act_batch(observations, infos) -> list[str]`` (or ``act(observation, info) -> str``) works; subclassing
rlvr_gym.agents.base.Agent is optional.
"""

from rlvr_gym.agents.base import Agent


class FirstCandidateAgent(Agent):
    """Answers every question with the first admissible candidate: a weak, deterministic baseline."""

    name = "first-candidate"

    def act_batch(self, observations, infos=None):
        infos = infos or [{} for _ in observations]
        replies = []
        for info in infos:
            candidates = info.get("candidates") or {}
            replies.append("\n".join(f"{letter}. {options[0]}" for letter, options in candidates.items() if options))
        return replies


if __name__ == "__main__":
    from rlvr_gym.agents.evaluation import evaluate

    rows, summary = evaluate("TemporalClue-Easy-v0", FirstCandidateAgent(), episodes=5, seed=0, progress=False)
    first = rows[0]
    print(f"episode 0 ({first['puzzle_id']}): the agent answered\n{first['response']}\n"
          f"reward {first['reward']:.2f}; the solution was {first['solution']}")
    print(f"over {summary['episodes']} episodes: mean reward {summary['mean_reward']:.3f}, "
          f"solved {summary['solved_fraction']:.0%} (the oracle solves 100%: rlvr eval TemporalClue-Easy-v0 "
          f"--agent oracle -n 5)")
