"""Show-once secrets across a redirect (Post/Redirect/Get), and one-time form submissions.

A portal POST that makes a secret (a new API key, a rotated key, an OAuth client and its
secret, a new client secret) must not answer with the secret itself: reloading that
answer posts again and makes a second credential. Instead the view holds the secret in
the session under the form's submission token and redirects (303) to the list page with
``?shown=<token>``; that GET pops it, so it is shown once and a reload shows nothing and
creates nothing (docs/design.md, credentials).

Every form that makes a secret carries a one-time submission token (a hidden field). The
POST claims it before creating anything; a form sent again (a double click, a resubmission
from history) finds its token claimed and creates nothing: it is sent to the first
submission's secret if that is still waiting, else told that nothing new was made.

The session is the store because it is the signed-in user's own and ends at logout; a
secret waits there only between the POST and the GET that follows it (and at most
``REVEAL_SECONDS`` if that GET never comes), is never written to a log, and the page that
shows it is sent with ``Cache-Control: no-store``.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from django.http import HttpRequest

_TOKENS = "portal:submissions"  # pending submission tokens, oldest first
_REVEALED = "portal:revealed"  # token -> {"page", "at", "title", "secret", "client_id"}

# A user with a few portal tabs open needs a few tokens; a session should not grow with
# every page view.
MAX_PENDING_TOKENS = 20
MAX_WAITING_SECRETS = 5
REVEAL_SECONDS = 600


@dataclass(frozen=True, slots=True)
class Revealed:
    """What the page shows once (templates/portal/_revealed.html)."""

    title: str
    secret: str
    client_id: str = ""


def submission_issue(request: HttpRequest) -> str:
    """A fresh token for a form that makes a secret."""
    token = secrets.token_urlsafe(16)
    pending = [*request.session.get(_TOKENS, []), token][-MAX_PENDING_TOKENS:]
    request.session[_TOKENS] = pending
    return token


def submission_for_form(request: HttpRequest) -> str:
    """The token to render in a form: the posted one while still unclaimed (a form
    re-rendered with errors keeps it), else a fresh one."""
    posted = request.POST.get("submission", "") if request.method == "POST" else ""
    if posted and posted in request.session.get(_TOKENS, []):
        return posted
    return submission_issue(request)


def submission_claim(request: HttpRequest, *, token: str) -> bool:
    """Claim ``token`` for this POST; False when it was claimed before or never issued."""
    pending = request.session.get(_TOKENS, [])
    if not token or token not in pending:
        return False
    request.session[_TOKENS] = [t for t in pending if t != token]
    return True


def submission_release(request: HttpRequest, *, token: str) -> None:
    """Give back a claimed token when nothing was made (the service refused), so the form
    can be corrected and sent again."""
    pending = [t for t in request.session.get(_TOKENS, []) if t != token]
    request.session[_TOKENS] = [*pending, token][-MAX_PENDING_TOKENS:]


def _waiting(request: HttpRequest) -> dict[str, dict[str, Any]]:
    """The secrets still waiting to be shown; those older than ``REVEAL_SECONDS`` dropped."""
    now = time.time()
    stored: dict[str, dict[str, Any]] = request.session.get(_REVEALED, {})
    fresh = {token: entry for token, entry in stored.items() if now - float(entry.get("at", 0)) < REVEAL_SECONDS}
    if len(fresh) != len(stored):
        request.session[_REVEALED] = fresh
    return fresh


def reveal_hold(request: HttpRequest, *, token: str, page: str, revealed: Revealed) -> None:
    """Keep ``revealed`` for the one GET of ``page`` with ``?shown=<token>``."""
    waiting = _waiting(request)
    waiting[token] = {"page": page, "at": time.time(), **asdict(revealed)}
    newest = sorted(waiting.items(), key=lambda item: item[1]["at"])[-MAX_WAITING_SECRETS:]
    request.session[_REVEALED] = dict(newest)


def reveal_waiting(request: HttpRequest, *, token: str) -> str | None:
    """The page a secret held under ``token`` waits on, if one does."""
    entry = _waiting(request).get(token)
    return str(entry["page"]) if entry else None


def reveal_pop(request: HttpRequest, *, token: str, page: str) -> Revealed | None:
    """The secret held under ``token`` for ``page``, taken out of the session: the next
    GET finds nothing."""
    waiting = _waiting(request)
    entry = waiting.get(token) if token else None
    if entry is None or entry["page"] != page:
        return None
    del waiting[token]
    request.session[_REVEALED] = waiting
    return Revealed(title=entry["title"], secret=entry["secret"], client_id=entry.get("client_id", ""))
