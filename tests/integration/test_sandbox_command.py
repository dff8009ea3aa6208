"""`sellerreach sandbox` as a user runs it: a process that serves the demo accounts and writes their
stand-in credentials to .sellerreach/sandbox.env (mode 600) for other shells."""

from __future__ import annotations

import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sandbox_command_serves_lwa_with_the_credentials_it_wrote(tmp_path):
    port = _free_port()
    cli = Path(sys.executable).with_name("sellerreach")
    process = subprocess.Popen(
        [str(cli), "sandbox", "--port", str(port), "--orders-per-day", "5"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    env_file = tmp_path / ".sellerreach" / "sandbox.env"
    try:
        deadline = time.monotonic() + 60
        token = None
        while time.monotonic() < deadline and token is None:
            if process.poll() is not None:
                raise AssertionError(f"sandbox exited early: {process.stdout.read()}")
            if env_file.exists():
                try:
                    creds = dict(line.split("=", 1) for line in env_file.read_text().split())
                    token = httpx.post(
                        f"http://127.0.0.1:{port}/auth/o2/token",
                        data={
                            "grant_type": "refresh_token",
                            "refresh_token": creds["SELLERREACH_DEMO_ACME_NA_REFRESH_TOKEN"],
                            "client_id": creds["SELLERREACH_DEMO_CLIENT_ID"],
                            "client_secret": creds["SELLERREACH_DEMO_CLIENT_SECRET"],
                        },
                    ).json()
                except (httpx.TransportError, ValueError, KeyError):
                    time.sleep(0.2)
            else:
                time.sleep(0.2)
        assert token and token["token_type"] == "bearer" and token["expires_in"] == 3600
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert f"127.0.0.1:{port}" in output
    for secret in creds.values():
        assert secret not in output  # the credentials are in the file, never on the screen
