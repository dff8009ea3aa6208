"""The two mail sources behind one interface: ImapSource against a real Dovecot 2.3, MaildirSource on files.

One Dovecot is started for the module (skipped when it is not installed, failed under CI); every test works in a
folder of its own in the `seller` mailbox. Messages are shaped like Amazon's buyer-seller relay mail.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from sellerreach.errors import ConfigError, FatalError, RetriableError
from sellerreach.inbox.mailbox import (
    UIDLIST_NAME,
    FetchedMail,
    FolderNotFound,
    ImapLogin,
    ImapSource,
    MailboxAuthFailed,
    MailboxUnavailable,
    MaildirSource,
    MailSource,
    UidValidityChanged,
    message_id_from_headers,
)
from tests.support import dovecot as dovecot_support
from tests.support.dovecot import DovecotNotInstalled, DovecotServer, throwaway_dovecot

USER = "seller"
_folder_numbers = itertools.count(1)


def relay_message(n: int, *, with_message_id: bool = True, newline: bytes = b"\r\n") -> bytes:
    """Buyer mail as Amazon's relay delivers it to the seller's support address, distinct per `n`."""
    order = f"112-{3456789 + n:07d}-0123456"
    headers = [
        f'From: "Jane Doe - Amazon Marketplace" <{7 * n + 1000:x}qz8k2mv{n:05d}@marketplace.amazon.com>',
        "To: support@acme.example",
        f"Subject: Inquiry from Amazon customer Jane Doe (Order: {order})",
        f"Date: Mon, 23 Nov 2026 {9 + n % 10:02d}:{n % 60:02d}:07 +0000",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=UTF-8",
        "Content-Transfer-Encoding: 7bit",
    ]
    if with_message_id:
        headers.insert(4, f"Message-ID: <0100018c{n:08x}-5e1a-4c1b-9d2e-relay{n}@email.amazonses.com>")
    body = [
        "------------- Message: -------------",
        "",
        f"Hello, I ordered the espresso grinder (order {order}) ten days ago and it has not arrived.",
        "Could you tell me when it will ship? Thank you, Jane",
        "",
        "------------- End message -------------",
    ]
    return newline.join(line.encode() for line in [*headers, "", *body]) + newline


def message_id_of(n: int) -> str:
    return f"<0100018c{n:08x}-5e1a-4c1b-9d2e-relay{n}@email.amazonses.com>"


# --- ImapLogin --------------------------------------------------------------------------------------------------


def test_imap_login_repr_hides_the_secret():
    login = ImapLogin("imap.acme.example", 993, "support@acme.example", password="hunter2-Secret")
    token_login = ImapLogin("imap.acme.example", 993, "support@acme.example", oauth2_token="ya29.Token-XYZ")
    assert "hunter2-Secret" not in repr(login) and "hunter2-Secret" not in str(login)
    assert "ya29.Token-XYZ" not in repr(token_login)
    assert "support@acme.example" in repr(login) and "password='***'" in repr(login)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="no-secret"),
        pytest.param({"password": "p", "oauth2_token": "t"}, id="both-secrets"),
        pytest.param({"password": "p", "tls": False}, id="plain-to-a-remote-host"),
    ],
)
def test_imap_login_rejects_unsafe_or_ambiguous_settings(kwargs):
    with pytest.raises(ConfigError):
        ImapLogin("imap.acme.example", 993, "support@acme.example", **kwargs)


def test_error_classes_say_retry_or_stop():
    assert issubclass(MailboxUnavailable, RetriableError) and issubclass(
        UidValidityChanged, MailboxUnavailable
    )
    assert issubclass(MailboxAuthFailed, FatalError) and issubclass(FolderNotFound, FatalError)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (b"Message-ID: <a@b>\r\n\r\n", "<a@b>"),
        (b"message-id:   <a@b>  \r\n\r\n", "<a@b>"),
        (b"Message-ID:\r\n <folded@relay.example>\r\n\r\n", "<folded@relay.example>"),
        (b"Subject: x\nMessage-Id: <lf@b>\nX-Other: y\n", "<lf@b>"),
        (b"\r\n", None),
        (b"Message-ID: \r\n\r\n", None),
        (b"Subject: x\r\n\r\nMessage-ID: <in-the-body@b>\r\n", None),
    ],
)
def test_message_id_from_headers(headers, expected):
    assert message_id_from_headers(headers) == expected


# --- ImapSource against Dovecot ---------------------------------------------------------------------------------


@pytest.fixture
def dovecot(dovecot_server: DovecotServer) -> DovecotServer:
    """The session's throwaway Dovecot (tests/conftest.py), with the user `seller`."""
    return dovecot_server


