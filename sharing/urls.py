from django.urls import path

from sharing.views import accounts, people, roles

account_urls = (
    [
        path("sign-in/", accounts.sign_in, name="sign-in"),
        path("two-step/", accounts.mfa_verify, name="mfa-verify"),
        path("two-step/set-up/", accounts.mfa_enrol, name="mfa-enrol"),
        path("sign-out/", accounts.sign_out, name="sign-out"),
        path("signed-out/", accounts.signed_out, name="signed-out"),
        path("timed-out/", accounts.timed_out, name="timed-out"),
        path("keep-alive/", accounts.keep_alive, name="keep-alive"),
        path("link/<str:token>/", accounts.account_link, name="account-link"),
    ],
    "accounts",
)

people_urls = (
    [
        path("", people.people, name="list"),
        path("add/", people.add, name="add"),
        path("<int:pk>/", people.person, name="person"),
        path("<int:pk>/set-up-link/", people.send_set_up_link, name="send-set-up-link"),
        path("<int:pk>/grant/", roles.grant, name="grant"),
        path("roles/<int:pk>/change/", roles.change, name="change-role"),
        path("roles/<int:pk>/revoke/", roles.revoke, name="revoke-role"),
        path("<int:pk>/deactivate/", people.deactivate, name="deactivate"),
        path("<int:pk>/two-step-reset/", people.issue_mfa_reset, name="mfa-reset"),
        path("grants/", people.grants, name="grants"),
        path("grants/<int:pk>/confirm/", people.confirm_grant, name="confirm-grant"),
    ],
    "people",
)
