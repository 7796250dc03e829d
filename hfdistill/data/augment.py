"""Augmented transfer text: perturbed copies of the training texts, on which the student learns the teacher's function.

The rules of Tang et al. (2019, "Distilling task-specific knowledge from BERT into simple neural networks"), which
TinyBERT also builds on: every word is masked with probability `p_mask` or swapped for a word drawn from the training
texts with probability `p_swap`, and with probability `p_ngram` the copy is cut down to an n-gram of 1 to 5 words.
The copies carry no label: the teacher's soft targets on them are what the student learns, so they probe the
teacher's function around the training data, where the labelled set alone gives it one point per text.
"""

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class AugmentRules:
    """How a copy is perturbed (Tang et al.'s defaults)."""

    p_mask: float = 0.1
    p_swap: float = 0.1
    p_ngram: float = 0.25
    max_ngram: int = 5


def perturbed(words: list[str], pool: list[str], mask_token: str | None, rules: AugmentRules, rng: random.Random):
    """One perturbed copy of a text's words; without a mask token, words that would be masked are swapped."""
    out = []
    for word in words:
        draw = rng.random()
        if mask_token is not None and draw < rules.p_mask:
            out.append(mask_token)
        elif draw < rules.p_mask + rules.p_swap:
            out.append(rng.choice(pool))
        else:
            out.append(word)
    if len(out) > 1 and rng.random() < rules.p_ngram:
        size = rng.randint(1, min(rules.max_ngram, len(out)))
        start = rng.randrange(len(out) - size + 1)
        out = out[start : start + size]
    return out


def augmented_texts(
    texts: list[str], copies: int, mask_token: str | None, seed: int, rules: AugmentRules = AugmentRules()
) -> list[str]:
    """`copies` perturbed copies of each text, without repeats and without any of the original texts."""
    rng = random.Random(seed)
    split = [text.split() for text in texts]
    pool = [word for words in split for word in words]  # swaps follow the words' frequencies
    seen = set(texts)
    out = []
    for words in split:
        for _ in range(copies):
            text = " ".join(perturbed(words, pool, mask_token, rules, rng))
            if text and text not in seen:
                seen.add(text)
                out.append(text)
    return out
