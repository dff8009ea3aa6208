"""SesSender against the SES stand-in, a real moto server and servers that fail, plus its error mapping.

moto (DESIGN.md, "Stack notes") answers SES v2 SendEmail like AWS's API front end; the stand-in adds what moto
lacks (tags kept, configuration-set events, SES-shaped ids). Failures that need a misbehaving network (503,
throttling) come from a tiny local HTTP server; time-outs and dropped connections from a fake client.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email import message_from_bytes, message_from_string, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
    SSLError,
)

from sellerreach.dispatch.ses import SentEmail, SesConfig, SesSender, email_tags, message_id_header
from sellerreach.errors import ConfigError, FatalError, RetriableError
from sellerreach.sandbox.relay_mail import compose_seller_reply, relay_address_for
from sellerreach.secrets import SecretRef
from tests.support.moto import MotoNotInstalled, MotoServer, throwaway_moto
from tests.support.standin import running_stand_in

SELLER = "support@acme.example"
BUYER = relay_address_for("buyer-31", "A1PA6795UKMFR9")  # ...@marketplace.amazon.de
ORDER_ID = "302-7654321-1234567"
CONFIG_SET = "sellerreach-replies"
KEY_ID_ENV, SECRET_ENV = "SELLERREACH_TEST_SES_ACCESS_KEY_ID", "SELLERREACH_TEST_SES_SECRET_ACCESS_KEY"
# AWS's documented example credentials, assembled here so that no key-shaped literal sits in the repository
KEY_ID, SECRET = "AKIA" + "IOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SES_ID = re.compile(r"^0102[0-9a-f]{12}-[0-9a-f-]{36}-000000$")
TAGS = {"reply_id": "rep-8f2c", "order_id": ORDER_ID, "campaign": "Review request (DE) #3"}
SAFE_TAGS = {"reply_id": "rep-8f2c", "order_id": ORDER_ID, "campaign": "Review_request__DE___3"}


def reply_mime(*, seller: str = SELLER, to: str = BUYER) -> bytes:
    return compose_seller_reply(
        to_relay_address=to,
        seller_address=seller,
        subject=f"Re: Artikel beschädigt (Bestellung: {ORDER_ID})",
        body="Guten Tag,\n\nwir senden Ihnen heute kostenlos Ersatz.\n\nViele Grüße\nACME Support",
        sent_at=datetime(2026, 11, 2, 11, 50, tzinfo=UTC),
        message_id="<reply-rep-8f2c@acme.example>",
        in_reply_to="<buyer-302-7654321@marketplace.amazon.de>",
    )


def keys(monkeypatch) -> dict:
    monkeypatch.setenv(KEY_ID_ENV, KEY_ID)
    monkeypatch.setenv(SECRET_ENV, SECRET)
    return {
        "access_key_id": SecretRef("env", KEY_ID_ENV, "test: ses.access_key_id"),
        "secret_access_key": SecretRef("env", SECRET_ENV, "test: ses.secret_access_key"),
    }


def assert_no_personal_data(error: Exception) -> None:
    text = str(error)
    assert BUYER not in text and BUYER.split("@")[0] not in text
    assert KEY_ID not in text and SECRET not in text
    assert error.__cause__ is None and error.__context__ is None  # botocore's text travels nowhere


@pytest.fixture
def stand_in(monkeypatch, tmp_path):
    with running_stand_in(monkeypatch, tmp_path) as running:
        running.server.ses.verify("acme.example")
        yield running


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    try:
        with throwaway_moto() as server:
            yield server
    except MotoNotInstalled as error:
        pytest.skip(str(error))


# --- against the stand-in -------------------------------------------------------------------------------------


def test_send_raw_through_the_stand_in_keeps_the_message_and_tags_every_event(stand_in, monkeypatch):
    config = SesConfig(endpoint=stand_in.server.url, configuration_set=CONFIG_SET, **keys(monkeypatch))
    sender = SesSender.from_config(config)
    raw = reply_mime()
    sent = sender.send_raw(raw, from_address=SELLER, to_addresses=[BUYER], tags=TAGS)

    assert SES_ID.match(sent.ses_message_id)
    assert sent == SentEmail(sent.ses_message_id, f"<{sent.ses_message_id}@eu-west-1.amazonses.com>")
    (message,) = stand_in.server.ses.sent()
    assert message.ses_message_id == sent.ses_message_id
    assert message.raw == raw  # byte for byte: threading headers and body untouched
    headers = message_from_bytes(message.raw, policy=policy.default)
    assert headers["In-Reply-To"] == headers["References"] == "<buyer-302-7654321@marketplace.amazon.de>"
    assert (message.from_address, message.to_addresses) == (SELLER, (BUYER,))
    assert message.tags == SAFE_TAGS and message.configuration_set == CONFIG_SET
    events = stand_in.server.ses.events()
    assert [e["eventType"] for e in events] == ["Send", "Delivery"]
    for event in events:
        assert event["mail"]["messageId"] == sent.ses_message_id
        assert {k: event["mail"]["tags"][k] for k in SAFE_TAGS} == {k: [v] for k, v in SAFE_TAGS.items()}
        assert event["mail"]["tags"]["ses:configuration-set"] == [CONFIG_SET]


def test_without_a_configuration_set_nothing_is_published(stand_in, monkeypatch):
    sender = SesSender.from_config(SesConfig(endpoint=stand_in.server.url, **keys(monkeypatch)))
    sender.send_raw(reply_mime(), from_address=SELLER, to_addresses=[BUYER], tags={"reply_id": "rep-1"})
    assert len(stand_in.server.ses.sent()) == 1 and stand_in.server.ses.events() == []


def test_unverified_sender_is_fatal_and_names_no_buyer(stand_in, monkeypatch):
    sender = SesSender.from_config(SesConfig(endpoint=stand_in.server.url, **keys(monkeypatch)))
    other = "support@unverified-shop.example"
    with pytest.raises(FatalError) as refused:
        sender.send_raw(reply_mime(seller=other), from_address=other, to_addresses=[BUYER])
    error = refused.value
    assert (error.code, error.status) == ("MessageRejected", 400)
    assert other in str(error) and "verify the sender identity" in str(error)
    assert_no_personal_data(error)
    assert stand_in.server.ses.sent() == []


def test_throttling_by_the_stand_in_is_retriable(monkeypatch, tmp_path):
    with running_stand_in(monkeypatch, tmp_path) as running:
        ses = running.server.ses
        ses.verify("acme.example")
        ses.enforce_quotas, ses.max_24_hour_send = True, 1.0
        sender = SesSender.from_config(SesConfig(endpoint=running.server.url, **keys(monkeypatch)))
        sender.send_raw(reply_mime(), from_address=SELLER, to_addresses=[BUYER])
        with pytest.raises(RetriableError) as throttled:
            sender.send_raw(reply_mime(), from_address=SELLER, to_addresses=[BUYER])
    assert throttled.value.status == 429
    assert "TooManyRequestsException" in str(throttled.value) and "Daily message quota" in str(
        throttled.value
    )
    assert_no_personal_data(throttled.value)


@pytest.mark.parametrize(
    ("region", "host"),
    [
        ("us-east-1", "email.amazonses.com"),
        ("eu-west-1", "eu-west-1.amazonses.com"),
        ("ap-northeast-1", "ap-northeast-1.amazonses.com"),
    ],
)
def test_message_id_header_is_the_one_ses_writes(region, host):
    ses_id = "0100019af0df7d88-660ee24d-7e0c-4068-be85-fa05de580a77-000000"
    assert message_id_header(ses_id, region) == f"<{ses_id}@{host}>"


def test_us_east_1_sender_reports_the_email_amazonses_com_message_id(stand_in, monkeypatch):
    config = SesConfig(region="us-east-1", endpoint=stand_in.server.url, **keys(monkeypatch))
    sender = SesSender.from_config(config)
    sent = sender.send_raw(reply_mime(), from_address=SELLER, to_addresses=[BUYER])
    assert sent.message_id_header == f"<{sent.ses_message_id}@email.amazonses.com>"


def test_without_keys_the_default_credential_chain_is_used(stand_in, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv(
        "AWS_EC2_METADATA_DISABLED", "true"
    )  # no instance-metadata probe (no network in tests)
    config = SesConfig(endpoint=stand_in.server.url)
    with pytest.raises(FatalError) as missing:
        SesSender.from_config(config).send_raw(reply_mime(), from_address=SELLER, to_addresses=[BUYER])
    assert missing.value.code == "NoCredentials" and "credential" in str(missing.value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    sent = SesSender.from_config(config).send_raw(reply_mime(), from_address=SELLER, to_addresses=[BUYER])
    assert [m.ses_message_id for m in stand_in.server.ses.sent()] == [sent.ses_message_id]


# --- configuration and tags -----------------------------------------------------------------------------------


def test_from_config_needs_both_keys_or_neither(monkeypatch):
    refs = keys(monkeypatch)
    with pytest.raises(ConfigError, match="set both access_key_id and secret_access_key"):
        SesSender.from_config(SesConfig(access_key_id=refs["access_key_id"]))
    monkeypatch.delenv(SECRET_ENV)
    with pytest.raises(ConfigError, match=SECRET_ENV) as unset:
        SesSender.from_config(SesConfig(**refs))
    assert KEY_ID not in str(unset.value)


def test_from_config_builds_a_standard_retry_client_with_short_timeouts(monkeypatch):
    sender = SesSender.from_config(
        SesConfig(region="eu-central-1", configuration_set=CONFIG_SET, **keys(monkeypatch))
    )
    client_config = sender.client.meta.config
    assert sender.client.meta.service_model.service_name == "sesv2"
    assert sender.client.meta.region_name == "eu-central-1"
    assert sender.client.meta.endpoint_url == "https://email.eu-central-1.amazonaws.com"
    assert client_config.retries == {"mode": "standard", "total_max_attempts": 3}
    assert client_config.connect_timeout <= 5 and client_config.read_timeout <= 15
    assert sender.configuration_set == CONFIG_SET
    credentials = sender.client._request_signer._credentials
    assert (credentials.access_key, credentials.secret_key) == (KEY_ID, SECRET)


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({}, []),
        ({"reply_id": "rep-1"}, [{"Name": "reply_id", "Value": "rep-1"}]),
        (
            {"campaign": "Bitte bewerten Sie uns! (FR/DE)"},
            [{"Name": "campaign", "Value": "Bitte_bewerten_Sie_uns___FR_DE_"}],
        ),
        ({"buyer": "Jürgen Müller"}, [{"Name": "buyer", "Value": "J_rgen_M_ller"}]),
        ({"variant": 2}, [{"Name": "variant", "Value": "2"}]),
    ],
)
def test_email_tags_make_values_safe(tags, expected):
    assert email_tags(tags) == expected


@pytest.mark.parametrize(
    "tags",
    [
        {"reply id": "1"},
        {"ses:configuration-set": "x"},
        {"": "1"},
        {"x" * 257: "1"},
        {"reply_id": ""},
        {"reply_id": "1" * 257},
    ],
)
def test_email_tags_refuse_bad_names_and_empty_or_long_values(tags):
    with pytest.raises(ValueError, match="SES tag"):
        email_tags(tags)


# --- against moto ---------------------------------------------------------------------------------------------


def test_send_raw_through_moto_delivers_the_mime_with_its_headers(moto: MotoServer):
    moto.reset()
    moto.client("sesv2").create_email_identity(EmailIdentity="acme.example")
    # the client moto's helper builds, so an event hook can see what goes over the wire
    sender = SesSender(moto.client("sesv2"), region="eu-west-1", configuration_set=CONFIG_SET)
    requests: list[dict] = []
    sender.client.meta.events.register(
        "before-send.sesv2.SendEmail", lambda request, **_: requests.append(json.loads(request.body))
    )
    raw = reply_mime()
    sent = sender.send_raw(raw, from_address=SELLER, to_addresses=[BUYER], tags=TAGS)

    stored = [m for m in moto.data()["ses"]["RawMessage"] if m["id"] == sent.ses_message_id]
    assert len(stored) == 1 and stored[0]["source"] == SELLER
    assert BUYER in stored[0]["destinations"]
    delivered = message_from_string(stored[0]["raw_data"], policy=policy.default)
    assert delivered["Subject"] == f"Re: Artikel beschädigt (Bestellung: {ORDER_ID})"
    assert delivered["In-Reply-To"] == delivered["References"] == "<buyer-302-7654321@marketplace.amazon.de>"
    assert delivered["Message-ID"] == "<reply-rep-8f2c@acme.example>"  # moto keeps it; SES would replace it
    assert stored[0]["raw_data"].encode() == raw
    # moto drops tags and configuration sets, so check what went over the wire to it
    (request,) = requests
    assert request["EmailTags"] == [{"Name": k, "Value": v} for k, v in SAFE_TAGS.items()]
    assert request["ConfigurationSetName"] == CONFIG_SET
    assert request["FromEmailAddress"] == SELLER and request["Destination"] == {"ToAddresses": [BUYER]}
    assert sent.message_id_header == f"<{sent.ses_message_id}@eu-west-1.amazonses.com>"


def test_from_config_against_moto_sends_with_the_referenced_keys(moto: MotoServer, monkeypatch):
    moto.reset()
    moto.client("sesv2").create_email_identity(EmailIdentity=SELLER)
    sender = SesSender.from_config(SesConfig(endpoint=moto.url, **keys(monkeypatch)))
    sent = sender.send_raw(reply_mime(), from_address=SELLER, to_addresses=[BUYER])
    assert [m["id"] for m in moto.data()["ses"]["RawMessage"]] == [sent.ses_message_id]


def test_unverified_sender_on_moto_is_fatal_message_rejected(moto: MotoServer, monkeypatch):
    moto.reset()
    sender = SesSender.from_config(SesConfig(endpoint=moto.url, **keys(monkeypatch)))
    with pytest.raises(FatalError) as refused:
        sender.send_raw(reply_mime(), from_address=SELLER, to_addresses=[BUYER])
    assert (refused.value.code, refused.value.status) == ("MessageRejected", 400)
    assert SELLER in str(refused.value)
    assert_no_personal_data(refused.value)
    assert moto.data()["ses"]["RawMessage"] == []


# --- servers that fail ----------------------------------------------------------------------------------------


@contextmanager
def failing_server(status: int, body: dict, headers: dict[str, str]) -> Iterator[tuple[str, list[str]]]:
    """An HTTP server answering every request with `status`; yields its URL and the paths it was asked for."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(self.path)
            data = json.dumps(body).encode()
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format, *args) -> None:  # noqa: A002
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.mark.parametrize(
    ("status", "body", "headers", "code"),
    [
        (
            503,
            {"message": "Service Unavailable"},
            {"x-amzn-ErrorType": "ServiceUnavailable"},
            "ServiceUnavailable",
        ),
        (
            429,
            {"message": "Maximum sending rate exceeded."},
            {"x-amzn-ErrorType": "TooManyRequestsException", "Retry-After": "2"},
            "TooManyRequestsException",
        ),
    ],
    ids=["503", "throttled"],
)
def test_server_errors_and_throttling_are_retriable_after_three_attempts(
    status, body, headers, code, monkeypatch
):
    with failing_server(status, body, headers) as (url, seen):
        sender = SesSender.from_config(SesConfig(endpoint=url, **keys(monkeypatch)))
        with pytest.raises(RetriableError) as failed:
            sender.send_raw(reply_mime(), from_address=SELLER, to_addresses=[BUYER])
    assert seen == ["/v2/email/outbound-emails"] * 3  # botocore's standard mode: the try and two retries
    assert failed.value.status == status and code in str(failed.value)
    assert failed.value.retry_after == (2.0 if status == 429 else None)
    assert_no_personal_data(failed.value)


