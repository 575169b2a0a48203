"""Writes on the domain tree (CloudStack's createDomain, updateDomain, deleteDomain).

A domain's materialized `path` ("ROOT/Sales/EMEA/") is what every subtree check and query matches, so a
rename rewrites the path of the whole subtree in the same transaction. A domain admin manages the domains
strictly below its own (services_accounts.require_below).
"""

from __future__ import annotations

import re

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from accounts.models import Account, Domain, User
from accounts.services_accounts import (
    DomainProbe,
    accounts_prepare_removal,
    audit_account,
    require_below,
    validate_name,
)
from portal.authz import authorize
from portal.errors import InvalidParameter, PermissionDenied, ResourceInUse
from portal.events import event_emit
from portal.jobs import DEFAULT_QUEUE, job_submit
from portal.models import AsyncJob

PATH_MAX = Domain._meta.get_field("path").max_length
# A DNS domain: dot-separated labels of letters, digits and hyphens (CloudStack's NetUtils.verifyDomainName).
NETWORK_DOMAIN_RE = re.compile(r"^(?=.{1,190}$)([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)"
                               r"(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$")


def _validate_network_domain(network_domain: str) -> str:
    network_domain = network_domain.strip()
    if network_domain and not NETWORK_DOMAIN_RE.match(network_domain):
        raise InvalidParameter(_("Invalid network domain %(value)s: use dot-separated labels of letters, digits "
                                 "and hyphens, each starting and ending with a letter or digit.") % {
            "value": network_domain})
    return network_domain


def _validate_domain_name(name: str | None) -> str:
    name = validate_name(name, _("domain"))
    if "/" in name:
        raise InvalidParameter(_("A domain name cannot contain \"/\"."))
    return name


def _check_free(parent: Domain, name: str, *, exclude: Domain | None = None) -> None:
    siblings = Domain.objects.filter(parent=parent, name__iexact=name)
    if exclude is not None:
        siblings = siblings.exclude(pk=exclude.pk)
    if siblings.exists():
        raise InvalidParameter(_("A domain named %(name)s already exists in %(parent)s.") % {
            "name": name, "parent": parent.cloudstack_path})


@transaction.atomic
def domain_create(*, caller: User, name: str, parent: Domain, network_domain: str = "") -> Domain:
    """A child of `parent`, at any depth. A domain admin creates them in its own domain or below it."""
    authorize(caller, "domain.create", DomainProbe(parent))
    name = _validate_domain_name(name)
    network_domain = _validate_network_domain(network_domain)
    _check_free(parent, name)
    if len(f"{parent.path}{name}/") > PATH_MAX:
        raise InvalidParameter(_("The domain tree is too deep here: the path would be longer than %(max)d "
                                 "characters.") % {"max": PATH_MAX})
    domain = Domain.objects.create(name=name, parent=parent, network_domain=network_domain)
    event_emit(type="DOMAIN.CREATE", description=_("Created domain %(path)s") % {"path": domain.cloudstack_path},
               account=audit_account(caller), user=caller, resource=domain)
    return domain


@transaction.atomic
def domain_update(*, caller: User, domain: Domain, name: str | None = None,
                  network_domain: str | None = None) -> Domain:
    """Rename a domain (its whole subtree's paths follow) or change its network domain. The ROOT domain
    keeps its name."""
    authorize(caller, "domain.update", DomainProbe(domain))
    require_below(caller, domain)
    domain = Domain.objects.select_for_update(of=("self",)).select_related("parent").get(pk=domain.pk)
    changed = []
    if network_domain is not None:
        domain.network_domain = _validate_network_domain(network_domain)
        changed.append("network_domain")
    if name is not None:
        name = _validate_domain_name(name)
        if name != domain.name:
            if domain.parent_id is None:
                raise InvalidParameter(_("The ROOT domain cannot be renamed."))
            _check_free(domain.parent, name, exclude=domain)
            _rename(domain, name)
    if changed:
        Domain.objects.filter(pk=domain.pk).update(network_domain=domain.network_domain)
    event_emit(type="DOMAIN.UPDATE", description=_("Updated domain %(path)s") % {"path": domain.cloudstack_path},
               account=audit_account(caller), user=caller, resource=domain)
    return domain


