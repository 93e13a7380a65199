"""Emails a server under test wrote with Django's file backend (``EMAIL_FILE_PATH``)."""

from __future__ import annotations

import email
from email.message import Message
from pathlib import Path

# What the file backend writes between two messages.
_SEPARATOR = "\n" + "-" * 79 + "\n"


def mails_to(mail_dir: Path, to: str) -> list[Message]:
    """Every email sent to ``to`` so far, oldest file first."""
    found = []
    for path in sorted(mail_dir.glob("*")):
        for chunk in path.read_text(encoding="utf-8").split(_SEPARATOR):
            if chunk.strip():
                message = email.message_from_string(chunk.lstrip("\n"))
                if message["To"] == to:
                    found.append(message)
    return found
