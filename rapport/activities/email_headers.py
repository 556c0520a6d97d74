"""The email headers an email activity keeps, and the thread it belongs to.

Both ways in share this: email written in Rapport (rapport.integrations.outbound) and email
fetched from a mailbox (rapport.integrations.imap). Values are header values as they appear on the
wire (Message-IDs with their angle brackets); CR and LF never reach them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def message_ids(value: str) -> list[str]:
    """The Message-IDs (with brackets) in a References / In-Reply-To value, in order."""
    return MESSAGE_ID.findall(value or "")


def thread_key(*, message_id: str, in_reply_to: str, references: str) -> str:
    """The Message-ID of the first message of the thread (RFC 5322 §3.6.4): the first of
    References, else In-Reply-To, else the message itself."""
    for value in (references, in_reply_to):
        ids = message_ids(value)
        if ids:
            return ids[0][:255]
    return message_id[:255]


@dataclass(frozen=True)
class EmailHeaders:
    message_id: str
    email_from: str = ""
    email_to: list[str] = field(default_factory=list)
    email_cc: list[str] = field(default_factory=list)
    in_reply_to: str = ""
    references: str = ""

    def columns(self) -> dict[str, object]:
        """The Activity column values for these headers, with the thread key."""
        for value in (
            self.message_id,
            self.email_from,
            self.in_reply_to,
            self.references,
            *self.email_to,
            *self.email_cc,
        ):
            if "\r" in value or "\n" in value:
                raise ValueError("Header values may not contain line breaks.")
        return {
            "message_id": self.message_id[:255],
            "email_from": self.email_from[:320],
            "email_to": list(self.email_to),
            "email_cc": list(self.email_cc),
            "in_reply_to": self.in_reply_to[:255],
            "references": self.references,
            "thread_key": thread_key(
                message_id=self.message_id, in_reply_to=self.in_reply_to, references=self.references
            ),
        }
