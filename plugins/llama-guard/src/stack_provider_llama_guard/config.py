"""Configuration of the Llama Guard provider; ``config: {}`` gives Llama Guard 3's defaults."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from stack_core import ConfigModel

LLAMA_GUARD_3_CATEGORIES: dict[str, str] = {
    "S1": "Violent Crimes",
    "S2": "Non-Violent Crimes",
    "S3": "Sex Crimes",
    "S4": "Child Exploitation",
    "S5": "Defamation",
    "S6": "Specialized Advice",
    "S7": "Privacy",
    "S8": "Intellectual Property",
    "S9": "Indiscriminate Weapons",
    "S10": "Hate",
    "S11": "Self-Harm",
    "S12": "Sexual Content",
    "S13": "Elections",
    "S14": "Code Interpreter Abuse",
}

# OpenAI moderation categories (and Stack's custom/* ones) -> the Llama Guard 3 codes behind them.
MODERATION_CATEGORIES: dict[str, list[str]] = {
    "violence": ["S1"],
    "violence/graphic": ["S1"],
    "harassment": ["S4"],
    "harassment/threatening": ["S1", "S4"],
    "hate": ["S10"],
    "hate/threatening": ["S1", "S10"],
    "illicit": ["S2"],
    "illicit/violent": ["S1", "S9"],
    "sexual": ["S3", "S12"],
    "sexual/minors": ["S4"],
    "self-harm": ["S11"],
    "self-harm/intent": ["S11"],
    "self-harm/instructions": ["S6", "S11"],
    "custom/defamation": ["S5"],
    "custom/specialized_advice": ["S6"],
    "custom/privacy": ["S7"],
    "custom/intellectual_property": ["S8"],
    "custom/weapons": ["S9"],
    "custom/elections": ["S13"],
    "custom/code_interpreter_abuse": ["S14"],
}


class LlamaGuardConfig(ConfigModel):
    categories: dict[str, str] = Field(
        default_factory=lambda: dict(LLAMA_GUARD_3_CATEGORIES),
        description="Unsafe-content categories put in the prompt, code -> name (or name and "
        "description), e.g. {'S1': 'Violent Crimes'}. Default: Llama Guard 3's S1..S14.",
    )
    excluded_categories: list[str] = Field(
        default_factory=list,
        description="Codes left out of the prompt and ignored in replies (per shield: params.excluded_categories).",
    )
    moderation_categories: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in MODERATION_CATEGORIES.items()},
        description="Moderation category -> the codes that flag it (/v1/moderations). Flagged codes "
        "no category names are reported as custom/<code>.",
    )
    user_message: str = Field(
        default="I can't answer that. Can I help with something else?",
        description="Message for the end user when a shield blocks.",
    )
    violation_level: Literal["info", "warn", "error"] = Field(
        default="error", description="Level of the violations this provider reports."
    )
    max_tokens: int = Field(default=20, gt=0, description="Tokens the guard model may answer with.")

    @model_validator(mode="after")
    def _known_codes(self) -> LlamaGuardConfig:
        unknown = sorted(set(self.excluded_categories) - set(self.categories))
        if unknown:
            raise ValueError(f"excluded_categories {unknown} are not in categories {sorted(self.categories)}")
        return self
