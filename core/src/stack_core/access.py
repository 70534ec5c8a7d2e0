"""Attribute-based access control: who may create, read, use, update or delete a resource.

With no policy configured the default applies:

- a user with ``admin`` in ``roles`` may do anything;
- an unowned resource belongs to the stack (the operator): the run config's resources, those a
  provider lists, and what was registered while auth was off. Every user may read and use it;
  only an admin may update or delete it;
- an owned resource is open to its owner and to users sharing at least one attribute value with
  the owner under the same key (a role, team, project or namespace). With ``server.auth.access_policy`` the rules are
evaluated in order and the first that matches decides; if none matches, access is denied::

    access_policy:
    - permit: {principal: admin, actions: [create, read, use, update, delete]}
    - forbid: {actions: [delete], resource: "model::*"}
      when: user is not owner
    - permit: {actions: [read, use]}
      when: user in owners teams

Rules whose resource is ``route::<glob>`` guard HTTP routes instead (any action; a route no such
rule matches stays open): ``{forbid: {actions: [use], resource: "route::/v1/providers*"}, unless:
"user with admin in roles"}``.

Conditions: ``user is owner``, ``user is not owner``, ``user in owners <attr>``,
``user not in owners <attr>``, ``user with <value> in <attr>``, ``resource is unowned``.
Every check in the kernel goes through ``AccessPolicy.allows`` — one place, not per route.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import ConfigError
from .resources import User

__all__ = ["AccessPolicy", "AccessRule", "Action", "Owned"]

Action = Literal["create", "read", "use", "update", "delete"]
ADMIN_ROLE = "admin"
SHARED_ACTIONS: frozenset[Action] = frozenset({"create", "read", "use"})


class Owned(Protocol):
    """Anything access control applies to: resources and providers' stored objects."""

    @property
    def type(self) -> str: ...

    @property
    def identifier(self) -> str: ...

    @property
    def owner(self) -> User | None: ...


Condition = Callable[[User, Owned], bool]


class RuleScope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    principal: str | None = Field(default=None, description="Only this principal (default: anyone).")
    actions: list[Action] = Field(description="Actions the rule covers.")
    resource: str | None = Field(default=None, description='"<type>::<id>", "<type>::*" or "*".')


class AccessRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    permit: RuleScope | None = None
    forbid: RuleScope | None = None
    when: str | list[str] | None = None
    unless: str | list[str] | None = None
    description: str | None = None

    @model_validator(mode="after")
    def _one_effect(self) -> AccessRule:
        if (self.permit is None) == (self.forbid is None):
            raise ValueError("a rule has exactly one of permit or forbid")
        return self

    @property
    def scope(self) -> RuleScope:
        scope = self.permit or self.forbid
        assert scope is not None
        return scope


def _shared(user: User, owner: User, key: str | None = None) -> bool:
    keys = [key] if key else owner.attributes.keys()
    return any(set(user.attributes.get(k, ())) & set(owner.attributes.get(k, ())) for k in keys)


def _default(user: User, action: Action, resource: Owned) -> bool:
    """The policy without rules (see the module docstring)."""
    if ADMIN_ROLE in user.attributes.get("roles", ()):
        return True
    owner = resource.owner
    if owner is None:
        return action in SHARED_ACTIONS
    return owner.principal == user.principal or _shared(user, owner)


def _condition(text: str) -> Condition:
    text = " ".join(text.split())
    if text == "user is owner":
        return lambda u, r: r.owner is not None and r.owner.principal == u.principal
    if text == "user is not owner":
        return lambda u, r: r.owner is None or r.owner.principal != u.principal
    if text == "resource is unowned":
        return lambda u, r: r.owner is None
    if m := re.fullmatch(r"user (in|not in) owners (\w+)", text):
        negate, key = m.group(1) == "not in", m.group(2)
        return lambda u, r: (r.owner is not None and _shared(u, r.owner, key)) != negate
    if m := re.fullmatch(r"user with (\S+) in (\w+)", text):
        value, key = m.group(1), m.group(2)
        return lambda u, r: value in u.attributes.get(key, ())
    raise ConfigError(f"access_policy: unknown condition {text!r}")


def _conditions(value: str | list[str] | None) -> list[Condition]:
    return [_condition(c) for c in ([value] if isinstance(value, str) else value or [])]


class _Compiled:
    def __init__(self, rule: AccessRule) -> None:
        self.permit = rule.permit is not None
        scope = rule.scope
        self.principal, self.actions = scope.principal, frozenset(scope.actions)
        self.type, _, self.identifier = (scope.resource or "*::*").partition("::")
        if scope.resource == "*":
            self.type, self.identifier = "*", "*"
        self.when, self.unless = _conditions(rule.when), _conditions(rule.unless)

    def matches(self, user: User, action: Action, resource: Owned) -> bool:
        if action not in self.actions or (self.principal and self.principal != user.principal):
            return False
        if self.type not in ("*", resource.type) or self.identifier not in ("*", "", resource.identifier):
            return False
        return all(c(user, resource) for c in self.when) and not any(c(user, resource) for c in self.unless)

    def matches_route(self, user: User, route: _Route) -> bool:
        if self.principal and self.principal != user.principal:
            return False
        if not fnmatch.fnmatchcase(route.identifier, self.identifier or "*"):
            return False
        return all(c(user, route) for c in self.when) and not any(c(user, route) for c in self.unless)


class _Route:
    __slots__ = ("identifier",)
    type = "route"
    owner = None

    def __init__(self, path: str) -> None:
        self.identifier = path


class AccessPolicy:
    """Decides access to resources (and any stored object carrying an ``owner``)."""

    def __init__(self, rules: Iterable[AccessRule] = ()) -> None:
        compiled = [_Compiled(r) for r in rules]
        self.rules = [r for r in compiled if r.type != "route"]
        self.route_rules = [r for r in compiled if r.type == "route"]

    @classmethod
    def from_config(cls, raw: list[dict[str, object]]) -> AccessPolicy:
        rules = []
        for index, entry in enumerate(raw):
            try:
                rules.append(AccessRule.model_validate(entry))
            except ValueError as exc:
                raise ConfigError(f"server.auth.access_policy[{index}] is invalid: {exc}") from None
        return cls(rules)

    def allows(self, user: User | None, action: Action, resource: Owned) -> bool:
        if user is None:
            return True
        for rule in self.rules:
            if rule.matches(user, action, resource):
                return rule.permit
        if self.rules:
            return False
        return _default(user, action, resource)

    def allows_route(self, user: User, path: str) -> bool:
        """Route-level rules (``resource: "route::/v1/providers*"``, a glob): the first matching
        rule decides; a route no rule matches is allowed."""
        route = _Route(path)
        for rule in self.route_rules:
            if rule.matches_route(user, route):
                return rule.permit
        return True
