"""The tool runtime conformance suite: groups, tools with their schemas, invoke, errors.

The ``target`` fixture names a registered tool group in ``Target.extra["toolgroup_id"]`` and a call
that succeeds in ``extra["call"]``: ``{"tool_name", "kwargs", "expect"}`` (``expect``: text the
result's content contains). ``extra["failing_call"]`` (``{"tool_name", "kwargs"}``), when the tools
can fail, is a call whose tool reports an error: a 200 result with ``error_message``, not a 5xx.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ..payloads import content_text
from .target import Target

__all__ = ["ToolRuntimeConformance"]


class ToolRuntimeConformance:
    """Everything a tool runtime provider's group should pass; subclass and provide ``target``."""

    @pytest.fixture
    async def client(self, target: Target) -> AsyncIterator[httpx.AsyncClient]:
        async with httpx.AsyncClient(base_url=target.url, headers=target.headers, timeout=60) as client:
            yield client

    @staticmethod
    def group(target: Target) -> str:
        group = target.extra.get("toolgroup_id")
        assert group, "this suite needs Target.extra['toolgroup_id']"
        return str(group)

    @staticmethod
    def call(target: Target, key: str = "call") -> dict[str, Any]:
        call = target.extra.get(key)
        assert isinstance(call, dict) and call.get("tool_name"), f"this suite needs Target.extra['{key}']"
        return call

    async def invoke(self, client: httpx.AsyncClient, call: dict[str, Any]) -> httpx.Response:
        body = {"tool_name": call["tool_name"], "kwargs": call.get("kwargs", {})}
        return await client.post("/v1/tool-runtime/invoke", json=body)

    async def test_group_is_listed_and_retrievable(self, client: httpx.AsyncClient, target: Target) -> None:
        group = self.group(target)
        listed = (await client.get("/v1/toolgroups")).json()["data"]
        assert group in {g["identifier"] for g in listed}
        one = (await client.get(f"/v1/toolgroups/{group}")).json()
        assert one["identifier"] == group and one["type"] == "tool_group" and one["provider_id"]

    async def test_tools_are_listed_with_their_schemas(
        self, client: httpx.AsyncClient, target: Target
    ) -> None:
        group = self.group(target)
        response = await client.get("/v1/tools", params={"toolgroup_id": group})
        assert response.status_code == 200, response.text
        tools = response.json()["data"]
        assert tools, f"group {group} lists no tools"
        for tool in tools:
            assert (
                tool["toolgroup_id"] == group
                and tool["type"] == "tool"
                and tool["identifier"] == tool["name"]
            )
            schema = tool["input_schema"]
            assert isinstance(schema, dict) and schema.get("type", "object") == "object", schema
            assert [p["name"] for p in tool["parameters"]] == list(schema.get("properties", {}))
        defs = (await client.get("/v1/tool-runtime/list-tools", params={"tool_group_id": group})).json()[
            "data"
        ]
        assert {d["name"] for d in defs} == {t["name"] for t in tools}
        name = self.call(target)["tool_name"]
        one = await client.get(f"/v1/tools/{name}")
        assert one.status_code == 200 and one.json()["toolgroup_id"] == group, one.text

    async def test_invoke_returns_content(self, client: httpx.AsyncClient, target: Target) -> None:
        call = self.call(target)
        response = await self.invoke(client, call)
        assert response.status_code == 200, response.text
        result = response.json()
        assert result.get("error_message") is None, result
        assert str(call.get("expect", "")) in content_text(result["content"]), result

    async def test_a_failing_tool_is_an_error_result(self, client: httpx.AsyncClient, target: Target) -> None:
        if "failing_call" not in target.extra:
            pytest.skip("the target names no failing call")
        response = await self.invoke(client, self.call(target, "failing_call"))
        assert response.status_code == 200, response.text
        assert response.json()["error_message"], response.json()

    async def test_unknown_tool_and_group_are_404s(self, client: httpx.AsyncClient, target: Target) -> None:
        response = await self.invoke(client, {"tool_name": "no-such-tool-xyz", "kwargs": {}})
        assert response.status_code == 404, response.text
        assert "no-such-tool-xyz" in response.json()["error"]["message"]
        response = await client.get("/v1/tools", params={"toolgroup_id": "no-such-group-xyz"})
        assert response.status_code == 404 and "no-such-group-xyz" in response.json()["error"]["message"]
