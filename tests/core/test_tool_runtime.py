"""The Tool Runtime API's router: tools listed through their groups with schemas intact, cached per
version of the group, invoked by name, errors and access (scripted provider, in-process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import tools_plugin
from in_process import running
from users import as_user

from stack_core import StackError, ToolRuntimeClient, User, create_app
from stack_core.plugins import PluginSet, discover

CONFIG: dict[str, Any] = {
    "apis": ["tool_runtime"],
    "providers": {"tool_runtime": [{"provider_id": "scripted", "provider_type": "test::tools"}]},
    "registered_resources": {
        "tool_groups": [
            {"toolgroup_id": "geo", "provider_id": "scripted", "args": {"tools": ["describe", "echo"]}},
            {"toolgroup_id": "misc", "provider_id": "scripted", "args": {"tools": ["echo", "fail"]}},
        ]
    },
}


@pytest.fixture(scope="module")
def plugins() -> PluginSet:
    return discover({"tools": tools_plugin})


@pytest.fixture
async def client(plugins: PluginSet) -> AsyncIterator[httpx.AsyncClient]:
    async with running(CONFIG, plugins) as client:
        yield client


def provider(client: httpx.AsyncClient) -> tools_plugin.ScriptedTools:
    app = client._transport.app  # type: ignore[attr-defined]
    impl = app.state.stack.api("tool_runtime").providers["scripted"]
    assert isinstance(impl, tools_plugin.ScriptedTools)
    return impl


async def invoke(client: httpx.AsyncClient, name: str, **kwargs: Any) -> httpx.Response:
    return await client.post("/v1/tool-runtime/invoke", json={"tool_name": name, "kwargs": kwargs})


async def test_tools_keep_their_json_schemas_verbatim(client: httpx.AsyncClient) -> None:
    tools = (await client.get("/v1/tools", params={"toolgroup_id": "geo"})).json()["data"]
    describe = next(t for t in tools if t["name"] == "describe")
    assert describe["input_schema"] == tools_plugin.NESTED
    assert describe["tool_host"] == "distribution" and describe["provider_id"] == "scripted"
    assert [(p["name"], p["parameter_type"], p["required"]) for p in describe["parameters"]] == [
        ("point", "object", True),
        ("tags", "array", False),
        ("shape", "object", False),
    ]
    now = (await client.get("/v1/tools/now")).json()
    assert now["toolgroup_id"] == "builtin::scripted" and now["parameters"] == []
    defs = (await client.get("/v1/tool-runtime/list-tools", params={"tool_group_id": "geo"})).json()["data"]
    assert [d["name"] for d in defs] == ["describe", "echo"] and "toolgroup_id" not in defs[0]


async def test_a_groups_tools_are_listed_once_until_the_group_changes(client: httpx.AsyncClient) -> None:
    impl = provider(client)
    for _ in range(3):
        await client.get("/v1/tools", params={"toolgroup_id": "geo"})
        assert (await invoke(client, "describe", point={"x": 1})).status_code == 200
    assert impl.listings["geo"] == 1
    await client.delete("/v1/toolgroups/geo")
    body = {"toolgroup_id": "geo", "provider_id": "scripted", "args": {"tools": ["now"]}}
    assert (await client.post("/v1/toolgroups", json=body)).status_code == 200
    assert [t["name"] for t in (await client.get("/v1/tools?toolgroup_id=geo")).json()["data"]] == ["now"]
    assert impl.listings["geo"] == 2


async def test_invoke_goes_to_the_first_group_with_the_tool(client: httpx.AsyncClient) -> None:
    reply = await invoke(client, "echo", text="hi")
    assert reply.status_code == 200 and reply.json()["content"] == "geo:echo:{'text': 'hi'}"
    qualified = await invoke(client, "misc/echo", text="hi")
    assert qualified.json()["content"] == "misc:echo:{'text': 'hi'}"
    assert (await client.get("/v1/tools/misc/echo")).json()["toolgroup_id"] == "misc"
    listed = (await client.get("/v1/tools", params={"toolgroup_id": "misc/echo"})).json()["data"]
    assert {t["toolgroup_id"] for t in listed} == {"misc"}  # the 0.2 Agent lists its tools so
    failed = (await invoke(client, "fail")).json()
    assert failed["error_message"] == "the tool failed" and failed["error_code"] == 1
    assert provider(client).calls[-1] == ("misc", "fail", {})


async def test_invoke_naming_a_group_uses_that_groups_tool(client: httpx.AsyncClient) -> None:
    body = {"tool_name": "echo", "kwargs": {"text": "hi"}, "toolgroup_id": "misc"}
    reply = await client.post("/v1/tool-runtime/invoke", json=body)
    assert reply.status_code == 200 and reply.json()["content"] == "misc:echo:{'text': 'hi'}"
    reply = await client.post("/v1/tool-runtime/invoke", json={**body, "tool_name": "describe"})
    assert reply.status_code == 404 and "'misc' has no tool 'describe'" in reply.json()["error"]["message"]


async def test_unknown_tools_and_groups_are_404s_naming_them(client: httpx.AsyncClient) -> None:
    reply = await invoke(client, "teleport")
    error = reply.json()["error"]
    assert reply.status_code == 404 and error["code"] == "tool_not_found"
    assert "'teleport'" in error["message"] and "describe, echo, fail, now" in error["message"]
    reply = await client.get("/v1/tools", params={"toolgroup_id": "nope"})
    assert reply.status_code == 404 and "'nope'" in reply.json()["error"]["message"]
    reply = await client.get(
        "/v1/tool-runtime/list-tools", params={"tool_group_id": "geo", "mcp_endpoint[uri]": "http://x/sse"}
    )
    assert reply.status_code == 400 and "not the endpoint" in reply.json()["error"]["message"]
    reply = await client.post("/v1/tool-runtime/invoke", json={"tool_name": "echo", "kwargs": [1]})
    assert reply.status_code == 400 and "kwargs" in reply.json()["error"]["message"]


async def test_a_broken_group_hides_no_other_groups_tools(client: httpx.AsyncClient) -> None:
    body = {"toolgroup_id": "broken", "provider_id": "scripted", "args": {"broken": True}}
    assert (await client.post("/v1/toolgroups", json=body)).status_code == 200
    names = {t["name"] for t in (await client.get("/v1/tools")).json()["data"]}
    assert names == {"describe", "echo", "fail", "now"}
    reply = await client.get("/v1/tools", params={"toolgroup_id": "broken"})
    assert reply.status_code == 502 and "broken" in reply.json()["error"]["message"]
    assert (await invoke(client, "now")).status_code == 200
    reply = await invoke(client, "teleport")
    assert reply.status_code == 502 and "group broken is broken" in reply.json()["error"]["message"]


async def test_another_users_tool_group_is_invisible(plugins: PluginSet) -> None:
    app = create_app(CONFIG, plugins=plugins)
    alice = User(principal="alice", attributes={"teams": ["a"]})
    bob = User(principal="bob", attributes={"teams": ["b"]})
    async with app.router.lifespan_context(app):
        stack = app.state.stack
        tools = ToolRuntimeClient(stack.api("tool_runtime"))
        groups = stack.registry_service("tool_groups")
        with as_user(alice):
            await groups.register(
                groups.kind.register_request(
                    toolgroup_id="mine", provider_id="scripted", args={"tools": ["echo"]}
                )
            )
            assert [t.toolgroup_id for t in await tools.tools("mine")] == ["mine"]
        with as_user(bob):
            assert "mine" not in {t.toolgroup_id for t in await tools.tools()}
            with pytest.raises(StackError) as caught:
                await tools.tools("mine")
            assert caught.value.status_code == 404
            assert (await tools.invoke("echo", {"text": "x"})).content == "geo:echo:{'text': 'x'}"
