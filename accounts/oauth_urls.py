"""Only the token endpoint of django-oauth-toolkit, behind our limits (accounts/oauth.py).

Clients are managed in the portal; tokens end by expiry or by deleting their client
(which also drops them from the credential cache), so no revoke endpoint is exposed.
Expired tokens stay in the table until ``python manage.py cleartokens`` (django-oauth-toolkit)
removes them; run it daily (tests/accounts/test_oauth.py covers it).
"""

from django.urls import path

from accounts.oauth import TokenView

app_name = "oauth2_provider"

urlpatterns = [
    path("token/", TokenView.as_view(), name="token"),
]
