"""Where buyer mail is read from, behind one interface (`MailSource`): an IMAP mailbox or a Maildir folder.

The inbox sync keeps per folder a cursor (UIDVALIDITY, last UID seen) and asks a source four things: the folder's
state, the UIDs after the cursor, the Message-IDs of some UIDs (cheap, headers only) and the whole messages. Both
sources read without side effects: IMAP folders are opened with EXAMINE and bodies fetched with BODY.PEEK[] (no
\\Seen), Maildir files are never moved or renamed.

- `ImapSource`: production, implicit TLS, password or OAuth2 bearer token (XOAUTH2, else OAUTHBEARER).
- `MaildirSource`: the demo; Maildir has no UIDs, so they are kept the way Dovecot keeps them, in a uid list file
  per folder (`sellerreach-uidlist`); deleting that file is a UIDVALIDITY change.

Errors: `MailboxUnavailable` (retry later: connection refused or dropped, time-outs, BYE, a UIDVALIDITY change
between `folder_state` and a later call), `MailboxAuthFailed` and `FolderNotFound` (fatal). No message ever
contains the password or token.
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import re
import ssl
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from sellerreach.errors import ConfigError, FatalError, RetriableError

HEADER_BATCH_SIZE = 1_000  # UIDs per FETCH of Message-ID headers (a few dozen bytes each)
UIDLIST_NAME = "sellerreach-uidlist"
UIDVALIDITY_NAME = "sellerreach-uidvalidity"  # in the Maildir root: the last UIDVALIDITY handed out
MAX_UID = 2**32 - 1  # IMAP UIDs and UIDVALIDITY are non-zero 32-bit numbers


@dataclass(frozen=True)
class FolderState:
    folder: str
    uid_validity: int
    uid_next: int | None  # None when the IMAP server does not say
    message_count: int


@dataclass(frozen=True)
class FetchedMail:
    folder: str
    uid: int
    raw: bytes  # the whole message (RFC 5322 bytes) as stored: CRLF over IMAP, often LF in Maildir files
    internal_date: datetime  # aware UTC: IMAP INTERNALDATE / Maildir file mtime


@dataclass
class SourceStats:
    """What a source did, for run summaries and benchmarks."""

    searches: int = 0
    header_fetches: int = 0  # messages whose headers were fetched
    body_fetches: int = 0  # messages whose full body was fetched (the benchmark counts these)


class MailSource(Protocol):
    """A mailbox read incrementally by (folder, UIDVALIDITY, UID). Reading never changes flags or moves mail."""

    stats: SourceStats

    def folder_state(self, folder: str) -> FolderState:
        """Open `folder` read-only and return its UIDVALIDITY, UIDNEXT and size; FolderNotFound if missing."""
        ...

    def uids_after(self, folder: str, last_uid: int) -> list[int]:
        """Ascending UIDs greater than `last_uid`."""
        ...

    def message_ids(self, folder: str, uids: Sequence[int]) -> dict[int, str | None]:
        """Message-ID header (stripped; None when absent) of each UID still present; UIDs gone are left out."""
        ...

    def fetch(self, folder: str, uids: Sequence[int], batch_size: int = 200) -> Iterator[FetchedMail]:
        """The whole messages, ascending by UID, read in batches; UIDs gone meanwhile are simply absent."""
        ...

    def close(self) -> None: ...


class FolderNotFound(FatalError):
    """The folder does not exist in the mailbox (check the configured folder names)."""


class MailboxUnavailable(RetriableError):
    """The mailbox cannot be read now (connection refused or dropped, time-out, BYE): try again later."""


class UidValidityChanged(MailboxUnavailable):
    """The folder's UIDVALIDITY changed after `folder_state` reported it: UIDs from before mean other messages now.

    Retriable: read `folder_state` again (it reports the new value) and re-scan the folder."""


class MailboxAuthFailed(FatalError):
    """The server refused the login or token. Never carries the password or token."""


@dataclass(frozen=True)
class ImapLogin:
    """How to log in to an IMAP mailbox: exactly one of `password` and `oauth2_token`."""

    host: str
    port: int
    username: str
    password: str | None = None
    oauth2_token: str | None = None
    tls: bool = True  # implicit TLS (993); False = plain IMAP, allowed to a loopback address only (tests)
    timeout_seconds: float = 30.0

    def __post_init__(self) -> None:
        if (self.password is None) == (self.oauth2_token is None):
            raise ConfigError(
                f"IMAP login for {self.username!r} at {self.where}: give exactly one of password "
                'and oauth2_token, e.g. password = "env:IMAP_PASSWORD"'
            )
        if not self.tls and not _is_loopback(self.host):
            raise ConfigError(
                f"IMAP login for {self.username!r} at {self.where}: plain IMAP (tls = false) would "
                "send the credentials in clear; it is allowed to 127.0.0.1/localhost only"
            )

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:
        secret = "password='***'" if self.password is not None else "oauth2_token='***'"
        return (
            f"ImapLogin(host={self.host!r}, port={self.port}, username={self.username!r}, {secret}, "
            f"tls={self.tls}, timeout_seconds={self.timeout_seconds})"
        )


class ImapSource:
    """An IMAP mailbox, one connection, opened on first use and again after it was lost.

    A lost connection (including Dovecot's BYE after a UIDVALIDITY change) raises MailboxUnavailable from the
    call that saw it, never a silent retry: the caller must not get UIDs of a folder whose UIDVALIDITY may have
    changed under it. The next call connects again; if the folder's UIDVALIDITY then differs from the one
    `folder_state` reported, uids_after/message_ids/fetch raise UidValidityChanged until `folder_state` is read
    again. Not thread-safe: one source per thread."""

    def __init__(self, login: ImapLogin) -> None:
        self.login = login
        self.stats = SourceStats()
        self._client: IMAPClient | None = None
        self._selected: str | None = None
        self._uid_validity: dict[str, int] = {}  # as last reported by folder_state

    def __enter__(self) -> ImapSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def folder_state(self, folder: str) -> FolderState:
        with self._errors(folder):
            _, selected = self._select(folder)
        state = FolderState(
            folder=folder,
            uid_validity=int(selected[b"UIDVALIDITY"]),
            uid_next=int(selected[b"UIDNEXT"]) if b"UIDNEXT" in selected else None,
            message_count=int(selected.get(b"EXISTS", 0)),
        )
        self._uid_validity[folder] = state.uid_validity
        return state

    def uids_after(self, folder: str, last_uid: int) -> list[int]:
        first = max(last_uid, 0) + 1
        if first > MAX_UID:
            return []
        with self._errors(folder):
            client = self._selected_client(folder)
            found = client.search(["UID", f"{first}:*"])
        self.stats.searches += 1
        # `UID SEARCH UID n:*` also matches the highest UID when it is below n (RFC 3501: `*` is the largest UID)
        return sorted(uid for uid in found if uid > last_uid)

    def message_ids(self, folder: str, uids: Sequence[int]) -> dict[int, str | None]:
        wanted = sorted(set(uids))
        found: dict[int, str | None] = {}
        for start in range(0, len(wanted), HEADER_BATCH_SIZE):
            batch = wanted[start : start + HEADER_BATCH_SIZE]
            with self._errors(folder):
                client = self._selected_client(folder)
                response = client.fetch(batch, ["BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)]"])
            for uid in batch:
                headers = _header_fields(response.get(uid, {}))
                if headers is not None:
                    found[uid] = message_id_from_headers(headers)
            self.stats.header_fetches += sum(1 for uid in batch if uid in found)
        return found

    def fetch(self, folder: str, uids: Sequence[int], batch_size: int = 200) -> Iterator[FetchedMail]:
        wanted = sorted(set(uids))
        for start in range(0, len(wanted), max(batch_size, 1)):
            batch = wanted[start : start + max(batch_size, 1)]
            with self._errors(folder):
                client = self._selected_client(folder)
                response = client.fetch(batch, ["BODY.PEEK[]", "INTERNALDATE"])
            for uid in batch:
                data = response.get(uid, {})
                body, internal_date = data.get(b"BODY[]"), data.get(b"INTERNALDATE")
                if body is None or internal_date is None:
                    continue  # expunged since the search (absent, or NIL from a view not synced yet)
                self.stats.body_fetches += 1
                yield FetchedMail(folder, uid, bytes(body), internal_date.astimezone(UTC))

    def close(self) -> None:
        """Log out (best effort); a later call connects again."""
        client, self._client, self._selected = self._client, None, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:  # the connection may be gone already; closing must not fail
            with contextlib.suppress(Exception):
                client.shutdown()

    def _connected(self) -> IMAPClient:
        if self._client is not None:
            return self._client
        login = self.login
        client = IMAPClient(login.host, login.port, ssl=login.tls, timeout=login.timeout_seconds)
        try:
            if login.oauth2_token is not None:
                if client.has_capability("AUTH=XOAUTH2") or not client.has_capability("AUTH=OAUTHBEARER"):
                    client.oauth2_login(login.username, login.oauth2_token)
                else:
                    client.oauthbearer_login(login.username, login.oauth2_token)
            else:
                client.login(login.username, login.password)
        except BaseException:
            with contextlib.suppress(Exception):
                client.shutdown()
            raise
        client.normalise_times = False  # INTERNALDATE as an aware datetime, not naive local time
        self._client, self._selected = client, None
        return client

    def _select(self, folder: str) -> tuple[IMAPClient, dict]:
        """EXAMINE `folder` (read-only); return the client and the server's answer (UIDVALIDITY, UIDNEXT, EXISTS)."""
        client = self._connected()
        self._selected = None  # a failed SELECT leaves no folder selected
        selected = client.select_folder(folder, readonly=True)
        self._selected = folder
        return client, selected

    def _selected_client(self, folder: str) -> IMAPClient:
        """The client with `folder` selected, checking its UIDVALIDITY when it had to be selected again."""
        if self._client is not None and self._selected == folder:
            # Dovecot answers UID SEARCH from the session's view as of its last sync: NOOP brings in new mail and
            # expunges first (one round trip per call or fetch batch)
            self._client.noop()
            return self._client
        client, selected = self._select(folder)
        uid_validity = int(selected[b"UIDVALIDITY"])
        known = self._uid_validity.setdefault(folder, uid_validity)
        if known != uid_validity:
            self._uid_validity[folder] = uid_validity
            raise UidValidityChanged(
                f"IMAP folder {folder!r} of {self.login.username} at {self.login.where}: UIDVALIDITY changed from "
                f"{known} to {uid_validity}; read folder_state again and re-scan the folder"
            )
        return client

    @contextlib.contextmanager
    def _errors(self, folder: str | None) -> Iterator[None]:
        """Translate imapclient and socket errors into MailboxUnavailable / MailboxAuthFailed / FolderNotFound."""
        where, user = self.login.where, self.login.username
        try:
            yield
        except LoginError as exc:
            self._drop()
            raise MailboxAuthFailed(
                f"IMAP login refused for user {user} at {where}: {self._scrub(str(exc))}"
            ) from None  # the chained error would be harmless today; keep the guarantee independent of imaplib
        except IMAPClientAbortError as exc:  # BYE, EOF, protocol state lost
            self._drop()
            raise MailboxUnavailable(f"IMAP connection to {where} lost: {self._scrub(str(exc))}") from exc
        except ssl.SSLCertVerificationError as exc:
            self._drop()
            raise FatalError(
                f"IMAP server {where} presented a certificate that is not trusted: {exc}"
            ) from exc
        except OSError as exc:  # refused, reset, DNS, time-outs (TimeoutError), TLS errors
            self._drop()
            raise MailboxUnavailable(f"IMAP server {where} unreachable: {exc!r}") from exc
        except IMAPClientError as exc:  # a tagged NO/BAD
            text = self._scrub(str(exc))
            if folder is not None and self._selected is None and _NONEXISTENT.search(text):
                raise FolderNotFound(f"IMAP folder {folder!r} does not exist for {user} at {where}") from exc
            if _TRANSIENT.search(text):
                raise MailboxUnavailable(f"IMAP server {where} busy: {text}") from exc
            self._drop()
            raise FatalError(f"IMAP server {where} refused a command for {user}: {text}") from exc

    def _drop(self) -> None:
        client, self._client, self._selected = self._client, None, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.shutdown()

    def _scrub(self, text: str) -> str:
        """The server's text without imaplib's b'...' wrapper, and without the password or token (belt and braces)."""
        if len(text) > 2 and text[0] == "b" and text[1] in "'\"" and text[-1] == text[1]:
            text = text[2:-1]
        for secret in (self.login.password, self.login.oauth2_token):
            if secret:
                text = text.replace(secret, "***")
        return text


_NONEXISTENT = re.compile(r"NONEXISTENT|n't exist|not exist|unknown mailbox|no such mailbox", re.I)
_TRANSIENT = re.compile(r"\[(UNAVAILABLE|INUSE|SERVERBUG|LIMIT|EXPUNGEISSUED)\]")


class MaildirSource:
    """A Maildir++ mailbox: folder "INBOX" is `root`, folder F is `root/.F`.

    UIDs are emulated as Dovecot does: `<folder dir>/sellerreach-uidlist` holds `<uid_validity> <next_uid>` and
    one `<uid> <base name>` per message (base name = file name up to the first ':', stable across flag changes
    and new/ -> cur/ moves). Messages not listed yet get the next UIDs in order of (mtime_ns, name). The file is
    rewritten atomically under an fcntl lock; a missing file is created with a new UIDVALIDITY, higher than any
    handed out before in this Maildir (`root/sellerreach-uidvalidity`)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.stats = SourceStats()
        self._uid_validity: dict[str, int] = {}  # as last reported by folder_state

    def __enter__(self) -> MaildirSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def folder_state(self, folder: str) -> FolderState:
        index = self._index(folder)
        self._uid_validity[folder] = index.uid_validity
        return FolderState(folder, index.uid_validity, index.next_uid, len(index.paths))

    def uids_after(self, folder: str, last_uid: int) -> list[int]:
        index = self._checked_index(folder)
        self.stats.searches += 1
        return sorted(uid for uid in index.paths if uid > last_uid)

    def message_ids(self, folder: str, uids: Sequence[int]) -> dict[int, str | None]:
        index = self._checked_index(folder)
        found: dict[int, str | None] = {}
        for uid in sorted(set(uids)):
            read = self._read(folder, index, uid, _read_header_section)
            if read is None:
                continue
            index, (headers, _) = read
            found[uid] = message_id_from_headers(headers)
            self.stats.header_fetches += 1
        return found

    def fetch(self, folder: str, uids: Sequence[int], batch_size: int = 200) -> Iterator[FetchedMail]:
        # batch_size is the IMAP round trip size; files are read one by one either way
        index = self._checked_index(folder)
        for uid in sorted(set(uids)):
            read = self._read(folder, index, uid, _read_whole_file)
            if read is None:
                continue  # deleted since the search
            index, (raw, mtime_ns) = read
            self.stats.body_fetches += 1
            yield FetchedMail(folder, uid, raw, _utc_from_ns(mtime_ns))

    def close(self) -> None:
        """Nothing to release: files are opened per read."""

    def folder_dir(self, folder: str) -> Path:
        """The directory of `folder`; FolderNotFound when it is not a Maildir folder."""
        if folder.upper() == "INBOX":
            path = self.root
        elif not folder or folder.startswith(".") or "/" in folder or "\0" in folder:
            raise FolderNotFound(f"Maildir folder {folder!r} is not a valid folder name (in {self.root})")
        else:
            path = self.root / f".{folder}"
        if not ((path / "cur").is_dir() and (path / "new").is_dir()):
            raise FolderNotFound(f"Maildir folder {folder!r} does not exist: {path} has no cur/ and new/")
        return path

    def _checked_index(self, folder: str) -> _UidIndex:
        index = self._index(folder)
        known = self._uid_validity.setdefault(folder, index.uid_validity)
        if known != index.uid_validity:
            self._uid_validity[folder] = index.uid_validity
            raise UidValidityChanged(
                f"Maildir folder {folder!r} in {self.root}: UIDVALIDITY changed from {known} to "
                f"{index.uid_validity} (its {UIDLIST_NAME} was replaced); read folder_state again and re-scan"
            )
        return index

    def _read(
        self, folder: str, index: _UidIndex, uid: int, reader: Callable[[Path], tuple[bytes, int]]
    ) -> tuple[_UidIndex, tuple[bytes, int]] | None:
        """(index, reader(path)) for `uid`, looking again once if its file moved (new/ -> cur/, flags); or None."""
        for attempt in range(2):
            path = index.paths.get(uid)
            if path is None:
                return None
            try:
                return index, reader(path)
            except FileNotFoundError:
                if attempt == 0:
                    index = self._index(folder)
            except OSError as exc:
                raise _maildir_error(exc, path) from exc
        return None

    def _index(self, folder: str) -> _UidIndex:
        folder_dir = self.folder_dir(folder)
        try:
            return _sync_uidlist(folder_dir, self._new_uid_validity)
        except OSError as exc:
            raise _maildir_error(exc, folder_dir) from exc

    def _new_uid_validity(self) -> int:
        """A UIDVALIDITY never handed out before in this Maildir: max(now, last + 1)."""
        path = self.root / UIDVALIDITY_NAME
        with _locked(self.root / f"{UIDVALIDITY_NAME}.lock"):
            try:
                last = int(path.read_text().split()[0])
            except (FileNotFoundError, ValueError, IndexError):
                last = 0
            value = max(int(time.time()), last + 1)
            if value > MAX_UID:
                value = 1
            _write_atomically(path, f"{value}\n")
        return value


@dataclass(frozen=True)
class _UidIndex:
    uid_validity: int
    next_uid: int
    paths: dict[int, Path]  # UID -> current file of the messages present


def _sync_uidlist(folder_dir: Path, new_uid_validity: Callable[[], int]) -> _UidIndex:
    """Read the folder's uid list, give unlisted messages the next UIDs, drop vanished ones, save if changed."""
    uidlist = folder_dir / UIDLIST_NAME
    with _locked(folder_dir / f"{UIDLIST_NAME}.lock"):
        present = _list_messages(folder_dir)
        parsed = _read_uidlist(uidlist)
        changed = parsed is None
        uid_validity, next_uid, listed = parsed if parsed is not None else (new_uid_validity(), 1, {})

        unlisted = []
        for base, path in present.items():
            if base not in listed:
                try:
                    unlisted.append((path.stat().st_mtime_ns, base))
                except FileNotFoundError:
                    continue  # gone (or moving): it gets its UID when it is seen again
        for _, base in sorted(unlisted):
            listed[base] = next_uid
            next_uid += 1
            changed = True

        vanished = listed.keys() - present.keys()
        if vanished:
            # a file being renamed (new/ -> cur/, flags) can be missing from one listing: look twice before
            # dropping its line, or it would come back under a new UID
            present.update(_list_messages(folder_dir))
            for base in vanished - present.keys():
                del listed[base]
                changed = True

        if changed:
            lines = [f"{uid_validity} {next_uid}\n"]
            lines += [f"{uid} {base}\n" for base, uid in sorted(listed.items(), key=lambda item: item[1])]
            _write_atomically(uidlist, "".join(lines))
    paths = {uid: present[base] for base, uid in listed.items() if base in present}
    return _UidIndex(uid_validity, next_uid, paths)


def _list_messages(folder_dir: Path) -> dict[str, Path]:
    """Base name -> path of every message file in new/ and cur/ (new/ first: a file moving to cur/ is seen)."""
    found: dict[str, Path] = {}
    for sub in ("new", "cur"):
        directory = folder_dir / sub
        for name in os.listdir(directory):
            if not name.startswith("."):
                found[name.split(":", 1)[0]] = directory / name
    return found


def _read_uidlist(path: Path) -> tuple[int, int, dict[str, int]] | None:
    """(uid_validity, next_uid, base name -> UID), or None when the file is missing or unreadable as a uid list."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    lines = text.splitlines()
    try:
        uid_validity, next_uid = (int(word) for word in lines[0].split())
        listed = {}
        for line in lines[1:]:
            uid, base = line.split(" ", 1)
            listed[base] = int(uid)
    except (IndexError, ValueError):
        return None  # corrupt: treated like a deleted list, i.e. a UIDVALIDITY change
    if not 0 < uid_validity <= MAX_UID or next_uid < 1:
        return None
    return uid_validity, next_uid, listed


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f"{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as file:
        file.write(text)
        file.flush()
        os.fsync(file.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with open(lock_path, "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def _read_whole_file(path: Path) -> tuple[bytes, int]:
    with open(path, "rb") as file:
        return file.read(), os.fstat(file.fileno()).st_mtime_ns


def _read_header_section(path: Path) -> tuple[bytes, int]:
    """The header section (up to the first empty line), reading no more of the file than needed."""
    data = b""
    with open(path, "rb") as file:
        while chunk := file.read(16_384):
            data += chunk
            end = _HEADER_END.search(data, max(len(data) - len(chunk) - 3, 0))
            if end is not None:
                return data[: end.start()], os.fstat(file.fileno()).st_mtime_ns
        return data, os.fstat(file.fileno()).st_mtime_ns


def _utc_from_ns(ns: int) -> datetime:
    seconds, remainder = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=remainder // 1_000)


def _maildir_error(exc: OSError, path: Path) -> FatalError | MailboxUnavailable:
    if isinstance(exc, PermissionError):
        return FatalError(
            f"Maildir {path}: permission denied ({exc.strerror}); the uid list must be writable"
        )
    return MailboxUnavailable(f"Maildir {path} could not be read: {exc!r}")


_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FOLDED = re.compile(rb"\r?\n[ \t]")
_MESSAGE_ID = re.compile(rb"^message-id[ \t]*:(.*)$", re.I | re.M)


def message_id_from_headers(headers: bytes) -> str | None:
    """The first Message-ID header's value, unfolded and stripped (`<...@...>`); None when absent or empty."""
    match = _MESSAGE_ID.search(_FOLDED.sub(b" ", headers.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]))
    if match is None:
        return None
    value = match.group(1).decode("utf-8", errors="replace").strip()
    return value or None


def _header_fields(data: dict) -> bytes | None:
    # servers echo the item as BODY[HEADER.FIELDS (MESSAGE-ID)], some with quotes or another case
    for key, value in data.items():
        if isinstance(key, bytes) and key.upper().startswith(b"BODY[HEADER.FIELDS"):
            return bytes(value) if value is not None else None  # NIL: expunged meanwhile
    return None


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
