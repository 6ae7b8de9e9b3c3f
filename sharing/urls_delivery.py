from django.urls import path

from sharing.views import (
    delivery_handover,
    delivery_pause,
    delivery_restrictions,
    delivery_trust,
    delivery_woman,
)

app_name = "delivery"

urlpatterns: list = [
    path("release/", delivery_trust.release_page, name="release"),
    path("release/withdraw/", delivery_trust.withdraw, name="withdraw"),
    path("changes/", delivery_trust.changes, name="changes"),
    path("changes/confirm-absence/", delivery_trust.confirm_absence_view, name="confirm-absence"),
    path("changes/reinstate/", delivery_trust.reinstate_view, name="reinstate"),
    path("restrictions/", delivery_restrictions.restrictions, name="restrictions"),
    path("restrictions/end/", delivery_restrictions.end, name="end-restriction"),
    path("women/", delivery_pause.women, name="women"),
    path("women/<int:pk>/", delivery_woman.woman, name="woman"),
    path("women/need-a-practitioner/", delivery_handover.unassigned, name="unassigned"),
    path("caseload/", delivery_pause.caseload, name="caseload"),
    path("caseload/export/", delivery_pause.caseload_export, name="caseload-export"),
]
