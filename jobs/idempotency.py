"""``Idempotency-Key`` on ``POST /v1/batch`` and ``POST /v1/jobs``, as Stripe has it.

The first request with a key claims it (a row, ``status`` 0) before it runs; its 2xx
answer is stored and replayed to every request with the same key, path and account for
24 hours, byte for byte. A request that fails otherwise gives the key back, so that the
client's retry runs. The same key with another body, or while the first request is still
being answered, is a 409 ``conflict`` (the IETF draft's 422 for the first case is not an
error of this API; its 409 for the second is).
A replay runs nothing and bills nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from jobs.models import IdempotentRequest
from jobs.services import IDEMPOTENCY_KEPT
from weatherapi.errors import Conflict, InvalidParameter

HEADER = "Idempotency-Key"
MAX_KEY = 255
KEY_PATTERN = re.compile(r"[ -~]{1,%d}" % MAX_KEY)  # noqa: UP031 - a regex's braces


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    body: bytes
    location: str


def fingerprint_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def idempotency_claim(*, account_id: int, path: str, key: str, body: bytes) -> IdempotentRequest | Replay:
    """The claim on ``key`` for this request, or the first request's answer to replay."""
    if not KEY_PATTERN.fullmatch(key):
        raise InvalidParameter(f"{HEADER} must be 1 to {MAX_KEY} printable ASCII characters.",
                               errors={HEADER: [f"Give 1 to {MAX_KEY} printable ASCII characters."]})
    fingerprint = fingerprint_of(body)
    now = timezone.now()
    for _ in range(2):
        try:
            with transaction.atomic():
                return IdempotentRequest.objects.create(account_id=account_id, path=path, key=key,
                                                        fingerprint=fingerprint, created_at=now)
        except IntegrityError:
            first = IdempotentRequest.objects.filter(account_id=account_id, path=path, key=key).first()
        if first is None:
            continue  # given back meanwhile: claim it
        if first.created_at < now - IDEMPOTENCY_KEPT:
            IdempotentRequest.objects.filter(pk=first.pk, created_at=first.created_at).delete()
            continue  # expired: this request is a new one
        if first.fingerprint != fingerprint:
            raise Conflict(f"This {HEADER} was used for a request with another body; use a new key.")
        if first.status == 0:
            raise Conflict(f"A request with this {HEADER} is still being answered; retry shortly.",
                           retry_after=1)
        return Replay(first.status, bytes(first.body), first.location)
    raise Conflict(f"A request with this {HEADER} is still being answered; retry shortly.", retry_after=1)


def idempotency_complete(*, claim: IdempotentRequest, status: int, body: bytes, location: str = "") -> None:
    if 200 <= status < 300:
        IdempotentRequest.objects.filter(pk=claim.pk).update(status=status, body=body, location=location)
    else:
        idempotency_release(claim=claim)


def idempotency_release(*, claim: IdempotentRequest) -> None:
    IdempotentRequest.objects.filter(pk=claim.pk, status=0).delete()
