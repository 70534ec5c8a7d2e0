"""Configuration of the agents plugin's providers: ``LoopConfig`` (the agent loop),
``MetaReferenceConfig`` (``inline::meta-reference`` agents: the loop and turn documents' URL
limits) and ``AgentsConfig`` (Responses: the loop and its tools)."""

from __future__ import annotations

from pydantic import Field

from stack_core import ConfigModel
from stack_core.kits.fetch import UrlFetchConfig


class LoopConfig(ConfigModel):
    max_infer_iters: int = Field(
        default=10, ge=1, le=100, description="Model steps of a turn when a request names no limit."
    )


class MetaReferenceConfig(LoopConfig):
    url_fetch: UrlFetchConfig = Field(
        default_factory=UrlFetchConfig, description="Limits on turn documents given by http(s) URL."
    )


class AgentsConfig(LoopConfig):
    web_search_toolgroup: str = Field(
        default="builtin::websearch", description="The tool group whose first tool serves `web_search`."
    )
    background_concurrency: int = Field(
        default=16, ge=1, description="Background responses this server process runs at a time."
    )


class ConversationsConfig(ConfigModel):
    """The conversations provider has no settings: it keeps conversations in the stack's database."""
