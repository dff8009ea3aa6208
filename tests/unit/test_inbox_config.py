"""The inbox configuration ([[mailboxes]], [inbox]): what it accepts and how it says what is wrong."""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

import pytest

from sellerreach.errors import ConfigError
from sellerreach.inbox.alerts import DEFAULT_ALERT_RULES
from sellerreach.settings import load_settings

ACCOUNT = """
[[accounts]]
id = "acme-eu"
region = "eu"
marketplaces = ["A1F83G8C2ARO7P", "A1PA6795UKMFR9"]
client_id = "env:SELLERREACH_LWA_CLIENT_ID"
client_secret = "env:SELLERREACH_LWA_CLIENT_SECRET"
refresh_token = "env:SELLERREACH_ACME_EU_REFRESH_TOKEN"
"""

IMAP_MAILBOX = """
[[mailboxes]]
id = "acme-eu-relay"
account = "acme-eu"
kind = "imap"
host = "imap.example.com"
username = "support@acme.example"
password = "env:SELLERREACH_IMAP_PASSWORD"
folders = ["INBOX"]
sent_folders = ["Sent"]
seller_addresses = ["Support@Acme.example"]
"""

INBOX = """
[inbox]
near_breach_hours = 6
default_alert_rules = true

[[inbox.sla_policies]]
marketplaces = ["A1PA6795UKMFR9"]
hours = 24
business_hours = { weekdays = ["mon", "tue", "wed", "thu", "fri"], opens = 09:00:00, closes = 18:00:00 }
holidays = [2026-12-25]

[[inbox.alert_rules]]
id = "legal"
keywords = ["lawyer", "Anwalt"]

[[inbox.agents]]
id = "mia"
name = "Mia Weber"
time_zone = "Europe/Berlin"
languages = ["de"]

[[inbox.assignment_rules]]
languages = ["de"]
agents = ["mia"]
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "sellerreach.toml"
    path.write_text(text, encoding="utf-8")
    return load_settings(path, env={})


def test_a_full_inbox_configuration(tmp_path: Path) -> None:
    settings = _load(tmp_path, ACCOUNT + IMAP_MAILBOX + INBOX)
    (mailbox,) = settings.mailboxes
    assert mailbox.mailbox_id == "acme-eu-relay" and mailbox.account_id == "acme-eu"
    assert (mailbox.host, mailbox.port, mailbox.tls) == ("imap.example.com", 993, True)
    assert str(mailbox.password) == "env:SELLERREACH_IMAP_PASSWORD" and mailbox.oauth2_token is None
    assert mailbox.seller_addresses == ("support@acme.example",)  # compared lowercased
    assert settings.mailbox("acme-eu-relay") is mailbox

    germany = settings.inbox.sla_policy("A1PA6795UKMFR9")
    assert germany.time_zone == "Europe/Berlin"  # the marketplace's, none being given
    assert germany.business_hours.weekdays == frozenset(range(5))
    assert (germany.business_hours.opens, germany.business_hours.closes) == (time(9), time(18))
    assert germany.holidays == frozenset({date(2026, 12, 25)})
    assert germany.near_breach_hours == 6
    uk = settings.inbox.sla_policy("A1F83G8C2ARO7P")
    assert (uk.hours, uk.time_zone, uk.business_hours) == (24, "Europe/London", None)  # Amazon's default

    rule_ids = [r.rule_id for r in settings.inbox.alert_rules]
    assert rule_ids == [r.rule_id for r in DEFAULT_ALERT_RULES] + ["legal"]
    assert settings.inbox.agent("mia").time_zone == "Europe/Berlin"
    assert settings.inbox.assignment_rules[0].agent_ids == ("mia",)


def test_the_embedded_demo_has_a_maildir_mailbox_per_account() -> None:
    settings = load_settings(env={})
    assert {(m.account_id, m.kind) for m in settings.mailboxes} == {
        ("acme-na", "maildir"),
        ("acme-eu", "maildir"),
    }
    assert all(m.port is None and m.password is None for m in settings.mailboxes)


def test_no_inbox_configuration_means_no_mailboxes_and_the_defaults(tmp_path: Path) -> None:
    settings = _load(tmp_path, ACCOUNT)
    assert settings.mailboxes == ()
    assert settings.inbox.alert_rules == DEFAULT_ALERT_RULES
    assert settings.inbox.sla_policy(None).hours == 24


@pytest.mark.parametrize(
    ("change", "key", "says"),
    [
        ('kind = "pop3"', "mailboxes[0].kind", "'maildir' or 'imap'"),
        ('account = "acme-us"', "mailboxes[0].account", "no account 'acme-us'"),
        ("port = 99999", "mailboxes[0].port", "less than or equal to 65535"),
        ('seller_addresses = ["support"]', "mailboxes[0].seller_addresses", "not an e-mail address"),
        ('colour = "blue"', "mailboxes[0].colour", "unknown key 'colour'"),
        ('oauth2_token = "env:TOKEN"', "mailboxes[0]", "exactly one of password or oauth2_token"),
    ],
)
def test_bad_mailboxes_are_named_with_an_example(tmp_path: Path, change: str, key: str, says: str) -> None:
    changed_key = change.split(" = ")[0]
    lines = [line for line in IMAP_MAILBOX.splitlines() if not line.startswith(f"{changed_key} =")]
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, ACCOUNT + "\n".join(lines) + "\n" + change + "\n")
    message = str(error.value)
    assert f"{key}:" in message and says in message and "example:" in message


def test_a_literal_imap_password_is_refused_without_being_shown(tmp_path: Path) -> None:
    text = ACCOUNT + IMAP_MAILBOX.replace("env:SELLERREACH_IMAP_PASSWORD", "hunter2-imap-password")
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, text)
    assert "mailboxes[0].password" in str(error.value) and "literal secret" in str(error.value)
    assert "hunter2" not in str(error.value)


def test_a_maildir_needs_its_path(tmp_path: Path) -> None:
    text = (
        ACCOUNT
        + '[[mailboxes]]\nid = "m"\naccount = "acme-eu"\nkind = "maildir"\nseller_addresses = ["a@b.example"]\n'
    )
    with pytest.raises(ConfigError, match=r"mailboxes\[0\]: a maildir mailbox needs path"):
        _load(tmp_path, text)


@pytest.mark.parametrize(
    ("bad", "key", "says"),
    [
        ("hours = 0", "inbox.sla_policies[0].hours", "greater than 0"),
        ('time_zone = "Europe/Atlantis"', "inbox.sla_policies[0].time_zone", "unknown time zone"),
        ('marketplaces = ["XYZ"]', "inbox.sla_policies[0].marketplaces", "unknown marketplace id 'XYZ'"),
        (
            'business_hours = { weekdays = ["mon"], opens = 18:00:00, closes = 09:00:00 }',
            "inbox.sla_policies[0].business_hours",
            "closes must be later than opens",
        ),
        (
            'business_hours = { weekdays = ["monday"], opens = 09:00:00, closes = 18:00:00 }',
            "inbox.sla_policies[0].business_hours.weekdays[0]",
            "'mon'",
        ),
    ],
)
def test_bad_sla_policies_are_named(tmp_path: Path, bad: str, key: str, says: str) -> None:
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, ACCOUNT + f"[[inbox.sla_policies]]\n{bad}\n")
    assert f"{key}:" in str(error.value) and says in str(error.value)


def test_an_assignment_rule_naming_an_unknown_agent(tmp_path: Path) -> None:
    text = ACCOUNT + INBOX.replace('agents = ["mia"]', 'agents = ["mai"]')
    with pytest.raises(ConfigError, match=r"inbox.assignment_rules\[0\].agents: no agent 'mai'.*known: mia"):
        _load(tmp_path, text)


def test_default_alert_rules_can_be_switched_off_and_replaced(tmp_path: Path) -> None:
    text = (
        ACCOUNT
        + '[inbox]\ndefault_alert_rules = false\n[[inbox.alert_rules]]\nid = "refund"\nkeywords = ["money back"]\n'
    )
    rules = _load(tmp_path, text).inbox.alert_rules
    assert [(r.rule_id, r.keywords, r.tag) for r in rules] == [("refund", ("money back",), "refund")]


def test_unknown_mailbox_on_the_command_line(tmp_path: Path) -> None:
    settings = _load(tmp_path, ACCOUNT + IMAP_MAILBOX)
    with pytest.raises(ConfigError, match="no mailbox 'acme-eu-relai'; did you mean 'acme-eu-relay'"):
        settings.mailbox("acme-eu-relai")


def test_replies_go_out_from_reply_from_or_the_first_seller_address(tmp_path: Path) -> None:
    (mailbox,) = _load(tmp_path, ACCOUNT + IMAP_MAILBOX).mailboxes
    assert mailbox.reply_from == "support@acme.example"
    two = IMAP_MAILBOX.replace(
        'seller_addresses = ["Support@Acme.example"]',
        'seller_addresses = ["support@acme.example", "service@acme.example"]\nreply_from = "Service@acme.example"',
    )
    (mailbox,) = _load(tmp_path, ACCOUNT + two).mailboxes
    assert mailbox.reply_from == "service@acme.example"


def test_reply_from_must_be_an_approved_seller_address(tmp_path: Path) -> None:
    text = ACCOUNT + IMAP_MAILBOX + 'reply_from = "noreply@acme.example"\n'
    with pytest.raises(ConfigError, match=r"mailboxes\[0\]: reply_from must be one of seller_addresses"):
        _load(tmp_path, text)


def test_auto_replies_are_off_by_default_with_the_default_rule_ready(tmp_path: Path) -> None:
    inbox = _load(tmp_path, ACCOUNT).inbox
    assert inbox.auto_replies is False
    assert [r.rule_id for r in inbox.auto_reply_rules] == ["where-is-my-order"]
    assert inbox.reply_templates is None


def test_an_own_auto_reply_rule_replaces_the_default_of_the_same_id(tmp_path: Path) -> None:
    text = (
        ACCOUNT
        + '[inbox]\nauto_replies = true\nreply_templates = "my-templates"\n'
        + '[[inbox.auto_reply_rules]]\nid = "where-is-my-order"\nkeywords = ["wo ist mein Paket"]\n'
        + 'template = "wismo_short"\nrequires = ["tracking_number", "carrier"]\nmarketplaces = ["A1PA6795UKMFR9"]\n'
    )
    inbox = _load(tmp_path, text).inbox
    assert inbox.auto_replies is True and inbox.reply_templates == "my-templates"
    (rule,) = inbox.auto_reply_rules
    assert (rule.template_id, rule.requires, rule.marketplace_ids) == (
        "wismo_short",
        ("tracking_number", "carrier"),
        ("A1PA6795UKMFR9",),
    )


@pytest.mark.parametrize(
    ("rule", "key", "says"),
    [
        ('requires = ["tracking"]', "inbox.auto_reply_rules[0].requires", "unknown variable 'tracking'; known:"),
        ('template = "Where Is My Order"', "inbox.auto_reply_rules[0].template", "should match pattern"),
        ("keywords = []", "inbox.auto_reply_rules[0].keywords", "at least 1 item"),
    ],
)
def test_bad_auto_reply_rules_are_named(tmp_path: Path, rule: str, key: str, says: str) -> None:
    base = {"id": '"wismo"', "keywords": '["where is my order"]', "template": '"where_is_my_order"'}
    name = rule.split(" = ")[0]
    lines = [f"{k} = {v}" for k, v in base.items() if k != name] + [rule]
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, ACCOUNT + "[[inbox.auto_reply_rules]]\n" + "\n".join(lines) + "\n")
    assert f"{key}:" in str(error.value) and says in str(error.value)
