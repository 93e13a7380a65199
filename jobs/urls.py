from django.urls import path

from jobs import views

urlpatterns = [
    path("batch", views.BatchView.as_view(), name="batch"),
    path("jobs", views.JobsView.as_view(), name="jobs"),
    path("jobs/<str:job_id>", views.JobDetailView.as_view(), name="job-detail"),
]