@pytest.fixture
def folder(dovecot: DovecotServer) -> str:
    """A new, empty folder of this test's own."""
    name = f"Test{next(_folder_numbers)}"
    dovecot.create_folder(USER, name)
    return name


def imap_login(server: DovecotServer, **overrides) -> ImapLogin:
    settings = {"password": server.password_for(USER), "tls": False, "timeout_seconds": 10.0, **overrides}
    return ImapLogin(server.host, server.port, USER, **settings)


@pytest.fixture
def imap(dovecot: DovecotServer) -> Iterator[ImapSource]:
    with ImapSource(imap_login(dovecot)) as source:
        yield source


def test_folder_state_reports_uidvalidity_uidnext_and_count(dovecot, folder, imap):
    empty = imap.folder_state(folder)
    assert empty.folder == folder and empty.uid_validity > 0
    assert (empty.uid_next, empty.message_count) == (1, 0)

    dovecot.append(USER, folder, [relay_message(n) for n in range(3)])
    state = imap.folder_state(folder)
    assert (state.uid_validity, state.uid_next, state.message_count) == (empty.uid_validity, 4, 3)


def test_uids_after_returns_only_higher_uids(dovecot, folder, imap):
    assert dovecot.append(USER, folder, [relay_message(n) for n in range(5)]) == [1, 2, 3, 4, 5]
    imap.folder_state(folder)

    assert imap.uids_after(folder, 0) == [1, 2, 3, 4, 5]
    assert imap.uids_after(folder, 3) == [4, 5]
    # `UID SEARCH UID 6:*` answers [5] (the highest UID): filtered out
    assert imap.uids_after(folder, 5) == []
    assert imap.uids_after(folder, 1_000) == []

    # mail arriving while the folder stays selected is seen without asking folder_state again
    dovecot.append(USER, folder, [relay_message(n) for n in (5, 6)])
    assert imap.uids_after(folder, 5) == [6, 7]
    assert imap.stats.searches == 5


def test_message_ids_reads_only_the_header_and_is_none_when_absent(dovecot, folder, imap):
    messages = [relay_message(0), relay_message(1, with_message_id=False), relay_message(2)]
    dovecot.append(USER, folder, messages)

    assert imap.message_ids(folder, [3, 1, 2, 99]) == {1: message_id_of(0), 2: None, 3: message_id_of(2)}
    assert imap.stats.header_fetches == 3
    assert imap.stats.body_fetches == 0


def test_fetch_returns_the_exact_bytes_and_internaldate_in_batches(dovecot, folder, imap):
    messages = [relay_message(n) for n in range(5)]
    cest = timezone(timedelta(hours=2))
    dates = [datetime(2026, 11, 20, 8, n, 30, tzinfo=cest) for n in range(5)]
    dovecot.append(USER, folder, messages, internal_dates=dates)

    fetched = list(imap.fetch(folder, [5, 3, 1, 2, 4, 4, 42], batch_size=2))

    assert [mail.uid for mail in fetched] == [1, 2, 3, 4, 5]
    assert [mail.raw for mail in fetched] == messages
    assert [mail.internal_date for mail in fetched] == [d.astimezone(UTC) for d in dates]
    assert all(mail.internal_date.tzinfo == UTC and mail.folder == folder for mail in fetched)
    assert imap.stats.body_fetches == 5


def test_reading_never_sets_seen(dovecot, folder, imap):
    dovecot.append(USER, folder, [relay_message(n) for n in range(3)])
    dovecot.set_seen(USER, folder, [3])  # the seller already read this one in their mail client

    imap.folder_state(folder)
    imap.uids_after(folder, 0)
    imap.message_ids(folder, [1, 2, 3])
    assert len(list(imap.fetch(folder, [1, 2, 3]))) == 3

    flags = dovecot.flags(USER, folder, [1, 2, 3])
    assert [b"\\Seen" in flags[uid] for uid in (1, 2, 3)] == [False, False, True]


