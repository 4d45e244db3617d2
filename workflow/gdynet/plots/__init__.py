"""Figures of the paper, drawn from the workflow's tables (pure: data in, Figure out).

One module per family: `koopman` (timescales, CK test: every system), `toy` (Fig. 2c).
Every function returns a matplotlib Figure; `save` writes it as PNG and PDF.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402

from gdynet import io  # noqa: E402


def style() -> None:
    sns.set_theme(context="paper", style="ticks", font_scale=1.1)


def save(fig: plt.Figure, png_path, pdf_path) -> None:
    """Write PNG (for the report) and PDF, each atomically."""
    for path in (png_path, pdf_path):
        with io.atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=200, bbox_inches="tight")
    plt.close(fig)
