"""Every entry point has a matrix row, so a new feature cannot ship without proving it isolates tenants: every
route of the identity web UI (accounts.urls), every route and method of the REST API under /api/v1/, and
every registered CloudStack command. The allow-lists name what is not about any tenant's data, each with why.
"""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from accounts import urls as account_urls
from portal.cloudstack import commands as door_commands
from portal.cloudstack.registry import all_commands
from portal.rest.errors import not_found_view
from tests.isolation import test_cloudstack_matrix, test_rest_matrix, test_ui_matrix

pytestmark = pytest.mark.django_db

REST_PREFIX = "api/v1/"

# Routes of /api/v1/ that are outside the matrix by the issue's own terms: documentation, the schema, and
# exchanging one's own password for a token.
# (Routes by their name in the "rest" namespace.)
REST_EXCLUDED = {"schema", "docs", "redoc", "token"}

REST_ALLOWED = {
    "api-root": "the API root lists the resource URLs, the same for every caller",
    "zone-list": "zones are the cloud's shared catalogue: no tenant owns one",
    "zone-detail": "zones are the cloud's shared catalogue: no tenant owns one",
    "service-offering-list": "offerings are the cloud's shared catalogue: no tenant owns one",
    "service-offering-detail": "offerings are the cloud's shared catalogue: no tenant owns one",
    # Writes are root-admin only: tests/rest/test_offerings.py::test_users_read_but_cannot_change_offerings.
    "disk-offering-list": "offerings are the cloud's shared catalogue: no tenant owns one",
    "disk-offering-detail": "offerings are the cloud's shared catalogue: no tenant owns one",
    # GET lists the caller's reach (tests/rest/test_keypairs_affinity_tags.py: bob lists nothing of alice's);
    # POST creates in the caller's own account and can name nothing of another tenant's.
    "ssh-key-pair-list": "lists the caller's reach; creates only in the caller's own account",
    "affinity-group-list": "lists the caller's reach; creates only in the caller's own account",
    # Refusal of non-root callers: tests/rest/test_hosts.py::test_non_root_callers_are_refused_everywhere.
    "host-list": "infrastructure, root admins only",
    "host-detail": "infrastructure, root admins only",
    "host-reconnect": "infrastructure, root admins only",
    "host-maintenance": "infrastructure, root admins only",
    "host-cancel-maintenance": "infrastructure, root admins only",
    # Refusal of non-root callers: tests/rest/test_storage_pools.py::test_non_root_callers_are_refused_everywhere.
    "storage-pool-list": "infrastructure, root admins only",
    "storage-pool-detail": "infrastructure, root admins only",
    "storage-pool-maintenance": "infrastructure, root admins only",
    "storage-pool-cancel-maintenance": "infrastructure, root admins only",
    "image-store-list": "infrastructure, root admins only",
    "image-store-detail": "infrastructure, root admins only",
    # Refusal of non-root callers: tests/rest/test_capacity.py::test_non_root_callers_are_refused_everywhere.
    "capacity-list": "infrastructure, root admins only",
    # Refusal of non-root callers: tests/rest/test_topology.py::test_non_root_callers_are_refused_everywhere
    # (the zone writes too: zone-list/zone-detail above stay readable by everyone).
    "pod-list": "infrastructure, root admins only",
    "pod-detail": "infrastructure, root admins only",
    "pod-enable": "infrastructure, root admins only",
    "pod-disable": "infrastructure, root admins only",
    "cluster-list": "infrastructure, root admins only",
    "cluster-detail": "infrastructure, root admins only",
    "cluster-enable": "infrastructure, root admins only",
    "cluster-disable": "infrastructure, root admins only",
    "physical-network-list": "infrastructure, root admins only",
    "physical-network-detail": "infrastructure, root admins only",
    "physical-network-enable": "infrastructure, root admins only",
    "physical-network-disable": "infrastructure, root admins only",
    "traffic-type-list": "infrastructure, root admins only",
    "traffic-type-detail": "infrastructure, root admins only",
    "zone-enable": "infrastructure, root admins only",
    "zone-disable": "infrastructure, root admins only",
}

