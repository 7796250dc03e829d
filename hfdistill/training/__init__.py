"""Training: the Trainer subclasses, intermediate-layer capture, and stages that resume after a crash."""
