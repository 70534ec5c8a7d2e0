"""From a query's content to the framed context a model reads.

The query text is the content's text parts joined by the default generator's ``separator``, or what
a model answers to the ``llm`` generator's ``template`` (``{{ messages }}`` in it replaced by the
content's text). Hits of every vector DB are merged by score, cut to ``max_chunks`` and then to
``max_tokens_in_context`` (each chunk's ``token_count`` + ``metadata_token_count``, as inserted, or
counted), and framed as the 0.2 line frames them: a header, one text item per chunk from
``chunk_template``, an end marker and a line asking the model to cite the documents it uses.

``chunk_template`` placeholders are checked before anything is queried: ``{index}`` (from 1),
``{chunk.content}``, ``{chunk.metadata}``, ``{chunk.chunk_id}`` and ``{metadata}`` (the chunk's
metadata without token counts); anything else is a 400, so a template cannot reach other attributes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from string import Formatter
from typing import Any, NamedTuple

from stack_core import BadRequestError, Chunk, InferenceClient, RagQueryConfig, RagQueryResult, content_text
from stack_core.apis.tool_runtime import Content
from stack_core.kits.documents import count_tokens

__all__ = ["Hit", "check_template", "frame", "query_text"]

PLACEHOLDERS = ("index", "chunk.content", "chunk.metadata", "chunk.chunk_id", "metadata")
_HIDDEN = ("token_count", "metadata_token_count")
_MESSAGES = re.compile(r"\{\{\s*messages\s*\}\}")


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float


class _ChunkView(NamedTuple):
    content: str
    metadata: dict[str, Any]
    chunk_id: str | None


def _parts(content: Content) -> list[str]:
    items = content if isinstance(content, list) else [content]
    return [text for text in (content_text(item) for item in items) if text]


async def query_text(content: Content, config: RagQueryConfig, inference: InferenceClient | None) -> str:
    """The text to search for (see the module docstring)."""
    generator = config.query_generator_config
    if generator.type == "default":
        text = generator.separator.join(_parts(content))
    else:
        if not _MESSAGES.search(generator.template):
            raise BadRequestError(
                "The llm query generator's template must contain {{ messages }}.",
                param="query_config.query_generator_config.template",
            )
        if inference is None:
            raise BadRequestError(
                "The llm query generator needs an inference provider (providers.inference).",
                param="query_config.query_generator_config",
            )
        prompt = _MESSAGES.sub(lambda _: "\n".join(_parts(content)), generator.template)
        text = (await inference.chat(generator.model, [{"role": "user", "content": prompt}])).text
    if not text.strip():
        raise BadRequestError("The query has no text to search for.", param="content")
    return text.strip()


def _template_error(message: str) -> BadRequestError:
    return BadRequestError(message, param="query_config.chunk_template", code="invalid_chunk_template")


def check_template(template: str) -> None:
    """Refuse a ``chunk_template`` with a placeholder other than ``PLACEHOLDERS`` (or a bad format)."""
    try:
        fields = [(name, spec) for _, name, spec, _ in Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise _template_error(f"chunk_template is not a valid template: {exc}.") from None
    for name, spec in fields:
        if name not in PLACEHOLDERS or "{" in (spec or ""):
            known = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            raise _template_error(f"chunk_template has an unknown placeholder {{{name}}}; use {known}.")


def _render(template: str, index: int, chunk: Chunk) -> str:
    shown = {k: v for k, v in chunk.metadata.items() if k not in _HIDDEN}
    view = _ChunkView(content_text(chunk.content), chunk.metadata, chunk.chunk_id)
    try:
        return template.format_map({"index": index, "chunk": view, "metadata": shown})
    except (ValueError, TypeError) as exc:  # a format spec that does not fit the value
        raise _template_error(f"chunk_template could not be applied: {exc}.") from None


def _tokens(chunk: Chunk) -> int:
    counted = chunk.metadata.get("token_count")
    own = counted if isinstance(counted, int) else count_tokens(content_text(chunk.content))
    extra = chunk.metadata.get("metadata_token_count")
    return own + (extra if isinstance(extra, int) else 0)


def frame(hits: Sequence[Hit], config: RagQueryConfig, content: Content) -> RagQueryResult:
    """The best hits within the budgets, framed for a model answering ``content``, with their
    document ids, texts and scores."""
    ranked = sorted(hits, key=lambda h: h.score, reverse=True)[: config.max_chunks]
    picked: list[Hit] = []
    tokens = 0
    for hit in ranked:
        tokens += _tokens(hit.chunk)
        if tokens > config.max_tokens_in_context:
            break
        picked.append(hit)
    metadata: dict[str, Any] = {
        "document_ids": [h.chunk.metadata.get("document_id") for h in picked],
        "chunks": [content_text(h.chunk.content) for h in picked],
        "scores": [h.score for h in picked],
    }
    if not picked:
        return RagQueryResult(content=None, metadata=metadata)
    header = f"knowledge_search tool found {len(picked)} chunks:\nBEGIN of knowledge_search tool results.\n"
    items = [header, *(_render(config.chunk_template, i, h.chunk) for i, h in enumerate(picked, 1))]
    items.append("END of knowledge_search tool results.\n")
    items.append(
        f'Answer the query "{" ".join(_parts(content))}" with the results above as supporting information only, and cite '
        "the document_id of each result you draw on.\n"
    )
    return RagQueryResult(content=[{"type": "text", "text": text} for text in items], metadata=metadata)
