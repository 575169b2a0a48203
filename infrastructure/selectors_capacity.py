"""Capacity of the cloud per zone, pod, cluster or host, as CloudStack's listCapacity reports it.

Root admins only (portal.authz "capacity.list"). Figures are computed from the live rows, never cached
(CloudStack keeps op_host_capacity up to date by a periodic job; here the counters are already exact because
placement changes them atomically), so `fetchlatest` has nothing to refresh.

What is counted, and why:
- Hosts: every host row. CloudStack counts the hosts that are not removed whatever their state; a deleted host
  is gone here, so every row counts. CPU total = cores x speed (MHz) x the cluster's CPU overprovisioning
  factor, memory total = memory x the cluster's memory factor; used and allocated = what placement reserved
  (Host.cpu_allocated / memory_allocated: reservations of the VMs placed there).
- Primary storage: every pool that is not removed. Type 2 (used) is what libvirt reports against the raw
  capacity; type 3 (allocated) is what placement reserved against capacity x storage.overprovisioning.factor,
  the same figure storage.placement.pool_limit compares with. Zone-wide pools count at zone level only; cluster
  and host pools also count in their pod, cluster (and host).
- Secondary storage: the zone's image stores, at zone level only (they serve the whole zone).

Disable thresholds: CPU and memory use the cluster-scoped cluster.*.allocated.capacity.disablethreshold (per
cluster for cluster and host rows; pods and zones span clusters, so their rows show the global value). Primary
storage uses pool.storage.capacity.disablethreshold, zone-scoped, for both used and allocated (the only pool
threshold this cloud declares). Secondary storage has no disable threshold (None).

Every aggregate is one GROUP BY query, so a listing costs a constant number of queries however many hosts,
pools or stores there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import BigIntegerField, F, FloatField, Model, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from infrastructure.models import Cluster, Host, Pod, Zone
from portal.authz import authorize
from portal.configuration import config_value, config_values
from portal.errors import InvalidParameter
from portal.lookup import get_by_uuid
from storage.models import ImageStore, StoragePool

# CloudStack's Capacity.CAPACITY_TYPE_* numbers and the names listCapacity reports; only those with data here.
MEMORY, CPU, STORAGE, STORAGE_ALLOCATED, SECONDARY_STORAGE = 0, 1, 2, 3, 6
CAPACITY_NAMES = {
    MEMORY: "MEMORY", CPU: "CPU", STORAGE: "STORAGE", STORAGE_ALLOCATED: "STORAGE_ALLOCATED",
    SECONDARY_STORAGE: "SECONDARY_STORAGE",
}
CAPACITY_LABELS = {
    MEMORY: gettext_lazy("Memory"), CPU: gettext_lazy("CPU"), STORAGE: gettext_lazy("Primary storage used"),
    STORAGE_ALLOCATED: gettext_lazy("Primary storage allocated"),
    SECONDARY_STORAGE: gettext_lazy("Secondary storage"),
}
# Units of the figures: CPU in MHz, the others in bytes.
CAPACITY_UNITS = {MEMORY: "bytes", CPU: "MHz", STORAGE: "bytes", STORAGE_ALLOCATED: "bytes",
                  SECONDARY_STORAGE: "bytes"}

LEVELS = ("zone", "pod", "cluster", "host")
_KEYS = {"zone": "zone_id", "pod": "pod_id", "cluster": "cluster_id", "host": "id"}

CPU_THRESHOLD = "cluster.cpu.allocated.capacity.disablethreshold"
MEMORY_THRESHOLD = "cluster.memory.allocated.capacity.disablethreshold"
POOL_THRESHOLD = "pool.storage.capacity.disablethreshold"


@dataclass(frozen=True)
class Capacity:
    """One capacity figure of one zone, pod, cluster or host."""

    type: int
    level: str
    zone: Zone
    pod: Pod | None
    cluster: Cluster | None
    host: Host | None
    actual: int  # the physical capacity, before overprovisioning
    total: int  # what may be allocated: actual x the overprovisioning factor
    used: int
    allocated: int
    factor: float
    threshold: float | None

    @property
    def name(self) -> str:
        return CAPACITY_NAMES[self.type]

    @property
    def label(self) -> str:
        return str(CAPACITY_LABELS[self.type])

    @property
    def unit(self) -> str:
        return CAPACITY_UNITS[self.type]

    @property
    def fraction_used(self) -> float:
        return self.used / self.total if self.total else 0.0

    @property
    def percent_used(self) -> float:
        return round(100.0 * self.fraction_used, 2)

    @property
    def threshold_percent(self) -> float | None:
        return None if self.threshold is None else round(100.0 * self.threshold, 2)

    @property
    def threshold_crossed(self) -> bool:
        """Allocators stop using the resource once usage passes the threshold (CloudStack compares with >)."""
        return self.threshold is not None and self.total > 0 and self.fraction_used > self.threshold

    @property
    def owner(self) -> Model:
        return self.host or self.cluster or self.pod or self.zone


def _sum(expression: Any, output: Any) -> Coalesce:
    return Coalesce(Sum(expression, output_field=output), 0, output_field=output)


def _host_figures(level: str, hosts: QuerySet[Host]) -> dict[int, dict[str, Any]]:
    """{level key: sums} in one GROUP BY; overprovisioned totals are summed host by host with each host's
    cluster factor, so a zone mixing factors adds up what its clusters would allow."""
    key = _KEYS[level]
    rows = hosts.order_by().values(key).annotate(
        cpu_actual=_sum(F("cpu_cores") * F("cpu_speed"), BigIntegerField()),
        cpu_total=_sum(F("cpu_cores") * F("cpu_speed") * F("cluster__cpu_overprovisioning"), FloatField()),
        cpu_used=_sum("cpu_allocated", BigIntegerField()),
        memory_actual=_sum("memory_total", BigIntegerField()),
        memory_total=_sum(F("memory_total") * F("cluster__memory_overprovisioning"), FloatField()),
        memory_used=_sum("memory_allocated", BigIntegerField()),
    )
    return {row[key]: row for row in rows}


def _pool_figures(level: str, pools: QuerySet[StoragePool]) -> dict[int, dict[str, Any]]:
    """{level key: sums}; a host-scoped pool is counted in its host's pod and cluster."""
    group = {
        "zone": F("zone_id"),
        "pod": Coalesce("pod_id", "host__pod_id"),
        "cluster": Coalesce("cluster_id", "host__cluster_id"),
        "host": F("host_id"),
    }[level]
    rows = pools.order_by().annotate(group=group).filter(group__isnull=False).values("group").annotate(
        capacity=_sum("capacity_bytes", BigIntegerField()), used=_sum("used_bytes", BigIntegerField()),
        allocated=_sum("allocated_bytes", BigIntegerField()))
    return {row["group"]: row for row in rows}