def test_uidvalidity_reset_raises_then_recovers_on_later_calls(dovecot, folder, imap):
    """Not transparent, on purpose: UIDs read under the old UIDVALIDITY must not be used under the new one.

    The call that meets Dovecot's BYE raises MailboxUnavailable; the next call reconnects by itself, sees that
    the UIDVALIDITY differs from what folder_state reported and raises UidValidityChanged (also retriable);
    once folder_state was read again, everything works under the new value."""
    dovecot.append(USER, folder, [relay_message(n) for n in range(3)])
    before = imap.folder_state(folder)
    assert imap.uids_after(folder, 0) == [1, 2, 3]

    dovecot.reset_uid_validity(USER, folder, before.uid_validity + 1_000)

    with pytest.raises(MailboxUnavailable) as lost:
        list(imap.fetch(folder, [1, 2, 3]))
    assert not isinstance(lost.value, UidValidityChanged)  # the BYE: the session was closed by the server
    with pytest.raises(UidValidityChanged, match=str(before.uid_validity + 1_000)):
        list(imap.fetch(folder, [1, 2, 3]))

    after = imap.folder_state(folder)
    assert after.uid_validity == before.uid_validity + 1_000
    assert [mail.uid for mail in imap.fetch(folder, [1, 2, 3])] == [1, 2, 3]


def test_uidvalidity_reset_seen_by_folder_state_of_the_selected_session(dovecot, folder, imap):
    dovecot.append(USER, folder, [relay_message(0)])
    before = imap.folder_state(folder)
    dovecot.reset_uid_validity(USER, folder, before.uid_validity + 5)
    # EXAMINE again closes the stale view first: the new value, no BYE
    assert imap.folder_state(folder).uid_validity == before.uid_validity + 5


def test_deleted_and_moved_messages_are_absent(dovecot, folder, imap):
    archive = f"{folder}Archive"
    dovecot.create_folder(USER, archive)
    dovecot.append(USER, folder, [relay_message(n) for n in range(4)])
    imap.folder_state(folder)
    assert imap.uids_after(folder, 0) == [1, 2, 3, 4]

    dovecot.delete(USER, folder, [2])
    dovecot.move(USER, folder, archive, [3])

    assert imap.uids_after(folder, 0) == [1, 4]
    assert imap.folder_state(folder).message_count == 2
    assert [mail.uid for mail in imap.fetch(folder, [1, 2, 3, 4])] == [1, 4]
    assert imap.message_ids(folder, [1, 2, 3, 4]) == {1: message_id_of(0), 4: message_id_of(3)}
    # the moved message has a new UID in the other folder, and the same Message-ID
    assert imap.uids_after(archive, 0) == [1]
    assert imap.message_ids(archive, [1]) == {1: message_id_of(2)}


@pytest.mark.parametrize("secret", ["password", "oauth2_token"])
def test_refused_login_raises_auth_failed_without_the_secret(dovecot, secret):
    wrong = "Wrong-Secret-9f3b7c1e"
    source = ImapSource(imap_login(dovecot, **{"password": None, secret: wrong}))
    with pytest.raises(MailboxAuthFailed) as refused:
        source.folder_state("INBOX")
    message = str(refused.value)
    assert f"IMAP login refused for user {USER} at {dovecot.host}:{dovecot.port}" in message
    assert wrong not in message and wrong not in repr(refused.value)
    assert wrong not in "".join(traceback.format_exception(refused.value))  # as a log would show it


def test_oauth2_bearer_token_logs_in(dovecot, folder):
    # Dovecot 2.3 hands an XOAUTH2 bearer token to its passdb as the password: the fixture's password serves
    dovecot.append(USER, folder, [relay_message(0)])
    with ImapSource(imap_login(dovecot, password=None, oauth2_token=dovecot.password_for(USER))) as source:
        assert source.folder_state(folder).message_count == 1


