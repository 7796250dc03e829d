"""Labels of words, aligned to the sub-tokens a fast tokenizer splits them into."""


def first_subtoken_labels(word_ids: list[int | None], tags: list[int]) -> list[int]:
    """Each word's tag on its first sub-token; -100 on the others and on special tokens."""
    labels, previous = [], None
    for word in word_ids:
        labels.append(-100 if word is None or word == previous else tags[word])
        previous = word
    return labels
