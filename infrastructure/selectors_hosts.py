"""Reads of hosts: root admins only (portal.authz "host.list"); hosts are nobody's tenant data."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from infrastructure.models import Host
from infrastructure.selectors import host_list
from portal.lookup import get_by_uuid


def host_search(*, caller: User, zone_id: str | None = None, pod_id: str | None = None,
                cluster_id: str | None = None, state: str | None = None, resource_state: str | None = None,
                name: str | None = None, host_tag: str | None = None) -> QuerySet[Host]:
    """listHosts' filters; ids are uuids, as every door takes them."""
    hosts = host_list(caller=caller)
    if zone_id:
        hosts = hosts.filter(zone__uuid=zone_id)
    if pod_id:
        hosts = hosts.filter(pod__uuid=pod_id)
    if cluster_id:
        hosts = hosts.filter(cluster__uuid=cluster_id)
    if state:
        hosts = hosts.filter(status=state)
    if resource_state:
        hosts = hosts.filter(resource_state=resource_state)
    if name:
        hosts = hosts.filter(name=name)
    if host_tag:
        tag = host_tag.strip()
        hosts = hosts.filter(Q(host_tags=tag) | Q(host_tags__startswith=f"{tag},") | Q(host_tags__endswith=f",{tag}")
                             | Q(host_tags__contains=f",{tag},"))
    return hosts


def host_get(*, caller: User, host_id: object) -> Host:
    return get_by_uuid(host_list(caller=caller), host_id, _("a host"))
