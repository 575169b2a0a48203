"""Web UI of the LDAP settings (namespace `accounts`, root admins only): the servers users log in against,
the links from LDAP groups and OUs to accounts, and a live look at a server's users to test it.

A door: forms parse, accounts.services and accounts.selectors decide. The bind password is a write-only
field: it is never put back into a page, not even into the form after an error.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from accounts import services
from accounts.models import Account, Domain, LdapLink, User
from accounts.selectors import (
    domain_list,
    ldap_configuration_get,
    ldap_configuration_list,
    ldap_directory_user_list,
    ldap_link_list,
)
from portal.errors import ServiceError
from portal.ui.access import requires
from portal.ui.forms import form_page, form_submit
from portal.ui.shortcuts import http_errors
from portal.ui.tables import Column, TableSpec, build_table, parse_query, render_table

CONFIGURATION_TABLE = TableSpec(
    id="ldap-table",
    columns=(
        Column("hostname", gettext_lazy("Host"), ("hostname", "port")),
        Column("domain", gettext_lazy("Domain"), ("domain__path",)),
        Column("base_dn", gettext_lazy("Base DN"), ("base_dn",), css="hide-md"),
        Column("bind_dn", gettext_lazy("Bind DN"), ("bind_dn",), css="hide-md"),
        Column("created", pgettext_lazy("timestamp", "Created"), ("created",), css="hide-sm"),
        Column("actions", gettext_lazy("Actions")),
    ),
    default_sort="hostname",
    search_fields=("hostname", "base_dn", "bind_dn", "domain__path"),
    search_placeholder=gettext_lazy("Search by host, DN or domain"),
)

LINK_TABLE = TableSpec(
    id="ldap-link-table",
    columns=(
        Column("domain", gettext_lazy("Domain"), ("domain__path",)),
        Column("type", gettext_lazy("Type"), ("type",)),
        Column("name", gettext_lazy("Distinguished name"), ("name",)),
        Column("account", gettext_lazy("Account"), ("account_name",)),
        Column("account_type", gettext_lazy("Account type"), ("account_type",), css="hide-sm"),
    ),
    default_sort="domain",
    search_fields=("domain__path", "name", "account_name"),
    search_placeholder=gettext_lazy("Search by domain, DN or account"),
)


class DomainChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Domain) -> str:
        return obj.cloudstack_path


class LdapConfigurationForm(forms.Form):
    hostname = forms.CharField(label=gettext_lazy("Host name"), max_length=255)
    port = forms.IntegerField(label=gettext_lazy("Port"), min_value=1, max_value=65535, initial=389)
    domain = DomainChoiceField(label=gettext_lazy("Domain"), queryset=Domain.objects.none(), required=False,
                               empty_label=gettext_lazy("All domains"),
                               help_text=gettext_lazy("All domains: every domain without a server of its own."))
    base_dn = forms.CharField(label=gettext_lazy("Base DN"), max_length=1024, required=False,
                              help_text=gettext_lazy("Users and groups are searched under this DN."))
    bind_dn = forms.CharField(label=gettext_lazy("Bind DN"), max_length=1024, required=False,
                              help_text=gettext_lazy("The portal binds as this DN to search the directory."))
    bind_password = forms.CharField(label=gettext_lazy("Bind password"), required=False, strip=False,
                                    widget=forms.PasswordInput(render_value=False),
                                    help_text=gettext_lazy("Stored encrypted; never shown again."))
    username_attribute = forms.CharField(label=gettext_lazy("User name attribute"), max_length=64, initial="uid")
    start_tls = forms.BooleanField(label=gettext_lazy("Use StartTLS"), required=False)

    def __init__(self, *args: object, caller: User, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["domain"].queryset = domain_list(caller=caller)


class LdapLinkForm(forms.Form):
    domain = DomainChoiceField(label=gettext_lazy("Domain"), queryset=Domain.objects.none())
    type = forms.ChoiceField(label=gettext_lazy("Type"), choices=LdapLink.Type.choices)
    name = forms.CharField(label=gettext_lazy("Distinguished name"), max_length=1024,
                           help_text=gettext_lazy("The group's DN (its members log in) or the OU's DN (every "
                                                  "user below it logs in)."))
    account_name = forms.CharField(label=gettext_lazy("Account"), max_length=255,
                                   help_text=gettext_lazy("Created at the first login if it does not exist."))
    account_type = forms.TypedChoiceField(
        label=gettext_lazy("Account type"), coerce=int, initial=Account.Type.USER,
        choices=[(Account.Type.USER, Account.Type.USER.label),
                 (Account.Type.DOMAIN_ADMIN, Account.Type.DOMAIN_ADMIN.label)])

    def __init__(self, *args: object, caller: User, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["domain"].queryset = domain_list(caller=caller)


@require_safe
@requires("ldap.list")
@http_errors
def ldap_list(request: HttpRequest) -> HttpResponse:
    table = build_table(CONFIGURATION_TABLE, parse_query(request, CONFIGURATION_TABLE),
                        ldap_configuration_list(caller=request.user))
    return render_table(request, table, "accounts/ldap_list.html", "accounts/ldap_table.html")


@require_http_methods(["GET", "HEAD", "POST"])
@requires("ldap.configure")
@http_errors
def ldap_add(request: HttpRequest) -> HttpResponse:
    form = LdapConfigurationForm(request.POST if request.method == "POST" else None, caller=request.user)
    done = form_submit(request, form, lambda data: services.ldap_configuration_add(
        caller=request.user, hostname=data["hostname"].strip(), port=data["port"], domain=data["domain"],
        bind_dn=data["bind_dn"].strip(), bind_password=data["bind_password"],
        base_dn=data["base_dn"].strip(), username_attribute=data["username_attribute"].strip(),
        start_tls=data["start_tls"]))
    if done:
        messages.success(request, _("Added LDAP server %(uri)s.") % {"uri": done.value.uri})
        return redirect("accounts:ldap_list")
    return form_page(request, "accounts/ldap_form.html", form)


@require_http_methods(["GET", "HEAD", "POST"])
@requires("ldap.configure")
@http_errors
def ldap_delete(request: HttpRequest, configuration_id: str) -> HttpResponse:
    """GET asks for confirmation; only the POST deletes."""
    configuration = ldap_configuration_get(caller=request.user, configuration_id=configuration_id)
    if request.method == "POST":
        uri = configuration.uri
        try:
            services.ldap_configuration_delete(caller=request.user, configuration=configuration)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Deleted LDAP server %(uri)s.") % {"uri": uri})
        return redirect("accounts:ldap_list")
    return render(request, "accounts/ldap_confirm_delete.html", {"configuration": configuration})


@require_safe
@requires("ldap.list")
@http_errors
def ldap_users(request: HttpRequest, configuration_id: str) -> HttpResponse:
    """Test a server by reading its users live. It asks the server that serves the configuration's domain
    (the global one for "all domains"), as logins do. A server that cannot be reached is a message on the
    page, never an error page."""
    configuration = ldap_configuration_get(caller=request.user, configuration_id=configuration_id)
    people, error = [], ""
    try:
        people = ldap_directory_user_list(caller=request.user, domain=configuration.domain)
    except ServiceError as exc:
        error = exc.message
    return render(request, "accounts/ldap_users.html", {"configuration": configuration, "people": people,
                                                        "error": error})


@require_safe
@requires("ldap.list")
@http_errors
def ldap_link_list_view(request: HttpRequest) -> HttpResponse:
    table = build_table(LINK_TABLE, parse_query(request, LINK_TABLE), ldap_link_list(caller=request.user))
    return render_table(request, table, "accounts/ldap_links.html", "accounts/ldap_link_table.html")


@require_http_methods(["GET", "HEAD", "POST"])
@requires("ldap.configure")
@http_errors
def ldap_link_add(request: HttpRequest) -> HttpResponse:
    form = LdapLinkForm(request.POST if request.method == "POST" else None, caller=request.user)
    done = form_submit(request, form, lambda data: services.ldap_domain_link(
        caller=request.user, domain=data["domain"], type=data["type"], name=data["name"].strip(),
        account_type=data["account_type"], account_name=data["account_name"].strip()))
    if done:
        messages.success(request, _("Linked domain %(domain)s to %(name)s.") % {
            "domain": done.value.domain.cloudstack_path, "name": done.value.name})
        return redirect("accounts:ldap_link_list")
    return form_page(request, "accounts/ldap_link_form.html", form)


urlpatterns = [
    path("ldap/", ldap_list, name="ldap_list"),
    path("ldap/add/", ldap_add, name="ldap_add"),
    path("ldap/links/", ldap_link_list_view, name="ldap_link_list"),
    path("ldap/links/add/", ldap_link_add, name="ldap_link_add"),
    path("ldap/<str:configuration_id>/delete/", ldap_delete, name="ldap_delete"),
    path("ldap/<str:configuration_id>/users/", ldap_users, name="ldap_users"),
]
