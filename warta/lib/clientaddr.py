"""The client's address: one function for the lockout, the audit trail and the rate limits.

Theory of operation: behind ``WARTA_PROXY_COUNT`` reverse proxies, each proxy appends the address
it received the request from to ``X-Forwarded-For``; everything to the left of those entries was
written by the client and may be forged. The client is therefore the entry ``WARTA_PROXY_COUNT``
from the *right* (with one proxy, the last entry: the address nginx saw). The leftmost entry,
which many examples use, is exactly the one an attacker chooses. Without proxies
(``WARTA_PROXY_COUNT=0``) the header is ignored and the socket's address (``REMOTE_ADDR``) is used.

python-ipware does the parsing (ports, brackets, RFC 7239 ``for=``, IPv4-mapped IPv6, junk tokens
skipped); its ``proxy_count`` counts the proxies *listed* in the header, i.e. one fewer than ours,
because the nearest proxy's own address is ``REMOTE_ADDR``, not a header entry. A request that
reaches Warta with a shorter header than configured (it bypassed the proxy, or the proxy is
misconfigured) is attributed to ``REMOTE_ADDR``: never to an address the client wrote.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.conf import settings
from python_ipware import IpWare


@lru_cache(maxsize=8)
def _resolver(proxies: int) -> IpWare:
    return IpWare(precedence=("HTTP_X_FORWARDED_FOR",), leftmost=True, proxy_count=proxies - 1)


def proxy_count() -> int:
    return max(0, int(getattr(settings, "WARTA_PROXY_COUNT", 0) or 0))


def client_address(request: Any) -> str | None:
    """The address the request came from, as far as Warta's own proxies vouch for it."""
    meta = getattr(request, "META", {}) or {}
    proxies = proxy_count()
    if proxies:
        ip, _trusted = _resolver(proxies).get_client_ip(meta)
        if ip is not None:
            return str(ip)
    remote = meta.get("REMOTE_ADDR") or None
    return str(remote) if remote else None