def _store_figures(stores: QuerySet[ImageStore]) -> dict[int, dict[str, Any]]:
    rows = stores.order_by().filter(zone__isnull=False).values("zone_id").annotate(
        capacity=_sum("capacity_bytes", BigIntegerField()), used=_sum("used_bytes", BigIntegerField()))
    return {row["zone_id"]: row for row in rows}


def _owners(level: str, zone: Zone | None, pod: Pod | None, cluster: Cluster | None, host: Host | None) -> list[Any]:
    """The zones, pods, clusters or hosts to report, narrowed by the filters (one query)."""
    owners: QuerySet[Any]
    if level == "zone":
        owners = Zone.objects.all()
    elif level == "pod":
        owners = Pod.objects.select_related("zone")
    elif level == "cluster":
        owners = Cluster.objects.select_related("zone", "pod")
    else:
        owners = Host.objects.select_related("zone", "pod", "cluster")
    if zone is not None:
        owners = owners.filter(**({"pk": zone.pk} if level == "zone" else {"zone": zone}))
    if pod is not None:
        owners = owners.filter(**({"pk": pod.pk} if level == "pod" else {"pod": pod}))
    if cluster is not None:
        owners = owners.filter(**({"pk": cluster.pk} if level == "cluster" else {"cluster": cluster}))
    if host is not None:
        owners = owners.filter(pk=host.pk)
    return list(owners)


def capacity_level(*, zone_id: object = None, pod_id: object = None, cluster_id: object = None) -> str:
    """listCapacity's grouping: per cluster when a cluster is named, per pod when a pod is, else per zone."""
    if cluster_id:
        return "cluster"
    if pod_id:
        return "pod"
    return "zone"


