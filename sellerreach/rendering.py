"""Jinja2 for every text sellerreach sends: one sandboxed environment shape, found in one place.

Templates are data written by sellers, so they render in Jinja2's sandbox (no attribute access to Python
internals) with StrictUndefined: a misspelt variable is an error, never an empty string in a buyer's mail.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

# A wheel carries the templates inside the package; a source checkout has them at the top of the repo.
_PACKAGED = Path(__file__).resolve().parent / "templates"
_CHECKOUT = Path(__file__).resolve().parent.parent / "templates"


def shipped_templates() -> Path:
    """The templates/ folder that comes with sellerreach."""
    return _PACKAGED if _PACKAGED.is_dir() else _CHECKOUT


def sandboxed_environment(folder: Path) -> SandboxedEnvironment:
    """A sandboxed, strict environment loading templates from `folder` (plain text: no autoescaping)."""
    return SandboxedEnvironment(
        loader=FileSystemLoader(folder),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
