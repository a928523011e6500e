"""Canonical URLs: one address per article whatever tracking or casing it arrived with."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = ["canonical_url"]

# Parameters that identify a campaign or a click, never the article.
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "piwik_", "hsa_", "_hs")
_TRACKING = frozenset(
    "fbclid gclid dclid msclkid yclid igshid mkt_tok ref ref_src cmpid ocid ncid smid sr_share "
    "outputtype guccounter taid cid".split()
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str | None) -> str | None:
    """Lower-case scheme and host, no default port, fragment or tracking parameters.

    Returns None for anything that is not an absolute http(s) URL.
    """
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if k.lower() not in _TRACKING and not k.lower().startswith(_TRACKING_PREFIXES)
    ]
    path = parts.path.rstrip("/") or "/"
    # http and https of one article are one article
    return urlunsplit(("https", netloc, path, urlencode(sorted(query)), ""))
