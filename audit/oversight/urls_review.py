from django.urls import path

from audit.oversight import views_breach_reports
from audit.oversight.views import activity, flags, promises, record, retention, review

app_name = "dpo"

# The DPO's pages (every other role: 404), the Caldicott Guardian's report of the DPO's activity,
# and the retention page with its certificates and the promises page (both of them).
urlpatterns: list = [
    path("", review.home, name="home"),
    path("person/", review.person_search, name="person-search"),
    path("trail/", review.trail_search, name="trail-search"),
    path("user/", review.user_report, name="user-report"),
    path("requests/<int:pk>/search/", review.request_search, name="request-search"),
    path("searches/<int:pk>/", review.search_results, name="search"),
    path("searches/<int:pk>/export/", review.export, name="export"),
    path("flags/", flags.flags, name="flags"),
    path("flags/<int:pk>/", flags.flag, name="flag"),
    path("flags/<int:pk>/breach/", views_breach_reports.escalate_flag, name="flag-escalate"),
    path("conflicts/", flags.conflicts_register, name="conflicts"),
    path("activity/", activity.dpo_activity, name="activity"),
    path("retention/", retention.retention, name="retention"),
    path("retention/preview/", retention.preview, name="retention-preview"),
    path("retention/certificates/<int:pk>/", retention.purge_certificate, name="purge-certificate"),
    path("promises/", promises.promises_page, name="promises"),
    path("record-of-processing/", record.record_page, name="record-of-processing"),
    path("record-of-processing/pdf/", record.record_pdf, name="record-of-processing-pdf"),
]
