from django.urls import path

from audit.oversight.views import activity, flags, record, review

app_name = "dpo"

# The DPO's pages (every other role: 404), and the Caldicott Guardian's report of the DPO's activity.
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
    path("conflicts/", flags.conflicts_register, name="conflicts"),
    path("activity/", activity.dpo_activity, name="activity"),
    path("record-of-processing/", record.record_page, name="record-of-processing"),
    path("record-of-processing/pdf/", record.record_pdf, name="record-of-processing-pdf"),
]
