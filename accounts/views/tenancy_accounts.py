"""Web UI of accounts and their users (namespace `accounts`; routed by accounts.views.tenancy).

A door like the domain pages: forms parse, accounts.services_accounts / services_users / services_security
decide, selectors read within the caller's reach. Every state change is a POST with a CSRF token; the
destructive ones ask first (a confirmation page for deletes, which works without JavaScript, and a
confirm() prompt for disable and lock).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts.forms_tenancy import (
    AccountCreateForm,
    AccountEditForm,
    AccountFilterForm,
    PasswordResetForm,
    UserCreateForm,
    UserEditForm,
)
from accounts.models import Account, User
from accounts.selectors import domain_get, user_get
from accounts.selectors_tenancy import account_get, account_list_detailed, user_list_detailed
from accounts.services_accounts import (
    AccountProbe,
    account_create,
    account_delete,
    account_disable,
    account_enable,
    account_lock,
    account_update,
)
from accounts.services_security import PasswordRejected, user_password_change
from accounts.services_users import user_create, user_delete, user_disable, user_enable, user_update
from portal.authz import can
from portal.errors import ServiceError
from portal.models import AsyncJob
from portal.ui.access import requires
from portal.ui.forms import form_page, form_submit
from portal.ui.shortcuts import cmd_label, http_errors, pending_jobs_by_instance
from portal.ui.tables import Column, TableSpec, build_table, parse_query, render_table

ACCOUNT_INSTANCE_TYPE = "account"

ACCOUNT_TABLE = TableSpec(
    id="account-table",
    columns=(
        Column("name", gettext_lazy("Name"), ("name",)),
        Column("domain", gettext_lazy("Domain"), ("domain__path", "name")),
        Column("type", gettext_lazy("Type"), ("account_type",), css="hide-sm"),
        Column("role", gettext_lazy("Role"), ("role__name",), css="hide-md"),
        Column("state", gettext_lazy("State"), ("state",)),
        Column("users", gettext_lazy("Users"), css="hide-sm"),
        Column("created", pgettext_lazy("timestamp", "Created"), ("created",), css="hide-md"),
    ),
    default_sort="name",
    search_fields=("name", "domain__path"),
    search_placeholder=gettext_lazy("Search by account or domain"),
)

USER_TABLE = TableSpec(
    id="user-table",
    columns=(
        Column("username", gettext_lazy("User name"), ("username",)),
        Column("name", gettext_lazy("Name"), ("last_name", "first_name"), css="hide-sm"),
        Column("email", gettext_lazy("Email"), ("email",), css="hide-md"),
        Column("state", gettext_lazy("State"), ("is_active",)),
        Column("source", gettext_lazy("Source"), ("source",), css="hide-md"),
        Column("actions", gettext_lazy("Actions")),
    ),
    default_sort="username",
    search_fields=("username", "email", "first_name", "last_name"),
    search_placeholder=gettext_lazy("Search by name or email"),
)


# --- accounts ---------------------------------------------------------------------------------------------

def account_rows(accounts: list[Account]) -> list[dict[str, Any]]:
    """Each account with its number of users, counted from the users the selector prefetched."""
    return [{"account": account, "users": len(account.users.all())} for account in accounts]


@require_safe
@requires("account.manage")
@http_errors
def account_list(request: HttpRequest) -> HttpResponse:
    filter_form = AccountFilterForm(request.GET or None)
    state = account_type = domain = None
    if filter_form.is_valid():
        state = filter_form.cleaned_data["state"] or None
        account_type = filter_form.cleaned_data["account_type"]
        if filter_form.cleaned_data["domain"]:
            domain = domain_get(caller=request.user, domain_id=filter_form.cleaned_data["domain"])
    accounts = account_list_detailed(caller=request.user, state=state, account_type=account_type)
    if domain is not None:
        accounts = accounts.filter(domain=domain)
    table = build_table(ACCOUNT_TABLE, parse_query(request, ACCOUNT_TABLE), accounts, rows=account_rows)
    return render_table(request, table, "accounts/account_list.html", "accounts/account_table.html", {
        "filter_form": filter_form,
        "domain": domain,
        "can_create": can(request.user, "account.create"),
    })


@require_http_methods(["GET", "HEAD", "POST"])
@requires("account.create")
@http_errors
def account_add(request: HttpRequest) -> HttpResponse:
    """CloudStack's Add account. Picking an account type re-renders the role select (htmx) with the roles of
    that type; without JavaScript every role is offered, grouped by type, and the service checks the match."""
    caller = request.user
    if request.method == "POST":
        form = AccountCreateForm(request.POST, caller=caller)
    else:
        role_type_of = _account_type(request.GET.get("account_type")) if request.htmx else None
        initial = {"account_type": role_type_of if role_type_of is not None else Account.Type.USER}
        if request.GET.get("domain"):
            initial["domain"] = domain_get(caller=caller, domain_id=request.GET["domain"])
        form = AccountCreateForm(None, caller=caller, role_type_of=role_type_of, initial=initial)
    done = form_submit(request, form, lambda data: account_create(
        caller=caller, domain=data["domain"], name=data["name"], account_type=data["account_type"],
        role=data["role"], username=data["username"], password=data["password"], email=data["email"],
        first_name=data["first_name"], last_name=data["last_name"]))
    if done:
        messages.success(request, _("Created account %(name)s.") % {"name": done.value.name})
        return redirect("accounts:account_detail", account_id=done.value.uuid)
    return form_page(request, "accounts/account_form.html", form)


def _account_type(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if number in Account.Type.values else None


@dataclass(frozen=True)
class AccountAction:
    name: str
    label: str
    permission: str
    run: Callable[..., Account | AsyncJob]
    shown_in: tuple[str, ...]  # the account states the button is offered in
    done: str  # message once done or submitted; %(name)s is the account's name
    confirm: str = ""
    css: str = ""


ACCOUNT_ACTIONS: dict[str, AccountAction] = {action.name: action for action in (
    AccountAction("enable", gettext_lazy("Enable"), "account.enable", account_enable,
                  (Account.State.DISABLED, Account.State.LOCKED), gettext_lazy("Enabled account %(name)s."),
                  css="btn-primary"),
    AccountAction("disable", gettext_lazy("Disable"), "account.disable", account_disable,
                  (Account.State.ENABLED, Account.State.LOCKED), gettext_lazy("Disabling account %(name)s."),
                  confirm=gettext_lazy("Disable this account? Its users can no longer sign in and its running "
                                       "virtual machines are stopped.")),
    AccountAction("lock", gettext_lazy("Lock"), "account.lock", account_lock,
                  (Account.State.ENABLED,), gettext_lazy("Locked account %(name)s."),
                  confirm=gettext_lazy("Lock this account? Its users can no longer sign in; its virtual machines "
                                       "keep running.")),
)}


def account_actions(caller: User, account: Account) -> list[AccountAction]:
    return [action for action in ACCOUNT_ACTIONS.values()
            if account.state in action.shown_in and can(caller, action.permission, account)]


def user_rows(caller: User, users: list[User]) -> list[dict[str, Any]]:
    """Each user with the actions the caller may attempt on them (decided without further queries)."""
    return [{
        "user": user,
        "can_edit": can(caller, "user.update", user),
        "can_disable": user.is_active and can(caller, "user.disable", user),
        "can_enable": not user.is_active and can(caller, "user.enable", user),
        "can_password": user.source == "native" and can(caller, "user.password", user),
        "can_delete": can(caller, "user.delete", user),
    } for user in users]


@require_safe
@requires("account.manage")
@http_errors
def account_detail(request: HttpRequest, account_id: str) -> HttpResponse:
    caller = request.user
    account = account_get(caller=caller, account_id=account_id)
    pending = pending_jobs_by_instance(caller=caller, instance_type=ACCOUNT_INSTANCE_TYPE,
                                       instance_ids=[account.uuid]).get(str(account.uuid))
    table = build_table(USER_TABLE, parse_query(request, USER_TABLE),
                        user_list_detailed(caller=caller, account=account), rows=lambda users: user_rows(caller, users))
    return render_table(request, table, "accounts/account_detail.html", "accounts/user_table.html", {
        "account": account,
        "actions": account_actions(caller, account),
        "can_edit": can(caller, "account.update", account),
        "can_delete": can(caller, "account.delete", account),
        "can_add_user": can(caller, "user.create", AccountProbe(account.domain, account.pk)),
        "pending_job": pending,
        "pending_label": cmd_label(pending.cmd) if pending else "",
    })


@require_http_methods(["GET", "HEAD", "POST"])
@requires("account.update")
@http_errors
def account_edit(request: HttpRequest, account_id: str) -> HttpResponse:
    account = account_get(caller=request.user, account_id=account_id)
    form = AccountEditForm(request.POST if request.method == "POST" else None, caller=request.user, account=account)
    if form_submit(request, form, lambda data: account_update(
            caller=request.user, account=account, name=data["name"], role=data["role"])):
        messages.success(request, _("Saved account %(name)s.") % {"name": form.cleaned_data["name"]})
        return redirect("accounts:account_detail", account_id=account.uuid)
    return form_page(request, "accounts/account_edit.html", form, {"account": account})


@http_errors
def account_action(request: HttpRequest, account_id: str, action: str) -> HttpResponse:
    spec = ACCOUNT_ACTIONS[action]
    account = account_get(caller=request.user, account_id=account_id)  # out of reach: 404 before anything runs
    try:
        result = spec.run(caller=request.user, account=account)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("accounts:account_detail", account_id=account.uuid)
    messages.success(request, str(spec.done) % {"name": account.name})
    if isinstance(result, AsyncJob):
        return redirect("ui:job_detail", job_id=result.uuid)
    return redirect("accounts:account_detail", account_id=account.uuid)


def account_action_view(action: str) -> Callable[..., HttpResponse]:
    """The route of one account action: POST only, declaring the authz action it runs."""
    return require_POST(requires(ACCOUNT_ACTIONS[action].permission)(account_action))


@require_http_methods(["GET", "HEAD", "POST"])
@requires("account.delete")
@http_errors
def account_delete_view(request: HttpRequest, account_id: str) -> HttpResponse:
    """GET asks for confirmation; only the POST deletes, in a cleanup job."""
    account = account_get(caller=request.user, account_id=account_id)
    error = ""
    if request.method == "POST":
        try:
            job = account_delete(caller=request.user, account=account)
        except ServiceError as exc:
            error = exc.message
        else:
            messages.success(request, _("Deleting account %(name)s.") % {"name": account.name})
            return redirect("ui:job_detail", job_id=job.uuid)
    return render(request, "accounts/account_delete.html", {"account": account, "error": error},
                  status=400 if error else 200)


# --- users --------------------------------------------------------------------------------------------------

@require_http_methods(["GET", "HEAD", "POST"])
@requires("user.create")
@http_errors
def user_add(request: HttpRequest, account_id: str) -> HttpResponse:
    account = account_get(caller=request.user, account_id=account_id)
    form = UserCreateForm(request.POST if request.method == "POST" else None)
    done = form_submit(request, form, lambda data: user_create(
        caller=request.user, account=account, username=data["username"], password=data["password"],
        email=data["email"], first_name=data["first_name"], last_name=data["last_name"]))
    if done:
        messages.success(request, _("Created user %(name)s.") % {"name": done.value.username})
        return redirect("accounts:account_detail", account_id=account.uuid)
    return form_page(request, "accounts/user_form.html", form, {"account": account})


@require_http_methods(["GET", "HEAD", "POST"])
@requires("account.manage")  # an administrator's page; user_update checks the user itself
@http_errors
def user_edit(request: HttpRequest, user_id: str) -> HttpResponse:
    user = user_get(caller=request.user, user_id=user_id)
    form = UserEditForm(request.POST if request.method == "POST" else None, user=user)
    done = form_submit(request, form, lambda data: user_update(
        caller=request.user, user=user, username=data["username"], email=data["email"],
        first_name=data["first_name"], last_name=data["last_name"]))
    if done:
        messages.success(request, _("Saved user %(name)s.") % {"name": done.value.username})
        return redirect("accounts:account_detail", account_id=done.value.account.uuid)
    return form_page(request, "accounts/user_form.html", form, {"account": user.account, "edited": user})


@require_http_methods(["GET", "HEAD", "POST"])
@requires("account.manage")  # an administrator's page; user_password_change checks the user itself
@http_errors
def user_password(request: HttpRequest, user_id: str) -> HttpResponse:
    """An administrator sets a user's password (no current password needed); the user's sessions end."""
    user = user_get(caller=request.user, user_id=user_id)
    form = PasswordResetForm(request.POST if request.method == "POST" else None)
    if form_submit(request, form, lambda data: user_password_change(
            caller=request.user, user=user, password=data["password"]),
            field=lambda exc: "password" if isinstance(exc, PasswordRejected) and exc.field == "password" else None):
        messages.success(request, _("Set a new password for user %(name)s.") % {"name": user.username})
        return redirect("accounts:account_detail", account_id=user.account.uuid)
    response = form_page(request, "accounts/user_password.html", form, {"edited": user})
    response["Cache-Control"] = "no-store"
    return response


USER_SWITCHES = {"disable": (user_disable, gettext_lazy("Disabled user %(name)s.")),
                 "enable": (user_enable, gettext_lazy("Enabled user %(name)s."))}


@http_errors
def user_switch(request: HttpRequest, user_id: str, action: str) -> HttpResponse:
    run, done = USER_SWITCHES[action]
    user = user_get(caller=request.user, user_id=user_id)
    try:
        run(caller=request.user, user=user)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, str(done) % {"name": user.username})
    return redirect("accounts:account_detail", account_id=user.account.uuid)


@require_http_methods(["GET", "HEAD", "POST"])
@requires("user.delete")
@http_errors
def user_delete_view(request: HttpRequest, user_id: str) -> HttpResponse:
    """GET asks for confirmation; only the POST deletes."""
    user = user_get(caller=request.user, user_id=user_id)
    account = user.account
    error = ""
    if request.method == "POST":
        try:
            user_delete(caller=request.user, user=user)
        except ServiceError as exc:
            error = exc.message
        else:
            messages.success(request, _("Deleted user %(name)s.") % {"name": user.username})
            return redirect("accounts:account_detail", account_id=account.uuid)
    return render(request, "accounts/user_delete.html", {"edited": user, "account": account, "error": error},
                  status=400 if error else 200)


urlpatterns = [
    path("accounts/", account_list, name="account_list"),
    path("accounts/add/", account_add, name="account_add"),
    path("accounts/<str:account_id>/", account_detail, name="account_detail"),
    path("accounts/<str:account_id>/edit/", account_edit, name="account_edit"),
    *[path(f"accounts/<str:account_id>/{name}/", account_action_view(name), {"action": name},
           name=f"account_{name}") for name in ACCOUNT_ACTIONS],
    path("accounts/<str:account_id>/delete/", account_delete_view, name="account_delete"),
    path("accounts/<str:account_id>/users/add/", user_add, name="user_add"),
    path("users/<str:user_id>/edit/", user_edit, name="user_edit"),
    path("users/<str:user_id>/password/", user_password, name="user_password"),
    *[path(f"users/<str:user_id>/{name}/", require_POST(requires(f"user.{name}")(user_switch)), {"action": name},
           name=f"user_{name}") for name in USER_SWITCHES],
    path("users/<str:user_id>/delete/", user_delete_view, name="user_delete"),
]
