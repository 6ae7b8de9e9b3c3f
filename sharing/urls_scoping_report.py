from django.urls import path

from sharing.views import scoping_report

app_name = "scoping-report"

urlpatterns = [
    path("", scoping_report.report, name="report"),
    path("submit/", scoping_report.submit, name="submit"),
    path("decide/", scoping_report.decide, name="decide"),
    path("certificate/", scoping_report.certificate, name="certificate"),
]
