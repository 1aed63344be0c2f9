from django.urls import include, path

from receivables.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("bank/", include("receivables.banking.urls")),
    path("", include("receivables.backoffice.urls")),
]
