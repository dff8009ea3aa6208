"""Amazon marketplaces: id, region, country, currency, language and the time zone Amazon reports in.

Source: Amazon's "Marketplace IDs" and "SP-API endpoints" pages. Minor units follow ISO 4217 (JPY has none),
which is how `*_cents` columns are scaled.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Marketplace:
    marketplace_id: str
    country: str
    region: str  # na, eu, fe
    currency: str
    language: str  # BCP 47 locale the marketplace writes in
    time_zone: str
    name: str


REGION_ENDPOINTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}
LWA_ENDPOINT = "https://api.amazon.com/auth/o2/token"

MARKETPLACES: dict[str, Marketplace] = {
    m.marketplace_id: m
    for m in (
        Marketplace("ATVPDKIKX0DER", "US", "na", "USD", "en-US", "America/Los_Angeles", "Amazon.com"),
        Marketplace("A2EUQ1WTGCTBG2", "CA", "na", "CAD", "en-CA", "America/Los_Angeles", "Amazon.ca"),
        Marketplace("A1AM78C64UM0Y8", "MX", "na", "MXN", "es-MX", "America/Mexico_City", "Amazon.com.mx"),
        Marketplace("A2Q3Y263D00KWC", "BR", "na", "BRL", "pt-BR", "America/Sao_Paulo", "Amazon.com.br"),
        Marketplace("A1F83G8C2ARO7P", "GB", "eu", "GBP", "en-GB", "Europe/London", "Amazon.co.uk"),
        Marketplace("A1PA6795UKMFR9", "DE", "eu", "EUR", "de-DE", "Europe/Berlin", "Amazon.de"),
        Marketplace("A13V1IB3VIYZZH", "FR", "eu", "EUR", "fr-FR", "Europe/Paris", "Amazon.fr"),
        Marketplace("APJ6JRA9NG5V4", "IT", "eu", "EUR", "it-IT", "Europe/Rome", "Amazon.it"),
        Marketplace("A1RKKUPIHCS9HS", "ES", "eu", "EUR", "es-ES", "Europe/Madrid", "Amazon.es"),
        Marketplace("A1805IZSGTT6HS", "NL", "eu", "EUR", "nl-NL", "Europe/Amsterdam", "Amazon.nl"),
        Marketplace("AMEN7PMS3EDWL", "BE", "eu", "EUR", "fr-BE", "Europe/Brussels", "Amazon.com.be"),
        Marketplace("A2NODRKZP88ZB9", "SE", "eu", "SEK", "sv-SE", "Europe/Stockholm", "Amazon.se"),
        Marketplace("A1C3SOZRARQ6R3", "PL", "eu", "PLN", "pl-PL", "Europe/Warsaw", "Amazon.pl"),
        Marketplace("A33AVAJ2PDY3EV", "TR", "eu", "TRY", "tr-TR", "Europe/Istanbul", "Amazon.com.tr"),
        Marketplace("A2VIGQ35RCS4UG", "AE", "eu", "AED", "ar-AE", "Asia/Dubai", "Amazon.ae"),
        Marketplace("A17E79C6D8DWNP", "SA", "eu", "SAR", "ar-SA", "Asia/Riyadh", "Amazon.sa"),
        Marketplace("ARBP9OOSHTCHU", "EG", "eu", "EGP", "ar-EG", "Africa/Cairo", "Amazon.eg"),
        Marketplace("A21TJRUUN4KGV", "IN", "eu", "INR", "en-IN", "Asia/Kolkata", "Amazon.in"),
        Marketplace("AE08WJ6YKNBMC", "ZA", "eu", "ZAR", "en-ZA", "Africa/Johannesburg", "Amazon.co.za"),
        Marketplace("A1VC38T7YXB528", "JP", "fe", "JPY", "ja-JP", "Asia/Tokyo", "Amazon.co.jp"),
        Marketplace("A39IBJ37TRP1C6", "AU", "fe", "AUD", "en-AU", "Australia/Sydney", "Amazon.com.au"),
        Marketplace("A19VAU5U5O7RUS", "SG", "fe", "SGD", "en-SG", "Asia/Singapore", "Amazon.sg"),
    )
}

# ISO 4217 minor units for the currencies above that are not 2.
_MINOR_UNITS = {"JPY": 0}


def minor_units(currency: str) -> int:
    return _MINOR_UNITS.get(currency.upper(), 2)


def get_marketplace(marketplace_id: str) -> Marketplace:
    try:
        return MARKETPLACES[marketplace_id]
    except KeyError:
        raise KeyError(f"unknown marketplace id {marketplace_id!r}") from None
