"""Reply templates: `<name>.<locale>.txt.j2` files (Jinja2, sandboxed, strict), one per language a reply can be
written in, and the variables every template may use.

The locale of a reply is the buyer's language (Amazon: write in the buyer's language), else the marketplace's;
a template that has no file for either cannot answer that buyer, and says so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError

from sellerreach.errors import SellerreachError
from sellerreach.rendering import CONTEXT_VARIABLES, sandboxed_environment, shipped_templates

_FILE = re.compile(r"^(?P<name>[a-z0-9][a-z0-9_-]{0,63})\.(?P<locale>[a-z]{2})\.txt\.j2$")


class TemplateProblem(SellerreachError):
    """A reply template is missing for a locale, cannot be read, or uses what it may not."""


@dataclass(frozen=True)
class ReplyTemplates:
    """The reply templates of one folder."""

    folder: Path

    @classmethod
    def from_config(cls, configured: str | None) -> ReplyTemplates:
        """The configured folder ([inbox] reply_templates), else the shipped templates/replies."""
        folder = Path(configured) if configured else shipped_templates() / "replies"
        if not folder.is_dir():
            raise TemplateProblem(
                f"[inbox] reply_templates: folder {str(folder)!r} does not exist; point it at a folder of "
                '<name>.<locale>.txt.j2 files, e.g. reply_templates = "templates/replies"'
            )
        return cls(folder)

    def catalogue(self) -> dict[str, tuple[str, ...]]:
        """{template name: its locales}, sorted."""
        found: dict[str, list[str]] = {}
        for path in self.folder.iterdir():
            if match := _FILE.match(path.name):
                found.setdefault(match["name"], []).append(match["locale"])
        return {name: tuple(sorted(locales)) for name, locales in sorted(found.items())}

    def choose_locale(self, name: str, wanted: tuple[str | None, ...]) -> str:
        """The first of `wanted` (buyer's language, marketplace language) the template has a file for."""
        catalogue = self.catalogue()
        if name not in catalogue:
            known = ", ".join(catalogue) or "(none)"
            raise TemplateProblem(
                f"no reply template {name!r} in {self.folder}; known: {known}; a template is a file "
                f"{name}.<locale>.txt.j2 there"
            )
        for locale in wanted:
            if locale in catalogue[name]:
                return locale
        asked = [w for w in wanted if w]
        missing = self.folder / f"{name}.{asked[0] if asked else 'en'}.txt.j2"
        raise TemplateProblem(
            f"reply template {name!r} has no file for {' or '.join(asked) or 'an unknown language'} (it has "
            f"{', '.join(catalogue[name])}); add {missing}: Amazon asks that replies be written in the "
            "buyer's language"
        )

    def render(self, name: str, locale: str, context: Mapping[str, Any]) -> str:
        """The rendered text, stripped. TemplateProblem names the file and what is wrong (an unknown variable
        lists the known ones)."""
        file_name = f"{name}.{locale}.txt.j2"
        environment = sandboxed_environment(self.folder)
        try:
            return environment.get_template(file_name).render(**context).strip()
        except UndefinedError as exc:
            raise TemplateProblem(
                f"{self.folder / file_name}: {exc.message}; known variables: {', '.join(CONTEXT_VARIABLES)}"
            ) from None
        except TemplateSyntaxError as exc:
            raise TemplateProblem(f"{self.folder / file_name}:{exc.lineno}: {exc.message}") from None
        except SecurityError as exc:
            raise TemplateProblem(f"{self.folder / file_name}: not allowed in a template: {exc}") from None