def _rename(domain: Domain, name: str) -> None:
    """One UPDATE rewrites the path prefix of every domain below; no new path can collide, because the new
    name is free among the siblings."""
    old_path = domain.path
    new_path = f"{domain.parent.path}{name}/"
    deepest = Domain.objects.filter(path__startswith=old_path).order_by("-level").values_list("path", flat=True)
    longest = max((len(path) for path in deepest), default=len(old_path))
    if longest - len(old_path) + len(new_path) > PATH_MAX:
        raise InvalidParameter(_("The new name makes a path below this domain longer than %(max)d characters.") % {
            "max": PATH_MAX})
    Domain.objects.filter(path__startswith=old_path).exclude(pk=domain.pk).update(
        path=Concat(Value(new_path), Substr(F("path"), len(old_path) + 1)))
    domain.name, domain.path = name, new_path
    Domain.objects.filter(pk=domain.pk).update(name=name, path=new_path)


@transaction.atomic
def domain_delete(*, caller: User, domain: Domain, cleanup: bool = False) -> AsyncJob:
    """Delete a domain in a job. Without cleanup it must be empty (no subdomains, no accounts: 536 otherwise);
    with cleanup its subdomains and all their accounts go too, each account cleaned up as account_delete
    does. The accounts are disabled at once, so no one works in a domain that is going away."""
    authorize(caller, "domain.delete", DomainProbe(domain))
    require_below(caller, domain)
    domain = Domain.objects.select_for_update().get(pk=domain.pk)
    if domain.parent_id is None:
        raise InvalidParameter(_("The ROOT domain cannot be deleted."))
    accounts = Account.objects.filter(domain__path__startswith=domain.path)
    if not cleanup:
        _require_empty(domain)
        recorded_under = audit_account(caller)
    else:
        if caller.account_id and caller.account.domain.is_within(domain):
            raise PermissionDenied(_("You cannot delete the domain of your own account."))
        recorded_under = accounts_prepare_removal(caller=caller, accounts=accounts)
    return job_submit(caller=caller, account=recorded_under, cmd="deleteDomain",
                      handler="accounts.tasks.run_domain_delete", instance=domain, queue=DEFAULT_QUEUE,
                      params={"cleanup": bool(cleanup)}, event_type="DOMAIN.DELETE",
                      description=_("Deleting domain %(path)s") % {"path": domain.cloudstack_path})


def _require_empty(domain: Domain) -> None:
    children = Domain.objects.filter(parent=domain).count()
    accounts = Account.objects.filter(domain=domain).count()
    if children or accounts:
        raise ResourceInUse(_("Domain %(path)s still has %(children)d subdomain(s) and %(accounts)d account(s); "
                              "delete them first or delete with cleanup.") % {
            "path": domain.cloudstack_path, "children": children, "accounts": accounts})


def domains_remove(*, domain: Domain, cleanup: bool) -> None:
    """The last step of the delete job, once the accounts below are gone: the domains, deepest first. The
    domain's own limits, counts, LDAP servers and links go with it; domain-only offerings too."""
    from compute.models import ServiceOffering
    from storage.models import DiskOffering

    if not cleanup:
        _require_empty(domain)
    subtree = Domain.objects.filter(path__startswith=domain.path)
    if Account.objects.filter(domain__in=subtree).exists():
        raise ResourceInUse(_("Domain %(path)s still has accounts.") % {"path": domain.cloudstack_path})
    # An offering limited to domains that all go away goes too; one also offered elsewhere just loses them.
    for model in (ServiceOffering, DiskOffering):
        model.objects.filter(domains__in=subtree).exclude(
            domains__in=Domain.objects.exclude(path__startswith=domain.path)).delete()
    for node in subtree.order_by("-level"):
        node.delete()
