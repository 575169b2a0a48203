"""How a web UI form page hands its input to a service and shows the refusal.

Every form page of the UI does the same thing on a POST: a valid form goes to one service call; a
ServiceError from it is shown on the form, next to the field it is about or above the form, with nothing
changed; the page then answers 400 so tests, scripts and the browser's history see that it was refused.
Written once here, the pages cannot drift apart in what they show and what they let through to
portal.ui.shortcuts.http_errors (which turns "not found" into a 404 page).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.errors import NotFound, ServiceError

T = TypeVar("T")

# Where a refusal goes on the form: a field name, None (above the form), or a choice made per error.
ErrorField = str | None | Callable[[ServiceError], str | None]


@dataclass(frozen=True)
class Done(Generic[T]):
    """The service ran; `value` is what it returned (which may itself be None, hence this box)."""

    value: T


def form_submit(request: HttpRequest, form: forms.BaseForm, call: Callable[[dict[str, Any]], T], *,
                field: ErrorField = None, raises: tuple[type[ServiceError], ...] = ()) -> Done[T] | None:
    """Run `call(form.cleaned_data)` when the request is a POST and the form is valid.

    A refusal (ServiceError) becomes an error on the form, so the user sees why and can fix the input;
    the answer is then None, as it is for a GET or an invalid form. NotFound is always let through:
    an object that vanished or is out of the caller's reach must look like no object (a 404 from
    http_errors), never like a message about it. A page whose other refusals mean "not yours" (a 403)
    rather than "fix your input" names them in `raises`.
    """
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        return Done(call(form.cleaned_data))
    except (NotFound, *raises):
        raise
    except ServiceError as exc:
        form.add_error(field(exc) if callable(field) else field, exc.message)
        return None


def form_page(request: HttpRequest, template: str, form: forms.BaseForm,
              context: Mapping[str, Any] | None = None) -> HttpResponse:
    """Render a form page (the form as `form`): 400 when the form shows errors, so a refused submission
    is never answered like a successful one."""
    return render(request, template, {"form": form, **(context or {})}, status=400 if form.errors else 200)
