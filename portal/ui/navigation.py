"""The web UI's navigation, declared as data: which sections a caller sees follows from their role and
from portal.authz, never from checks in templates.

End users see their own resources; domain admins also an Administration section (their subtree's
events); root admins also an Infrastructure section (zones and hosts). A link is shown only when
portal.authz.can() lets the caller run the action behind the page, so navigation and the pages agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from portal.authz import ADMINS, EVERYONE, ROOT, Role, can, role_of


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str | Promise
    action: str  # the portal.authz action the page runs
    active_for: tuple[str, ...]  # view names (or "namespace:" prefixes) that highlight the item


@dataclass(frozen=True)
class NavSection:
    key: str
    label: str | Promise | None  # None: the unlabelled first section
    roles: frozenset[Role]
    items: tuple[NavItem, ...]


NAVIGATION: tuple[NavSection, ...] = (
    NavSection("main", None, EVERYONE, (
        NavItem("ui:dashboard", _("Dashboard"), "dashboard.view", ("ui:dashboard",)),
        NavItem("compute:vm_list", _("Virtual machines"), "vm.list", ("compute:",)),
        NavItem("ui:job_list", _("Jobs"), "job.list", ("ui:job_list", "ui:job_detail")),
        NavItem("accounts:limit_list", _("Limits"), "limit.list", ("accounts:limit_list",)),
    )),
    NavSection("administration", _("Administration"), ADMINS, (
        NavItem("accounts:domain_list", _("Domains"), "domain.manage", (
            "accounts:domain_list", "accounts:domain_add", "accounts:domain_edit", "accounts:domain_delete")),
        NavItem("accounts:account_list", _("Accounts"), "account.manage", (
            "accounts:account_list", "accounts:account_add", "accounts:account_detail", "accounts:account_edit",
            "accounts:account_delete", "accounts:user_add", "accounts:user_edit", "accounts:user_password",
            "accounts:user_delete")),
        NavItem("accounts:role_list", _("Roles"), "role.list", (
            "accounts:role_list", "accounts:role_add", "accounts:role_detail", "accounts:role_edit",
            "accounts:role_delete")),
        NavItem("ui:event_list", _("Events"), "event.list", ("ui:event_list",)),
        NavItem("accounts:ldap_list", _("LDAP"), "ldap.list", (
            "accounts:ldap_list", "accounts:ldap_add", "accounts:ldap_delete", "accounts:ldap_users",
            "accounts:ldap_link_list", "accounts:ldap_link_add")),
    )),
    NavSection("infrastructure", _("Infrastructure"), ROOT, (
        # One item for the whole topology: its lists link to each other (ui/_topology_tabs.html), which keeps
        # the menu short enough for a phone screen.
        NavItem("ui:zone_list", _("Zones"), "zone.list", (
            "ui:zone_list", "ui:zone_add", "ui:zone_detail", "ui:zone_edit",
            "ui:pod_list", "ui:pod_add", "ui:pod_detail", "ui:pod_edit",
            "ui:cluster_list", "ui:cluster_add", "ui:cluster_detail", "ui:cluster_edit",
            "ui:physical_network_list", "ui:physical_network_add", "ui:physical_network_detail",
            "ui:physical_network_edit", "ui:traffic_type_add",
            "ui:setup_wizard", "ui:setup_zone", "ui:setup_pod", "ui:setup_cluster", "ui:setup_host",
            "ui:setup_primary", "ui:setup_secondary", "ui:setup_enable", "ui:setup_done")),
        NavItem("ui:host_list", _("Hosts"), "host.list", ("ui:host_list",)),
        NavItem("ui:storage_pool_list", _("Storage"), "storagepool.list", (
            "ui:storage_pool_list", "ui:storage_pool_add", "ui:storage_pool_detail",
            "ui:image_store_list", "ui:image_store_add")),
        NavItem("ui:capacity", _("Capacity"), "capacity.list", ("ui:capacity",)),
        # The offering catalogue hangs off Settings (ui/_offering_tabs.html) rather than adding menu items.
        NavItem("ui:config_list", _("Settings"), "config.infrastructure", (
            "ui:config_list", "ui:offering_list", "ui:offering_add", "ui:offering_edit", "ui:disk_offering_list",
            "ui:disk_offering_add", "ui:disk_offering_edit")),
    )),
)


@dataclass(frozen=True)
class Link:
    url: str
    label: str | Promise
    active: bool


@dataclass(frozen=True)
class Section:
    key: str
    label: str | Promise | None
    links: tuple[Link, ...]


def _is_active(item: NavItem, view_name: str) -> bool:
    return any(view_name.startswith(name) if name.endswith(":") else view_name == name
               for name in item.active_for)


def navigation_for(user: User, view_name: str = "") -> list[Section]:
    """The sections and links this user sees, the current page's link marked active."""
    if not getattr(user, "is_authenticated", False):
        return []
    role = role_of(user)
    sections = []
    for section in NAVIGATION:
        if role not in section.roles:
            continue
        links = tuple(Link(reverse(item.url_name), item.label, _is_active(item, view_name))
                      for item in section.items if can(user, item.action))
        if links:
            sections.append(Section(section.key, section.label, links))
    return sections
