"""A test-only plugin (never shipped): a routed ``echo`` API over a ``voice`` resource kind.

It exercises everything a third-party plugin can do: a new API with routes, protocol and resource
kind, its registry, a provider with a strict config holding a secret, and provider-side refusal
of a registration.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, SecretStr

from stack_core import (
    ApiSpec,
    AuthenticationError,
    BadRequestError,
    ProviderContext,
    RequestInfo,
    Resource,
    ResourceKind,
    Route,
    User,
    hookimpl,
)


class Voice(Resource):
    type: Literal["voice"] = "voice"
    tone: str = "plain"


class RegisterVoiceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    voice_id: str
    provider_voice_id: str | None = None
    provider_id: str | None = None
    tone: str | None = None


class EchoRequest(BaseModel):
    voice: str
    text: str
    stream: bool = False


class EchoResponse(BaseModel):
    text: str
    voice: str
    provider_id: str


class EchoApi(Protocol):
    async def echo(self, request: EchoRequest) -> EchoResponse | AsyncIterator[EchoResponse]: ...


@runtime_checkable
class VoiceRegistrar(Protocol):
    async def register_voice(self, voice: Voice) -> Voice | None: ...


VOICES = ResourceKind(
    type="voice",
    singular="voice",
    plural="voices",
    resource=Voice,
    api="echo",
    path="/v1/voices",
    id_param="voice_id",
    provider_id_param="provider_voice_id",
    register_request=RegisterVoiceRequest,
    config_key="voices",
    registrar=VoiceRegistrar,
)
ECHO_API = ApiSpec(
    name="echo",
    description="Echoes text in a voice (test API).",
    protocol=EchoApi,
    resource=VOICES,
    routes=(Route("POST", "/v1/echo", "echo", EchoRequest, EchoResponse, stream=True, routing_key="voice"),),
)


class EchoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prefix: str = ""
    api_key: SecretStr | None = None
    port: int = 0


class EchoProvider:
    def __init__(self, config: EchoConfig, context: ProviderContext) -> None:
        self.config, self.context = config, context

    async def echo(self, request: EchoRequest) -> EchoResponse | AsyncIterator[EchoResponse]:
        reply = EchoResponse(
            text=self.config.prefix + request.text, voice=request.voice, provider_id=self.context.provider_id
        )
        if not request.stream:
            return reply
        return self._stream(reply)

    async def _stream(self, reply: EchoResponse) -> AsyncIterator[EchoResponse]:
        for word in reply.text.split():
            if word == "boom":
                raise BadRequestError("the echo provider refuses to say boom")
            yield reply.model_copy(update={"text": word})

    async def register_voice(self, voice: Voice) -> None:
        if voice.tone == "forbidden":
            raise BadRequestError(f"voice tone 'forbidden' is not served by {self.context.provider_id}")

    async def health(self) -> dict[str, str]:
        return {"status": "OK"}


class Incomplete:
    """A provider object missing the protocol method, to test the start-up check."""


@hookimpl
def stack_register_apis(register):  # type: ignore[no-untyped-def]
    register(ECHO_API)  # its registry API (/v1/voices) is derived from its resource kind


@hookimpl
def stack_register_providers(register):  # type: ignore[no-untyped-def]
    register(
        api="echo",
        provider_type="inline::echo",
        config=EchoConfig,
        factory=EchoProvider,
        sample_config={"prefix": "${env.ECHO_PREFIX:=}"},
        description="test echo",
    )
    register(
        api="echo",
        provider_type="inline::incomplete",
        config=EchoConfig,
        factory=lambda config, context: Incomplete(),
    )


class TokenTableConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tokens: dict[str, str]
    attributes: dict[str, dict[str, list[str]]] = {}


class TokenTable:
    """Test auth provider: a static token → principal table."""

    def __init__(self, config: TokenTableConfig) -> None:
        self.tokens, self.attributes = config.tokens, config.attributes

    async def authenticate(self, token: str, request: RequestInfo) -> User:
        principal = self.tokens.get(token)
        if principal is None:
            raise AuthenticationError("Invalid token.")
        return User(principal=principal, attributes=self.attributes.get(principal, {"roles": [principal]}))


@hookimpl
def stack_register_auth_providers(register):  # type: ignore[no-untyped-def]
    register(type="token_table", config=TokenTableConfig, factory=TokenTable)
