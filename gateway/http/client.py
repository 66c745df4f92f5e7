"""The client's address, believing X-Forwarded-For only from configured proxies."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import falcon

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(items: Sequence[str]) -> list[Network]:
    """Configured proxy addresses as networks."""
    return [ipaddress.ip_network(i, strict=False) for i in items]


def _trusted(addr: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(addr.strip())
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(req: falcon.Request, proxies: Sequence[Network]) -> str:
    """The nearest untrusted hop: the real client behind our own load balancers.

    X-Forwarded-For is only read when the direct peer is a trusted proxy, and then walked from
    the right, because anything left of our proxies' entries was written by the client.
    """
    peer = req.remote_addr or "unknown"
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for h in (req.get_header("X-Forwarded-For") or "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else peer
