"""The SES stand-in on its own local port (inside a SandboxServer nobody asks for orders), for tests that send
mail."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sellerreach.clock import ManualClock
from sellerreach.sandbox import OrderWorld, SandboxServer, demo_sellers
from sellerreach.sandbox.ses import SentMessage, SesStandIn


@dataclass
class RunningSes:
    url: str
    stand_in: SesStandIn

    def sent(self) -> list[SentMessage]:
        return self.stand_in.sent()

    def events(self) -> list[dict]:
        return self.stand_in.events()


@contextmanager
def ses_stand_in(*, verified: Iterable[str] = (), region: str = "us-east-1") -> Iterator[RunningSes]:
    """SES v2 at `url` (boto3's endpoint_url) with `verified` identities (addresses or domains)."""
    clock = ManualClock()
    stand_in = SesStandIn(clock, verified_identities=verified, region=region)
    world = OrderWorld(demo_sellers({"acme-na": "unused", "acme-eu": "unused"}), clock)
    server = SandboxServer(world, clock, client_id="unused", client_secret="unused", ses=stand_in)
    with server:
        yield RunningSes(server.url, stand_in)
