"""The client's IP address, believing X-Forwarded-For only from configured trusted proxies.

Walks the chain from the right (the hop nearest us) and returns the first address that is not a
trusted proxy. A client that forges X-Forwarded-For only adds entries to the left of what our
proxy appends, so it can never choose the address we see.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(addr: str) -> str | None:
    try:
        return str(ipaddress.ip_address(addr.strip()))
    except ValueError:
        return None


def _trusted(addr: str) -> bool:
    for proxy in settings.PORTAL_TRUSTED_PROXIES:
        try:
            if ipaddress.ip_address(addr) in ipaddress.ip_network(proxy, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_ip(request: HttpRequest) -> str:
    remote = _valid(request.META.get("REMOTE_ADDR", "")) or "0.0.0.0"  # noqa: S104 - a value, not a bind
    if not _trusted(remote):
        return remote
    hops = [h for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    for hop in reversed(hops):
        addr = _valid(hop)
        if addr is None:
            return remote  # a malformed chain: believe only the socket
        if not _trusted(addr):
            return addr
    return remote
