"""Template tags of the web UI shell: navigation per role, the colour theme, and the form pattern.

`{% load portal_ui %}` then:
- `{% navigation as sections %}`: the sections and links the signed-in user may use (portal.ui.navigation).
- `{% theme %}`: "dark" or "light" when the visitor chose one (cookie), else "" so the page follows the
  browser's prefers-color-scheme. Rendered into <html data-theme> by the server, so the chosen theme is
  there before the first paint, with no flash and no inline script.
- `{% form_errors form %}` and `{% form_field form.name %}`: every form shows errors the same way, the
  non-field ones at the top and each field's next to it (linked by aria-describedby).
"""

from __future__ import annotations

from typing import Any

from django import template
from django.forms import BaseForm, BoundField
from django.template.context import Context

from portal.ui.navigation import Section, navigation_for

register = template.Library()

THEME_COOKIE = "theme"
THEMES = ("dark", "light")


@register.simple_tag(takes_context=True)
def navigation(context: Context) -> list[Section]:
    request = context.get("request")
    if request is None:
        return []
    match = getattr(request, "resolver_match", None)
    return navigation_for(request.user, match.view_name if match else "")


@register.simple_tag(takes_context=True)
def theme(context: Context) -> str:
    request = context.get("request")
    chosen = request.COOKIES.get(THEME_COOKIE, "") if request is not None else ""
    return chosen if chosen in THEMES else ""


@register.inclusion_tag("ui/_form_errors.html")
def form_errors(form: BaseForm) -> dict[str, Any]:
    """Non-field errors, and errors of hidden fields (which have no place of their own to show them)."""
    errors = list(form.non_field_errors())
    for field in form.hidden_fields():
        errors.extend(f"{field.label}: {error}" for error in field.errors)
    return {"errors": errors}


@register.inclusion_tag("ui/_field.html")
def form_field(field: BoundField) -> dict[str, Any]:
    return {"field": field}
