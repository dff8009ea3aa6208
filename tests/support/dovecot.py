"""A throwaway Dovecot 2.3 IMAP server for tests and benchmarks (DESIGN.md, "Stack notes").

`throwaway_dovecot()` writes a config into a fresh temp folder (in /dev/shm when writable), runs `dovecot -F`
as a child process listening on 127.0.0.1 only, plain IMAP, one passwd-file user per name given, mail stored as
Maildir under `<tmp>/mail/<user>` (so tests can look at the files), and stops it and deletes the folder on exit,
also after a start that failed half-way. The `DovecotServer` it yields loads and changes mail the way a real
mailbox changes: MULTIAPPEND, EXPUNGE, MOVE and a forced UIDVALIDITY change through doveadm.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from imapclient import IMAPClient

# MULTIAPPEND chunk: large enough to be fast (10,000 messages in about 0.6 s), small enough to keep one command's
# literals in the low megabytes
APPEND_CHUNK = 1_000

CONFIG_TEMPLATE = """\
# written by tests/support/dovecot.py for one test session; deleted with its folder
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
# 127.0.0.1 counts as secure, but say it outright: plain LOGIN over loopback only
disable_plaintext_auth = no
# XOAUTH2/OAUTHBEARER in 2.3 hand the bearer token to the passdb as the password: tests log in with either
auth_mechanisms = plain login xoauth2 oauthbearer
# a refused login answers at once instead of after 2 s (the bad-password test would otherwise wait)
auth_failure_delay = 0
default_login_user = {login_user}
default_internal_user = {internal_user}
mail_uid = {mail_user}
mail_gid = {mail_group}
first_valid_uid = 0
mail_location = maildir:{root}/mail/%u
mail_fsync = never
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user} gid={mail_group} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  # no growing delay after failed logins from 127.0.0.1 (the bad-password tests would slow every later login)
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
protocol imap {{
  # tests open many sessions for one user from one address
  mail_max_userip_connections = 200
}}
"""


class DovecotNotInstalled(RuntimeError):
    """No `dovecot` (and `doveadm`) binary on PATH or in /usr/sbin, /usr/bin."""


def dovecot_binaries() -> tuple[Path, Path] | None:
    """Paths of `dovecot` and `doveadm`, or None when either is missing."""
    search_path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/bin", "/usr/local/sbin"])
    dovecot, doveadm = shutil.which("dovecot", path=search_path), shutil.which("doveadm", path=search_path)
    if dovecot is None or doveadm is None:
        return None
    return Path(dovecot), Path(doveadm)


@dataclass
class DovecotServer:
    """A running throwaway Dovecot: where it listens, its users' passwords, and ways to change their mail."""

    root: Path
    config: Path
    host: str
    port: int
    doveadm_binary: Path
    passwords: dict[str, str] = field(repr=False)

    def password_for(self, user: str) -> str:
        """The user's password; with XOAUTH2/OAUTHBEARER it also works as their bearer token."""
        return self.passwords[user]

    def maildir(self, user: str) -> Path:
        """Root of the user's Maildir (INBOX); folder F lives in `<root>/.F`. Exists after the first login."""
        return self.root / "mail" / user

    @contextmanager
    def client(self, user: str) -> Iterator[IMAPClient]:
        """A logged-in IMAPClient session as `user`, logged out on exit."""
        client = IMAPClient(self.host, self.port, ssl=False, timeout=30)
        try:
            client.login(user, self.password_for(user))
            yield client
        finally:
            try:
                client.logout()
            except Exception:  # the session may be gone already (BYE)
                client.shutdown()

    def create_folder(self, user: str, folder: str) -> None:
        """Create `folder` in the user's mailbox."""
        with self.client(user) as client:
            client.create_folder(folder)

    def append(
        self,
        user: str,
        folder: str,
        messages: Sequence[bytes],
        internal_dates: Sequence[datetime] | None = None,
    ) -> list[int]:
        """Append `messages` to `folder` with MULTIAPPEND, in chunks; return the UIDs they got, in order.

        `internal_dates` (aware datetimes, one per message) become their INTERNALDATE; else the server's now."""
        if internal_dates is not None and len(internal_dates) != len(messages):
            raise ValueError(f"{len(internal_dates)} internal dates for {len(messages)} messages")
        uids: list[int] = []
        with self.client(user) as client:
            for start in range(0, len(messages), APPEND_CHUNK):
                chunk = messages[start : start + APPEND_CHUNK]
                if internal_dates is None:
                    items: list = list(chunk)
                else:
                    dates = internal_dates[start : start + APPEND_CHUNK]
                    items = [{"msg": raw, "date": date} for raw, date in zip(chunk, dates, strict=True)]
                response = client.multiappend(folder, items)
                uids += _appended_uids(response, len(chunk))
        return uids

    def delete(self, user: str, folder: str, uids: Sequence[int]) -> None:
        """Flag the messages \\Deleted and expunge them (only these: UID EXPUNGE)."""
        with self.client(user) as client:
            client.select_folder(folder)
            client.delete_messages(list(uids))
            client.uid_expunge(list(uids))

    def move(self, user: str, source: str, destination: str, uids: Sequence[int]) -> None:
        """Move the messages from `source` to `destination` (IMAP MOVE: they get new UIDs there)."""
        with self.client(user) as client:
            client.select_folder(source)
            client.move(list(uids), destination)

    def set_seen(self, user: str, folder: str, uids: Sequence[int]) -> None:
        """Mark the messages \\Seen, as a mail client would after showing them."""
        with self.client(user) as client:
            client.select_folder(folder)
            client.add_flags(list(uids), [b"\\Seen"])

    def flags(self, user: str, folder: str, uids: Sequence[int]) -> dict[int, tuple[bytes, ...]]:
        """Current flags of the messages, read without changing them (EXAMINE)."""
        with self.client(user) as client:
            client.select_folder(folder, readonly=True)
            return dict(client.get_flags(list(uids)))

    def reset_uid_validity(self, user: str, folder: str, new_value: int) -> None:
        """Give `folder` a new UIDVALIDITY (doveadm mailbox update); sessions that have it selected get BYE."""
        self.doveadm("mailbox", "update", "-u", user, "--uid-validity", str(new_value), folder)

    def doveadm(self, *args: str) -> str:
        """Run `doveadm -c <config> <args>`; return its stdout, raise RuntimeError with its output on failure."""
        argv = [str(self.doveadm_binary), "-c", str(self.config), *args]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError(
                f"doveadm {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}"
            )
        return result.stdout

    def log(self) -> str:
        """Dovecot's log so far (for failure messages)."""
        log_file = self.root / "dovecot.log"
        return log_file.read_text(errors="replace") if log_file.exists() else ""


