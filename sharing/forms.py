from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from pause_portal.form_rendering import govuk
from pause_portal.tenancy.identity import normalise_email


def _password(label: str, autocomplete: str, required: str) -> forms.CharField:
    return govuk(forms.CharField(label=label, strip=False, error_messages={"required": required},
                                 widget=forms.PasswordInput(attrs={"autocomplete": autocomplete})), size="")


class SignInForm(AuthenticationForm):
    username = govuk(forms.EmailField(
        label="Email address", max_length=254,
        error_messages={"required": "Enter your email address",
                        "invalid": "Enter an email address in the correct format, like name@example.com",
                        "max_length": "The email address must be 254 characters or fewer"},
        widget=forms.EmailInput(attrs={"autocomplete": "username", "spellcheck": "false"})), size="")
    password = _password("Password", "current-password", "Enter your password")

    error_messages = {
        # One message whether the account exists or not.
        "invalid_login": "Enter a correct email address and password.",
        "inactive": "Enter a correct email address and password.",
    }

    def clean_username(self) -> str:
        # The one form of the address (ADR 21): authentication and the lockout count both see it.
        return normalise_email(self.cleaned_data["username"])


def _otp_token(hint: str) -> forms.RegexField:
    return govuk(forms.RegexField(
        label="Security code", help_text=hint,
        regex=r"^\s*\d{6}\s*$",
        widget=forms.TextInput(attrs={"class": "govuk-input--width-5", "autocomplete": "one-time-code",
                                      "inputmode": "numeric", "spellcheck": "false"}),
        error_messages={"invalid": "Enter the 6-digit security code from your authenticator app.",
                        "required": "Enter the 6-digit security code from your authenticator app."},
    ), size="")


class OtpTokenForm(forms.Form):
    otp_token = _otp_token("Open your authenticator app and enter the 6-digit code it shows for the Pause "
                           "data-sharing portal.")

    def clean_otp_token(self) -> str:
        return self.cleaned_data["otp_token"].strip()


class EnrolTokenForm(OtpTokenForm):
    """The first code, from the app just set up."""

    otp_token = _otp_token("The 6-digit code from your authenticator app.")


class SetPasswordForm(forms.Form):
    new_password = _password("Create a password", "new-password", "Create a password")
    confirm_password = _password("Confirm your password", "new-password", "Enter the password again to confirm it")

    def __init__(self, *args, person=None, **kwargs):
        self.person = person
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        new, confirm = data.get("new_password"), data.get("confirm_password")
        if new and confirm and new != confirm:
            self.add_error("confirm_password", "The passwords do not match.")
        elif new:
            try:
                password_validation.validate_password(new, self.person)
            except forms.ValidationError as exc:
                self.add_error("new_password", exc)
        return data


class ConfirmPasswordForm(forms.Form):
    password = _password("Your password", "current-password", "Enter your password")


class ProgrammeChoiceForm(forms.Form):
    programme = forms.IntegerField()