def test_unknown_folder_raises_folder_not_found_and_the_source_goes_on(dovecot, folder, imap):
    dovecot.append(USER, folder, [relay_message(0)])
    with pytest.raises(FolderNotFound, match="NoSuchFolder"):
        imap.folder_state("NoSuchFolder")
    with pytest.raises(FolderNotFound):
        imap.uids_after("NoSuchFolder", 0)
    assert imap.uids_after(folder, 0) == [1]


def test_connection_refused_raises_mailbox_unavailable():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    source = ImapSource(ImapLogin("127.0.0.1", port, USER, password="irrelevant", tls=False))
    with pytest.raises(MailboxUnavailable, match=f"127.0.0.1:{port}"):
        source.folder_state("INBOX")


def test_silent_server_times_out_as_mailbox_unavailable():
    with socket.socket() as listener:  # accepts the connection (backlog) but never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        source = ImapSource(
            ImapLogin("127.0.0.1", port, USER, password="irrelevant", tls=False, timeout_seconds=0.3)
        )
        started = time.perf_counter()
        with pytest.raises(MailboxUnavailable):
            source.folder_state("INBOX")
        assert time.perf_counter() - started < 5


def test_ten_thousand_messages_loaded_by_multiappend_then_fully_fetched(dovecot, folder, imap):
    count = 10_000
    messages = [relay_message(n) for n in range(count)]
    started = time.perf_counter()
    uids = dovecot.append(USER, folder, messages)
    appended = time.perf_counter() - started
    assert uids == list(range(1, count + 1))

    started = time.perf_counter()
    state = imap.folder_state(folder)
    found = imap.uids_after(folder, 0)
    message_ids = imap.message_ids(folder, found)
    headers_read = time.perf_counter() - started
    started = time.perf_counter()
    fetched_bytes, fetched = 0, 0
    for mail in imap.fetch(folder, found):
        fetched += 1
        fetched_bytes += len(mail.raw)
        if mail.uid in (1, 5_000, count):
            assert mail.raw == messages[mail.uid - 1]
    bodies_read = time.perf_counter() - started

    assert (state.message_count, state.uid_next) == (count, count + 1)
    assert found == uids and fetched == count
    assert len(set(message_ids.values())) == count and None not in message_ids.values()
    assert fetched_bytes == sum(len(m) for m in messages)
    assert (imap.stats.searches, imap.stats.header_fetches, imap.stats.body_fetches) == (1, count, count)
    print(
        f"\nMULTIAPPEND of {count} messages: {appended:.2f} s ({count / appended:,.0f}/s); "
        f"folder_state + search + Message-IDs: {headers_read:.2f} s ({count / headers_read:,.0f}/s); "
        f"fetch of all (batches of 200): {bodies_read:.2f} s ({count / bodies_read:,.0f} messages/s, "
        f"{fetched_bytes / bodies_read / 1e6:.1f} MB/s)"
    )


def test_throwaway_dovecot_says_how_to_install_when_missing(monkeypatch):
    monkeypatch.setattr(dovecot_support.shutil, "which", lambda *args, **kwargs: None)
    with pytest.raises(DovecotNotInstalled, match="apt-get install -y dovecot-imapd"):
        with throwaway_dovecot():
            pass


# --- MaildirSource ----------------------------------------------------------------------------------------------

T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC).timestamp()


