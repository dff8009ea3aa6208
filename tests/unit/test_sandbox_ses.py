"""The SES v2 stand-in: SendEmail (Raw and Simple), identities, GetAccount, quotas, and SES's event records.

Called directly through `handle()` (no I/O) and, at the end, through a real boto3 `sesv2` client against a running
SandboxServer. Event shapes are pinned to AWS's documented records ("Examples of event data that Amazon SES
publishes to Amazon SNS", SES Developer Guide).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.utils import parseaddr

import boto3
import pytest
from botocore.exceptions import ClientError

from sellerreach.clock import ManualClock
from sellerreach.sandbox.relay_mail import compose_seller_reply, relay_address_for
from sellerreach.sandbox.ses import SentMessage, SesStandIn
from tests.support.standin import running_stand_in

SELLER = "support@acme.example"
BUYER = relay_address_for("buyer-7", "A1PA6795UKMFR9")  # ...@marketplace.amazon.de
ORDER_ID = "302-1234567-8901234"
CONFIG_SET = "sellerreach-invitations"
SES_ID = re.compile(
    r"^0102([0-9a-f]{12})-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-000000$"
)
SES_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
# Field names as AWS documents them for records published through a configuration set.
MAIL_FIELDS = {
    "timestamp",
    "source",
    "sourceArn",
    "sendingAccountId",
    "messageId",
    "destination",
    "headersTruncated",
    "headers",
    "commonHeaders",
    "tags",
}
DELIVERY_FIELDS = {
    "timestamp",
    "processingTimeMillis",
    "recipients",
    "smtpResponse",
    "reportingMTA",
    "remoteMtaIp",
}
BOUNCE_FIELDS = {
    "bounceType",
    "bounceSubType",
    "bouncedRecipients",
    "timestamp",
    "feedbackId",
    "reportingMTA",
}
COMPLAINT_FIELDS = {
    "complainedRecipients",
    "timestamp",
    "feedbackId",
    "complaintSubType",
    "userAgent",
    "complaintFeedbackType",
    "arrivalDate",
}


def reply_mime(to: str = BUYER, *, seller: str = SELLER) -> bytes:
    return compose_seller_reply(
        to_relay_address=to,
        seller_address=seller,
        subject=f"Re: Wo ist meine Bestellung? (Bestellung: {ORDER_ID})",
        body="Guten Tag,\n\nIhr Paket ist unterwegs und kommt morgen an.\n\nViele Grüße\nACME Support",
        sent_at=datetime(2026, 11, 2, 11, 58, tzinfo=UTC),
        message_id="<reply-302-1234567@acme.example>",
        in_reply_to="<buyer-302-1234567@marketplace.amazon.de>",
    )


def raw_request(raw: bytes, *, to=(BUYER,), sender=SELLER, tags=None, configuration_set=CONFIG_SET) -> dict:
    request = {
        "FromEmailAddress": sender,
        "Destination": {"ToAddresses": list(to)},
        "Content": {"Raw": {"Data": base64.b64encode(raw).decode()}},
    }
    if tags is not None:
        request["EmailTags"] = [{"Name": k, "Value": v} for k, v in tags.items()]
    if configuration_set:
        request["ConfigurationSetName"] = configuration_set
    return request


def call(ses: SesStandIn, method: str, path: str, payload: dict | None = None):
    body = b"" if payload is None else json.dumps(payload).encode()
    return ses.handle(method, path, {"content-type": "application/json"}, body)


def send(ses: SesStandIn, request: dict) -> str:
    status, body, headers = call(ses, "POST", "/v2/email/outbound-emails", request)
    assert status == 200, body
    assert headers["x-amzn-RequestId"]
    return body["MessageId"]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def ses(clock: ManualClock) -> SesStandIn:
    return SesStandIn(clock, verified_identities=["acme.example"])


def test_raw_send_is_kept_byte_for_byte_with_an_ses_shaped_id(ses: SesStandIn, clock: ManualClock):
    raw = reply_mime()
    message_id = send(ses, raw_request(raw, tags={"invitation_id": "inv-4711", "channel": "relay_email"}))
    match = SES_ID.match(message_id)
    assert match and int(match.group(1), 16) == int(clock.now().timestamp() * 1000)
    assert ses.sent() == [
        SentMessage(
            ses_message_id=message_id,
            from_address=SELLER,
            to_addresses=(BUYER,),
            raw=raw,
            tags={"invitation_id": "inv-4711", "channel": "relay_email"},
            configuration_set=CONFIG_SET,
            sent_at=clock.now(),
        )
    ]
    parsed = message_from_bytes(ses.sent()[0].raw, policy=policy.default)
    assert parsed["In-Reply-To"] == "<buyer-302-1234567@marketplace.amazon.de>"
    assert parsed["References"] == "<buyer-302-1234567@marketplace.amazon.de>"
    assert parsed["Message-ID"] == "<reply-302-1234567@acme.example>"
    clock.advance(0.25)
    assert send(ses, raw_request(raw)) != message_id


def test_raw_send_takes_sender_and_recipients_from_the_headers_when_the_request_omits_them(ses: SesStandIn):
    raw = reply_mime()
    request = raw_request(raw, configuration_set=None)
    del request["FromEmailAddress"], request["Destination"]
    message_id = send(ses, request)
    (message,) = ses.sent()
    assert (message.ses_message_id, message.from_address, message.to_addresses) == (
        message_id,
        SELLER,
        (BUYER,),
    )


def test_simple_send_is_rendered_to_mime_like_ses_does(ses: SesStandIn):
    request = {
        "FromEmailAddress": "ACME Support <support@acme.example>",
        "Destination": {"ToAddresses": [BUYER], "BccAddresses": ["archive@acme.example"]},
        "ReplyToAddresses": ["help@acme.example"],
        "Content": {
            "Simple": {
                "Subject": {"Data": f"Ihre Bestellung {ORDER_ID}: Grüße aus dem Lager", "Charset": "UTF-8"},
                "Body": {
                    "Text": {"Data": "Guten Tag, Ihr Paket ist unterwegs. Grüße", "Charset": "UTF-8"},
                    "Html": {"Data": "<p>Guten Tag, Ihr Paket ist unterwegs.</p>", "Charset": "UTF-8"},
                },
                "Headers": [{"Name": "X-Order-Id", "Value": ORDER_ID}],
            }
        },
    }
    send(ses, request)
    (message,) = ses.sent()
    assert message.from_address == SELLER
    assert message.to_addresses == (BUYER, "archive@acme.example")
    parsed = message_from_bytes(message.raw, policy=policy.default)
    assert parsed["From"] == "ACME Support <support@acme.example>"
    assert parsed["To"] == BUYER and parsed["Bcc"] is None  # Bcc is envelope only
    assert parsed["Reply-To"] == "help@acme.example"
    assert parsed["Subject"] == f"Ihre Bestellung {ORDER_ID}: Grüße aus dem Lager"
    assert parsed["X-Order-Id"] == ORDER_ID
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed.get_body(("plain",)).get_content().strip() == "Guten Tag, Ihr Paket ist unterwegs. Grüße"
    assert "<p>Guten Tag" in parsed.get_body(("html",)).get_content()


def test_unverified_sender_is_rejected_in_ses_error_shape(ses: SesStandIn):
    status, body, headers = call(
        ses,
        "POST",
        "/v2/email/outbound-emails",
        raw_request(reply_mime(seller="sales@other-shop.example"), sender="sales@other-shop.example"),
    )
    assert status == 400
    assert headers["x-amzn-ErrorType"] == "MessageRejected"
    assert body == {
        "message": "Email address is not verified. The following identities failed the check in region "
        "EU-WEST-1: sales@other-shop.example"
    }
    assert ses.sent() == [] and ses.events() == []


@pytest.mark.parametrize(
    ("identity", "sender", "allowed"),
    [
        ("acme.example", "support@acme.example", True),
        ("acme.example", "Support@ACME.example", True),
        ("acme.example", "noreply@mail.acme.example", True),  # a verified domain covers its subdomains
        ("acme.example", "support@acme.example.evil.example", False),
        ("acme.example", "support@notacme.example", False),
        ("support@acme.example", "support@acme.example", True),
        ("support@acme.example", "sales@acme.example", False),  # an address covers only itself
        ("mail.acme.example", "support@acme.example", False),  # ...and a subdomain not its parent
    ],
)
def test_verification_covers_an_address_or_a_whole_domain(clock, identity, sender, allowed):
    ses = SesStandIn(clock, verified_identities=[identity])
    status, body, headers = call(
        ses, "POST", "/v2/email/outbound-emails", raw_request(reply_mime(seller=sender), sender=sender)
    )
    assert (status == 200) is allowed, body
    if not allowed:
        assert headers["x-amzn-ErrorType"] == "MessageRejected"


def test_verify_refuses_what_is_neither_an_address_nor_a_domain(clock):
    for bad in ("", "acme", "support@", "not an address@acme.example"):
        with pytest.raises(ValueError, match="neither an email address nor a domain"):
            SesStandIn(clock).verify(bad)


def test_create_email_identity_verifies_addresses_and_domains(clock):
    ses = SesStandIn(clock)
    status, body, _ = call(ses, "POST", "/v2/email/identities", {"EmailIdentity": "acme.example"})
    assert status == 200
    assert body["IdentityType"] == "DOMAIN" and body["VerifiedForSendingStatus"] is True
    assert body["DkimAttributes"]["Status"] == "SUCCESS" and len(body["DkimAttributes"]["Tokens"]) == 3
    status, body, _ = call(ses, "POST", "/v2/email/identities", {"EmailIdentity": "support@shop.example"})
    assert status == 200 and body["IdentityType"] == "EMAIL_ADDRESS"
    status, body, headers = call(ses, "POST", "/v2/email/identities", {"EmailIdentity": "ACME.example"})
    assert status == 400 and headers["x-amzn-ErrorType"] == "AlreadyExistsException"
    status, _, headers = call(ses, "POST", "/v2/email/identities", {"EmailIdentity": "no domain"})
    assert status == 400 and headers["x-amzn-ErrorType"] == "BadRequestException"
    assert send(ses, raw_request(reply_mime()))
    assert send(ses, raw_request(reply_mime(seller="support@shop.example"), sender="support@shop.example"))


@pytest.mark.parametrize(
    ("tags", "named"),
    [
        ({"invitation id": "inv-1"}, "tag name"),
        ({"invitation_id": "inv/1"}, "tag value"),
        ({"x" * 257: "1"}, "tag name"),
        ({"invitation_id": "1" * 257}, "tag value"),
        ({"ses:configuration-set": "other"}, "tag name"),  # the ses: names are SES's own
    ],
)
def test_tags_outside_ses_character_set_are_refused(ses: SesStandIn, tags, named):
    status, body, headers = call(
        ses, "POST", "/v2/email/outbound-emails", raw_request(reply_mime(), tags=tags)
    )
    assert status == 400 and headers["x-amzn-ErrorType"] == "BadRequestException"
    assert named in body["message"]
    assert ses.sent() == []


@pytest.mark.parametrize(
    ("request_body", "code"),
    [
        (b"{not json", "BadRequestException"),
        (
            json.dumps({"FromEmailAddress": SELLER, "Destination": {"ToAddresses": [BUYER]}}).encode(),
            "BadRequestException",
        ),
        (
            json.dumps(raw_request(b"From: x")).replace('"Data": "RnJvbTogeA=="', '"Data": "%%%"').encode(),
            "BadRequestException",
        ),
        (json.dumps(raw_request(reply_mime(), to=["no-at-sign"])).encode(), "BadRequestException"),
        (
            json.dumps(raw_request(reply_mime(), to=[f"b{i}@example.com" for i in range(51)])).encode(),
            "MessageRejected",
        ),
        (
            json.dumps(
                {**raw_request(reply_mime()), "Content": {"Template": {"TemplateName": "review"}}}
            ).encode(),
            "BadRequestException",
        ),
    ],
    ids=["not-json", "no-content", "bad-base64", "bad-recipient", "51-recipients", "template"],
)
def test_malformed_requests_get_ses_errors(ses: SesStandIn, request_body, code):
    status, body, headers = ses.handle("POST", "/v2/email/outbound-emails", {}, request_body)
    assert (status, headers["x-amzn-ErrorType"]) == (400, code)
    assert isinstance(body["message"], str) and body["message"]


def test_unknown_routes_answer_not_found(ses: SesStandIn):
    status, body, headers = call(ses, "DELETE", "/v2/email/account")
    assert status == 404 and headers["x-amzn-ErrorType"] == "NotFoundException"
    assert "SendEmail" in body["message"]


def test_send_and_delivery_records_have_the_documented_shape(ses: SesStandIn, clock: ManualClock):
    raw = reply_mime()
    message_id = send(ses, raw_request(raw, tags={"invitation_id": "inv-4711"}))
    send_event, delivery_event = ses.events()

    assert set(send_event) == {"eventType", "mail", "send"}
    assert send_event["eventType"] == "Send" and send_event["send"] == {}
    mail = send_event["mail"]
    assert set(mail) == MAIL_FIELDS
    assert mail["timestamp"] == clock.now().strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert mail["source"] == SELLER
    assert mail["sourceArn"] == "arn:aws:ses:eu-west-1:123456789012:identity/acme.example"
    assert mail["sendingAccountId"] == "123456789012"
    assert mail["messageId"] == message_id
    assert mail["destination"] == [BUYER]
    assert mail["headersTruncated"] is False
    parsed = message_from_bytes(raw, policy=policy.compat32)
    assert mail["headers"] == [{"name": name, "value": value} for name, value in parsed.items()]
    # commonHeaders carry SES's message id; the caller's Message-ID stays in `headers`
    assert mail["commonHeaders"] == {
        "from": [SELLER],
        "date": "Mon, 02 Nov 2026 11:58:00 +0000",
        "to": [BUYER],
        "messageId": message_id,
        "subject": f"Re: Wo ist meine Bestellung? (Bestellung: {ORDER_ID})",
    }
    assert mail["tags"] == {
        "ses:operation": ["SendEmail"],
        "ses:configuration-set": [CONFIG_SET],
        "ses:source-ip": ["127.0.0.1"],
        "ses:from-domain": ["acme.example"],
        "ses:caller-identity": ["sellerreach-sandbox"],
        "invitation_id": ["inv-4711"],
    }

    assert set(delivery_event) == {"eventType", "mail", "delivery"}
    assert delivery_event["eventType"] == "Delivery"
    assert delivery_event["mail"]["tags"]["ses:outgoing-ip"] == ["192.0.2.10"]
    assert {k: v for k, v in delivery_event["mail"].items() if k != "tags"} == {
        k: v for k, v in mail.items() if k != "tags"
    }
    delivery = delivery_event["delivery"]
    assert set(delivery) == DELIVERY_FIELDS
    assert delivery["recipients"] == [BUYER]
    assert delivery["processingTimeMillis"] == 1200
    assert delivery["timestamp"] == "2026-11-02T12:00:01.200Z"
    assert delivery["smtpResponse"].startswith("250 ")
    assert delivery["reportingMTA"] == "a7-17.smtp-out.eu-west-1.amazonses.com"
    assert json.loads(json.dumps(ses.events())) == ses.events()  # what SNS would carry, as JSON


def test_no_configuration_set_means_no_events(ses: SesStandIn):
    send(ses, raw_request(reply_mime(), configuration_set=None, tags={"invitation_id": "inv-1"}))
    assert len(ses.sent()) == 1 and ses.events() == []


def test_mailbox_simulator_bounces_complains_and_suppresses_like_ses(ses: SesStandIn):
    recipients = [
        BUYER,
        "bounce@simulator.amazonses.com",
        "bounce+inv-2@simulator.amazonses.com",  # labels select the same scenario
        "complaint@simulator.amazonses.com",
        "suppressionlist@simulator.amazonses.com",
        "success@simulator.amazonses.com",
    ]
    message_id = send(ses, raw_request(reply_mime(), to=recipients, tags={"invitation_id": "inv-2"}))
    events = ses.events()
    assert [e["eventType"] for e in events] == [
        "Send",
        "Bounce",
        "Bounce",
        "Delivery",
        "Delivery",
        "Delivery",
        "Complaint",
    ]
    assert [e.get("delivery", {}).get("recipients") for e in events if e["eventType"] == "Delivery"] == [
        [BUYER],
        ["complaint@simulator.amazonses.com"],
        ["success@simulator.amazonses.com"],
    ]
    times = [e.get(e["eventType"].lower(), {}).get("timestamp") or e["mail"]["timestamp"] for e in events]
    assert times == sorted(times) and all(SES_TIME.match(t) for t in times)
    assert all(e["mail"]["messageId"] == message_id for e in events)
    assert all(e["mail"]["tags"]["invitation_id"] == ["inv-2"] for e in events)

    suppressed, bounced = (e["bounce"] for e in events if e["eventType"] == "Bounce")
    assert set(suppressed) == BOUNCE_FIELDS
    assert (suppressed["bounceType"], suppressed["bounceSubType"]) == (
        "Permanent",
        "OnAccountSuppressionList",
    )
    assert [r["emailAddress"] for r in suppressed["bouncedRecipients"]] == [
        "suppressionlist@simulator.amazonses.com"
    ]
    assert "suppression list for your account" in suppressed["bouncedRecipients"][0]["diagnosticCode"]
    assert set(bounced) == BOUNCE_FIELDS | {"remoteMtaIp"}
    assert (bounced["bounceType"], bounced["bounceSubType"]) == ("Permanent", "General")
    # the simulator's bounces of one request come back as one bounce
    assert bounced["bouncedRecipients"] == [
        {
            "emailAddress": address,
            "action": "failed",
            "status": "5.1.1",
            "diagnosticCode": "smtp; 550 5.1.1 user unknown",
        }
        for address in ("bounce@simulator.amazonses.com", "bounce+inv-2@simulator.amazonses.com")
    ]
    assert SES_ID.match(bounced["feedbackId"]) and bounced["reportingMTA"].startswith("dns; ")

    complaint = events[-1]["complaint"]
    assert set(complaint) == COMPLAINT_FIELDS
    assert complaint["complainedRecipients"] == [{"emailAddress": "complaint@simulator.amazonses.com"}]
    assert complaint["complaintFeedbackType"] == "abuse" and complaint["complaintSubType"] is None
    assert complaint["timestamp"] == complaint["arrivalDate"] == "2026-11-02T12:00:04.000Z"


def test_events_come_oldest_first_across_sends(ses: SesStandIn, clock: ManualClock):
    first = send(ses, raw_request(reply_mime()))
    clock.advance(0.5)  # the second Send happens before the first Delivery
    second = send(ses, raw_request(reply_mime()))
    order = [(e["eventType"], e["mail"]["messageId"]) for e in ses.events()]
    assert order == [("Send", first), ("Send", second), ("Delivery", first), ("Delivery", second)]
    ses.events()[0]["mail"]["tags"].clear()  # copies: the stand-in's records stay intact
    assert ses.events()[0]["mail"]["tags"]


def test_long_headers_are_truncated_in_events_but_not_in_the_message(ses: SesStandIn):
    raw = reply_mime().replace(b"MIME-Version: 1.0", b"X-Trace: " + b"a" * 11000 + b"\r\nMIME-Version: 1.0")
    send(ses, raw_request(raw))
    mail = ses.events()[0]["mail"]
    assert mail["headersTruncated"] is True
    assert "X-Trace" not in [h["name"] for h in mail["headers"]]
    assert ses.sent()[0].raw == raw


def test_get_account_reports_quota_and_counts_the_last_24_hours(clock: ManualClock):
    ses = SesStandIn(clock, verified_identities=["acme.example"], max_send_rate=40, max_24_hour_send=200000)
    send(ses, raw_request(reply_mime(), to=[BUYER, "second-buyer@example.com"]))
    send(ses, raw_request(reply_mime(), to=["success@simulator.amazonses.com"]))  # the simulator is free
    status, body, _ = call(ses, "GET", "/v2/email/account")
    assert status == 200
    assert body["SendQuota"] == {"Max24HourSend": 200000.0, "MaxSendRate": 40.0, "SentLast24Hours": 2.0}
    assert body["SendingEnabled"] is True and body["ProductionAccessEnabled"] is True
    assert body["EnforcementStatus"] == "HEALTHY"
    clock.advance(24 * 3600 + 1)
    assert call(ses, "GET", "/v2/email/account")[1]["SendQuota"]["SentLast24Hours"] == 0.0


def test_enforced_quotas_answer_429_like_ses(clock: ManualClock):
    ses = SesStandIn(
        clock, verified_identities=["acme.example"], max_send_rate=2, max_24_hour_send=4, enforce_quotas=True
    )
    request = raw_request(reply_mime(), to=[BUYER, "b2@example.com", "b3@example.com"])
    send(ses, request)  # allowance left: the call goes through and all three recipients are charged
    status, body, headers = call(ses, "POST", "/v2/email/outbound-emails", request)
    assert (status, headers["x-amzn-ErrorType"]) == (429, "TooManyRequestsException")
    assert body == {"message": "Maximum sending rate exceeded."}
    clock.advance(1.0)  # the debt (-1 + 2/s) is paid back
    send(ses, raw_request(reply_mime()))
    clock.advance(10)
    status, body, _ = call(ses, "POST", "/v2/email/outbound-emails", raw_request(reply_mime()))
    assert (status, body) == (429, {"message": "Daily message quota exceeded."})
    send(ses, raw_request(reply_mime(), to=["success@simulator.amazonses.com"]))  # not counted toward the day
    clock.advance(24 * 3600)
    send(ses, raw_request(reply_mime()))


def test_concurrent_sends_are_all_recorded_once(ses: SesStandIn):
    ids: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(25):
            message_id = send(ses, raw_request(reply_mime(), tags={"invitation_id": f"inv-{n}-{i}"}))
            with lock:
                ids.append(message_id)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 100
    assert sorted(m.ses_message_id for m in ses.sent()) == sorted(ids)
    assert len(ses.events()) == 200


# --- through boto3 and the SandboxServer ----------------------------------------------------------------------


@pytest.fixture
def server_ses(monkeypatch, tmp_path):
    with running_stand_in(monkeypatch, tmp_path) as stand_in:
        client = boto3.session.Session().client(
            "sesv2",
            region_name="eu-west-1",
            endpoint_url=stand_in.server.url,
            aws_access_key_id="AKIDSANDBOX",
            aws_secret_access_key="sandbox-secret",
        )
        yield stand_in.server, client


def test_boto3_sesv2_client_talks_to_the_stand_in_on_the_sandbox_server(server_ses):
    server, client = server_ses
    shop = "support@shop.example"  # running_stand_in verifies the demo's acme.example, not this one
    raw = reply_mime(seller=shop)
    with pytest.raises(ClientError) as rejected:
        client.send_email(
            FromEmailAddress=shop, Destination={"ToAddresses": [BUYER]}, Content={"Raw": {"Data": raw}}
        )
    assert rejected.value.response["Error"]["Code"] == "MessageRejected"
    assert rejected.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert isinstance(rejected.value, client.exceptions.MessageRejected)

    created = client.create_email_identity(EmailIdentity="shop.example")
    assert created["IdentityType"] == "DOMAIN" and created["VerifiedForSendingStatus"] is True
    with pytest.raises(client.exceptions.AlreadyExistsException):
        client.create_email_identity(EmailIdentity="shop.example")

    raw_id = client.send_email(
        FromEmailAddress=shop,
        Destination={"ToAddresses": [BUYER]},
        Content={"Raw": {"Data": raw}},
        EmailTags=[{"Name": "invitation_id", "Value": "inv-9"}],
        ConfigurationSetName=CONFIG_SET,
    )["MessageId"]
    simple_id = client.send_email(
        FromEmailAddress=shop,
        Destination={"ToAddresses": ["complaint@simulator.amazonses.com"]},
        Content={"Simple": {"Subject": {"Data": "Ihre Bewertung"}, "Body": {"Text": {"Data": "Danke!"}}}},
        ConfigurationSetName=CONFIG_SET,
    )["MessageId"]
    assert SES_ID.match(raw_id) and SES_ID.match(simple_id)
    sent = {m.ses_message_id: m for m in server.ses.sent()}
    assert sent[raw_id].raw == raw and sent[raw_id].tags == {"invitation_id": "inv-9"}
    assert message_from_bytes(sent[simple_id].raw, policy=policy.default)["Subject"] == "Ihre Bewertung"
    assert [(e["eventType"], e["mail"]["messageId"]) for e in server.ses.events()] == [
        ("Send", raw_id),
        ("Send", simple_id),
        ("Delivery", raw_id),
        ("Delivery", simple_id),
        ("Complaint", simple_id),
    ]
    assert server.ses.events()[0]["mail"]["sourceArn"].endswith(":identity/shop.example")

    account = client.get_account()
    assert account["SendQuota"] == {"Max24HourSend": 50000.0, "MaxSendRate": 14.0, "SentLast24Hours": 1.0}
    assert account["SendingEnabled"] is True

    with pytest.raises(client.exceptions.BadRequestException) as bad_tag:
        client.send_email(
            FromEmailAddress=shop,
            Destination={"ToAddresses": [BUYER]},
            Content={"Raw": {"Data": raw}},
            EmailTags=[{"Name": "order", "Value": ORDER_ID.replace("-", "/")}],
        )
    assert "tag value" in bad_tag.value.response["Error"]["Message"]


def test_sp_api_routes_are_untouched_by_the_ses_routing(server_ses):
    server, _ = server_ses
    reply = server.handle("GET", "/orders/2026-01-01/orders", {}, b"")
    assert reply.status == 403 and reply.body["errors"][0]["code"] == "Unauthorized"
    ses_reply = server.handle("GET", "/v2/email/account", {}, b"")
    assert ses_reply.status == 200 and ses_reply.content_type == "application/json"
    assert ses_reply.body["SendQuota"]["MaxSendRate"] == 14.0
    assert parseaddr(BUYER)[1].endswith("@marketplace.amazon.de")
