"""Helpers shared by the built-in auth providers: claims → access attributes, refusals, TLS."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import AuthenticationError

__all__ = ["DEFAULT_CLAIMS_MAPPING", "attributes_from_claims", "invalid_token", "tls_verify"]

DEFAULT_CLAIMS_MAPPING: dict[str, str] = {
    "sub": "roles",
    "username": "roles",
    "groups": "teams",
    "team": "teams",
    "project": "projects",
    "tenant": "namespaces",
    "namespace": "namespaces",
}


def attributes_from_claims(claims: Mapping[str, object], mapping: Mapping[str, str]) -> dict[str, list[str]]:
    """``{attribute: [values]}`` from the claims named in ``mapping`` (claim → attribute).

    A list claim contributes each item, a string claim each whitespace-separated word (``scope``);
    values are de-duplicated in order.
    """
    attributes: dict[str, list[str]] = {}
    for claim, attribute in mapping.items():
        value = claims.get(claim)
        if value is None:
            continue
        items = value if isinstance(value, list) else str(value).split()
        bucket = attributes.setdefault(attribute, [])
        for item in items:
            if item is not None and str(item) not in bucket:
                bucket.append(str(item))
    return {k: v for k, v in attributes.items() if v}


def invalid_token(reason: str) -> AuthenticationError:
    """A 401 with the RFC 6750 ``invalid_token`` challenge; ``reason`` never contains the token."""
    return AuthenticationError(
        reason, headers={"www-authenticate": 'Bearer realm="stack", error="invalid_token"'}
    )


def tls_verify(verify_tls: bool, tls_cafile: str | None) -> bool | str:
    """The ``verify`` argument for ``pooled_client``: a CA file wins over the flag."""
    return tls_cafile or verify_tls
