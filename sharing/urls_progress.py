from django.urls import path

from sharing.views import progress

app_name = "progress"

urlpatterns = [
    path("", progress.reports, name="reports"),
    path("draft/", progress.draft, name="draft"),
    path("<int:pk>/", progress.report, name="report"),
    path("<int:pk>/send/", progress.send, name="send"),
]
