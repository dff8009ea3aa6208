"""The SP-API stand-in for tests: demo accounts, a manual clock, credentials in the environment, a config file."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from sellerreach.clock import ManualClock, use_clock
from sellerreach.demo import (
    CLIENT_ID_ENV,
    CLIENT_SECRET_ENV,
    DEMO_SENDER_DOMAIN,
    REFRESH_TOKEN_ENV,
    SES_KEY_ENV,
    write_demo_config,
)
from sellerreach.sandbox import OrderWorld, SandboxServer, demo_sellers


@dataclass
class StandIn:
    server: SandboxServer
    world: OrderWorld
    clock: ManualClock
    tokens: dict[str, str]  # account id -> refresh token
    client_id: str
    client_secret: str
    config_path: Path
    started_at: datetime  # the clock when the stand-in started: a first sync looks back from here


def write_config(path: Path, *, endpoint: str, warehouse_url: str, overlap_minutes: int = 15) -> Path:
    """The demo config pointed at a stand-in, with a warehouse of the test's choosing."""
    write_demo_config(path, endpoint=endpoint, time_scale=1)
    text = path.read_text(encoding="utf-8")
    text = text.replace('url = "sqlite:///.sellerreach/warehouse.db"', f'url = "{warehouse_url}"')
    text = text.replace("overlap_minutes = 15", f"overlap_minutes = {overlap_minutes}")
    path.write_text(text, encoding="utf-8")
    return path


@contextmanager
def running_stand_in(
    monkeypatch,
    tmp_path: Path,
    *,
    warehouse_url: str = "sqlite:///:memory:",
    orders_per_day: float = 20.0,
    history_days: int = 35,
    overlap_minutes: int = 15,
    late_update_share: float = 0.05,
) -> Iterator[StandIn]:
    """Start the stand-in on a free port with the two demo accounts; the flows run on its manual clock."""
    clock = ManualClock()
    tokens = {account: f"test-{secrets.token_hex(8)}" for account in REFRESH_TOKEN_ENV}
    client_id, client_secret = f"test-{secrets.token_hex(6)}", f"test-{secrets.token_hex(12)}"
    monkeypatch.setenv(CLIENT_ID_ENV, client_id)
    monkeypatch.setenv(CLIENT_SECRET_ENV, client_secret)
    for account, name in REFRESH_TOKEN_ENV.items():
        monkeypatch.setenv(name, tokens[account])
    for name in SES_KEY_ENV:
        monkeypatch.setenv(name, f"test-{secrets.token_hex(8)}")
    sellers = [replace(s, orders_per_day=orders_per_day) for s in demo_sellers(tokens)]
    world = OrderWorld(sellers, clock, history_days=history_days, late_update_share=late_update_share)
    server = SandboxServer(world, clock, client_id=client_id, client_secret=client_secret)
    server.ses.verify(DEMO_SENDER_DOMAIN)
    with server, use_clock(clock):
        config = write_config(
            tmp_path / "sellerreach.toml",
            endpoint=server.url,
            warehouse_url=warehouse_url,
            overlap_minutes=overlap_minutes,
        )
        yield StandIn(server, world, clock, tokens, client_id, client_secret, config, clock.now())