@contextmanager
def throwaway_dovecot(users: Sequence[str] = ("seller",)) -> Iterator[DovecotServer]:
    """Start a throwaway Dovecot on 127.0.0.1 (plain IMAP) with `users`, each with a random password.

    Raises `DovecotNotInstalled` when the binaries are missing, RuntimeError (with Dovecot's output and log)
    when it does not start answering within 10 s."""
    binaries = dovecot_binaries()
    if binaries is None:
        raise DovecotNotInstalled("dovecot/doveadm not found: run `apt-get install -y dovecot-imapd`")
    dovecot_binary, doveadm_binary = binaries

    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    root = Path(tempfile.mkdtemp(prefix="sellerreach-dovecot-", dir=shm))
    root.chmod(0o755)  # mkdtemp makes 0700, which would keep Dovecot's unprivileged processes out
    process: subprocess.Popen | None = None
    try:
        passwords = {user: secrets.token_urlsafe(16) for user in users}
        accounts = _process_accounts()
        for name in ("run", "state", "mail", "home"):
            (root / name).mkdir()
        for name in ("mail", "home"):  # written by the mail processes, which run as mail_uid
            if os.geteuid() == 0:
                shutil.chown(root / name, accounts["mail_user"], accounts["mail_group"])
        passwd_file = root / "passwd"
        passwd_file.write_text(
            "".join(f"{user}:{{PLAIN}}{password}::::::\n" for user, password in passwords.items())
        )
        passwd_file.chmod(0o600)

        config = root / "dovecot.conf"
        # a free port can be taken between our probe and Dovecot's bind: try a few
        for attempt in range(3):
            port = _free_port()
            config.write_text(CONFIG_TEMPLATE.format(root=root, port=port, **accounts))
            output_file = root / f"dovecot-start-{attempt}.out"
            with output_file.open(
                "wb"
            ) as output:  # a file, not a pipe: a pipe nobody reads can block Dovecot
                process = subprocess.Popen(
                    [str(dovecot_binary), "-F", "-c", str(config)],
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                )
            if _wait_until_answering(process, port):
                break
            _stop(process)
            process = None
            printed = output_file.read_text(errors="replace")
            log = (
                (root / "dovecot.log").read_text(errors="replace") if (root / "dovecot.log").exists() else ""
            )
            if "Address already in use" not in printed + log or attempt == 2:
                raise RuntimeError(f"dovecot did not start answering on 127.0.0.1:{port}:\n{printed}\n{log}")
        yield DovecotServer(
            root=root,
            config=config,
            host="127.0.0.1",
            port=port,
            doveadm_binary=doveadm_binary,
            passwords=passwords,
        )
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(root, ignore_errors=True)


def _process_accounts() -> dict[str, str]:
    # as root Dovecot wants unprivileged users for logins and mail; as anyone else it can only be that user
    if os.geteuid() == 0:
        return {
            "login_user": "nobody",
            "internal_user": "root",
            "mail_user": "nobody",
            "mail_group": "nogroup",
        }
    user, group = pwd.getpwuid(os.geteuid()).pw_name, grp.getgrgid(os.getegid()).gr_name
    return {"login_user": user, "internal_user": user, "mail_user": user, "mail_group": group}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_answering(process: subprocess.Popen, port: int, timeout_s: float = 10.0) -> bool:
    """True once the server greets on `port` with `* OK`; False when it exited or stayed silent."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0) as connection:
                if connection.recv(64).startswith(b"* OK"):
                    return True
        except OSError:
            pass
        time.sleep(0.01)
    return False


def _stop(process: subprocess.Popen) -> None:
    """Stop the master; it stops its children."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


_APPENDUID = re.compile(rb"\[APPENDUID \d+ ([0-9:,]+)\]")


def _appended_uids(response: bytes, count: int) -> list[int]:
    """The UIDs from a MULTIAPPEND's `[APPENDUID validity set]` (UIDPLUS), e.g. `1:500` or `3,5:7`."""
    match = _APPENDUID.search(response if isinstance(response, bytes) else str(response).encode())
    if match is None:
        raise RuntimeError(f"no APPENDUID in the server's answer to APPEND: {response!r}")
    uids: list[int] = []
    for part in match.group(1).split(b","):
        low, _, high = part.partition(b":")
        uids += range(int(low), int(high or low) + 1)
    if len(uids) != count:
        raise RuntimeError(f"APPENDUID names {len(uids)} UIDs for {count} messages: {response!r}")
    return uids
