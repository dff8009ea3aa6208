"""`sellerreach sandbox` as a user runs it: a process that serves the demo accounts, writes their stand-in
credentials to .sellerreach/sandbox.env (mode 600) for other shells, says where it listens as soon as it does
(even through a pipe), and stops cleanly on SIGTERM."""

from __future__ import annotations

import queue
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_line(lines: queue.Queue, seen: list[str], needle: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not any(needle in line for line in seen):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no line with {needle!r} within {timeout} s; output so far: {''.join(seen)}")
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        if line is None:
            raise AssertionError(f"sandbox exited early: {''.join(seen)}")
        seen.append(line)


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
    lines: queue.Queue = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    seen: list[str] = []
    env_file = tmp_path / ".sellerreach" / "sandbox.env"
    try:
        # The address is printed (and flushed, stdout being a pipe) once the server answers.
        _wait_for_line(lines, seen, "Credentials for the demo accounts", timeout=60)
        assert any(f"127.0.0.1:{port}" in line for line in seen)
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
        assert token["token_type"] == "bearer" and token["expires_in"] == 3600
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    finally:
        process.terminate()
        process.wait(timeout=20)
        reader.join(timeout=5)
    while not lines.empty():
        line = lines.get()
        if line is not None:
            seen.append(line)
    output = "".join(seen)
    assert "Stopped." in output, output  # SIGTERM is a clean shutdown
    assert process.returncode == 0
    for secret in creds.values():
        assert secret not in output  # the credentials are in the file, never on the screen
