"""Fetching URL inputs (and posting callbacks) safely with httpx.

Rules: http/https only; at most ``max_redirects`` redirects, each hop checked again; a byte limit enforced while
streaming (not trusted from Content-Length alone); an overall deadline. Unless ``allow_private`` is set, hosts that
resolve to loopback, private, link-local or otherwise non-global addresses are refused, so the service cannot be
used to reach the network behind it. (Resolution is checked before each request; a DNS answer that changes between
the check and the connection is a residual risk a proxy with egress rules should close in hostile deployments.)
"""

from __future__ import annotations

import ipaddress
import mimetypes
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx

from emolens.errors import ConfigError, MediaError

_USER_AGENT = "emolens-fetch/1"


@dataclass(frozen=True)
class FetchedFile:
    path: Path
    filename: str
    content_type: str | None
    size: int


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def validate_url(url: str, *, allow_private: bool = False, what: str = "URL") -> str:
    """Check a URL's shape before accepting a job (ConfigError -> 400): scheme, host, no credentials, and no
    literal private address or ``localhost`` unless ``allow_private``. Returns the URL unchanged."""
    try:
        parts = urlsplit(url.strip())
    except ValueError as e:
        raise ConfigError(f"{what} {url!r} is not a valid URL: {e}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ConfigError(
            f"{what} {url!r}: only http:// and https:// URLs can be fetched"
            + (f" (not {parts.scheme}://)" if parts.scheme else "")
        )
    if not parts.hostname:
        raise ConfigError(f"{what} {url!r} has no host name")
    if parts.username or parts.password:
        raise ConfigError(f"{what} {url!r}: credentials inside URLs are not accepted")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError(f"{what} {url!r} has an invalid port") from None
    if not allow_private:
        host = parts.hostname.lower().rstrip(".")
        if host == "localhost" or host.endswith(".localhost"):
            raise ConfigError(f"{what} {url!r} points to this machine; only public addresses can be fetched")
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            ip = None
        if ip is not None and not _is_public(ip):
            raise ConfigError(
                f"{what} {url!r} points to a private or reserved address; only public addresses can be fetched"
            )
    return url


def _check_resolves_public(url: str, allow_private: bool) -> None:
    if allow_private:
        return
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise MediaError(f"cannot resolve host {host!r}: {e.strerror}", file=url) from None
    for info in infos:
        ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not _is_public(ip):
            raise MediaError(
                f"host {host!r} resolves to a private or reserved address ({ip}); only public addresses can be fetched",
                file=url,
            )


def _filename_for(url: str, response: httpx.Response) -> str:
    cd = response.headers.get("content-disposition", "")
    m = re.search(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)"?', cd, flags=re.I)
    name = unquote(m.group(1)) if m else unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    name = re.sub(r"[^\w.\- ()]+", "_", name).strip(" .") or "download"
    if "." not in name:
        ctype = (response.headers.get("content-type") or "").split(";")[0].strip()
        ext = mimetypes.guess_extension(ctype) if ctype else None
        name += ext or ""
    return name[:200]


def fetch_url(
    url: str,
    dest_dir: Path,
    *,
    allow_private: bool = False,
    max_bytes: int = 1024**3,
    timeout_s: float = 120.0,
    max_redirects: int = 5,
    transport: httpx.BaseTransport | None = None,
) -> FetchedFile:
    """Download ``url`` into ``dest_dir``; MediaError (naming the URL) on any failure or limit."""
    validate_url(url, allow_private=allow_private)
    deadline = time.monotonic() + timeout_s
    current = url
    timeout = httpx.Timeout(min(30.0, timeout_s), connect=min(10.0, timeout_s))
    with httpx.Client(
        timeout=timeout, follow_redirects=False, transport=transport, headers={"User-Agent": _USER_AGENT}
    ) as client:
        for _hop in range(max_redirects + 1):
            _check_resolves_public(current, allow_private)
            try:
                with client.stream("GET", current) as r:
                    if r.is_redirect:
                        location = r.headers.get("location")
                        if not location:
                            raise MediaError(f"redirect ({r.status_code}) without a Location header", file=url)
                        current = urljoin(current, location)
                        try:
                            validate_url(current, allow_private=allow_private, what="redirect to")
                        except ConfigError as e:
                            raise MediaError(str(e), file=url) from None
                        continue
                    if r.status_code >= 400:
                        raise MediaError(f"the server answered HTTP {r.status_code} {r.reason_phrase}", file=url)
                    declared = r.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise MediaError(
                            f"file is {int(declared) / 1e6:.0f} MB; at most {max_bytes / 1e6:.0f} MB per URL", file=url
                        )
                    filename = _filename_for(current, r)
                    dest_dir.mkdir(parents=True, exist_ok=True)
                    path = dest_dir / filename
                    size = 0
                    with path.open("wb") as f:
                        for chunk in r.iter_bytes(1 << 16):
                            size += len(chunk)
                            if size > max_bytes:
                                raise MediaError(
                                    f"file is larger than {max_bytes / 1e6:.0f} MB (the limit per URL)", file=url
                                )
                            if time.monotonic() > deadline:
                                raise MediaError(f"download took longer than {timeout_s:.0f} s", file=url)
                            f.write(chunk)
                    if size == 0:
                        raise MediaError("the server sent an empty file", file=url)
                    ctype = (r.headers.get("content-type") or "").split(";")[0].strip() or None
                    return FetchedFile(path=path, filename=filename, content_type=ctype, size=size)
            except httpx.TimeoutException:
                raise MediaError(f"timed out fetching (limit {timeout_s:.0f} s)", file=url) from None
            except httpx.HTTPError as e:
                raise MediaError(f"cannot fetch: {e}", file=url) from None
    raise MediaError(f"too many redirects (more than {max_redirects})", file=url)


def post_callback(
    url: str,
    payload: dict[str, Any],
    *,
    allow_private: bool = False,
    timeout_s: float = 30.0,
    transport: httpx.BaseTransport | None = None,
) -> int:
    """POST the job-ended notification; returns the HTTP status. Raises MediaError when it cannot be delivered."""
    validate_url(url, allow_private=allow_private, what="callback_url")
    _check_resolves_public(url, allow_private)
    try:
        with httpx.Client(
            timeout=timeout_s, follow_redirects=False, transport=transport, headers={"User-Agent": _USER_AGENT}
        ) as client:
            return client.post(url, json=payload).status_code
    except httpx.HTTPError as e:
        raise MediaError(f"callback could not be delivered: {e}", file=url) from None
