"""Sending one MIME message through Amazon SES v2 (`SendEmail` with raw content), with errors that say what to do.

The message is sent as built (so In-Reply-To and References reach the buyer untouched), except that SES replaces
any Message-ID header with its own, `<{MessageId}@{region}.amazonses.com>` (`@email.amazonses.com` in
us-east-1); `SentEmail.message_id_header` is that value, the one a buyer's reply will quote. Message tags travel
with every event SES publishes for the message (through the configuration set), which is how an event joins back
to its invitation.

Errors: throttling, 5xx, time-outs and dropped connections raise `RetriableError`; everything else raises
`FatalError` with SES's error code. Messages name the error code, our own sender address and what to do; they
never carry a recipient address (buyer personal data), the message, or credentials, and the botocore exception
is not chained (its text can quote recipients: SES lists unverified recipients in sandbox accounts).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
    SSLError,
)
from botocore.exceptions import (
    ConnectionError as BotoConnectionError,
)

from sellerreach.errors import ConfigError, FatalError, RetriableError
from sellerreach.secrets import SecretRef, resolve_secret

CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 15  # SendEmail answers in well under a second; a hung connection is retried instead
MAX_ATTEMPTS = 3  # botocore "standard" retries: the first try plus two, with jittered backoff
TAG_MAX_LENGTH = 256

# Codes SES (and the AWS front end) use when a caller goes too fast: worth another try later.
THROTTLING_CODES = frozenset(
    {"TooManyRequestsException", "LimitExceededException", "Throttling", "ThrottlingException"}
)
_ADVICE = {
    "MessageRejected": (
        "SES refused the message: verify the sender identity (the address or its domain) in SES in this region, "
        "and check the message size and headers"
    ),
    "MailFromDomainNotVerifiedException": (
        "the sender identity's custom MAIL FROM domain is not verified: publish its MX and SPF records or turn "
        "the custom MAIL FROM domain off in SES"
    ),
    "AccountSuspendedException": (
        "SES has suspended sending for this AWS account: check the reputation page in the SES console and "
        "contact AWS Support; do not retry"
    ),
    "SendingPausedException": (
        "sending is paused for the account or the configuration set: resume it in SES "
        "(PutAccountSendingAttributes or PutConfigurationSetSendingOptions)"
    ),
    "NotFoundException": "a resource the request names does not exist in SES: check the configuration set name",
    "BadRequestException": "SES refused the request as invalid: check the addresses, the tags and the message",
    "AccessDeniedException": "the credentials may not call ses:SendEmail: grant it to the IAM user or role",
    "UnrecognizedClientException": "SES does not know the access key: check the configured AWS credentials",
    "InvalidClientTokenId": "SES does not know the access key: check the configured AWS credentials",
    "SignatureDoesNotMatch": "the secret access key does not match the access key id: check the credentials",
    "ExpiredTokenException": "the AWS session token has expired: refresh the credentials",
}
_DEFAULT_ADVICE = "SES refused the request; retrying will not help until the cause is fixed"
_EMAIL = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+")
_ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
_TAG_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class SesConfig:
    region: str = "eu-west-1"
    endpoint: str | None = None  # stand-in or moto URL; None: AWS
    configuration_set: str | None = None
    access_key_id: SecretRef | None = None  # None: boto3's default credential chain
    secret_access_key: SecretRef | None = None


@dataclass(frozen=True)
class SentEmail:
    ses_message_id: str  # what SendEmail returned
    message_id_header: str  # the Message-ID the recipient sees (SES replaces the one we send)


def message_id_header(ses_message_id: str, region: str) -> str:
    """The Message-ID header SES writes for a message it accepted in `region`."""
    host = "email.amazonses.com" if region == "us-east-1" else f"{region}.amazonses.com"
    return f"<{ses_message_id}@{host}>"


def email_tags(tags: Mapping[str, str] | None) -> list[dict[str, str]]:
    """SES `EmailTags` from a mapping. Names must already be 1..256 ASCII letters, digits, `_` or `-` (ValueError
    otherwise: a name is ours, a bad one is a bug); in values every other character becomes `_`, and a value must
    end up 1..256 characters long (ValueError)."""
    result = []
    for name, value in (tags or {}).items():
        if not isinstance(name, str) or not _TAG_NAME.match(name) or len(name) > TAG_MAX_LENGTH:
            raise ValueError(
                f"SES tag name {name!r} is invalid: use 1 to {TAG_MAX_LENGTH} ASCII letters, digits, '_' or '-', "
                "e.g. 'invitation_id'"
            )
        safe = _TAG_UNSAFE.sub("_", str(value))
        if not safe or len(safe) > TAG_MAX_LENGTH:
            raise ValueError(
                f"SES tag {name!r} needs a value of 1 to {TAG_MAX_LENGTH} characters, got {len(safe)}"
            )
        result.append({"Name": name, "Value": safe})
    return result


class SesSender:
    """Sends raw MIME through an SES v2 client (boto3 `sesv2`, or anything with its `send_email`)."""

    def __init__(self, client: Any, *, region: str, configuration_set: str | None = None) -> None:
        self.client = client
        self.region = region
        self.configuration_set = configuration_set

    @classmethod
    def from_config(cls, config: SesConfig) -> SesSender:
        """A sender with a boto3 `sesv2` client for `config`: secrets resolved through their references (or
        boto3's default credential chain when none are set), standard retries (3 attempts), short time-outs.
        Raises ConfigError when only one of the two keys is set or a secret cannot be read."""
        if (config.access_key_id is None) != (config.secret_access_key is None):
            raise ConfigError(
                "SES credentials: set both access_key_id and secret_access_key (e.g. env:AWS_ACCESS_KEY_ID and "
                "env:AWS_SECRET_ACCESS_KEY), or neither to use boto3's default credential chain"
            )
        credentials = {}
        if config.access_key_id is not None and config.secret_access_key is not None:
            credentials = {
                "aws_access_key_id": resolve_secret(config.access_key_id),
                "aws_secret_access_key": resolve_secret(config.secret_access_key),
            }
        # a session per sender: boto3's default session is not safe to build clients from in several threads
        client = boto3.session.Session().client(
            "sesv2",
            region_name=config.region,
            endpoint_url=config.endpoint,
            config=BotoConfig(
                # total_max_attempts counts the first try; botocore's max_attempts would count only retries
                retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
                connect_timeout=CONNECT_TIMEOUT_S,
                read_timeout=READ_TIMEOUT_S,
            ),
            **credentials,
        )
        return cls(client, region=config.region, configuration_set=config.configuration_set)

    def send_raw(
        self,
        raw: bytes,
        *,
        from_address: str,
        to_addresses: Sequence[str],
        tags: Mapping[str, str] | None = None,
    ) -> SentEmail:
        """Send `raw` (a complete MIME message) from `from_address` to `to_addresses`, with `tags` as SES message
        tags. Returns SES's message id and the Message-ID header the recipient sees.

        Raises ValueError for a bad tag name or missing addresses, RetriableError (throttling, 5xx, time-outs,
        dropped connections) and FatalError (any other refusal, with SES's error code in `code`)."""
        if isinstance(to_addresses, str):
            raise ValueError("to_addresses must be a sequence of addresses, not one string")
        if not from_address or not to_addresses:
            raise ValueError("send_raw needs a from_address and at least one recipient")
        request: dict[str, Any] = {
            "FromEmailAddress": from_address,
            "Destination": {"ToAddresses": list(to_addresses)},
            "Content": {"Raw": {"Data": bytes(raw)}},
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        if tags:
            request["EmailTags"] = email_tags(tags)

        # The failure is reduced to plain values inside the except block and raised outside it, so the botocore
        # exception (whose text may quote a recipient) is neither chained nor kept as __context__.
        failure: RetriableError | FatalError | None = None
        try:
            reply = self.client.send_email(**request)
        except ClientError as error:
            failure = self._client_failure(error, from_address)
        except BotoCoreError as error:
            failure = self._transport_failure(error, from_address)
        if failure is not None:
            raise failure
        ses_message_id = reply["MessageId"]
        return SentEmail(ses_message_id, message_id_header(ses_message_id, self.region))

    def _client_failure(self, error: ClientError, from_address: str) -> RetriableError | FatalError:
        details = error.response.get("Error", {}) or {}
        metadata = error.response.get("ResponseMetadata", {}) or {}
        code = str(details.get("Code") or "Unknown")
        status = metadata.get("HTTPStatusCode")
        said = _redact(str(details.get("Message") or ""), from_address)
        where = f"SES SendEmail from {from_address} in {self.region} failed: {code}" + (
            f" (HTTP {status})" if status else ""
        )
        if said:
            where += f": {said}"
        if code in THROTTLING_CODES or status == 429 or (isinstance(status, int) and status >= 500):
            retry_after = _retry_after(metadata.get("HTTPHeaders") or {})
            advice = (
                "SES is throttling: slow down to the account's MaxSendRate (GetAccount) and retry later"
                if code in THROTTLING_CODES or status == 429
                else "SES had a server-side failure: retry later"
            )
            return RetriableError(f"{where}. {advice}", status=status, retry_after=retry_after)
        return FatalError(f"{where}. {_ADVICE.get(code, _DEFAULT_ADVICE)}", status=status, code=code)

    def _transport_failure(self, error: BotoCoreError, from_address: str) -> RetriableError | FatalError:
        kind = type(error).__name__
        where = f"SES SendEmail from {from_address} in {self.region} failed: {kind}"
        if isinstance(error, NoCredentialsError | PartialCredentialsError):
            return FatalError(
                f"{where}. No usable AWS credentials: set access_key_id and secret_access_key in the SES settings "
                "(e.g. env:AWS_ACCESS_KEY_ID) or configure boto3's default chain (environment, profile, role)",
                code="NoCredentials",
            )
        if isinstance(error, SSLError):
            return FatalError(
                f"{where}. TLS validation of the SES endpoint failed: check the endpoint URL and the CA bundle",
                code=kind,
            )
        if isinstance(error, BotoConnectionError | HTTPClientError):
            # the endpoint URL in botocore's text is configuration, not personal data
            return RetriableError(f"{where} ({_redact(str(error), from_address)}). Retry later")
        # e.g. ParamValidationError, whose text can quote the parameters (recipients): name the type only
        return FatalError(
            f"{where}. botocore refused the request before sending it: a bug in the caller", code=kind
        )


def _redact(text: str, from_address: str) -> str:
    """SES's message with every address but our sender's and any access key id withheld, on one short line."""
    own = from_address.strip().lower()
    bare_own = own.rpartition("<")[2].rstrip(">") if "<" in own else own

    def replace(match: re.Match) -> str:
        return (
            match.group(0) if match.group(0).lower().rstrip(".") in (own, bare_own) else "<address withheld>"
        )

    text = _EMAIL.sub(replace, text.split("\n", 1)[0])
    text = _ACCESS_KEY.sub("<access key withheld>", text)
    return text if len(text) <= 300 else text[:297] + "..."


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
