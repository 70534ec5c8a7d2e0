"""The one exception tree of Stack.

Every error the kernel or a provider raises on purpose is a ``StackError``; the HTTP layer maps it
to a response in exactly one place (``stack_core.server.errors``), using ``status_code`` and
``error_type``, with the OpenAI error shape ``{"error": {"message", "type", "param", "code"}}``::

    StackError (500)
    ├── ConfigError (500)               run config or provider config is invalid (start-up)
    ├── PluginError (500)               a plugin failed to load or registered something invalid
    ├── BadRequestError (400)           the request is malformed or violates the schema
    │   └── UnsupportedError (400)      the request asks for something the provider cannot do
    ├── AuthenticationError (401)
    ├── PermissionDeniedError (403)
    ├── NotFoundError (404)             unknown resource, route or object
    ├── RequestTimeoutError (408)       the client did not send its request in time
    ├── ConflictError (409)
    ├── PayloadTooLargeError (413)
    ├── QuotaExceededError (429)
    ├── OverloadedError (503)           the server is serving as many requests as it may
    └── ProviderError (502)             a provider's backend failed
        ├── ProviderRateLimitError (429)
        ├── ProviderUnavailableError (503)
        ├── ProviderTimeoutError (504)
        └── ProviderReplyError (502)    a reply the kernel cannot read (not JSON, wrong shape)

``QuotaExceededError`` is Stack's own quota; its body is exactly ``{"error": {"message": ...}}``.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ConflictError",
    "NotFoundError",
    "OverloadedError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "PluginError",
    "ProviderError",
    "ProviderRateLimitError",
    "ProviderReplyError",
    "ProviderTimeoutError",
    "ProviderUnavailableError",
    "QuotaExceededError",
    "RequestTimeoutError",
    "StackError",
    "UnsupportedError",
]


class StackError(Exception):
    """Base of all Stack errors. ``param`` names the offending request field, if any."""

    status_code: int = 500
    error_type: str = "server_error"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code
        self.headers = headers or {}

    def error_fields(self) -> dict[str, object]:
        return {"message": self.message, "type": self.error_type, "param": self.param, "code": self.code}

    def to_body(self) -> dict[str, object]:
        return {"error": self.error_fields()}


class ConfigError(StackError):
    error_type = "config_error"


class PluginError(StackError):
    error_type = "plugin_error"


class BadRequestError(StackError):
    status_code = 400
    error_type = "invalid_request_error"


class UnsupportedError(BadRequestError):
    pass


class AuthenticationError(StackError):
    status_code = 401
    error_type = "authentication_error"


class PermissionDeniedError(StackError):
    status_code = 403
    error_type = "permission_error"


class NotFoundError(StackError):
    status_code = 404
    error_type = "not_found_error"


class RequestTimeoutError(StackError):
    status_code = 408
    error_type = "timeout_error"


class ConflictError(StackError):
    status_code = 409
    error_type = "conflict_error"


class PayloadTooLargeError(StackError):
    status_code = 413
    error_type = "invalid_request_error"


class QuotaExceededError(StackError):
    status_code = 429
    error_type = "rate_limit_error"

    def error_fields(self) -> dict[str, object]:
        return {"message": self.message}


class OverloadedError(StackError):
    status_code = 503
    error_type = "service_unavailable"


class ProviderError(StackError):
    """A provider's backend failed; ``provider_id`` names it in the message and the body."""

    status_code = 502
    error_type = "provider_error"

    def __init__(
        self,
        message: str,
        *,
        provider_id: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, code=code, headers=headers)
        self.provider_id = provider_id

    def error_fields(self) -> dict[str, object]:
        return {**super().error_fields(), "provider_id": self.provider_id}


class ProviderRateLimitError(ProviderError):
    status_code = 429
    error_type = "rate_limit_error"


class ProviderUnavailableError(ProviderError):
    status_code = 503
    error_type = "service_unavailable"


class ProviderTimeoutError(ProviderError):
    status_code = 504
    error_type = "timeout_error"


class ProviderReplyError(ProviderError):
    """A provider answered, but with a reply the kernel cannot read (not JSON, not the expected shape)."""
