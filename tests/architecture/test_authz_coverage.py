"""Every entry point of every door goes through portal.authz: each CloudStack command, REST endpoint and UI URL
registered declares the authz action it enforces (or is explicitly public), and that action exists."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

from portal import authz
from portal.cloudstack import registry

CLOUDSTACK_ENDPOINT = "client/api"


@dataclass(frozen=True)
class Endpoint:
    route: str
    callback: object


def endpoints(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[Endpoint]:
    for pattern in (resolver or get_resolver()).url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from endpoints(pattern, route)
        elif isinstance(pattern, URLPattern):
            yield Endpoint(route, pattern.callback)


def declared(endpoint: Endpoint) -> dict[str, str | None]:
    """What each entry point (viewset action, HTTP method or the whole view) declares."""
    callback = endpoint.callback
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if getattr(callback, "actions", None):  # a DRF viewset route: method -> viewset action
        table = getattr(cls, "authz_actions", {}) or {}
        return {action: table.get(action) or table.get("*") for action in callback.actions.values()}
    if cls is not None and hasattr(cls, "authz_actions"):
        table = cls.authz_actions or {}
        methods = [m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)]
        return {method: table.get(method) or table.get("*") for method in methods}
    return {"*": getattr(callback, "authz_action", None) or getattr(cls, "authz_action", None)}


def is_valid(action: str | None) -> bool:
    return action == authz.PUBLIC or action in authz.ACTIONS


def test_every_url_declares_a_known_authz_action():
    missing = []
    for endpoint in endpoints():
        if endpoint.route.startswith(CLOUDSTACK_ENDPOINT):
            continue  # one URL, many commands: checked command by command below
        for entry, action in declared(endpoint).items():
            if not is_valid(action):
                missing.append(f"{endpoint.route} [{entry}] -> {action!r}")
    assert missing == []


def test_every_cloudstack_command_declares_a_known_authz_action():
    commands = registry.all_commands()
    assert len(commands) >= 10
    missing = [f"{c.name} -> {c.action!r}" for c in commands
               if not (is_valid(c.action) or (c.action is None and not c.requires_auth))]
    assert missing == []


def test_the_three_doors_are_all_walked():
    routes = [e.route for e in endpoints()]
    assert any(r.startswith(CLOUDSTACK_ENDPOINT) for r in routes)
    assert sum(r.startswith("api/v1/") for r in routes) >= 5
    assert any(r.startswith("vms/") for r in routes)
