from django.contrib import admin
from django.urls import include, path

from pause_portal import site_pages, views
from sharing.urls import account_urls, people_urls
from sharing.views import dashboard, notices

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("programme/", dashboard.choose_programme, name="choose-programme"),
    path("account/", include(account_urls)),
    path("people/", include(people_urls)),
    path("records/", include("eligibility.urls")),
    path("governance/", include("sharing.urls_governance")),
    path("scoping/report/", include("sharing.urls_scoping_report")),
    path("scoping/", include("sharing.urls_scoping")),
    path("delivery/", include("sharing.urls_delivery")),
    path("casework/", include("sharing.urls_casework")),
    path("progress/", include("sharing.urls_progress")),
    path("dpo/", include("audit.oversight.urls_review")),
    path("rights/", include("audit.oversight.urls_rights")),
    path("breach/", include("audit.oversight.urls_breach_reports")),
    path("conflicts/", include("audit.oversight.urls_conflicts")),
    path("privacy-notice/<int:pk>/", notices.privacy_notice, name="privacy-notice"),
    path("privacy-notice/", notices.privacy_notices, name="privacy-notices"),
    path("accessibility/", site_pages.accessibility, name="accessibility"),
    path("cookies/", site_pages.cookies, name="cookies"),
    path("help/", site_pages.help_page, name="help"),
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]

handler404 = "pause_portal.views.not_found"
handler403 = "pause_portal.views.forbidden"
