from django.urls import path

from jobs import portal_views

urlpatterns = [
    path("portal/jobs/", portal_views.JobsPageView.as_view(), name="portal-jobs"),
]
