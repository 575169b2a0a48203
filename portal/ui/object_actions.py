"""The POST actions of an infrastructure object's page (a host, a storage pool), declared as data.

Each action names the service call it makes, the authz action it needs, when it applies to the object (so
the page offers only buttons that can work) and the message on success. Running one is the same for every
kind of object: a refusal is a message on the object's page with nothing changed, a job is followed to its
page, a deletion goes back to the list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.models import User
from portal.authz import can
from portal.errors import ServiceError
from portal.models import AsyncJob


@dataclass(frozen=True)
class ObjectAction:
    name: str
    label: str
    permission: str
    run: Callable[[User, Any, HttpRequest], object]
    is_valid_for: Callable[[Any], bool]
    done: str  # flash message; %(name)s is the object's name
    confirm: str = ""
    danger: bool = False
    route_prefix: str = ""  # the URL names are route_prefix + name ("ui:host_" + "cancel_maintenance")

    @property
    def route(self) -> str:
        return f"{self.route_prefix}{self.name.replace('-', '_')}"


def buttons_for(user: User, obj: object, actions: Mapping[str, ObjectAction],
                names: Iterable[str]) -> list[ObjectAction]:
    """The actions among `names` that apply to the object now and that the user may run."""
    return [actions[name] for name in names if actions[name].is_valid_for(obj) and can(user, actions[name].permission)]


def run_action(request: HttpRequest, spec: ObjectAction, obj: Any, *, detail_route: str, list_route: str,
               id_kwarg: str) -> HttpResponse:
    name = obj.name
    detail = redirect(detail_route, **{id_kwarg: obj.uuid})
    try:
        result = spec.run(request.user, obj, request)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return detail
    messages.success(request, str(spec.done) % {"name": name})
    if isinstance(result, AsyncJob):
        return redirect("ui:job_detail", job_id=result.uuid)
    if spec.name == "delete":
        return redirect(list_route)
    return detail
