"""``inline::llama-guard``: shields judged by a Llama Guard model served through the Inference API.

A shield names its guard model by ``provider_shield_id`` (the seed's convention: the shield is
identified by the model) or ``params.model``; the model must be registered (``GET /v1/models``).
Shield params: ``model``, ``excluded_categories`` (codes ignored for this shield).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from stack_core import (
    BadRequestError,
    ModerationRequest,
    ModerationResponse,
    ModerationResult,
    NotFoundError,
    ProviderContext,
    ProviderError,
    ProviderReplyError,
    ProviderUnavailableError,
    RunShieldRequest,
    RunShieldResponse,
    SafetyViolation,
    Shield,
    moderation_id,
    moderation_result,
)

from .config import LlamaGuardConfig
from .prompt import Verdict, build_prompt, parse_verdict

PARAMS = ("model", "excluded_categories")
FAN_OUT = 8  # guard calls in flight for one moderation request


class LlamaGuardProvider:
    """The Safety protocol over a Llama Guard model reached through the inference router."""

    def __init__(self, config: LlamaGuardConfig, context: ProviderContext) -> None:
        self.config, self.context = config, context
        self.inference = context.inference

    # -- registration ---------------------------------------------------------------------------

    async def register_shield(self, shield: Shield) -> Shield:
        """Accept a shield only if its guard model is registered and its params are understood."""
        params = shield.params or {}
        unknown = sorted(set(params) - set(PARAMS))
        if unknown:
            raise BadRequestError(
                f"Shield '{shield.identifier}': unknown params {unknown}; Llama Guard shields take "
                f"{', '.join(PARAMS)}.",
                param="params",
            )
        self._excluded(params)
        model = self._model(shield)
        if self.context.resources.get("model", model) is None:
            known = [m.identifier for m in self.context.resources.list("model")]
            raise BadRequestError(
                f"Shield '{shield.identifier}' needs the Llama Guard model '{model}', which is not a "
                f"registered model. Registered models: {', '.join(sorted(known)) or 'none'}. Register "
                "it first (models: in the run config, or POST /v1/models), or name a registered model "
                "in provider_shield_id or params.model.",
                param="provider_shield_id",
            )
        return shield

    def _excluded(self, params: Mapping[str, Any]) -> set[str]:
        extra = params.get("excluded_categories") or []
        if not isinstance(extra, list) or not all(isinstance(c, str) for c in extra):
            raise BadRequestError("params.excluded_categories must be a list of codes.", param="params")
        unknown = sorted(set(extra) - set(self.config.categories))
        if unknown:
            raise BadRequestError(
                f"params.excluded_categories: unknown codes {unknown}; categories are "
                f"{', '.join(self.config.categories)}.",
                param="params",
            )
        return {*self.config.excluded_categories, *extra}

    @staticmethod
    def _model(shield: Shield) -> str:
        return str((shield.params or {}).get("model") or shield.provider_key)

    def _settings(self, identifier: str, provider_key: str) -> tuple[str, dict[str, str], set[str]]:
        """The guard model, the categories to prompt with and the excluded codes of a shield."""
        shield = self.context.resources.get("shield", identifier)
        params = (shield.params if isinstance(shield, Shield) else None) or {}
        excluded = self._excluded(params)
        categories = {c: n for c, n in self.config.categories.items() if c not in excluded}
        return str(params.get("model") or provider_key), categories, excluded

    # -- judging ------------------------------------------------------------------------------

    async def _judge(
        self, shield: str, model: str, categories: Mapping[str, str], messages: Sequence[Mapping[str, Any]]
    ) -> Verdict:
        prompt = [{"role": "user", "content": build_prompt(messages, categories)}]
        try:
            reply = await self.inference.chat(
                model, prompt, temperature=0.0, max_tokens=self.config.max_tokens
            )
        except ProviderReplyError as exc:
            raise ProviderError("The guard model's reply is not a chat completion.") from exc
        except NotFoundError as exc:
            raise ProviderUnavailableError(
                f"Shield '{shield}' cannot run: its Llama Guard model '{model}' is not available "
                f"({exc.message})",
                provider_id=self.context.provider_id,
            ) from None
        text = reply.text
        verdict = parse_verdict(text)
        if verdict is None:
            raise ProviderError(
                f"Llama Guard model '{model}' gave an unexpected reply {text[:200]!r}; expected 'safe', "
                "or 'unsafe' and a line of categories.",
                provider_id=self.context.provider_id,
            )
        return verdict

    async def run_shield(self, request: RunShieldRequest) -> RunShieldResponse:
        shield = request.shield_identifier
        model, categories, excluded = self._settings(shield, request.shield_id)
        codes = _violated(await self._judge(shield, model, categories, request.messages), excluded)
        if codes is None:
            return RunShieldResponse(violation=None)
        names = [self.config.categories.get(c, c) for c in codes]
        return RunShieldResponse(
            violation=SafetyViolation(
                violation_level=self.config.violation_level,
                user_message=self.config.user_message,
                metadata={"violation_type": ",".join(codes), "categories": names},
            )
        )

    async def run_moderation(self, request: ModerationRequest) -> ModerationResponse:
        shield = request.shield_identifier
        model, categories, excluded = self._settings(shield, request.model or shield)
        limit = asyncio.Semaphore(FAN_OUT)

        async def judge(text: str) -> Verdict:
            async with limit:
                return await self._judge(shield, model, categories, [{"role": "user", "content": text}])

        verdicts = await asyncio.gather(*(judge(t) for t in request.texts()))
        results = [self._result(v, excluded) for v in verdicts]
        return ModerationResponse(id=moderation_id(), model=shield, results=results)

    def _result(self, verdict: Verdict, excluded: set[str]) -> ModerationResult:
        mapping = self.config.moderation_categories
        codes = _violated(verdict, excluded)
        if codes is None:
            return moderation_result((), known=mapping)
        flagged = [name for name, wanted in mapping.items() if set(wanted) & set(codes)]
        mapped = {c for wanted in mapping.values() for c in wanted}
        flagged += [f"custom/{c.lower()}" for c in codes if c not in mapped]
        if not codes:  # "unsafe" without categories
            flagged.append("custom/unsafe")
        return moderation_result(
            flagged,
            known=mapping,
            user_message=self.config.user_message,
            metadata={"violation_type": ",".join(codes)},
        )


def _violated(verdict: Verdict, excluded: set[str]) -> list[str] | None:
    """The violated codes that count, or None when the verdict is safe (or only excluded codes)."""
    codes = [c for c in verdict.codes if c not in excluded]
    return None if not verdict.unsafe or (verdict.codes and not codes) else codes


def create_provider(config: LlamaGuardConfig, context: ProviderContext) -> LlamaGuardProvider:
    return LlamaGuardProvider(config, context)
