from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm

from pause_portal.tenancy.identity import normalise_email


class SignInForm(AuthenticationForm):
    username = forms.EmailField(label="Email address", max_length=254)
    password = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)

    error_messages = {
        # One message whether the account exists or not.
        "invalid_login": "Enter a correct email address and password.",
        "inactive": "Enter a correct email address and password.",
    }

    def clean_username(self) -> str:
        # The one form of the address (ADR 21): authentication and the lockout count both see it.
        return normalise_email(self.cleaned_data["username"])


class OtpTokenForm(forms.Form):
    otp_token = forms.RegexField(
        label="Security code",
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": "Enter the 6-digit security code from your authenticator app.",
                        "required": "Enter the 6-digit security code from your authenticator app."},
    )

    def clean_otp_token(self) -> str:
        return self.cleaned_data["otp_token"].strip()


class SetPasswordForm(forms.Form):
    new_password = forms.CharField(label="Create a password", strip=False, widget=forms.PasswordInput)
    confirm_password = forms.CharField(label="Confirm your password", strip=False, widget=forms.PasswordInput)

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
    password = forms.CharField(label="Your password", strip=False, widget=forms.PasswordInput)


class ProgrammeChoiceForm(forms.Form):
    programme = forms.IntegerField()
