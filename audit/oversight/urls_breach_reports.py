from django.urls import path

from audit.oversight import views_breach_reports

app_name = "breach"

# Reporting a suspected breach (every role of a programme) and the DPO's triage of the reports.
urlpatterns: list = [
    path("report/", views_breach_reports.report, name="report"),
    path("report/sent/", views_breach_reports.reported, name="reported"),
    path("reports/", views_breach_reports.reports, name="reports"),
    path("reports/<int:pk>/", views_breach_reports.triage, name="triage"),
]
