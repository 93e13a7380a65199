from django.urls import path

from jobs import views

urlpatterns = [
    path("batch", views.BatchView.as_view(), name="batch"),
]
