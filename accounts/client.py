"""Who is calling: address and user agent, as the audit log and rules see them."""

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

USER_AGENT_CHARS = 512

# Ordered: the first token found names the family (Edge and Opera also say
# "Chrome", Chrome also says "Safari").
_FAMILIES = (
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
_PRODUCT = re.compile(r"^([A-Za-z][A-Za-z0-9._-]{0,40})")


@dataclass(frozen=True)
class Client:
    """The caller's address (None if unknown) and user agent (truncated)."""

    ip: str | None = None
    user_agent: str = ""


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_from_request(request: Any) -> Client:
    """The client of a Django/DRF request. The address is ``REMOTE_ADDR``: a
    proxy in front must set it (gunicorn's forwarded-allow-ips), never a header
    a client could forge."""
    meta = getattr(request, "META", {}) if request is not None else {}
    return Client(
        ip=_valid_ip(meta.get("REMOTE_ADDR")),
        user_agent=str(meta.get("HTTP_USER_AGENT", ""))[:USER_AGENT_CHARS],
    )


def ua_family(user_agent: str) -> str:
    """A coarse browser/client family ("Firefox", "Chrome", "curl", ...)."""
    for token, family in _FAMILIES:
        if token in user_agent:
            return family
    match = _PRODUCT.match(user_agent.strip())
    if match and match.group(1) != "Mozilla":
        return match.group(1).split("/")[0][:64]
    return "other" if user_agent.strip() else ""