def make_maildir_folder(folder_dir: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (folder_dir / sub).mkdir(parents=True, exist_ok=True)
    return folder_dir


def deliver(folder_dir: Path, name: str, raw: bytes, mtime: float, sub: str = "new") -> Path:
    """Write a message file the way an MDA does (tmp/ then rename) and give it `mtime`."""
    tmp = folder_dir / "tmp" / name.split(":")[0]
    tmp.write_bytes(raw)
    os.utime(tmp, (mtime, mtime))
    path = folder_dir / sub / name
    os.rename(tmp, path)
    return path


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    root = make_maildir_folder(tmp_path / "Maildir")
    make_maildir_folder(root / ".Sent")
    return root


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every message file with its size and mtime: reading must change none of it."""
    return {
        str(path.relative_to(root)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
        if path.parent.name in ("new", "cur")
    }


def test_maildir_folders_map_to_maildirplusplus_directories(maildir):
    source = MaildirSource(maildir)
    assert source.folder_dir("INBOX") == maildir
    assert source.folder_dir("Sent") == maildir / ".Sent"
    deliver(maildir / ".Sent", "1763625600.M1P7Q1.acme", relay_message(1), T0)
    assert source.folder_state("Sent").message_count == 1
    for missing in ("Archive", "../Maildir", ".Sent", "", "Sent/x"):
        with pytest.raises(FolderNotFound):
            source.folder_state(missing)


def test_maildir_uids_follow_mtime_order_and_are_written_to_the_uid_list(maildir):
    # names deliberately out of mtime order; two files share an mtime (then the name decides)
    deliver(maildir, "1763625600.M3P1Q1.acme", relay_message(3), T0 + 30)
    deliver(maildir, "1763625600.M1P1Q1.acme", relay_message(1), T0 + 10)
    deliver(maildir, "1763625600.M2P1Q1.acme:2,S", relay_message(2), T0 + 10, sub="cur")
    deliver(maildir, "1763625600.M0P1Q1.acme", relay_message(0), T0 + 20)

    source = MaildirSource(maildir)
    state = source.folder_state("INBOX")

    assert (state.uid_next, state.message_count) == (5, 4)
    assert source.message_ids("INBOX", [1, 2, 3, 4]) == {
        1: message_id_of(1),
        2: message_id_of(2),
        3: message_id_of(0),
        4: message_id_of(3),
    }
    lines = (maildir / UIDLIST_NAME).read_text().splitlines()
    assert lines == [
        f"{state.uid_validity} 5",
        "1 1763625600.M1P1Q1.acme",
        "2 1763625600.M2P1Q1.acme",
        "3 1763625600.M0P1Q1.acme",
        "4 1763625600.M3P1Q1.acme",
    ]


def test_maildir_new_files_get_higher_uids_even_when_older(maildir):
    deliver(maildir, "1763625600.M1P1Q1.acme", relay_message(1), T0 + 100)
    source = MaildirSource(maildir)
    first = source.folder_state("INBOX")
    assert source.uids_after("INBOX", 0) == [1]

    deliver(maildir, "1763625500.M0P1Q1.acme", relay_message(0), T0)  # an older mtime, seen later
    assert source.uids_after("INBOX", 1) == [2]
    assert source.message_ids("INBOX", [2]) == {2: message_id_of(0)}
    state = source.folder_state("INBOX")
    assert (state.uid_validity, state.uid_next) == (first.uid_validity, 3)
    assert source.uids_after("INBOX", 2) == []


def test_maildir_uids_survive_new_to_cur_moves_and_flag_changes(maildir):
    path = deliver(maildir, "1763625600.M1P1Q1.acme", relay_message(1), T0)
    source = MaildirSource(maildir)
    source.folder_state("INBOX")
    # a mail client reads it: new/ -> cur/ with flags, then flags change again
    moved = maildir / "cur" / f"{path.name}:2,S"
    os.rename(path, moved)
    os.rename(moved, maildir / "cur" / f"{path.name}:2,RS")

    assert source.uids_after("INBOX", 0) == [1]
    assert [mail.raw for mail in source.fetch("INBOX", [1])] == [relay_message(1)]


def test_maildir_fetch_returns_exact_bytes_and_mtime_and_changes_nothing(maildir):
    messages = [relay_message(n, newline=b"\n") for n in range(3)]
    for n, raw in enumerate(messages):
        deliver(maildir, f"17636256{n:02d}.M{n}P1Q1.acme", raw, T0 + n * 60 + 0.25)
    deliver(maildir, "1763625999.M9P1Q1.acme:2,S", relay_message(9, with_message_id=False), T0 + 999, "cur")
    before = snapshot(maildir)

    source = MaildirSource(maildir)
    source.folder_state("INBOX")
    fetched = list(source.fetch("INBOX", [3, 1, 2, 77], batch_size=2))
    ids = source.message_ids("INBOX", [4])

    assert [mail.uid for mail in fetched] == [1, 2, 3]
    assert [mail.raw for mail in fetched] == messages
    assert [mail.internal_date for mail in fetched] == [
        datetime.fromtimestamp(T0 + n * 60 + 0.25, UTC) for n in range(3)
    ]
    assert ids == {4: None}
    assert snapshot(maildir) == before  # nothing moved to cur/, no flag added, no mtime touched
    assert (source.stats.body_fetches, source.stats.header_fetches) == (3, 1)


def test_maildir_deleted_uid_list_is_a_uidvalidity_change(maildir):
    deliver(maildir, "1763625600.M1P1Q1.acme", relay_message(1), T0)
    deliver(maildir, "1763625600.M2P1Q1.acme", relay_message(2), T0 + 1)
    source = MaildirSource(maildir)
    before = source.folder_state("INBOX")
    assert source.uids_after("INBOX", 0) == [1, 2]

    (maildir / UIDLIST_NAME).unlink()  # within the same second: the new value must differ all the same

    with pytest.raises(UidValidityChanged):
        source.uids_after("INBOX", 2)
    after = source.folder_state("INBOX")
    assert after.uid_validity > before.uid_validity
    assert source.uids_after("INBOX", 0) == [1, 2]
    # another reader (a new source, as the next run would be) agrees on the new value
    assert MaildirSource(maildir).folder_state("INBOX").uid_validity == after.uid_validity


def test_maildir_vanished_files_are_absent_and_their_uids_never_reused(maildir):
    paths = [deliver(maildir, f"176362560{n}.M{n}P1Q1.acme", relay_message(n), T0 + n) for n in range(3)]
    source = MaildirSource(maildir)
    source.folder_state("INBOX")
    assert source.uids_after("INBOX", 0) == [1, 2, 3]

    paths[1].unlink()
    assert source.uids_after("INBOX", 0) == [1, 3]
    assert [mail.uid for mail in source.fetch("INBOX", [1, 2, 3])] == [1, 3]
    assert source.message_ids("INBOX", [2, 3]) == {3: message_id_of(2)}
    assert "M1P1Q1" not in (maildir / UIDLIST_NAME).read_text()

    deliver(maildir, "1763625609.M9P1Q1.acme", relay_message(9), T0 + 9)
    assert source.uids_after("INBOX", 3) == [4]
    assert source.folder_state("INBOX").message_count == 3


def test_maildir_concurrent_readers_agree_on_uids(maildir):
    for n in range(200):
        deliver(maildir, f"1763625600.M{n:03d}P1Q1.acme", relay_message(n), T0 + n)
    barrier = threading.Barrier(4)

    def read_all() -> dict[int, str | None]:
        source = MaildirSource(maildir)
        barrier.wait()
        return source.message_ids("INBOX", source.uids_after("INBOX", 0))

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: read_all(), range(4)))

    assert all(result == results[0] for result in results)
    assert results[0] == {n + 1: message_id_of(n) for n in range(200)}


def test_maildir_source_reads_dovecots_maildir_like_imap_does(dovecot, folder, imap):
    """One interface: the same Dovecot folder through IMAP and through its Maildir files."""
    messages = [relay_message(n) for n in range(4)]
    dates = [datetime(2026, 11, 21, 10, n, tzinfo=UTC) for n in range(4)]
    dovecot.append(USER, folder, messages, internal_dates=dates)
    dovecot.delete(USER, folder, [2])

    sources: list[MailSource] = [imap, MaildirSource(dovecot.maildir(USER))]
    seen: list[list[FetchedMail]] = []
    for source in sources:
        source.folder_state(folder)
        uids = source.uids_after(folder, 0)
        assert source.message_ids(folder, uids) == {
            uid: message_id_of(n) for uid, n in zip(uids, (0, 2, 3), strict=True)
        }
        seen.append(list(source.fetch(folder, uids)))

    over_imap, from_files = seen
    assert (
        [m.internal_date for m in over_imap]
        == [m.internal_date for m in from_files]
        == [
            dates[0],
            dates[2],
            dates[3],
        ]
    )
    # Dovecot stores LF line ends (mail_save_crlf = no) and gives CRLF over IMAP
    assert [m.raw.replace(b"\r\n", b"\n") for m in over_imap] == [m.raw for m in from_files]
