"""Typed configuration: the argument dataclasses that `HfArgumentParser` reads, YAML recipes, and the checks of
paths and schedules made before any work. It knows no task: a task reads these arguments, never the reverse."""
