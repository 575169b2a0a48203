"""Links from jobs to the objects they act on and produce.

A job's result names an object by type and id, door-neutrally; this door renders it as
{type, id, name, url}. Each app registers how to find its objects (scoped to the caller, in one query
for a whole page of jobs) and which REST view shows them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from rest_framework.request import Request
from rest_framework.reverse import reverse

from accounts.models import User

# (caller, ids) -> {id: display name} for the ids the caller may see.
NameResolver = Callable[[User, set[str]], dict[str, str]]


@dataclass(frozen=True)
class ResourceKind:
    view_name: str
    names: NameResolver


_KINDS: dict[str, ResourceKind] = {}


def register_resource(object_type: str, *, view_name: str, names: NameResolver) -> None:
    _KINDS[object_type] = ResourceKind(view_name=view_name, names=names)


def resolve_names(caller: User, refs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Display names of the referenced objects the caller may see: one query per object type."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for object_type, object_id in refs:
        if object_type in _KINDS and object_id:
            wanted[object_type].add(object_id)
    names: dict[tuple[str, str], str] = {}
    for object_type, ids in wanted.items():
        for object_id, name in _KINDS[object_type].names(caller, ids).items():
            names[(object_type, object_id)] = name
    return names


def render_ref(request: Request, names: dict[tuple[str, str], str], object_type: str,
               object_id: str) -> dict[str, Any]:
    """The summary of a referenced object; name and url are null when the caller cannot see it
    (any more), so no link leads to a 404."""
    name = names.get((object_type, object_id))
    url = None
    if name is not None:
        url = reverse(_KINDS[object_type].view_name, kwargs={"id": object_id}, request=request)
    return {"type": object_type, "id": object_id, "name": name, "url": url}
