from django.urls import path

from eligibility.views import duplicates, extracts

app_name = "eligibility"
urlpatterns = [
    path("extracts/upload/", extracts.upload, name="upload"),
    path("extracts/<int:pk>/", extracts.extract_detail, name="extract"),
    path("extracts/<int:pk>/progress/", extracts.extract_progress, name="extract-progress"),
    path("extracts/<int:pk>/report.csv", extracts.extract_report, name="extract-report"),
    path("extracts/<int:pk>/retry/", extracts.extract_retry, name="extract-retry"),
    path("extracts/column-mappings/", extracts.mappings, name="mappings"),
    path("duplicates/", duplicates.duplicate_list, name="duplicates"),
    path("duplicates/<int:pk>/", duplicates.duplicate_detail, name="duplicate"),
]
