from django.urls import path

from sharing.views import scoping_incidents, scoping_pause, scoping_release

app_name = "scoping"

# /scoping/report/ belongs to sharing.urls_scoping_report.
urlpatterns: list = [
    path("release/", scoping_release.release_page, name="release"),
    path("release/check/", scoping_release.release_check, name="release-check"),
    path("rows/", scoping_pause.rows, name="rows"),
    path("tables/", scoping_pause.tables, name="tables"),
    path("tables/export/", scoping_pause.export, name="export"),
    path("notes/", scoping_pause.notes, name="notes"),
    path("incidents/", scoping_incidents.incidents, name="incidents"),
]
