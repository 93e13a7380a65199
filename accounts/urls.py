from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.LandingView.as_view(), name="landing"),
    path("portal/keys/", views.ApiKeyListView.as_view(), name="portal-keys"),
    path("portal/keys/create/", views.ApiKeyCreateView.as_view(), name="portal-key-create"),
    path("portal/keys/<int:key_id>/revoke/", views.ApiKeyRevokeView.as_view(), name="portal-key-revoke"),
    path("portal/keys/<int:key_id>/rotate/", views.ApiKeyRotateView.as_view(), name="portal-key-rotate"),
    path("portal/apps/", views.OAuthClientListView.as_view(), name="portal-apps"),
    path("portal/apps/create/", views.OAuthClientCreateView.as_view(), name="portal-app-create"),
    path(
        "portal/apps/<int:client_id>/rotate-secret/",
        views.OAuthClientRotateSecretView.as_view(),
        name="portal-app-rotate",
    ),
    path("portal/apps/<int:client_id>/delete/", views.OAuthClientDeleteView.as_view(), name="portal-app-delete"),
]
