"""Configuration snippets for tests: seller accounts whose secrets are references the test never resolves."""

from __future__ import annotations

ACME_NA = """
[[accounts]]
id = "acme-na"
region = "na"
marketplaces = ["ATVPDKIKX0DER"]
client_id = "env:SELLERREACH_LWA_CLIENT_ID"
client_secret = "env:SELLERREACH_LWA_CLIENT_SECRET"
refresh_token = "env:SELLERREACH_ACME_NA_REFRESH_TOKEN"
"""

ACME_EU = """
[[accounts]]
id = "acme-eu"
region = "eu"
marketplaces = ["A1PA6795UKMFR9"]
client_id = "env:SELLERREACH_LWA_CLIENT_ID"
client_secret = "env:SELLERREACH_LWA_CLIENT_SECRET"
refresh_token = "env:SELLERREACH_ACME_EU_REFRESH_TOKEN"
"""
