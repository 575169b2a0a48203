"""Web UI of roles and their rule editor (namespace `accounts`).

A door like the other administration pages: forms parse, accounts.services_roles decides, selectors read.
The rule editor works with plain POST forms and CSRF tokens (add a rule, switch allow/deny, move up or down,
delete), each answered with a redirect back to the role, so it needs no JavaScript.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.forms_roles import RoleCreateForm, RoleForm, RuleForm
from accounts.roles import Role, RolePermission
from accounts.selectors_roles import role_get, role_list, role_permission_get, role_permission_list
from accounts.services_roles import (
    role_create,
    role_delete,
    role_permission_create,
    role_permission_delete,
    role_permission_move,
    role_permission_update,
    role_update,
)
from portal.authz import can
from portal.errors import NotFound, PermissionDenied, ServiceError
from portal.ui.access import requires
from portal.ui.forms import form_page, form_submit
from portal.ui.shortcuts import http_errors
from portal.ui.tables import Column, TableSpec, build_table, parse_query, render_table

ROLE_TABLE = TableSpec(
    id="role-table",
    columns=(
        Column("name", gettext_lazy("Name"), ("name",)),
        Column("type", gettext_lazy("Role type"), ("role_type", "name")),
        Column("builtin", gettext_lazy("Built-in"), ("-is_default", "name"), css="hide-sm"),
        Column("rules", gettext_lazy("Rules"), ("rule_count",), css="hide-sm"),
        Column("accounts", gettext_lazy("Accounts"), ("account_count",), css="hide-sm"),
        Column("description", gettext_lazy("Description"), css="hide-md"),
        Column("created", pgettext_lazy("timestamp", "Created"), ("created",), css="hide-md"),
    ),
    default_sort="name",
    search_fields=("name", "description"),
    search_placeholder=gettext_lazy("Search by name or description"),
)


def _refused(request: HttpRequest, exc: ServiceError) -> None:
    """A refusal other than "not yours" is shown on the page the action came from."""
    if isinstance(exc, NotFound | PermissionDenied):
        raise exc
    messages.error(request, exc.message)


@require_safe
@requires("role.list")
@http_errors
def role_list_view(request: HttpRequest) -> HttpResponse:
    table = build_table(ROLE_TABLE, parse_query(request, ROLE_TABLE), role_list(caller=request.user))
    return render_table(request, table, "accounts/role_list.html", "accounts/role_table.html", {
        "can_create": can(request.user, "role.create"),
    })


@require_http_methods(["GET", "HEAD", "POST"])
@requires("role.create")
@http_errors
def role_add(request: HttpRequest) -> HttpResponse:
    form = RoleCreateForm(request.POST if request.method == "POST" else None, caller=request.user)
    done = form_submit(request, form, lambda data: role_create(
        caller=request.user, name=data["name"], role_type=data["role_type"], description=data["description"],
        source=data["source"]))
    if done:
        messages.success(request, _("Created role %(name)s.") % {"name": done.value.name})
        return redirect("accounts:role_detail", role_id=done.value.uuid)
    return form_page(request, "accounts/role_form.html", form)


def _editor(request: HttpRequest, role: Role, rule_form: RuleForm | None = None, status: int = 200
            ) -> HttpResponse:
    """The role page: its properties and its rules in evaluation order, editable where the caller may."""
    caller = request.user
    editable = not role.is_default
    rules = list(role_permission_list(caller=caller, role=role))
    context: dict[str, Any] = {
        "role": role,
        "rules": rules,
        "rule_form": rule_form or RuleForm(),
        "can_add_rule": editable and can(caller, "role.permission.create"),
        "can_change_rule": editable and can(caller, "role.permission.update"),
        "can_delete_rule": editable and can(caller, "role.permission.delete"),
        "can_edit": editable and can(caller, "role.update"),
        "can_delete": editable and can(caller, "role.delete"),
    }
    return render(request, "accounts/role_detail.html", context, status=status)


@require_safe
@requires("role.permission.list")
@http_errors
def role_detail(request: HttpRequest, role_id: str) -> HttpResponse:
    return _editor(request, role_get(caller=request.user, role_id=role_id))


@require_http_methods(["GET", "HEAD", "POST"])
@requires("role.update")
@http_errors
def role_edit(request: HttpRequest, role_id: str) -> HttpResponse:
    role = role_get(caller=request.user, role_id=role_id)
    initial = {"name": role.name, "role_type": role.role_type, "description": role.description}
    form = RoleForm(request.POST if request.method == "POST" else None, initial=initial)
    done = form_submit(request, form, lambda data: role_update(
        caller=request.user, role=role, name=data["name"], role_type=data["role_type"],
        description=data["description"]))
    if done:
        messages.success(request, _("Saved role %(name)s.") % {"name": done.value.name})
        return redirect("accounts:role_detail", role_id=done.value.uuid)
    return form_page(request, "accounts/role_edit.html", form, {"role": role})


@require_http_methods(["GET", "HEAD", "POST"])
@requires("role.delete")
@http_errors
def role_delete_view(request: HttpRequest, role_id: str) -> HttpResponse:
    """GET asks for confirmation; only the POST deletes."""
    role = role_get(caller=request.user, role_id=role_id)
    error = ""
    if request.method == "POST":
        try:
            role_delete(caller=request.user, role=role)
        except ServiceError as exc:
            if isinstance(exc, NotFound):
                raise
            error = exc.message
        else:
            messages.success(request, _("Deleted role %(name)s.") % {"name": role.name})
            return redirect("accounts:role_list")
    return render(request, "accounts/role_delete.html", {"role": role, "error": error},
                  status=400 if error else 200)


# --- the rule editor ------------------------------------------------------------------------------------

@require_POST
@requires("role.permission.create")
@http_errors
def role_rule_add(request: HttpRequest, role_id: str) -> HttpResponse:
    role = role_get(caller=request.user, role_id=role_id)
    form = RuleForm(request.POST)
    # Rules of a built-in role cannot be changed, and the page offers no editor for them: a 403, as for
    # the other rule actions (_refused), not a form error.
    done = form_submit(request, form, lambda data: role_permission_create(
        caller=request.user, role=role, rule=data["rule"], permission=data["permission"],
        description=data["description"]), field="rule", raises=(PermissionDenied,))
    if done:
        messages.success(request, _("Added the rule %(permission)s %(rule)s.") % {
            "permission": done.value.get_permission_display(), "rule": done.value.rule})
        return redirect("accounts:role_detail", role_id=role.uuid)
    return _editor(request, role, rule_form=form, status=400)


def _rule(request: HttpRequest, role_id: str, rule_id: str) -> RolePermission:
    role = role_get(caller=request.user, role_id=role_id)
    rule = role_permission_get(caller=request.user, permission_id=rule_id)
    if rule.role_id != role.pk:
        raise NotFound()
    return rule


@require_POST
@requires("role.permission.update")
@http_errors
def role_rule_permission(request: HttpRequest, role_id: str, rule_id: str) -> HttpResponse:
    """Set one rule to allow or deny (the `permission` field of the POST)."""
    rule = _rule(request, role_id, rule_id)
    try:
        role_permission_update(caller=request.user, rule=rule, permission=request.POST.get("permission", ""))
    except ServiceError as exc:
        _refused(request, exc)
    return redirect("accounts:role_detail", role_id=rule.role.uuid)


@require_POST
@requires("role.permission.update")
@http_errors
def role_rule_move(request: HttpRequest, role_id: str, rule_id: str) -> HttpResponse:
    """Move one rule up or down (the `direction` field of the POST) by one place."""
    rule = _rule(request, role_id, rule_id)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        messages.error(request, _("Move a rule up or down."))
    else:
        try:
            role_permission_move(caller=request.user, rule=rule, up=direction == "up")
        except ServiceError as exc:
            _refused(request, exc)
    return redirect("accounts:role_detail", role_id=rule.role.uuid)


@require_POST
@requires("role.permission.delete")
@http_errors
def role_rule_delete(request: HttpRequest, role_id: str, rule_id: str) -> HttpResponse:
    rule = _rule(request, role_id, rule_id)
    try:
        role_permission_delete(caller=request.user, rule=rule)
    except ServiceError as exc:
        _refused(request, exc)
    else:
        messages.success(request, _("Deleted the rule %(rule)s.") % {"rule": rule.rule})
    return redirect("accounts:role_detail", role_id=rule.role.uuid)


urlpatterns = [
    path("roles/", role_list_view, name="role_list"),
    path("roles/add/", role_add, name="role_add"),
    path("roles/<str:role_id>/", role_detail, name="role_detail"),
    path("roles/<str:role_id>/edit/", role_edit, name="role_edit"),
    path("roles/<str:role_id>/delete/", role_delete_view, name="role_delete"),
    path("roles/<str:role_id>/rules/", role_rule_add, name="role_rule_add"),
    path("roles/<str:role_id>/rules/<str:rule_id>/permission/", role_rule_permission, name="role_rule_permission"),
    path("roles/<str:role_id>/rules/<str:rule_id>/move/", role_rule_move, name="role_rule_move"),
    path("roles/<str:role_id>/rules/<str:rule_id>/delete/", role_rule_delete, name="role_rule_delete"),
]
