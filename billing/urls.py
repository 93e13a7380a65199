from django.urls import path

from billing import views

urlpatterns = [
    path("account", views.AccountView.as_view(), name="account"),
    path("account/usage", views.AccountUsageView.as_view(), name="account-usage"),
    path("account/invoices", views.AccountInvoicesView.as_view(), name="account-invoices"),
]
