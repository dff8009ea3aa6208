"""Jinja2 for every text sellerreach sends: one sandboxed environment shape, the variables a template may use,
and dates written the way each locale writes them. The inbox renders replies with it, the compliance linter
renders every template with sample values of the same variables.

Templates are data written by sellers, so they render in Jinja2's sandbox (no attribute access to Python
internals) with StrictUndefined: a misspelt variable is an error, never an empty string in a buyer's mail.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

# name -> what it holds; every one is always defined (None or "" when the warehouse does not know it)
CONTEXT_VARIABLES: dict[str, str] = {
    "buyer_name": 'the buyer\'s name from the order ("" when unknown)',
    "order_id": "the Amazon order id, 123-1234567-1234567",
    "item": 'the title of the order\'s first item ("" when unknown)',
    "items": "the titles of all the order's items (a list)",
    "tracking_number": "the carrier's tracking number of the first package (None when not shipped or FBA)",
    "carrier": "the carrier of that package (None when unknown)",
    "shipped_on": "the ship date, written for the locale (None when not shipped)",
    "delivery_by": "the latest promised delivery date, written for the locale (None when unknown)",
    "marketplace": "the marketplace's name, Amazon.de",
    "agent_name": "the name of the agent who replies (the account's team for auto-replies)",
}
_MONTHS = {
    "en": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
}


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


def format_date(value: date | None, locale: str) -> str | None:
    """A date as a buyer reading `locale` writes it: 24. November 2026, 24 novembre 2026, 2026年11月24日."""
    if value is None:
        return None
    if locale in ("ja", "zh"):
        return f"{value.year}年{value.month}月{value.day}日"
    month = _MONTHS.get(locale, _MONTHS["en"]).split()[value.month - 1]
    if locale == "de":
        return f"{value.day}. {month} {value.year}"
    if locale == "es":
        return f"{value.day} de {month} de {value.year}"
    return f"{value.day} {month} {value.year}"
