"""Where the shipped data folders (``taxonomy/``, ``prompts/``) live.

They sit at the repository top level (fixed by the product card). A wheel carries them inside the
package as ``curator/_data/...``; an editable install reads them from the checkout.
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder of shipped data ``name`` ("taxonomy" or "prompts")."""
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"shipped data folder {name!r} not found next to {_PKG}")
