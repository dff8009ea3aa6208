"""A throwaway moto server for tests (DESIGN.md, "Stack notes").

`throwaway_moto()` runs `moto_server -H 127.0.0.1 -p PORT` from the project's venv as a child process on a free
port, waits until `GET /moto-api/` answers, yields a `MotoServer` and kills the process on exit, also after a
start that failed half-way. moto 5.2.5 answers SES v2 SendEmail (sent mail is readable at
`GET /moto-api/data.json`), SNS and SQS; it needs the sender identity created first and publishes no SES events.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

# moto signs nothing and checks no keys; these only satisfy botocore's signer
ACCESS_KEY_ID, SECRET_ACCESS_KEY = "testing", "testing"


class MotoNotInstalled(RuntimeError):
    """moto_server is not in the venv (it comes with the dev dependency `moto[server]`)."""


@dataclass(frozen=True)
class MotoServer:
    url: str
    log_path: Path

    def reset(self) -> None:
        """Forget every resource and sent message in every service."""
        httpx.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()

    def data(self) -> dict:
        """moto's state as JSON: `data()["ses"]["Message"]` / `["RawMessage"]` are the sent mail."""
        reply = httpx.get(f"{self.url}/moto-api/data.json", timeout=10)
        reply.raise_for_status()
        return reply.json()

    def client(self, service: str, region: str = "eu-west-1"):
        """A boto3 client for `service` pointed at this server, with dummy credentials."""
        import boto3

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.url,
            aws_access_key_id=ACCESS_KEY_ID,
            aws_secret_access_key=SECRET_ACCESS_KEY,
        )

    def log(self) -> str:
        """moto's output so far (for failure messages)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def moto_binary() -> Path | None:
    candidate = Path(sys.executable).parent / "moto_server"
    if candidate.exists():
        return candidate
    found = shutil.which("moto_server")
    return Path(found) if found else None


@contextmanager
def throwaway_moto(timeout_s: float = 15.0) -> Iterator[MotoServer]:
    """Start moto on 127.0.0.1; raises MotoNotInstalled without moto_server, RuntimeError (with moto's output)
    when it does not answer within `timeout_s`."""
    binary = moto_binary()
    if binary is None:
        raise MotoNotInstalled("moto_server not found: install the dev dependencies (`uv sync`)")
    root = Path(tempfile.mkdtemp(prefix="sellerreach-moto-"))
    process: subprocess.Popen | None = None
    try:
        # a free port can be taken between our probe and moto's bind: try a few
        for attempt in range(3):
            port = _free_port()
            log_path = root / f"moto-{attempt}.log"
            with log_path.open("wb") as output:  # a file, not a pipe: a pipe nobody reads can block moto
                process = subprocess.Popen(
                    [str(binary), "-H", "127.0.0.1", "-p", str(port)],
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    env={
                        **os.environ,
                        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
                        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                    },
                    start_new_session=True,  # our own process group: stopping it takes moto's workers too
                )
            url = f"http://127.0.0.1:{port}"
            if _wait_until_answering(process, url, timeout_s):
                break
            _stop(process)
            process = None
            printed = log_path.read_text(errors="replace")
            if "Address already in use" not in printed or attempt == 2:
                raise RuntimeError(f"moto_server did not answer on {url} within {timeout_s} s:\n{printed}")
        yield MotoServer(url=url, log_path=log_path)
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_answering(process: subprocess.Popen, url: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            if httpx.get(f"{url}/moto-api/", timeout=1.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
