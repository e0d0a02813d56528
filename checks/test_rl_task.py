"""The given laboratory of chapter 11 (``course.rl_task``): reward rules, masks, log-probabilities.

Learners build GRPO on top of this module, so its pieces are checked here, by hand-worked cases
and by sampling, not by the graded tests.
"""

from __future__ import annotations

import math

import pytest
import torch

from course import rl_task as task

E = task.EOS


@pytest.mark.parametrize(
    ("a", "b", "completion", "expected"),
    [
        (3, 4, [7, E, task.PAD], 1.0),  # right, one digit
        (6, 6, [1, 2, E], 1.0),  # right, two digits
        (6, 6, [1, 3, E], 0.1),  # well-formed, wrong
        (3, 4, [0, 7, E], 0.0),  # leading zero
        (3, 4, [E, task.PAD, task.PAD], 0.0),  # empty answer
        (3, 4, [7, 7, 7], 0.0),  # no end token
        (3, 4, [task.PLUS, E, task.PAD], 0.0),  # a symbol where a digit belongs
    ],
)
def test_reward_rules(a, b, completion, expected):
    assert task.reward([a, task.PLUS, b, task.EQUALS], completion) == expected


def test_a_reward_function_that_raises_or_returns_nan_is_a_value_error():
    prompts = torch.tensor([[1, task.PLUS, 2, task.EQUALS]])
    completions = torch.tensor([[3, E, task.PAD]])
    with pytest.raises(ValueError, match="ZeroDivisionError"):
        task.rewards(prompts, completions, lambda p, c: 1 / 0)
    with pytest.raises(ValueError, match="nan"):
        task.rewards(prompts, completions, lambda p, c: math.nan)


def test_generation_pads_after_the_end_token_and_masks_it():
    config = task.Config(max_operand=3)
    policy = task.make_policy(config)
    prompts = task.all_prompts(config).repeat(8, 1)
    completions, mask = task.generate(policy, prompts, torch.Generator().manual_seed(1))
    for row, keep in zip(completions.tolist(), mask.tolist(), strict=True):
        ended = False
        for token, m in zip(row, keep, strict=True):
            assert m == (0.0 if ended else 1.0)
            assert (token == task.PAD) == ended
            ended = ended or token == E
    assert mask[:, 0].eq(1.0).all()  # every completion has at least one generated token


def test_token_logprobs_are_those_of_the_sampling_distribution():
    # The first token of a completion is drawn from softmax(policy(prompt + padding)); its
    # log-probability must be that distribution's, and the sequence probabilities of all
    # one-token continuations sum to 1.
    config = task.Config(max_operand=2)
    policy = task.make_policy(config)
    prompt = task.all_prompts(config)[:1].repeat(task.N_OUT, 1)
    completions = torch.full((task.N_OUT, task.MAX_NEW), task.PAD)
    completions[:, 0] = torch.arange(task.N_OUT)
    with torch.no_grad():
        logp = task.token_logprobs(policy, prompt, completions)
    assert torch.allclose(logp[:, 0].exp().sum(), torch.tensor(1.0), atol=1e-5)
    assert (logp[:, 1:] == 0).all()  # padding positions


def test_make_policy_is_seeded():
    a, b = task.make_policy(task.Config(seed=3)), task.make_policy(task.Config(seed=3))
    for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y)
