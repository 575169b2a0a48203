"""Deployment planners and host allocators, after Apache CloudStack's.

A placement decision happens in three steps, each one or two SQL queries whatever the size of the zone:

1. Filter: the hosts a VM may use at all (Up, enabled, enabled pod and cluster), carrying every host tag of
   the offering, with room for the VM once the cluster's overprovisioning factors are applied; clusters whose
   allocated CPU or memory would cross their disable threshold are left out (CloudStack's
   cluster.*.allocated.capacity.disablethreshold).
2. Plan: the planner orders the clusters. FirstFitPlanner puts the clusters with the most free CPU first (then
   memory; CloudStack's default host.capacityType.to.order.clusters);
   UserDispersingPlanner the clusters holding the fewest of the account's VMs (spreading an account);
   UserConcentratedPodPlanner the pods already holding most of the account's VMs (keeping it together).
   The offering's planner wins over the vm.deployment.planner setting.
3. Allocate: within a cluster, vm.allocation.algorithm orders the hosts: random, firstfit (oldest host
   first), userdispersing (fewest VMs of the account), userconcentratedpod_random/_firstfit (random/first fit;
   the concentration is the planner's), firstfitleastconsumed (lowest allocated CPU share first).

Then each host in that order is tried with an atomic reservation (infrastructure.placement.hosts); a host
lost to a racing deploy, or one whose storage has no room for the root volume, goes into the avoid set and
the next one is tried. Only when every candidate is exhausted does placement fail with 533.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field

from django.db.models import Count, ExpressionWrapper, F, FloatField, Q, Sum
from django.utils.translation import gettext as _

from accounts.models import Account
from infrastructure.models import Cluster, Host, Zone
from infrastructure.placement.allocators import Candidate, order_hosts
from infrastructure.placement.hosts import host_release, try_reserve, usable_hosts
from portal.configuration import config_value, config_values
from portal.errors import InsufficientCapacity

FIRST_FIT = "FirstFitPlanner"
USER_DISPERSING = "UserDispersingPlanner"
USER_CONCENTRATED_POD = "UserConcentratedPodPlanner"
PLANNERS = (FIRST_FIT, USER_DISPERSING, USER_CONCENTRATED_POD)

@dataclass(frozen=True)
class Request:
    """What one VM needs from a host, and whose VM it is (the user planners weigh the account)."""

    zone: Zone
    account: Account | None
    cpu_mhz: int
    memory_bytes: int
    host_tags: tuple[str, ...] = ()
    planner: str = ""  # empty: the vm.deployment.planner setting
    root_size: int | None = None  # a new root volume to place on primary storage; None: no new volume
    storage_tags: tuple[str, ...] = ()
    cluster: Cluster | None = None  # restrict to one cluster (a stopped VM's cluster-scoped root disk)
    # Affinity groups (compute.services_affinity.affinity_constraints): hosts running a VM of one of the VM's
    # anti-affinity groups are excluded; with host affinity, only the hosts already running its group's VMs
    # qualify (None: any host; an empty set: none, which is a 533 like any other lack of room).
    affinity_avoid_hosts: frozenset[int] = frozenset()
    affinity_only_hosts: frozenset[int] | None = None


@dataclass
class Placement:
    host: Host
    storage_pool: object | None = None  # storage.models.StoragePool, or None for the host-local pool
    avoided: set[int] = field(default_factory=set)



def _tag_filter(tag: str) -> Q:
    """Host.host_tags is a normalised comma list: match one whole tag in it."""
    return (Q(host_tags=tag) | Q(host_tags__startswith=f"{tag},") | Q(host_tags__endswith=f",{tag}")
            | Q(host_tags__contains=f",{tag},"))


def _candidates(request: Request, avoid: Collection[int]) -> list[Candidate]:
    """Step 1: every host that may take the VM right now, with its limits, in one query."""
    hosts = usable_hosts(zone=request.zone)
    if request.cluster is not None:
        hosts = hosts.filter(cluster=request.cluster)
    for tag in request.host_tags:
        hosts = hosts.filter(_tag_filter(tag))
    if avoid:
        hosts = hosts.exclude(pk__in=avoid)
    if request.affinity_avoid_hosts:
        hosts = hosts.exclude(pk__in=request.affinity_avoid_hosts)
    if request.affinity_only_hosts is not None:
        hosts = hosts.filter(pk__in=request.affinity_only_hosts)
    hosts = hosts.annotate(
        cpu_limit=ExpressionWrapper(F("cpu_cores") * F("cpu_speed") * F("cluster__cpu_overprovisioning"),
                                    output_field=FloatField()),
        memory_limit=ExpressionWrapper(F("memory_total") * F("cluster__memory_overprovisioning"),
                                       output_field=FloatField()),
    ).filter(
        cpu_limit__gte=F("cpu_allocated") + request.cpu_mhz,
        memory_limit__gte=F("memory_allocated") + request.memory_bytes,
    )
    rows = hosts.values_list("pk", "cluster_id", "pod_id", "cpu_limit", "memory_limit", "cpu_allocated",
                             "memory_allocated")
    return [Candidate(*row) for row in rows]


def _clusters_below_threshold(request: Request, cluster_ids: set[int]) -> set[int]:
    """Clusters whose allocated CPU and memory stay under their disable thresholds after this VM."""
    if not cluster_ids:
        return set()
    clusters = list(Cluster.objects.filter(pk__in=cluster_ids))
    cpu_threshold = config_values("cluster.cpu.allocated.capacity.disablethreshold", clusters)
    memory_threshold = config_values("cluster.memory.allocated.capacity.disablethreshold", clusters)
    totals = usable_hosts(zone=request.zone).filter(cluster_id__in=cluster_ids).values("cluster_id").annotate(
        cpu_total=Sum(ExpressionWrapper(F("cpu_cores") * F("cpu_speed") * F("cluster__cpu_overprovisioning"),
                                        output_field=FloatField())),
        memory_total=Sum(ExpressionWrapper(F("memory_total") * F("cluster__memory_overprovisioning"),
                                           output_field=FloatField())),
        cpu_used=Sum("cpu_allocated"), memory_used=Sum("memory_allocated"),
    )
    allowed = set()
    for row in totals:
        cluster_id = row["cluster_id"]
        cpu_share = (row["cpu_used"] + request.cpu_mhz) / row["cpu_total"] if row["cpu_total"] else 1.0
        memory_share = ((row["memory_used"] + request.memory_bytes) / row["memory_total"]
                        if row["memory_total"] else 1.0)
        if cpu_share <= cpu_threshold[cluster_id] and memory_share <= memory_threshold[cluster_id]:
            allowed.add(cluster_id)
    return allowed


def _account_vms(request: Request, key: str) -> dict[int, int]:
    """How many of the account's active VMs each host / cluster / pod runs (`key`: host_id, ...)."""
    if request.account is None:
        return {}
    from compute.models import VirtualMachine
    from compute.states import VmState

    field_name = {"host": "host_id", "cluster": "host__cluster_id", "pod": "host__pod_id"}[key]
    rows = (VirtualMachine.objects.filter(account=request.account, host__isnull=False, removed__isnull=True,
                                          state__in=(VmState.STARTING, VmState.RUNNING, VmState.STOPPING,
                                                     VmState.MIGRATING))
            .values(field_name).annotate(n=Count("pk")).values_list(field_name, "n"))
    return dict(rows)


