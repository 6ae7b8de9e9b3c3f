from django.urls import path

from sharing.views import casework_concerns, casework_contact, casework_hand_over

app_name = "casework"

urlpatterns: list = [
    path("women/<int:pk>/", casework_contact.woman, name="woman"),
    path("women/<int:pk>/contact/", casework_contact.contact, name="contact"),
    path("women/<int:pk>/concern/", casework_concerns.raise_page, name="raise"),
    path("concerns/", casework_concerns.concerns, name="concerns"),
    path("concerns/<int:pk>/", casework_concerns.concern, name="concern"),
    path("concerns/<int:pk>/acknowledge/", casework_concerns.acknowledge, name="acknowledge"),
    path("concerns/<int:pk>/close/", casework_concerns.close, name="close"),
    path("concerns/<int:pk>/hand-over/", casework_hand_over.download, name="hand-over"),
    path("concerns/<int:pk>/filed/", casework_hand_over.filed, name="filed"),
]
