"""The ``inline::rag-runtime`` provider: the RAG tool's insert and query routes, and the tools of
the groups it serves (``builtin::rag`` out of the box, or any group registered with it).

A group's ``args`` may name ``vector_db_ids`` and a ``query_config``; ``knowledge_search`` kwargs
``vector_db_ids`` / ``query_config`` (as 0.2 agents pass them) take precedence. A tool call the
tool cannot serve (no vector DBs, an unknown one, a bad template) is a result with
``error_message`` and the 4xx status as ``error_code``, for the model to read; a failing backend
raises.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from stack_core import (
    BadRequestError,
    Chunk,
    InsertDocumentsRequest,
    NotFoundError,
    ProviderContext,
    RagQueryConfig,
    RagQueryRequest,
    RagQueryResult,
    StackError,
    ToolDef,
    ToolGroup,
    ToolInvocation,
    ToolInvocationResult,
    content_text,
)
from stack_core.apis.tool_runtime import Content
from stack_core.kits.documents import DocumentReader
from stack_core.kits.fetch import UrlFetcher

from .config import RagRuntimeConfig
from .documents import document_chunks
from .retrieval import Hit, check_template, frame, query_text

__all__ = ["RagRuntime"]

M = TypeVar("M", bound=BaseModel)
RAG_GROUP = "builtin::rag"
_SCAN = 1000  # chunks per query when looking for a document's stale chunks


class GroupArgs(BaseModel):
    """The ``args`` of a tool group served by this provider."""

    model_config = ConfigDict(extra="forbid")

    vector_db_ids: list[str] = Field(default_factory=list, description="Vector DBs knowledge_search reads.")
    query_config: RagQueryConfig | None = Field(default=None, description="How knowledge_search retrieves.")


class KnowledgeSearch(BaseModel):
    model_config = ConfigDict(extra="ignore")

    query: str = Field(min_length=1)
    vector_db_ids: list[str] | None = None
    query_config: RagQueryConfig | None = None


KNOWLEDGE_SEARCH = ToolDef(
    name="knowledge_search",
    description="Search the knowledge base (documents inserted into vector DBs) for passages about a query.",
    input_schema={
        "type": "object",
        "properties": {
            "query": {
                "type": "string",
                "description": "What to search for: a natural-language question or keywords.",
            }
        },
        "required": ["query"],
    },
)
INSERT_INTO_MEMORY = ToolDef(
    name="insert_into_memory",
    description="Insert documents (text, data: URIs, file ids or URLs) into a vector DB, chunked.",
    input_schema=InsertDocumentsRequest.model_json_schema(),
)


def _parse(model: type[M], data: Mapping[str, Any], what: str) -> M:
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or what
        raise BadRequestError(f"Invalid {what}: {where}: {first['msg']}", param=where) from None


class RagRuntime:
    def __init__(self, config: RagRuntimeConfig, context: ProviderContext) -> None:
        self.config = config
        self.vector_io = context.vector_io
        self.inference = context.inference if "inference" in context.deps else None
        files = context.files if "files" in context.deps else None
        self.reader = DocumentReader(UrlFetcher(config.url_fetch), files)

    # -- tool groups and tools -----------------------------------------------------------------

    async def list_tool_groups(self) -> list[dict[str, Any]]:
        return [{"identifier": RAG_GROUP}]

    async def register_tool_group(self, group: ToolGroup) -> ToolGroup | None:
        """Refuse a group with an MCP endpoint or args this provider cannot use."""
        if group.mcp_endpoint is not None:
            raise BadRequestError("The RAG tool runtime serves no MCP endpoint.", param="mcp_endpoint")
        _parse(GroupArgs, group.args or {}, "args")
        return None

    async def list_runtime_tools(self, group: ToolGroup) -> list[ToolDef]:
        return [KNOWLEDGE_SEARCH, INSERT_INTO_MEMORY]

    async def invoke_tool(self, call: ToolInvocation) -> ToolInvocationResult:
        try:
            args = _parse(GroupArgs, call.group.args or {}, f"args of tool group '{call.group.identifier}'")
            if call.tool_name == KNOWLEDGE_SEARCH.name:
                return await self._knowledge_search(args, call.kwargs)
            if call.tool_name == INSERT_INTO_MEMORY.name:
                return await self._insert_into_memory(args, call.kwargs)
        except StackError as exc:
            if exc.status_code >= 500:
                raise
            return ToolInvocationResult(error_message=exc.message, error_code=exc.status_code)
        raise NotFoundError(f"Tool '{call.tool_name}' is not a tool of group '{call.group.identifier}'.")

    async def _knowledge_search(self, args: GroupArgs, kwargs: Mapping[str, Any]) -> ToolInvocationResult:
        search = _parse(KnowledgeSearch, kwargs, "knowledge_search arguments")
        vector_db_ids = search.vector_db_ids or args.vector_db_ids
        if not vector_db_ids:
            raise BadRequestError(
                "knowledge_search has no vector DBs to search: register its tool group with "
                "args.vector_db_ids, or pass vector_db_ids.",
                param="vector_db_ids",
            )
        config = search.query_config or args.query_config or RagQueryConfig()
        result = await self._query(search.query, vector_db_ids, config)
        content = result.content or "knowledge_search tool found no chunks for this query."
        return ToolInvocationResult(content=content, metadata=result.metadata)

    async def _insert_into_memory(self, args: GroupArgs, kwargs: Mapping[str, Any]) -> ToolInvocationResult:
        fields = dict(kwargs)
        if "vector_db_id" not in fields and len(args.vector_db_ids) == 1:
            fields["vector_db_id"] = args.vector_db_ids[0]
        request = _parse(InsertDocumentsRequest, fields, "insert_into_memory arguments")
        await self.rag_tool_insert(request)
        ids = ", ".join(d.document_id for d in request.documents)
        return ToolInvocationResult(
            content=f"Inserted documents {ids} into vector DB {request.vector_db_id}."
        )

    # -- the RAG tool's routes -----------------------------------------------------------------

    async def rag_tool_insert(self, request: InsertDocumentsRequest) -> None:
        """Read every document (nothing is inserted if one is refused), insert their chunks, then
        delete chunks a previous version of a document had beyond its new ones."""
        repeated = [d for d, n in Counter(d.document_id for d in request.documents).items() if n > 1]
        if repeated:
            raise BadRequestError(f"Documents repeat ids: {', '.join(repeated)}.", param="documents")
        size = request.chunk_size_in_tokens
        overlap = int(size * self.config.chunk_overlap_ratio)
        texts = await asyncio.gather(*(self.reader.text(d) for d in request.documents))
        chunked = [
            document_chunks(d, t, size, overlap) for d, t in zip(request.documents, texts, strict=True)
        ]
        flat = [chunk for chunks in chunked for chunk in chunks]
        batch = self.config.insert_batch_size
        for start in range(0, len(flat), batch):
            await self.vector_io.insert(request.vector_db_id, flat[start : start + batch])
        for document, chunks in zip(request.documents, chunked, strict=True):
            await self._drop_stale(request.vector_db_id, document.document_id, chunks)

    async def _drop_stale(self, vector_db_id: str, document_id: str, kept: Iterable[Chunk]) -> None:
        chunks = list(kept)
        ids, probe = {c.chunk_id for c in chunks}, content_text(chunks[0].content)
        while True:
            found = await self.vector_io.query(
                vector_db_id, probe, max_chunks=_SCAN, filters={"document_id": document_id}
            )
            stale = [c.chunk_id for c in found.chunks if c.chunk_id and c.chunk_id not in ids]
            if stale:
                await self.vector_io.delete(vector_db_id, stale)
            if not stale or len(found.chunks) < _SCAN:
                return

    async def rag_tool_query(self, request: RagQueryRequest) -> RagQueryResult:
        return await self._query(
            request.content, request.vector_db_ids, request.query_config or RagQueryConfig()
        )

    async def _query(
        self, content: Content, vector_db_ids: list[str], config: RagQueryConfig
    ) -> RagQueryResult:
        check_template(config.chunk_template)
        text = await query_text(content, config, self.inference)
        databases = list(dict.fromkeys(vector_db_ids))
        replies = await asyncio.gather(
            *(
                self.vector_io.query(
                    db, text, max_chunks=config.max_chunks, mode=config.mode or "vector", ranker=config.ranker
                )
                for db in databases
            )
        )
        hits = [
            Hit(chunk, score)
            for reply in replies
            for chunk, score in zip(reply.chunks, reply.scores, strict=True)
        ]
        return frame(hits, config, content)