def _order_clusters(planner: str, request: Request, by_cluster: dict[int, list[Candidate]]) -> list[int]:
    """Step 2: the planner's cluster order (ties broken by id, so the order is deterministic)."""
    # Free capacity as CloudStack orders clusters by default (host.capacityType.to.order.clusters = CPU):
    # unallocated MHz, then unallocated memory.
    free = {cid: (sum(c.cpu_limit - c.cpu_allocated for c in hosts),
                  sum(c.memory_limit - c.memory_allocated for c in hosts))
            for cid, hosts in by_cluster.items()}
    clusters = sorted(by_cluster)
    if planner == USER_DISPERSING:
        vms = _account_vms(request, "cluster")
        return sorted(clusters, key=lambda cid: (vms.get(cid, 0), _minus(free[cid]), cid))
    if planner == USER_CONCENTRATED_POD:
        pod_vms = _account_vms(request, "pod")
        pod_of = {cid: hosts[0].pod_id for cid, hosts in by_cluster.items()}
        return sorted(clusters, key=lambda cid: (-pod_vms.get(pod_of[cid], 0), _minus(free[cid]), cid))
    return sorted(clusters, key=lambda cid: (_minus(free[cid]), cid))


def _minus(pair: tuple[float, float]) -> tuple[float, float]:
    """Sort key for "most free first"."""
    return (-pair[0], -pair[1])


