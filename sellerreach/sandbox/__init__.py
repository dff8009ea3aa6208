"""Local stand-ins for Amazon: an SP-API + LWA server over a deterministic order world, with fault injection.

world = OrderWorld(demo_sellers({"acme-na": "Atzr|na", "acme-eu": "Atzr|eu"}), clock)
with SandboxServer(world, clock, client_id="demo-client", client_secret="demo-secret") as server:
    ...  # point the SP-API client at server.url and LWA at server.lwa_url
"""

from sellerreach.sandbox.faults import LWA_OPERATION, FaultPlan
from sellerreach.sandbox.server import SandboxServer
from sellerreach.sandbox.world import CORRUPTIONS, OrderWorld, SandboxSeller, demo_sellers, project_order

__all__ = [
    "CORRUPTIONS",
    "LWA_OPERATION",
    "FaultPlan",
    "OrderWorld",
    "SandboxSeller",
    "SandboxServer",
    "demo_sellers",
    "project_order",
]
