"""Prefect tasks, grouped by the system they touch. The work itself is a call into `sellerreach`."""

from tasks import secrets as _secrets  # noqa: F401  (registers the prefect-secret: scheme)
