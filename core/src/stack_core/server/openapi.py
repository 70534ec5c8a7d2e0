"""The OpenAPI 3.1 document, derived from the same route declarations as the HTTP routes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from ..spec import ApiSpec, Route

__all__ = ["openapi_document"]

REF = "#/components/schemas/{model}"
ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR = {"description": "Error (OpenAI shape)", "content": {"application/json": {"schema": ERROR_REF}}}
# What any route may answer: its request is invalid (400), needs auth (401, 403), names what is not
# there (404), took too long to send (408), is taken (409), too large (413), over quota or a
# backend's rate limit (429), failed (500), or its backend failed (502), is down or this server is
# full (503), or did not answer in time (504).
ERROR_STATUSES = ("400", "401", "403", "404", "408", "409", "413", "429", "500", "502", "503", "504")
SSE_DESCRIPTION = (
    "Server-sent events: each `data:` line holds one JSON event (`x-event-schema`); an error ends the "
    "stream with an event holding an OpenAI-shaped error; OpenAI routes end with `data: [DONE]`."
)
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
            "required": ["message", "type"],
        }
    },
}


def _models(specs: Iterable[ApiSpec]) -> list[type[BaseModel]]:
    found: dict[str, type[BaseModel]] = {}
    for spec in specs:
        for route in spec.routes:
            for model in (route.request, route.response):
                if isinstance(model, type) and issubclass(model, BaseModel):
                    found.setdefault(model.__name__, model)
    return list(found.values())


def _operation(spec: ApiSpec, route: Route, schemas: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{spec.name}.{route.name}",
        "summary": route.summary,
        "tags": [spec.name],
        "responses": dict.fromkeys(ERROR_STATUSES, ERROR),
    }
    response = route.response
    if response is None:
        op["responses"]["204"] = {"description": "No content"}
    else:
        if isinstance(response, type) and issubclass(response, BaseModel):
            schema: dict[str, Any] = {"$ref": REF.format(model=response.__name__)}
        else:
            schema = TypeAdapter(response).json_schema(ref_template=REF)
        content = {"application/json": {"schema": schema}}
        if route.stream:
            content["text/event-stream"] = {
                "schema": {"type": "string", "description": SSE_DESCRIPTION},
                "x-event-schema": {"oneOf": [schema, ERROR_REF]},
            }
        op["responses"][str(route.status_code)] = {"description": "OK", "content": content}
    model = route.request
    if model is None:
        return op
    path_params = set(route.path_params)
    full = schemas.get(model.__name__, {})
    props: dict[str, Any] = full.get("properties", {})
    required: list[str] = full.get("required", [])
    params = [
        {"name": p, "in": "path", "required": True, "schema": props.get(p, {"type": "string"})}
        for p in route.path_params
    ]
    if route.method in ("GET", "DELETE"):
        params += [
            {"name": n, "in": "query", "required": n in required, "schema": s}
            for n, s in props.items()
            if n not in path_params
        ]
    else:
        body = {
            **full,
            "properties": {n: s for n, s in props.items() if n not in path_params},
            "required": [n for n in required if n not in path_params],
        }
        uploads = any(p.get("format") == "binary" for p in body["properties"].values())
        media = "multipart/form-data" if uploads else "application/json"
        op["requestBody"] = {"required": True, "content": {media: {"schema": body}}}
    if params:
        op["parameters"] = params
    return op


def openapi_document(specs: Iterable[ApiSpec], version: str) -> dict[str, Any]:
    specs = list(specs)
    _, defs = models_json_schema([(m, "validation") for m in _models(specs)], ref_template=REF)
    schemas: dict[str, Any] = {**defs.get("$defs", {}), "Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for spec in specs:
        for route in spec.routes:
            for path in route.paths:
                paths.setdefault(path.replace(":path}", "}"), {})[route.method.lower()] = _operation(
                    spec, route, schemas
                )
    return {
        "openapi": "3.1.0",
        "info": {"title": "Stack", "version": version, "description": "Stack LLM application server"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
