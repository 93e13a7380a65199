from django.urls import path

from webhooks import portal_views

urlpatterns = [
    path("portal/webhooks/", portal_views.WebhooksPageView.as_view(), name="portal-webhooks"),
    path("portal/webhooks/secret/rotate/", portal_views.WebhookSecretRotateView.as_view(),
         name="portal-webhook-secret-rotate"),
    path("portal/webhooks/endpoints/create/", portal_views.WebhookEndpointCreateView.as_view(),
         name="portal-webhook-endpoint-create"),
    path("portal/webhooks/endpoints/<str:endpoint_id>/delete/", portal_views.WebhookEndpointDeleteView.as_view(),
         name="portal-webhook-endpoint-delete"),
    path("portal/webhooks/deliveries/<str:msg_id>/redeliver/", portal_views.WebhookRedeliverView.as_view(),
         name="portal-webhook-redeliver"),
]
