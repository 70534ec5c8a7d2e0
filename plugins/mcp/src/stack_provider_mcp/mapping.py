"""MCP's tool listings and call results in Stack's shapes, losing nothing a caller could use.

Input and output schemas are kept verbatim; title, annotations and ``_meta`` go to the tool's
metadata. In results, text stays text, images become image items, an embedded text resource
becomes its text (a binary one, audio and resource links a one-line note), ``structuredContent``
goes to ``metadata["structured_content"]`` and ``isError`` to ``error_message`` with
``error_code`` 1. A JSON-RPC error (unknown tool, invalid params) is an error result too, with
the JSON-RPC code.
"""

from __future__ import annotations

from typing import Any

from mcp import McpError
from mcp.types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    ContentBlock,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
    Tool,
)

from stack_core import ToolDef, ToolInvocationResult

__all__ = ["content_item", "error_result", "invocation_result", "tool_def"]


def tool_def(tool: Tool) -> ToolDef:
    metadata: dict[str, Any] = {}
    if tool.title:
        metadata["title"] = tool.title
    if tool.annotations is not None:
        metadata["annotations"] = tool.annotations.model_dump(mode="json", exclude_none=True)
    if tool.meta:
        metadata["_meta"] = tool.meta
    return ToolDef(
        name=tool.name,
        description=tool.description,
        input_schema=tool.inputSchema,
        output_schema=tool.outputSchema,
        metadata=metadata or None,
    )


def content_item(block: ContentBlock) -> dict[str, Any]:
    """One MCP content block as a 0.2 content item (text or image)."""
    if isinstance(block, TextContent):
        return {"type": "text", "text": block.text}
    if isinstance(block, ImageContent):
        return {"type": "image", "image": {"data": block.data}}
    if isinstance(block, EmbeddedResource):
        resource = block.resource
        if isinstance(resource, TextResourceContents):
            return {"type": "text", "text": resource.text}
        assert isinstance(resource, BlobResourceContents)
        return _note(f"embedded resource {resource.uri} ({resource.mimeType or 'binary'}), not shown")
    if isinstance(block, AudioContent):
        return _note(f"audio ({block.mimeType}), not shown")
    assert isinstance(block, ResourceLink)
    return _note(f"resource link: {block.name} <{block.uri}>")


def _note(text: str) -> dict[str, Any]:
    return {"type": "text", "text": f"[{text}]"}


def invocation_result(result: CallToolResult) -> ToolInvocationResult:
    content = [content_item(block) for block in result.content]
    metadata = (
        {"structured_content": result.structuredContent} if result.structuredContent is not None else None
    )
    if not result.isError:
        return ToolInvocationResult(content=content, metadata=metadata)
    message = "\n".join(item["text"] for item in content if item["type"] == "text")
    return ToolInvocationResult(
        content=content,
        error_message=message or "the tool reported an error",
        error_code=1,
        metadata=metadata,
    )


def error_result(exc: McpError | RuntimeError) -> ToolInvocationResult:
    """A JSON-RPC error the server answered, or a result the client refused (structured content
    that does not match the tool's output schema)."""
    if isinstance(exc, McpError):
        return ToolInvocationResult(error_message=exc.error.message, error_code=exc.error.code)
    return ToolInvocationResult(error_message=str(exc), error_code=1)