def capacity_list(*, caller: User, level: str = "zone", zone_id: object = None, pod_id: object = None,
                  cluster_id: object = None, host_id: object = None, capacity_type: int | None = None,
                  sort_by_usage: bool = False) -> list[Capacity]:
    """The capacities of every zone, pod, cluster or host (`level`) within the named zone/pod/cluster/host.

    Ordered by owner then type, or by percentage used, highest first, with `sort_by_usage` (listCapacity's
    sortby=usage). Unknown ids are NotFound; an unknown type or level is InvalidParameter."""
    authorize(caller, "capacity.list")
    if level not in LEVELS:
        raise InvalidParameter(_("Unknown capacity level %(level)s.") % {"level": level})
    if capacity_type is not None and capacity_type not in CAPACITY_NAMES:
        raise InvalidParameter(_("Unknown capacity type %(type)s; known types are %(known)s.") % {
            "type": capacity_type, "known": ", ".join(str(number) for number in CAPACITY_NAMES)})
    zone = get_by_uuid(Zone.objects.all(), zone_id, _("a zone")) if zone_id else None
    pod = get_by_uuid(Pod.objects.all(), pod_id, _("a pod")) if pod_id else None
    cluster = get_by_uuid(Cluster.objects.all(), cluster_id, _("a cluster")) if cluster_id else None
    host = get_by_uuid(Host.objects.all(), host_id, _("a host")) if host_id else None
    owners = _owners(level, zone, pod, cluster, host)
    wanted = set(CAPACITY_NAMES) if capacity_type is None else {capacity_type}

    hosts = Host.objects.filter(pk__in=[owner.pk for owner in owners]) if level == "host" else Host.objects.filter(
        **{f"{_KEYS[level]}__in": [owner.pk for owner in owners]})
    host_sums = _host_figures(level, hosts) if wanted & {CPU, MEMORY} else {}
    pools = StoragePool.objects.filter(removed__isnull=True)
    pool_sums = _pool_figures(level, pools) if wanted & {STORAGE, STORAGE_ALLOCATED} else {}
    store_sums = (_store_figures(ImageStore.objects.all())
                  if level == "zone" and SECONDARY_STORAGE in wanted else {})

    clusters = [owner.cluster if level == "host" else owner for owner in owners] if level in ("cluster", "host") \
        else []
    cpu_thresholds = config_values(CPU_THRESHOLD, clusters) if clusters and CPU in wanted else {}
    memory_thresholds = config_values(MEMORY_THRESHOLD, clusters) if clusters and MEMORY in wanted else {}
    cpu_global = config_value(CPU_THRESHOLD) if not clusters and CPU in wanted else None
    memory_global = config_value(MEMORY_THRESHOLD) if not clusters and MEMORY in wanted else None
    storage_wanted = wanted & {STORAGE, STORAGE_ALLOCATED}
    zones = list({owner.pk if level == "zone" else owner.zone_id: owner if level == "zone" else owner.zone
                  for owner in owners}.values())
    pool_thresholds = config_values(POOL_THRESHOLD, zones) if storage_wanted and zones else {}
    storage_factor = float(config_value("storage.overprovisioning.factor")) if storage_wanted else 1.0

    result: list[Capacity] = []
    for owner in owners:
        place = {
            "level": level,
            "zone": owner if level == "zone" else owner.zone,
            "pod": owner if level == "pod" else getattr(owner, "pod", None) if level != "zone" else None,
            "cluster": owner if level == "cluster" else owner.cluster if level == "host" else None,
            "host": owner if level == "host" else None,
        }
        figures = host_sums.get(owner.pk, {})
        owner_cluster = place["cluster"]
        if MEMORY in wanted:
            result.append(Capacity(
                type=MEMORY, **place, actual=figures.get("memory_actual", 0),
                total=int(figures.get("memory_total", 0)), used=figures.get("memory_used", 0),
                allocated=figures.get("memory_used", 0),
                factor=float(owner_cluster.memory_overprovisioning) if owner_cluster else 1.0,
                threshold=memory_thresholds[owner_cluster.pk] if owner_cluster else memory_global))
        if CPU in wanted:
            result.append(Capacity(
                type=CPU, **place, actual=figures.get("cpu_actual", 0), total=int(figures.get("cpu_total", 0)),
                used=figures.get("cpu_used", 0), allocated=figures.get("cpu_used", 0),
                factor=float(owner_cluster.cpu_overprovisioning) if owner_cluster else 1.0,
                threshold=cpu_thresholds[owner_cluster.pk] if owner_cluster else cpu_global))
        pool = pool_sums.get(owner.pk, {})
        pool_threshold = pool_thresholds.get(place["zone"].pk)
        if STORAGE in wanted:
            result.append(Capacity(
                type=STORAGE, **place, actual=pool.get("capacity", 0), total=pool.get("capacity", 0),
                used=pool.get("used", 0), allocated=pool.get("allocated", 0), factor=1.0,
                threshold=pool_threshold))
        if STORAGE_ALLOCATED in wanted:
            result.append(Capacity(
                type=STORAGE_ALLOCATED, **place, actual=pool.get("capacity", 0),
                total=int(pool.get("capacity", 0) * storage_factor), used=pool.get("allocated", 0),
                allocated=pool.get("allocated", 0), factor=storage_factor, threshold=pool_threshold))
        if level == "zone" and SECONDARY_STORAGE in wanted:
            store = store_sums.get(owner.pk, {})
            result.append(Capacity(
                type=SECONDARY_STORAGE, **place, actual=store.get("capacity", 0), total=store.get("capacity", 0),
                used=store.get("used", 0), allocated=store.get("used", 0), factor=1.0, threshold=None))
    if sort_by_usage:
        result.sort(key=lambda capacity: -capacity.fraction_used)
    return result


def capacity_summary(*, caller: User) -> list[Capacity]:
    """The whole cloud's capacity per type (every zone added up), for the administrator's dashboard."""
    per_zone = capacity_list(caller=caller, level="zone")
    totals: dict[int, list[Capacity]] = {}
    for capacity in per_zone:
        totals.setdefault(capacity.type, []).append(capacity)
    summary = []
    for capacity_type, rows in totals.items():
        thresholds = {row.threshold for row in rows}
        first = rows[0]
        summary.append(Capacity(
            type=capacity_type, level="cloud", zone=first.zone, pod=None, cluster=None, host=None,
            actual=sum(row.actual for row in rows), total=sum(row.total for row in rows),
            used=sum(row.used for row in rows), allocated=sum(row.allocated for row in rows),
            factor=first.factor, threshold=first.threshold if len(thresholds) == 1 else None))
    return summary
