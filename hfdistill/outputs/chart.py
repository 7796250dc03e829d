"""The trade-off picture: quality against CPU latency and against size on disk, one point per compared model."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402

from hfdistill.outputs.report import ModelReport  # noqa: E402

CHART_FILE = "tradeoff.png"


def tradeoff_chart(rows: list[ModelReport], metric: str, path: str | Path) -> Path:
    """Write a PNG with two panels, `metric` vs batch-1 CPU latency and `metric` vs size; return its path."""
    figure, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True, dpi=100)
    panels = ((axes[0], "latency_ms_batch1", "CPU latency at batch 1 (ms)"), (axes[1], "size_mb", "size on disk (MB)"))
    for axis, field, label in panels:
        for row in rows:
            x, y = getattr(row, field), row.metrics[metric]
            axis.scatter(x, y, s=60)
            axis.annotate(row.name, (x, y), textcoords="offset points", xytext=(6, 6), fontsize=9)
        axis.set_xlabel(label)
        axis.grid(alpha=0.3)
        axis.margins(0.25)
    axes[0].set_ylabel(f"test {metric}")
    figure.suptitle(f"{metric} against cost (further left is cheaper, higher is better)")
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path)
    plt.close(figure)
    return path
