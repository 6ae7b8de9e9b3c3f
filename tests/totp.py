"""Compute real TOTP codes for a device, as an authenticator app would."""

import time

from django_otp.oath import TOTP


def code_for(device, at: float | None = None) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():06d}"
