"""Distillation losses as pure tensor functions, one family per module; `common` holds the counting they share."""
