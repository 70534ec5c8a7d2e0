"""The tests every web search provider passes against ``fake_search``: the tool runtime conformance
suite, the SDK, keys (config, per request, missing, refused) and the upstream's failures.

A provider's test class subclasses ``WebSearchCases`` and names its provider type, its path on
the fake, its provider-data key and the first hit the fake's canned results clean up to.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
import pytest
from backends import stack_server
from fake_search import FakeSearch, Seen
from llama_stack_client import LlamaStackClient

from stack_core import create_app
from stack_core.testing import StackServer, Target, ToolRuntimeConformance, free_port

KEY, OTHER_KEY = "sk-search-config-0123456789", "sk-search-request-9876543210"
GROUP, QUERY = "builtin::websearch", "llama facts"


def tool_runtime_config(provider_type: str, **config: Any) -> dict[str, Any]:
    entry = {"provider_id": "search", "provider_type": provider_type, "config": config}
    return {"version": 2, "apis": ["tool_runtime"], "providers": {"tool_runtime": [entry]}}


class WebSearchCases(ToolRuntimeConformance):
    provider_type: ClassVar[str]
    service: ClassVar[str]
    """The fake's name for the service (its path prefix and ``Seen.service``)."""
    api_root: ClassVar[str]
    """The service's API root on the fake (the provider's ``url``), under ``fake.url``."""
    provider_data_key: ClassVar[str]
    first_hit: ClassVar[dict[str, Any]]
    """The first of ``QUERY``'s results as the tool answers it."""

    @pytest.fixture(scope="class")
    @classmethod
    def fake(cls) -> Iterator[FakeSearch]:
        with FakeSearch(keys={KEY, OTHER_KEY}) as fake:
            yield fake

    @pytest.fixture(scope="class")
    @classmethod
    def server(cls, fake: FakeSearch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackServer]:
        config = tool_runtime_config(
            cls.provider_type, url=fake.url + cls.api_root, api_key=KEY, max_results=2, timeout=1
        )
        with stack_server(config, tmp_path_factory.mktemp("home")) as server:
            yield server

    @pytest.fixture
    def target(self, server: StackServer) -> Target:
        call = {"tool_name": "web_search", "kwargs": {"query": QUERY}, "expect": self.first_hit["title"]}
        failing = {"tool_name": "web_search", "kwargs": {"query": " "}}
        return Target(url=server.url, extra={"toolgroup_id": GROUP, "call": call, "failing_call": failing})

    def search(self, server: StackServer, query: str, key: str | None = None) -> httpx.Response:
        headers = {"X-Stack-Provider-Data": json.dumps({self.provider_data_key: key})} if key else {}
        body = {"tool_name": "web_search", "kwargs": {"query": query}}
        return httpx.post(f"{server.url}/v1/tool-runtime/invoke", json=body, headers=headers, timeout=30)

    def test_the_sdk_lists_the_tool_and_gets_cleaned_results(
        self, server: StackServer, fake: FakeSearch
    ) -> None:
        client = LlamaStackClient(base_url=server.url, max_retries=0)
        [tool] = client.tools.list(toolgroup_id=GROUP)
        assert (tool.identifier, tool.provider_id) == ("web_search", "search")
        assert [(p.name, p.parameter_type, p.required) for p in tool.parameters] == [
            ("query", "string", True)
        ]
        result = client.tool_runtime.invoke_tool(tool_name="web_search", kwargs={"query": f"  {QUERY} "})
        assert result.error_message is None and isinstance(result.content, str)
        answer = json.loads(result.content)
        assert answer["query"] == QUERY and len(answer["top_k"]) == 2
        assert answer["top_k"][0] == self.first_hit
        assert "<" not in result.content and "&amp;" not in result.content
        assert fake.requests[-1] == Seen(self.service, KEY, QUERY, 2)

    def test_a_key_in_the_provider_data_is_used(self, server: StackServer, fake: FakeSearch) -> None:
        client = LlamaStackClient(
            base_url=server.url, max_retries=0, provider_data={self.provider_data_key: OTHER_KEY}
        )
        assert client.tool_runtime.invoke_tool(tool_name="web_search", kwargs={"query": QUERY}).content
        assert fake.requests[-1].key == OTHER_KEY

    def test_a_refused_key_is_a_502_saying_whose(self, server: StackServer) -> None:
        response = self.search(server, QUERY, key="sk-revoked-key")
        error = response.json()["error"]
        assert response.status_code == 502 and error["code"] == "api_key_refused", error
        assert f"X-Stack-Provider-Data '{self.provider_data_key}'" in error["message"]
        assert "sk-revoked-key" not in response.text

    def test_the_services_rate_limit_is_a_429_with_its_retry_after(self, server: StackServer) -> None:
        response = self.search(server, "fake:rate-limit")
        assert response.status_code == 429 and response.headers["retry-after"] == "7", response.text
        assert "rate limiting" in response.json()["error"]["message"]

    def test_a_slow_service_is_a_504_after_the_timeout(self, server: StackServer) -> None:
        started = time.monotonic()
        response = self.search(server, "fake:slow")
        assert response.status_code == 504 and "within 1s" in response.json()["error"]["message"]
        assert time.monotonic() - started < 2.5

    def test_a_reply_that_is_not_json_is_a_502(self, server: StackServer) -> None:
        response = self.search(server, "fake:garbage")
        assert response.status_code == 502 and "other than JSON" in response.json()["error"]["message"]

    def test_no_results_is_an_empty_top_k(self, server: StackServer) -> None:
        response = self.search(server, "fake:empty")
        assert json.loads(response.json()["content"]) == {"query": "fake:empty", "top_k": []}

    def test_the_configured_key_is_never_shown(self, server: StackServer) -> None:
        providers = httpx.get(f"{server.url}/v1/providers").text
        assert KEY not in providers and "**********" in providers
        assert KEY not in server.log() and OTHER_KEY not in server.log()

    async def test_no_key_is_a_400_saying_how_to_give_one_and_a_dead_service_a_502(self) -> None:
        dead = f"http://127.0.0.1:{free_port()}"
        app = create_app(tool_runtime_config(self.provider_type, url=dead))
        body = {"tool_name": "web_search", "kwargs": {"query": QUERY}}
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://stack") as client:
                missing = await client.post("/v1/tool-runtime/invoke", json=body)
                header = {"X-Stack-Provider-Data": json.dumps({self.provider_data_key: KEY})}
                down = await client.post("/v1/tool-runtime/invoke", json=body, headers=header)
                header = {"X-Stack-Provider-Data": json.dumps([KEY])}
                not_an_object = await client.post("/v1/tool-runtime/invoke", json=body, headers=header)
        error = missing.json()["error"]
        assert missing.status_code == 400 and error["code"] == "missing_api_key", error
        assert (
            f'{{"{self.provider_data_key}": "<key>"}}' in error["message"] and "api_key" in error["message"]
        )
        assert down.status_code == 502 and "unreachable" in down.json()["error"]["message"], down.text
        assert not_an_object.status_code == 400 and "JSON object" in not_an_object.json()["error"]["message"]
