"""Text classification: one label per text or text pair (sentiment, topic, NLI), scored by accuracy and F1."""

import numpy as np
from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding

from hfdistill.data.loading import load_splits, tokenize_splits
from hfdistill.tasks.base import EncoderTask


class TextClassification(EncoderTask):
    """One label per example; F1 is binary for two labels and macro-averaged otherwise."""

    name = "text-classification"
    auto_class = AutoModelForSequenceClassification
    columns = ("text", "label")
    metric_names = ("accuracy", "f1")
    headline_metric = "accuracy"
    metric_keys = ("accuracy", "f1")
    output_axes = {0: "batch"}
    describes = "text classifier"
    example = "A warm, funny and beautifully acted film."
    supports_transfer = True

    def load_splits(self, data_args):
        return load_splits(data_args)

    def tokenize(self, splits, tokenizer, data_args):
        return tokenize_splits(splits, tokenizer, data_args)

    def collator(self, tokenizer):
        return DataCollatorWithPadding(tokenizer)

    def scores(self, logits, labels, label_names):
        predictions = np.argmax(logits, axis=-1)
        metrics, results = self.metrics, {}
        results |= metrics["accuracy"].compute(predictions=predictions, references=labels)
        average = "binary" if len(label_names) == 2 else "macro"
        results |= metrics["f1"].compute(predictions=predictions, references=labels, average=average)
        return {name: float(results[name]) for name in self.metric_keys}
