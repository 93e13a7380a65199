from django.urls import path

from billing import portal_views

urlpatterns = [
    path("portal/", portal_views.DashboardView.as_view(), name="portal-dashboard"),
    path("portal/usage/", portal_views.UsagePageView.as_view(), name="portal-usage"),
    path("portal/usage/export.csv", portal_views.UsageCsvView.as_view(), name="portal-usage-csv"),
    path("portal/billing/", portal_views.BillingPageView.as_view(), name="portal-billing"),
    path("portal/billing/spend-cap/", portal_views.SpendCapView.as_view(), name="portal-spend-cap"),
    path("portal/billing/invoices/<str:number>.csv", portal_views.InvoiceCsvView.as_view(),
         name="portal-invoice-csv"),
]
