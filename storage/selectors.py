"""Reads of templates and volumes, scoped to the caller's tenancy."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from infrastructure.models import Zone
from portal.authz import Role, authorize, role_of, scope
from portal.lookup import get_by_uuid
from storage.models import Template

# CloudStack's templatefilter values.
TEMPLATE_FILTERS = ("featured", "self", "selfexecutable", "sharedexecutable", "executable", "community", "all")


def template_list(*, caller: User, template_filter: str = "executable", zone: Zone | None = None,
                  isos: bool = False) -> QuerySet[Template]:
    """Templates, or with isos=True the ISOs (one table, as in CloudStack; each listing shows only its kind)."""
    authorize(caller, "template.list")
    templates = Template.objects.select_related("zone", "account", "domain").filter(removed__isnull=True)
    templates = (templates.filter(format=Template.Format.ISO) if isos
                 else templates.exclude(format=Template.Format.ISO))
    if template_filter == "featured":
        templates = templates.filter(is_featured=True, is_public=True)
    elif template_filter in ("self", "selfexecutable"):
        templates = templates.filter(account_id=caller.account_id)
    elif template_filter == "community":
        templates = templates.filter(is_public=True, is_featured=False)
    elif template_filter == "all" and role_of(caller) is Role.ROOT_ADMIN:
        pass
    else:  # executable, sharedexecutable, all (non-root): what the caller may deploy
        templates = templates.filter(Q(is_public=True) | Q(pk__in=scope(caller, Template.objects.all())))
    if zone is not None:
        templates = templates.filter(Q(zone__isnull=True) | Q(zone=zone))
    return templates


def template_get_executable(*, caller: User, template_id: str, zone: Zone | None = None) -> Template:
    templates = template_list(caller=caller, template_filter="executable", zone=zone).filter(is_ready=True)
    return get_by_uuid(templates, template_id, _("an executable template"))
