"""Buyer identity: the relay address is personal data, so everything outside the warehouse sees only its hash."""

from __future__ import annotations

import hashlib


def buyer_id_for(relay_email: str) -> str:
    """A stable, non-reversible id for a buyer's relay address (case and surrounding space ignored)."""
    normalised = relay_email.strip().lower()
    if "@" not in normalised:
        raise ValueError("a buyer relay address must contain '@'")
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()[:32]
