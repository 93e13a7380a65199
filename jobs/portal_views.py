"""Portal page ``/portal/jobs/``: the signed-in user's account's recent jobs (login required)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.views import PortalView
from jobs.selectors import job_list_for_account

RECENT_JOBS = 50


class JobsPageView(PortalView):
    def get(self, request: HttpRequest) -> HttpResponse:
        jobs = list(job_list_for_account(account_id=self.account.pk)[:RECENT_JOBS])
        return render(request, "portal/jobs.html", {**self.base_context(), "jobs": jobs})
