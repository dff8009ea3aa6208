"""`prefect-secret:NAME` references resolve through Prefect Secret blocks (sellerreach/ never imports prefect)."""

from __future__ import annotations

from sellerreach.secrets import register_secret_scheme


def _load_prefect_secret(name: str) -> str:
    from prefect.blocks.system import Secret

    return str(Secret.load(name).get())


register_secret_scheme("prefect-secret", _load_prefect_secret)
