"""Conformance suites and helpers for provider packages, ours or a third party's.

A provider package's tests subclass a suite and supply one fixture, ``target``, returning a
``Target`` (a running Stack's URL and the resource ids to exercise)::

    from stack_core.testing import InferenceConformance, Target

    class TestVLLM(InferenceConformance):
        @pytest.fixture
        def target(self, my_stack_url):
            return Target(url=my_stack_url, chat_model="m", embedding_model="e")

``StackServer`` runs ``stack run`` on a free port for such tests (real sockets, real Hypercorn).
"""

from .inference import (
    ChatConformance,
    CompletionsConformance,
    EmbeddingsConformance,
    InferenceConformance,
    StructuredOutputConformance,
    ToolsConformance,
)
from .safety import SafetyConformance
from .server import StackServer, free_port
from .target import Target
from .tool_runtime import ToolRuntimeConformance
from .vector_io import VectorIOConformance

__all__ = [
    "ChatConformance",
    "CompletionsConformance",
    "EmbeddingsConformance",
    "InferenceConformance",
    "SafetyConformance",
    "StackServer",
    "StructuredOutputConformance",
    "Target",
    "ToolRuntimeConformance",
    "ToolsConformance",
    "VectorIOConformance",
    "free_port",
]
