"""The client's address when the portal runs behind reverse proxies.

Each proxy appends the address it was reached from to X-Forwarded-For, so with TRUSTED_PROXY_COUNT
proxies in front of gunicorn, the entry that many places from the right was written by the
outermost one: the client as the lab's own network saw it. Entries further left were sent by the
client and prove nothing; with no trusted proxies the header is ignored altogether.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if not count:
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if len(hops) < count:
        # Fewer hops than proxies: the request did not come through them all, so the connection's
        # own address is the only one known.
        return remote
    try:
        return str(ipaddress.ip_address(hops[-count]))
    except ValueError:
        return remote
