from django.contrib.auth import views as auth_views
from django.urls import path

from receivables.backoffice.views import (
    accounts,
    allocate,
    books,
    customers,
    documents,
    home,
    refund_os,
    refunds,
    subscriptions,
)

app_name = "backoffice"
urlpatterns = [
    path("", home.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="backoffice/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("customers/", customers.customer_list, name="customers"),
    path("customers/<int:customer_id>/", customers.customer_detail, name="customer"),
    path("customers/<int:customer_id>/accounts/", accounts.accounts, name="accounts"),
    path("customers/<int:customer_id>/payment/", accounts.payment, name="payment"),
    path("customers/<int:customer_id>/credit-note/", accounts.credit_note, name="credit_note"),
    path("customers/<int:customer_id>/invoice/", accounts.invoice, name="invoice"),
    path("customers/<int:customer_id>/allocate/", allocate.allocate, name="allocate"),
    path("customers/<int:customer_id>/refund/", refund_os.refund_os, name="refund_os"),
    path("customers/<int:customer_id>/statement/", documents.statement_print, name="statement_print"),
    path("customers/<int:customer_id>/statement.pdf", documents.statement_pdf, name="statement_pdf"),
    path("documents/<int:document_id>/", documents.document, name="document"),
    path("documents/<int:document_id>.pdf", documents.document_pdf, name="document_pdf"),
    path("refunds/held/", refunds.held_refunds, name="held_refunds"),
    path("refunds/<int:refund_id>/", refunds.refund_detail, name="refund"),
    path("refunds/<int:refund_id>/save/", refunds.refund_save, name="refund_save"),
    path("refunds/<int:refund_id>/process/", refunds.refund_process, name="refund_process"),
    path("refunds/<int:refund_id>/cancel/", refunds.refund_cancel, name="refund_cancel"),
    path("refunds/<int:refund_id>/decide/", refunds.refund_decide, name="refund_decide"),
    path("subscriptions/", subscriptions.subscription_list, name="subscriptions"),
    path("subscriptions/<int:subscription_id>/cancel/", subscriptions.cancel_wizard, name="cancel_subscription"),
    path("subscriptions/<int:subscription_id>/cancel/quote/", subscriptions.cancel_quote, name="cancel_quote"),
    path("plans/", subscriptions.plans, name="plans"),
    path("bank-accounts/", books.bank_accounts, name="bank_accounts"),
    path("ledger/", books.ledger_view, name="ledger"),
]
