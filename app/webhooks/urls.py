"""Webhook target checks against server-side request forgery."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeTarget(ValueError):
    pass


def _is_private(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def check_url_shape(url: str, *, require_https: bool) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeTarget("must be an absolute http(s) URL")
    if require_https and parts.scheme != "https":
        raise UnsafeTarget("must use https")
    if parts.username or parts.password:
        raise UnsafeTarget("must not carry credentials")
    return parts.hostname


async def check_target(url: str, *, require_https: bool, allow_private: bool) -> None:
    """Refuse URLs whose host resolves to a private, loopback or link-local address.

    Checked at subscription and again before every delivery, so a DNS change cannot turn
    an accepted hook into a request to an internal service.
    """
    host = check_url_shape(url, require_https=require_https)
    if allow_private:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeTarget("host does not resolve") from exc
    for info in infos:
        if _is_private(str(info[4][0])):
            raise UnsafeTarget("resolves to a private, loopback or link-local address")
