"""The Scoring API's dispatch: one request, functions of several providers.

``score`` resolves every named function first (all unknown ones are named in one 404), then calls
each function's provider with a ``ScoringCall`` (the request's parameters, else the registered
ones), the functions concurrently, and returns the results keyed as the request named them.
``score_batch`` reads the dataset's rows through the DatasetIO API, scores them the same way and,
with ``save_results_dataset``, registers a rows dataset holding each input row with one column per
function (its score row), as the current user.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from .apis.resources import DATASETS, SCORING_FUNCTIONS, RegisterDatasetRequest
from .apis.scoring import (
    ScoreBatchRequest,
    ScoreBatchResponse,
    ScoreRequest,
    ScoreResponse,
    ScoringCall,
    ScoringFnParams,
    ScoringResult,
)
from .calls import Handler
from .clients.datasetio import DatasetIOClient
from .clients.decode import decode_model
from .context import routed_resource
from .errors import (
    BadRequestError,
    NotFoundError,
    PluginError,
    ProviderReplyError,
    ProviderUnavailableError,
)
from .registries import checked, visible
from .resources import Dataset, RowsDataSource, ScoringFunction
from .routing import ApiBinding
from .spec import Route

__all__ = ["ScoringRouter"]

_PARAMS: TypeAdapter[Any] = TypeAdapter(ScoringFnParams)


class ScoringRouter:
    """Dispatch of the Scoring API (``ApiSpec.router``)."""

    def __init__(self, binding: ApiBinding) -> None:
        self.binding, self.view = binding, binding.view
        route = next(r for r in binding.spec.routes if r.name == "score")
        self._score = {pid: binding.provider_handler(pid, route, routed=True) for pid in binding.providers}
        self._datasetio: DatasetIOClient | None = None

    def handler(self, route: Route) -> Handler:
        handlers: dict[str, Handler] = {"score": self.score, "score_batch": self.score_batch}
        found = handlers.get(route.name)
        if found is None:
            raise PluginError(f"the scoring router has no handler for route {route.name!r}")
        return found

    async def _functions(self, names: Sequence[str]) -> list[ScoringFunction]:
        registry, kind = self.view.registry, SCORING_FUNCTIONS
        found = [registry.get(kind.type, n) or await registry.lookup(kind.type, n) for n in names]
        missing = [n for n, f in zip(names, found, strict=True) if f is None]
        if missing:
            known = sorted(r.identifier for r in visible(self.view, kind))
            raise NotFoundError(
                f"Scoring functions not found: {', '.join(missing)}. Registered scoring functions: "
                f"{', '.join(known[:30]) or 'none'}. Register one with POST {kind.path}.",
                param="scoring_functions",
                code="scoring_function_not_found",
            )
        functions = [
            checked(self.view, kind, f, n, "use", "scoring_functions")
            for n, f in zip(names, found, strict=True)
        ]
        return [f for f in functions if isinstance(f, ScoringFunction)]

    async def _call(
        self, function: ScoringFunction, params: Any, rows: Sequence[Mapping[str, Any]]
    ) -> ScoringResult:
        method = self._score.get(function.provider_id)
        if method is None:
            raise ProviderUnavailableError(
                f"Provider '{function.provider_id}' serving scoring function '{function.identifier}' is "
                "not running.",
                provider_id=function.provider_id,
            )
        if params is None and function.params is not None:
            try:
                params = _PARAMS.validate_python(function.params)
            except ValidationError as exc:
                raise BadRequestError(
                    f"Scoring function '{function.identifier}' is registered with invalid params: {exc}"
                ) from None
        token = routed_resource.set(function)
        try:
            result = decode_model(await method(ScoringCall(function, params, rows)), ScoringResult)
        finally:
            routed_resource.reset(token)
        if len(result.score_rows) != len(rows):
            raise ProviderReplyError(
                f"Provider '{function.provider_id}' scored {len(result.score_rows)} rows of {len(rows)} "
                f"with '{function.identifier}'.",
                provider_id=function.provider_id,
            )
        return result

    async def score_rows(
        self, rows: Sequence[Mapping[str, Any]], functions: Mapping[str, Any]
    ) -> dict[str, ScoringResult]:
        """Each named function's result over ``rows``, keyed by the names given."""
        names = list(functions)
        resolved = await self._functions(names)
        results = await asyncio.gather(
            *(self._call(f, functions[n], rows) for n, f in zip(names, resolved, strict=True))
        )
        return dict(zip(names, results, strict=True))

    async def score(self, request: ScoreRequest) -> ScoreResponse:
        return ScoreResponse(results=await self.score_rows(request.input_rows, request.scoring_functions))

    def _rows_api(self) -> DatasetIOClient:
        if self._datasetio is None:
            try:
                self._datasetio = DatasetIOClient(self.view.api("datasetio"))
            except KeyError:
                raise BadRequestError(
                    "score-batch reads a dataset: configure a datasetio provider (e.g. inline::localfs)."
                ) from None
        return self._datasetio

    async def score_batch(self, request: ScoreBatchRequest) -> ScoreBatchResponse:
        rows = [row async for row in self._rows_api().rows(request.dataset_id)]
        results = await self.score_rows(rows, request.scoring_functions)
        saved = await self._save(request.dataset_id, rows, results) if request.save_results_dataset else None
        return ScoreBatchResponse(results=results, dataset_id=saved)

    async def _save(
        self, source_id: str, rows: Sequence[Mapping[str, Any]], results: Mapping[str, ScoringResult]
    ) -> str:
        source = self.view.registry.get(DATASETS.type, source_id)
        purpose = source.purpose if isinstance(source, Dataset) else "eval/question-answer"
        scored = [
            {**row, **{name: result.score_rows[i] for name, result in results.items()}}
            for i, row in enumerate(rows)
        ]
        registration = RegisterDatasetRequest(
            dataset_id=f"{source_id}-scored-{uuid.uuid4().hex[:8]}",
            purpose=purpose,
            source=RowsDataSource(rows=scored),
            metadata={"scored_dataset_id": source_id, "scoring_functions": list(results)},
        )
        saved = await self.view.registry_service(DATASETS.plural).register(registration)
        return saved.identifier