CS_ALLOWED = {
    "listApis": "describes the API itself, the same for every caller of a role",
    "listCapabilities": "describes the cloud's settings, no tenant's data",
    "login": "signs in with one's own credentials",
    "logout": "ends one's own session",
    "listZones": "zones are the cloud's shared catalogue: no tenant owns one",
    "listServiceOfferings": "offerings are the cloud's shared catalogue: no tenant owns one",
    "listDiskOfferings": "offerings are the cloud's shared catalogue: no tenant owns one",
    # Refusal of non-root callers: tests/cloudstack/test_offering_commands.py::test_users_cannot_change_offerings.
    "createServiceOffering": "the offering catalogue, root admins only",
    "updateServiceOffering": "the offering catalogue, root admins only",
    "deleteServiceOffering": "the offering catalogue, root admins only",
    "createDiskOffering": "the offering catalogue, root admins only",
    "updateDiskOffering": "the offering catalogue, root admins only",
    "deleteDiskOffering": "the offering catalogue, root admins only",
    "listAffinityGroupTypes": "the fixed list of affinity group types: no tenant owns one",
    # Refusal of non-root callers: tests/cloudstack/test_host_commands.py::test_non_root_callers_are_refused.
    "listHosts": "infrastructure, root admins only",
    "addHost": "infrastructure, root admins only",
    "updateHost": "infrastructure, root admins only",
    "deleteHost": "infrastructure, root admins only",
    "reconnectHost": "infrastructure, root admins only",
    "prepareHostForMaintenance": "infrastructure, root admins only",
    "cancelHostMaintenance": "infrastructure, root admins only",
    # Refusal of non-root callers: tests/cloudstack/test_capacity_commands.py::test_non_root_refused.
    "listCapacity": "infrastructure, root admins only",
    "listRegions": "the cloud's one region, the same for every caller",
    # Refusal of non-root callers: tests/cloudstack/test_topology_commands.py::test_non_root_callers_are_refused.
    "createZone": "infrastructure, root admins only",
    "updateZone": "infrastructure, root admins only",
    "deleteZone": "infrastructure, root admins only",
    "listPods": "infrastructure, root admins only",
    "createPod": "infrastructure, root admins only",
    "updatePod": "infrastructure, root admins only",
    "deletePod": "infrastructure, root admins only",
    "listClusters": "infrastructure, root admins only",
    "addCluster": "infrastructure, root admins only",
    "updateCluster": "infrastructure, root admins only",
    "deleteCluster": "infrastructure, root admins only",
    "listPhysicalNetworks": "infrastructure, root admins only",
    "createPhysicalNetwork": "infrastructure, root admins only",
    "updatePhysicalNetwork": "infrastructure, root admins only",
    "deletePhysicalNetwork": "infrastructure, root admins only",
    "addTrafficType": "infrastructure, root admins only",
    "listTrafficTypes": "infrastructure, root admins only",
    "updateTrafficType": "infrastructure, root admins only",
    "deleteTrafficType": "infrastructure, root admins only",
    # Refusal of non-root callers: tests/cloudstack/test_storage_pool_commands.py::test_non_root_callers_are_refused.
    "listStoragePools": "infrastructure, root admins only",
    "createStoragePool": "infrastructure, root admins only",
    "updateStoragePool": "infrastructure, root admins only",
    "deleteStoragePool": "infrastructure, root admins only",
    "enableStorageMaintenance": "infrastructure, root admins only",
    "cancelStorageMaintenance": "infrastructure, root admins only",
    "addImageStore": "infrastructure, root admins only",
    "listImageStores": "infrastructure, root admins only",
    "deleteImageStore": "infrastructure, root admins only",
    # Stubs that answer no rows at all (checked below): they need rows once they return anything.
    "listPublicIpAddresses": "answers no rows (portal.cloudstack.commands._no_rows)",
    "listPortForwardingRules": "answers no rows (portal.cloudstack.commands._no_rows)",
    "listIpForwardingRules": "answers no rows (portal.cloudstack.commands._no_rows)",
}

# accounts.urls: everything there is about tenancy or identity.
UI_ALLOWED: dict[str, str] = {}


def _walk(patterns, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern


def _methods(pattern: URLPattern) -> set[str]:
    """The methods a route answers, HEAD and OPTIONS aside (DRF adds HEAD to a viewset's actions on first use)."""
    callback = pattern.callback
    if getattr(callback, "actions", None):
        return {method.upper() for method in callback.actions} - {"HEAD", "OPTIONS"}
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    return {method.upper() for method in ("get", "post", "put", "patch", "delete") if hasattr(view_class, method)}


def rest_patterns() -> dict[str, URLPattern]:
    """The named routes under /api/v1/ (the catch-all 404 has no name)."""
    return {pattern.name: pattern for route, pattern in _walk(get_resolver().url_patterns)
            if route.startswith(REST_PREFIX) and pattern.callback is not not_found_view}


def rest_entry_points() -> set[tuple[str, str]]:
    return {(name, method) for name, pattern in rest_patterns().items()
            if name not in REST_EXCLUDED and name not in REST_ALLOWED for method in _methods(pattern)}


def _route(path: str) -> str:
    match = resolve(path.split("?")[0])
    assert match.namespace == "rest", path
    return match.url_name


def test_every_rest_route_and_method_has_a_row(iso):
    covered = {(_route(row.target(iso)), row.method) for row in test_rest_matrix.ROWS}
    missing = rest_entry_points() - covered
    assert not missing, f"REST entry points without an isolation row (add rows to test_rest_matrix): {sorted(missing)}"


def test_every_identity_page_has_a_row(iso):
    covered = {resolve(row.target(iso).split("?")[0]).url_name for row in test_ui_matrix.ROWS}
    names = {pattern.name for pattern in account_urls.urlpatterns}
    missing = names - covered - set(UI_ALLOWED)
    assert not missing, f"accounts.urls routes without an isolation row (add rows to test_ui_matrix): {sorted(missing)}"


def test_every_cloudstack_command_has_a_row():
    covered = {row.method for row in test_cloudstack_matrix.ROWS}
    missing = {command.name for command in all_commands()} - covered - set(CS_ALLOWED)
    assert not missing, f"CloudStack commands without an isolation row (add rows to test_cloudstack_matrix): " \
                        f"{sorted(missing)}"


def test_the_allow_lists_name_real_entry_points_without_data():
    """A stale entry would hide nothing today but could hide a command of the same name tomorrow; a stub that
    starts answering rows leaves the allow-list."""
    commands = {command.name: command for command in all_commands()}
    assert set(CS_ALLOWED) <= set(commands), sorted(set(CS_ALLOWED) - set(commands))
    for name, reason in CS_ALLOWED.items():
        if "_no_rows" in reason:
            assert commands[name].handler is door_commands._no_rows, f"{name} now answers rows: give it a row"
    routes = set(rest_patterns())
    assert None not in routes, "an unnamed REST route: name it, so that it can be checked here"
    assert set(REST_ALLOWED) | REST_EXCLUDED <= routes, sorted((set(REST_ALLOWED) | REST_EXCLUDED) - routes)
    assert set(UI_ALLOWED) <= {pattern.name for pattern in account_urls.urlpatterns}
