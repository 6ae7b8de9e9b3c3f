from django.urls import path

from audit.oversight.views import conflicts

app_name = "conflicts"

# The declared-conflicts register, for every member of staff with a programme role.
urlpatterns: list = [
    path("", conflicts.declare, name="declare"),
    path("<int:pk>/withdraw/", conflicts.withdraw, name="withdraw"),
]