# --- the error mapping, table-driven through a fake client -----------------------------------------------------


class FakeClient:
    """Stands in for the boto3 client: records the request, then raises `error` or answers `reply`."""

    def __init__(self, error: Exception | None = None, reply: dict | None = None) -> None:
        self.error, self.reply, self.requests = error, reply or {"MessageId": "0102-fake-000000"}, []

    def send_email(self, **request):
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return self.reply


def client_error(code: str, status: int, message: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}},
        },
        "SendEmail",
    )


ENDPOINT = "https://email.eu-west-1.amazonaws.com/v2/email/outbound-emails"


@pytest.mark.parametrize(
    ("error", "kind", "code", "advice"),
    [
        (
            client_error("TooManyRequestsException", 429, "Maximum sending rate exceeded."),
            RetriableError,
            None,
            "slow down",
        ),
        (
            client_error("LimitExceededException", 400, "Too many requests."),
            RetriableError,
            None,
            "slow down",
        ),
        (
            client_error("Throttling", 400, "Maximum sending rate exceeded."),
            RetriableError,
            None,
            "slow down",
        ),
        (client_error("InternalFailure", 500, "Internal failure."), RetriableError, None, "retry later"),
        (
            client_error("ServiceUnavailable", 503, "Service unavailable."),
            RetriableError,
            None,
            "retry later",
        ),
        (ReadTimeoutError(endpoint_url=ENDPOINT), RetriableError, None, "Retry later"),
        (ConnectTimeoutError(endpoint_url=ENDPOINT), RetriableError, None, "Retry later"),
        (EndpointConnectionError(endpoint_url=ENDPOINT), RetriableError, None, "Retry later"),
        (ConnectionClosedError(endpoint_url=ENDPOINT), RetriableError, None, "Retry later"),
        (
            client_error(
                "MessageRejected",
                400,
                "Email address is not verified. The following identities failed the check in region EU-WEST-1: "
                f"{SELLER}, {BUYER}",
            ),
            FatalError,
            "MessageRejected",
            "verify the sender identity",
        ),
        (
            client_error("MailFromDomainNotVerifiedException", 400, "Mail-From domain not verified."),
            FatalError,
            "MailFromDomainNotVerifiedException",
            "MAIL FROM",
        ),
        (
            client_error("AccountSuspendedException", 400, "Account suspended."),
            FatalError,
            "AccountSuspendedException",
            "AWS Support",
        ),
        (
            client_error("SendingPausedException", 400, "Sending paused."),
            FatalError,
            "SendingPausedException",
            "resume",
        ),
        (
            client_error("NotFoundException", 404, f"Configuration set <{CONFIG_SET}> does not exist."),
            FatalError,
            "NotFoundException",
            "configuration set",
        ),
        (
            client_error("BadRequestException", 400, f"Missing final '@domain' in {BUYER}"),
            FatalError,
            "BadRequestException",
            "check the addresses",
        ),
        (
            client_error(
                "UnrecognizedClientException",
                403,
                f"The security token included in the request is invalid ({KEY_ID}).",
            ),
            FatalError,
            "UnrecognizedClientException",
            "credentials",
        ),
        (
            client_error("AccessDeniedException", 403, "not authorized to perform: ses:SendEmail"),
            FatalError,
            "AccessDeniedException",
            "grant",
        ),
        (NoCredentialsError(), FatalError, "NoCredentials", "credentials"),
        (SSLError(endpoint_url=ENDPOINT, error="certificate verify failed"), FatalError, "SSLError", "TLS"),
        (
            ParamValidationError(
                report=f"Invalid type for parameter Destination.ToAddresses[0], value: {BUYER}"
            ),
            FatalError,
            "ParamValidationError",
            "bug",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_errors_map_to_retry_or_stop_and_say_what_to_do(error, kind, code, advice):
    sender = SesSender(FakeClient(error), region="eu-west-1")
    with pytest.raises(kind) as raised:
        sender.send_raw(reply_mime(), from_address=SELLER, to_addresses=[BUYER], tags={"reply_id": "rep-1"})
    assert type(raised.value) is kind
    assert SELLER in str(raised.value) and advice in str(raised.value)
    if kind is FatalError:
        assert raised.value.code == code
    assert_no_personal_data(raised.value)


def test_the_request_is_exactly_what_ses_v2_expects():
    client = FakeClient(reply={"MessageId": "0102019a6f1c2a3b-0f6b1f53-9a56-4fd4-9c1f-2f0d6a37b9e1-000000"})
    sender = SesSender(client, region="eu-west-1", configuration_set=CONFIG_SET)
    raw = reply_mime()
    sent = sender.send_raw(raw, from_address=SELLER, to_addresses=(BUYER,), tags=TAGS)
    assert client.requests == [
        {
            "FromEmailAddress": SELLER,
            "Destination": {"ToAddresses": [BUYER]},
            "Content": {"Raw": {"Data": raw}},
            "ConfigurationSetName": CONFIG_SET,
            "EmailTags": [{"Name": k, "Value": v} for k, v in SAFE_TAGS.items()],
        }
    ]
    assert sent.message_id_header == (
        "<0102019a6f1c2a3b-0f6b1f53-9a56-4fd4-9c1f-2f0d6a37b9e1-000000@eu-west-1.amazonses.com>"
    )
    bare = FakeClient()
    SesSender(bare, region="eu-west-1").send_raw(raw, from_address=SELLER, to_addresses=[BUYER])
    assert set(bare.requests[0]) == {"FromEmailAddress", "Destination", "Content"}


@pytest.mark.parametrize(
    ("from_address", "to_addresses", "tags"),
    [("", [BUYER], None), (SELLER, [], None), (SELLER, BUYER, None), (SELLER, [BUYER], {"bad name": "x"})],
    ids=["no-sender", "no-recipient", "recipient-string", "bad-tag"],
)
def test_send_raw_refuses_bad_arguments_before_calling_ses(from_address, to_addresses, tags):
    client = FakeClient()
    with pytest.raises(ValueError):
        SesSender(client, region="eu-west-1").send_raw(
            reply_mime(), from_address=from_address, to_addresses=to_addresses, tags=tags
        )
    assert client.requests == []
