from django.urls import path

from receivables.banking import views

app_name = "banking"
urlpatterns = [
    path("", views.statements, name="statements"),
    path("statements/<int:statement_id>/", views.statement, name="statement"),
    path("lines/<int:line_id>/", views.line, name="line"),
    path("lines/<int:line_id>/search/", views.search, name="search"),
    path("lines/<int:line_id>/pick/<int:document_id>/", views.pick, name="pick"),
    path("lines/<int:line_id>/match/", views.match, name="match"),
    path("lines/<int:line_id>/ignore/", views.ignore, name="ignore"),
    path("lines/<int:line_id>/unmatch/", views.unmatch, name="unmatch"),
    path("write-offs/", views.held_write_offs, name="write_offs"),
]
