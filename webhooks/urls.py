from django.urls import path

from webhooks import views

urlpatterns = [
    path("webhook-endpoints", views.WebhookEndpointsView.as_view(), name="webhook-endpoints"),
    path("webhook-endpoints/<str:id>", views.WebhookEndpointDetailView.as_view(), name="webhook-endpoint"),
]
