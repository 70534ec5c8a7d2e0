"""Fetching documents given by URL (RAG documents, agents' turn documents), bounded: http(s) only, a host allow-list, a size cap, one
deadline for the whole fetch, and no private addresses unless the config allows them.

Each hop (the URL, then every redirect, followed here rather than by httpx) is checked before it
is requested: its scheme, its host against ``allowed_hosts``, and every address its host resolves
to. The request then goes to the address that was checked (the host sent as ``Host`` and as the
TLS server name), so a name that resolves elsewhere on a second lookup cannot reach an internal
address. Any refusal or failure is a ``BadRequestError`` naming the URL.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from pathlib import PurePosixPath

import httpx
from pydantic import Field

from ..config import ConfigModel
from ..errors import BadRequestError

__all__ = ["Fetched", "UrlFetchConfig", "UrlFetcher", "public"]

_REDIRECTS = {301, 302, 303, 307, 308}
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UrlFetchConfig(ConfigModel):
    """How documents given by URL are fetched: http(s) only, bounded, public addresses by default."""

    max_bytes: int = Field(
        default=20 * 1024 * 1024, ge=1, description="Largest document fetched (after decompression)."
    )
    timeout_seconds: float = Field(
        default=30.0, gt=0, description="Time allowed for a whole fetch, redirects included."
    )
    max_redirects: int = Field(default=5, ge=0, description="Redirects followed (each one checked anew).")
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names documents may be fetched from ('docs.example.com', or '*.example.com' "
        "for its subdomains); empty: any host.",
    )
    allow_private_addresses: bool = Field(
        default=False,
        description="Fetch from hosts resolving to loopback, private, link-local or other non-public "
        "addresses. Off by default, so a server's users cannot reach its internal network.",
    )


@dataclass(frozen=True)
class Fetched:
    data: bytes
    media_type: str
    filename: str


def public(address: IPAddress) -> bool:
    """Whether ``address`` is a public unicast address (IPv4-mapped IPv6 judged as IPv4)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


class UrlFetcher:
    def __init__(self, config: UrlFetchConfig) -> None:
        self.config = config
        self._ssl = httpx.create_ssl_context()

    async def fetch(self, url: str) -> Fetched:
        """The body of ``url`` (redirects followed), its media type and a file name for it."""
        limits = self.config
        try:
            async with asyncio.timeout(limits.timeout_seconds), self._client() as client:
                target = httpx.URL(url)
                for _ in range(limits.max_redirects + 1):
                    address = await self._checked(target, url)
                    request = self._pinned(client, target, address)
                    response = await client.send(request, stream=True)
                    try:
                        location = response.headers.get("location")
                        if response.status_code in _REDIRECTS and location:
                            target = target.join(location)
                            continue
                        return await self._read(response, target, url)
                    finally:
                        await response.aclose()
        except TimeoutError:
            raise self._refused(url, f"it took longer than {limits.timeout_seconds:g} seconds") from None
        except httpx.HTTPError as exc:
            raise self._refused(url, f"{type(exc).__name__}: {exc}") from None
        except (httpx.InvalidURL, ValueError) as exc:  # an unparsable URL or Location
            raise self._refused(url, str(exc)) from None
        raise self._refused(url, f"it redirects more than {limits.max_redirects} times")

    def _client(self) -> httpx.AsyncClient:
        timeout = httpx.Timeout(self.config.timeout_seconds)
        return httpx.AsyncClient(verify=self._ssl, trust_env=False, follow_redirects=False, timeout=timeout)

    def _refused(self, url: str, why: str) -> BadRequestError:
        return BadRequestError(f"Document URL {url} could not be fetched: {why}.", param="documents")

    async def _checked(self, target: httpx.URL, url: str) -> str:
        """The address to connect to for ``target``, once the hop passes every rule."""
        if target.scheme not in ("http", "https"):
            raise self._refused(url, f"'{target.scheme}:' URLs are refused; only http and https are fetched")
        host = target.host
        if not host:
            raise self._refused(url, "it names no host")
        allowed = self.config.allowed_hosts
        if allowed and not any(_matches(host, pattern) for pattern in allowed):
            raise self._refused(url, f"host {host} is not in the allowed hosts ({', '.join(allowed)})")
        addresses = await self._resolve(host, target.port or (443 if target.scheme == "https" else 80), url)
        if not self.config.allow_private_addresses:
            for address in addresses:
                if not public(address):
                    raise self._refused(url, f"host {host} is a private or reserved address ({address})")
        return str(addresses[0])

    async def _resolve(self, host: str, port: int, url: str) -> list[IPAddress]:
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        try:
            found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise self._refused(url, f"host {host} could not be resolved ({exc})") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in found]
        if not addresses:
            raise self._refused(url, f"host {host} has no address")
        return addresses

    def _pinned(self, client: httpx.AsyncClient, target: httpx.URL, address: str) -> httpx.Request:
        """A GET of ``target`` sent to ``address``, naming the host in ``Host`` and TLS."""
        return client.build_request(
            "GET",
            target.copy_with(host=address),
            headers={"Host": target.netloc.decode("ascii"), "Accept": "*/*"},
            extensions={"sni_hostname": target.host} if target.scheme == "https" else None,
        )

    async def _read(self, response: httpx.Response, target: httpx.URL, url: str) -> Fetched:
        if response.status_code >= 400:
            raise self._refused(url, f"the server answered HTTP {response.status_code}")
        cap = self.config.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise self._refused(url, f"it is {declared} bytes, larger than the limit of {cap} bytes")
        body = bytearray()
        async for part in response.aiter_bytes():
            body += part
            if len(body) > cap:
                raise self._refused(url, f"it is larger than the limit of {cap} bytes")
        media_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
        name = PurePosixPath(target.path).name or target.host
        return Fetched(bytes(body), media_type, name)


def _matches(host: str, pattern: str) -> bool:
    pattern = pattern.lower()
    if pattern.startswith("*."):
        return host.endswith(pattern[1:])
    return host == pattern
