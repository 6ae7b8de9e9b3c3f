"""Demo only: print the current two-step code (or setup key) of a seeded demo account."""

import base64
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from pause_portal.tenancy.identity import normalise_email


class Command(BaseCommand):
    help = "Print the current 6-digit code of a demo account's authenticator (PORTAL_ENV=demo only)."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--key", action="store_true", help="Print the setup key instead, for an authenticator app.")

    def handle(self, *args, **opts):
        if not settings.DEMO:
            raise CommandError("demo_code works only in the demo (PORTAL_ENV=demo).")
        device = TOTPDevice.objects.filter(user__email=normalise_email(opts["email"]), confirmed=True).first()
        if device is None:
            raise CommandError(f"No demo authenticator for {opts['email']}.")
        if opts["key"]:
            self.stdout.write(base64.b32encode(device.bin_key).decode().rstrip("="))
            return
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        totp.time = time.time()
        left = device.step - int(totp.time - device.t0) % device.step
        self.stdout.write(f"{totp.token():0{device.digits}d}  (valid for {left} more seconds; each code works once)")
