"""Reading a model's shipped weights: one plain ``.npz`` (no pickles), loaded whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emolens.errors import EngineError


def read_npz(path: Path, what: str, fix: str | None = None) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` at ``path``.

    A missing or unreadable file raises EngineError "``what`` weights missing or unreadable at ``path``: ``fix``"
    (the underlying error's text when ``fix`` is None), so the user is told which model and what to do.
    """
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError) as e:
        raise EngineError(f"{what} weights missing or unreadable at {path}: {fix or e}") from e
