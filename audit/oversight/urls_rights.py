from django.urls import path

from audit.oversight import (
    views_rights,
    views_rights_breaches,
    views_rights_confirm,
    views_rights_pack,
    views_rights_rectification,
)

app_name = "rights"

urlpatterns: list = [
    path("", views_rights.requests, name="requests"),
    path("open/", views_rights.open_page, name="open"),
    path("<int:pk>/", views_rights.request_page, name="request"),
    path("<int:pk>/pack/", views_rights_pack.pack, name="pack"),
    path("<int:pk>/pack/download/", views_rights_pack.pack_download, name="pack-download"),
    path("<int:pk>/pack/withhold/", views_rights_pack.pack_withhold, name="pack-withhold"),
    path("rectifications/", views_rights_rectification.rectifications, name="rectifications"),
    path("rectifications/<int:pk>/", views_rights_rectification.rectification, name="rectification"),
    path("confirmations/", views_rights_confirm.confirmations, name="confirmations"),
    path("confirmations/<int:pk>/", views_rights_confirm.confirmation, name="confirmation"),
    path("breaches/", views_rights_breaches.register, name="breaches"),
    path("breaches/new/", views_rights_breaches.record, name="breach-new"),
    path("breaches/<int:pk>/", views_rights_breaches.breach, name="breach"),
]