def plan(request: Request, *, avoid: Collection[int] = ()) -> list[int]:
    """The ids of the hosts that can take the VM, in the order they should be tried (no reservation)."""
    return [candidate.pk for candidate in _plan(request, avoid)]


def _plan(request: Request, avoid: Collection[int]) -> list[Candidate]:
    candidates = _candidates(request, avoid)
    by_cluster: dict[int, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        by_cluster[candidate.cluster_id].append(candidate)
    allowed = _clusters_below_threshold(request, set(by_cluster))
    by_cluster = {cid: hosts for cid, hosts in by_cluster.items() if cid in allowed}
    planner = request.planner or config_value("vm.deployment.planner")
    algorithm = config_value("vm.allocation.algorithm")
    host_vms = _account_vms(request, "host") if algorithm == "userdispersing" else None
    order: list[Candidate] = []
    for cluster_id in _order_clusters(planner, request, by_cluster):
        order += order_hosts(algorithm, by_cluster[cluster_id], host_vms)
    return order


def place_vm(request: Request, *, avoid: Collection[int] = ()) -> Placement:
    """Choose and reserve a host (and, where the zone has primary storage, a pool for the root volume).

    Reservations are atomic and made in the caller's transaction: a failure later in the caller's service
    rolls them back with everything else."""
    from storage import placement as storage_placement
    from storage.models import StoragePool

    avoided = set(avoid)
    order = _plan(request, avoided)
    needs_pool = request.root_size is not None and StoragePool.objects.filter(
        zone=request.zone, removed__isnull=True).exists()
    for candidate in order:
        host_id = candidate.pk
        if not try_reserve(host_id=host_id, cpu_limit=candidate.cpu_limit, memory_limit=candidate.memory_limit,
                           cpu_mhz=request.cpu_mhz, memory_bytes=request.memory_bytes):
            avoided.add(host_id)  # taken by a racing deploy since the plan was made
            continue
        host = Host.objects.select_related("cluster", "pod").get(pk=host_id)
        pool = None
        if needs_pool:
            pool = storage_placement.reserve_on_host(host, request.root_size or 0, request.storage_tags)
            if pool is None:
                host_release(host=host, cpu_mhz=request.cpu_mhz, memory_bytes=request.memory_bytes)
                avoided.add(host_id)
                continue
        return Placement(host=host, storage_pool=pool, avoided=avoided)
    raise InsufficientCapacity(_no_room_message(request, storage=needs_pool and bool(order)))


def _no_room_message(request: Request, *, storage: bool) -> str:
    values = {"zone": request.zone.name, "cpu": request.cpu_mhz, "mem": request.memory_bytes // 2**20}
    if storage:
        values.update(size=(request.root_size or 0) // 2**20, tags=",".join(request.storage_tags))
        if request.storage_tags:
            return _("No host in zone %(zone)s reaches primary storage tagged %(tags)s with room for a %(size)s "
                     "MiB root disk.") % values
        return _("No host in zone %(zone)s reaches primary storage with room for a %(size)s MiB root disk.") % values
    if request.affinity_avoid_hosts or request.affinity_only_hosts is not None:
        return _("No host in zone %(zone)s satisfies the VM's affinity groups and has room for %(cpu)s MHz and "
                 "%(mem)s MiB.") % values
    if request.host_tags:
        return _("No host in zone %(zone)s with host tags %(tags)s has room for %(cpu)s MHz and %(mem)s MiB.") % {
            **values, "tags": ",".join(request.host_tags)}
    return _("No host in zone %(zone)s has room for %(cpu)s MHz and %(mem)s MiB.") % values
