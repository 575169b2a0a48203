"""The cloud's settings, declared as data (CloudStack's ConfigKeys), and how a value is resolved.

Each setting has CloudStack's name, type, default, category and description, and at most one scope besides
global where it may be overridden (CloudStack's ConfigKey.Scope: a cluster-scoped key is read per cluster,
falling back to its global value, then to its default). Overrides live in portal.models.ConfigurationValue,
except the cluster overprovisioning factors, whose cluster-scoped values are the Cluster's own fields
(CloudStack keeps them as the cluster details addCluster sets and listClusters shows).

`config_value` is the read services and workers use: one indexed query (none for a field-backed cluster value),
no per-process cache, so a change made through any door is seen by every worker at its next decision.
Writes are in portal.services_configuration.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

from django.db.models import Model, Q
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Account, User
from portal.authz import authorize
from portal.errors import InvalidParameter
from portal.models import ConfigurationValue


class Scope(enum.StrEnum):
    GLOBAL = "global"
    ZONE = "zone"
    CLUSTER = "cluster"
    ACCOUNT = "account"


class Kind(enum.Enum):
    """A setting's type, with the name CloudStack's listConfigurations reports as `type`."""

    INTEGER = "Number"
    FLOAT = "Decimal"
    BOOLEAN = "Boolean"
    STRING = "String"
    ENUM = "Select"


@dataclass(frozen=True)
class Setting:
    name: str
    kind: Kind
    default: str
    description: str | Promise
    category: str
    scope: Scope = Scope.GLOBAL  # the one scope besides global where it may be overridden
    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None  # exclusive lower bound (a factor must be greater than 0)
    choices: tuple[str, ...] = ()
    dynamic: bool = True  # CloudStack's isdynamic: takes effect without a restart
    # For cluster-scoped settings stored on infrastructure.Cluster itself: the field name.
    cluster_field: str | None = None

    @property
    def scopes(self) -> tuple[Scope, ...]:
        return (Scope.GLOBAL,) if self.scope is Scope.GLOBAL else (Scope.GLOBAL, self.scope)

    def parse(self, raw: object) -> Any:
        """The typed value of `raw`, or InvalidParameter saying what this setting accepts."""
        text = str(raw).strip() if raw is not None else ""
        try:
            if self.kind is Kind.BOOLEAN:
                if text.lower() not in ("true", "false"):
                    raise ValueError(text)
                return text.lower() == "true"
            if self.kind is Kind.INTEGER:
                value: Any = int(text)
            elif self.kind is Kind.FLOAT:
                value = float(text)
                if not math.isfinite(value):
                    raise ValueError(text)
            else:
                value = text
        except ValueError:
            raise InvalidParameter(_("Invalid value %(value)r for %(name)s: it must be %(kind)s.") % {
                "value": text, "name": self.name, "kind": KIND_LABELS[self.kind]}) from None
        self._check_range(value)
        return value

    def _check_range(self, value: Any) -> None:
        if self.kind is Kind.ENUM and value not in self.choices:
            raise InvalidParameter(_("Invalid value %(value)r for %(name)s: valid values are %(valid)s.") % {
                "value": value, "name": self.name, "valid": ", ".join(self.choices)})
        if self.kind not in (Kind.INTEGER, Kind.FLOAT):
            return
        if self.above is not None and value <= self.above:
            raise InvalidParameter(_("%(name)s must be greater than %(bound)s.") % {
                "name": self.name, "bound": self.above})
        if self.minimum is not None and value < self.minimum:
            raise InvalidParameter(_("%(name)s must be at least %(bound)s.") % {"name": self.name,
                                                                                "bound": self.minimum})
        if self.maximum is not None and value > self.maximum:
            raise InvalidParameter(_("%(name)s must be at most %(bound)s.") % {"name": self.name,
                                                                               "bound": self.maximum})

    def text(self, value: Any) -> str:
        """A typed value as CloudStack shows it (booleans lower-case)."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return f"{value:g}" if value != int(value) else f"{value:.1f}"
        return str(value)


KIND_LABELS = {
    Kind.INTEGER: gettext_lazy("a whole number"),
    Kind.FLOAT: gettext_lazy("a number"),
    Kind.BOOLEAN: gettext_lazy("true or false"),
    Kind.STRING: gettext_lazy("text"),
    Kind.ENUM: gettext_lazy("one of the listed values"),
}

ADVANCED, ALERT, STORAGE = "Advanced", "Alert", "Storage"
_THRESHOLD = {"kind": Kind.FLOAT, "default": "0.85", "category": ALERT, "minimum": 0.0, "maximum": 1.0}

# Names, defaults, categories, scopes and descriptions as Apache CloudStack 4.19 declares them.
_DECLARED = (
    Setting("cpu.overprovisioning.factor", Kind.FLOAT, "1.0", gettext_lazy(
        "Used for CPU overprovisioning calculation; available CPU will be (actualCpuCapacity * "
        "cpu.overprovisioning.factor)"), ADVANCED, Scope.CLUSTER, above=0.0, cluster_field="cpu_overprovisioning"),
    Setting("mem.overprovisioning.factor", Kind.FLOAT, "1.0", gettext_lazy(
        "Used for memory overprovisioning calculation"), ADVANCED, Scope.CLUSTER, above=0.0,
        cluster_field="memory_overprovisioning"),
    # CloudStack scopes it per storage pool; until pools have settings here it is global only.
    Setting("storage.overprovisioning.factor", Kind.FLOAT, "2", gettext_lazy(
        "Used for storage overprovisioning calculation; available storage will be (actualStorageSize * "
        "storage.overprovisioning.factor)"), STORAGE, above=0.0),
    Setting("cluster.cpu.allocated.capacity.disablethreshold", description=gettext_lazy(
        "Percentage (as a value between 0 and 1) of cpu utilization above which allocators will disable using "
        "the cluster for low cpu available."), scope=Scope.CLUSTER, **_THRESHOLD),
    Setting("cluster.memory.allocated.capacity.disablethreshold", description=gettext_lazy(
        "Percentage (as a value between 0 and 1) of memory utilization above which allocators will disable "
        "using the cluster for low memory available."), scope=Scope.CLUSTER, **_THRESHOLD),
    Setting("pool.storage.capacity.disablethreshold", description=gettext_lazy(
        "Percentage (as a value between 0 and 1) of storage utilization above which allocators will disable "
        "using the pool for low storage available."), scope=Scope.ZONE, **_THRESHOLD),
    Setting("vm.allocation.algorithm", Kind.ENUM, "random", gettext_lazy(
        "Order in which hosts within a cluster will be considered for VM allocation."), ADVANCED,
        choices=("random", "firstfit", "userdispersing", "userconcentratedpod_random",
                 "userconcentratedpod_firstfit", "firstfitleastconsumed")),
    Setting("vm.deployment.planner", Kind.ENUM, "FirstFitPlanner", gettext_lazy(
        "The deployment planner heuristic used for VM deployment."), ADVANCED,
        choices=("FirstFitPlanner", "UserDispersingPlanner", "UserConcentratedPodPlanner")),
    Setting("ping.interval", Kind.INTEGER, "60", gettext_lazy(
        "Interval (in seconds) to send application level pings to make sure the connection is still working"),
        ADVANCED, minimum=1),
    Setting("ping.timeout", Kind.FLOAT, "2.5", gettext_lazy(
        "Multiplier to ping.interval before announcing an agent has timed out"), ADVANCED, above=0.0),
    Setting("expunge.delay", Kind.INTEGER, "86400", gettext_lazy(
        "Determines how long (in seconds) to wait before actually expunging destroyed vm."), ADVANCED, minimum=0),
    Setting("expunge.interval", Kind.INTEGER, "86400", gettext_lazy(
        "The interval (in seconds) to wait before running the expunge thread."), ADVANCED, minimum=1),
    Setting("vm.destroy.forcestop", Kind.BOOLEAN, "false", gettext_lazy(
        "On destroy, force-stop takes this value"), ADVANCED),
    Setting("allow.user.expunge.recover.vm", Kind.BOOLEAN, "false", gettext_lazy(
        "Determines whether users can expunge or recover their vm"), ADVANCED, Scope.ACCOUNT),
    # Bounds of a custom-size disk offering's size, in GiB (storage.services_disk_offerings).
    Setting("custom.diskoffering.size.min", Kind.INTEGER, "1", gettext_lazy(
        "Minimum size in GB for custom disk offering."), ADVANCED, minimum=1),
    Setting("custom.diskoffering.size.max", Kind.INTEGER, "1024", gettext_lazy(
        "Maximum size in GB for custom disk offering."), ADVANCED, minimum=1),
    # VM metrics (compute.tasks_metrics). CloudStack's names and units; the interval is capped below five
    # minutes so raw samples stay finer than the 5-minute rows they are averaged into. The two downsampled
    # retentions are Cirrostack's own (CloudStack keeps raw samples only).
    Setting("vm.stats.interval", Kind.INTEGER, "60000", gettext_lazy(
        "The interval (in milliseconds) when vm stats are retrieved from agents."), ADVANCED, minimum=0,
        maximum=240000),
    Setting("vm.stats.max.retention.time", Kind.INTEGER, "720", gettext_lazy(
        "The maximum time (in minutes) for keeping VM stats records in the database. The VM stats cleanup "
        "process will be disabled if this is set to 0 or less than 0."), ADVANCED),
    Setting("vm.stats.5min.retention.time", Kind.INTEGER, "2880", gettext_lazy(
        "The maximum time (in minutes) the 5-minute averages of VM stats (the one-day charts) stay in the "
        "database. Their cleanup is disabled if this is 0 or less."), ADVANCED),
    Setting("vm.stats.hourly.retention.time", Kind.INTEGER, "20160", gettext_lazy(
        "The maximum time (in minutes) the hourly averages of VM stats (the one-week charts) stay in the "
        "database. Their cleanup is disabled if this is 0 or less."), ADVANCED),
    # VM snapshots per VM (compute.services_vm_snapshots).
    Setting("vmsnapshot.max", Kind.INTEGER, "10", gettext_lazy(
        "Maximum vm snapshots for a single vm"), ADVANCED, minimum=0),
)

SETTINGS: dict[str, Setting] = {setting.name: setting for setting in _DECLARED}
CATEGORIES: tuple[str, ...] = tuple(sorted({setting.category for setting in _DECLARED}))


def setting_get(name: str | None) -> Setting:
    setting = SETTINGS.get(name or "")
    if setting is None:
        raise InvalidParameter(_("Configuration %(name)s does not exist.") % {"name": name})
    return setting


@dataclass(frozen=True)
class Target:
    """Where a value applies: global (no object) or one zone, cluster or account."""

    scope: Scope = Scope.GLOBAL
    obj: Model | None = None

    @property
    def scope_id(self) -> int:
        return 0 if self.obj is None else self.obj.pk

    @property
    def uuid(self) -> str | None:
        return None if self.obj is None else str(self.obj.uuid)


GLOBAL = Target()


def target_for(*, zone: Model | None = None, cluster: Model | None = None,
               account: Account | None = None) -> Target:
    """The one scope object given (none: global); more than one is a caller's mistake CloudStack refuses."""
    given = [(scope, obj) for scope, obj in ((Scope.ZONE, zone), (Scope.CLUSTER, cluster), (Scope.ACCOUNT, account))
             if obj is not None]
    if len(given) > 1:
        raise InvalidParameter(_("Give at most one of zone, cluster and account."))
    return Target(*given[0]) if given else GLOBAL


def check_scope(setting: Setting, target: Target) -> None:
    if target.scope not in setting.scopes:
        raise InvalidParameter(_("%(name)s cannot be set per %(scope)s; its scope is %(allowed)s.") % {
            "name": setting.name, "scope": target.scope, "allowed": setting.scope})


def _resolve(setting: Setting, stored: dict[tuple[str, int], str], target: Target) -> tuple[Any, bool]:
    """(typed value at target, whether it is set at exactly that target) from the rows read for it."""
    if setting.cluster_field and target.scope is Scope.CLUSTER:
        return float(getattr(target.obj, setting.cluster_field)), True
    if target.scope in setting.scopes and (target.scope, target.scope_id) in stored:
        return setting.parse(stored[target.scope, target.scope_id]), True
    if (Scope.GLOBAL, 0) in stored:
        return setting.parse(stored[Scope.GLOBAL, 0]), target.scope is Scope.GLOBAL
    return setting.parse(setting.default), False


def _rows(names: list[str], target: Target) -> dict[tuple[str, tuple[str, int]], str]:
    where = Q(scope=Scope.GLOBAL, scope_id=0)
    if target.scope is not Scope.GLOBAL:
        where |= Q(scope=target.scope, scope_id=target.scope_id)
    rows = ConfigurationValue.objects.filter(where, name__in=names).values_list("name", "scope", "scope_id", "value")
    return {(name, (scope, scope_id)): value for name, scope, scope_id, value in rows}


def config_value(name: str, *, zone: Model | None = None, cluster: Model | None = None,
                 account: Account | None = None) -> Any:
    """The typed value of a setting where it applies: the most specific scope the setting has among those given
    (a cluster-scoped setting ignores a zone), then its global value, then its default. For workers and
    services, not for callers: no authorization, no events."""
    setting = setting_get(name)
    given = {Scope.ZONE: zone, Scope.CLUSTER: cluster, Scope.ACCOUNT: account}
    target = Target(setting.scope, given[setting.scope]) if given.get(setting.scope) is not None else GLOBAL
    if setting.cluster_field and target.scope is Scope.CLUSTER:
        return _resolve(setting, {}, target)[0]
    rows = _rows([name], target)
    return _resolve(setting, {key: value for (_name, key), value in rows.items()}, target)[0]


def config_values(name: str, objects: list[Model]) -> dict[int, Any]:
    """`config_value` for many objects of the setting's own scope in one query (by primary key): what a
    planner needs to weigh every cluster of a zone without a query per cluster."""
    setting = setting_get(name)
    if setting.cluster_field and setting.scope is Scope.CLUSTER:
        return {obj.pk: float(getattr(obj, setting.cluster_field)) for obj in objects}
    rows = ConfigurationValue.objects.filter(
        Q(scope=Scope.GLOBAL, scope_id=0) | Q(scope=setting.scope, scope_id__in=[obj.pk for obj in objects]),
        name=name,
    ).values_list("scope", "scope_id", "value")
    stored = {(scope, scope_id): value for scope, scope_id, value in rows}
    fallback = setting.parse(stored.get((Scope.GLOBAL, 0), setting.default))
    return {obj.pk: setting.parse(stored[setting.scope, obj.pk]) if (setting.scope, obj.pk) in stored else fallback
            for obj in objects}


@dataclass(frozen=True)
class ConfigEntry:
    """One setting as listed: its value at the listed target, and whether it is overridden exactly there."""

    setting: Setting
    value: Any
    target: Target
    overridden: bool

    @property
    def text(self) -> str:
        return self.setting.text(self.value)


def authorize_target(caller: User, action: str, target: Target) -> None:
    """Global, zone and cluster settings are the cloud's own (root admins); an account's settings are its
    tenant's, within reach of the admins of its domain (CloudStack lets domain admins set them)."""
    if target.scope is Scope.ACCOUNT:
        authorize(caller, action, target.obj)
    else:
        authorize(caller, "config.infrastructure")


def config_list(*, caller: User, target: Target = GLOBAL, name: str | None = None, category: str | None = None,
                keyword: str | None = None) -> list[ConfigEntry]:
    """The settings at a target (global: all; a scope object: the settings of that scope), in name order.
    One query for the overrides, whatever the number of settings."""
    authorize_target(caller, "config.list", target)
    settings = [s for s in _DECLARED if target.scope is Scope.GLOBAL or s.scope is target.scope]
    if name:
        settings = [s for s in settings if s.name == name]
    if category:
        settings = [s for s in settings if s.category.lower() == category.lower()]
    if keyword:
        settings = [s for s in settings if keyword.lower() in s.name.lower()
                    or keyword.lower() in str(s.description).lower()]
    settings.sort(key=lambda s: s.name)
    rows = _rows([s.name for s in settings], target) if settings else {}
    entries = []
    for setting in settings:
        stored = {key: value for (row_name, key), value in rows.items() if row_name == setting.name}
        value, overridden = _resolve(setting, stored, target)
        entries.append(ConfigEntry(setting, value, target, overridden))
    return entries


def target_lookup(*, caller: User, zone_id: object = None, cluster_id: object = None,
                  account_id: object = None) -> Target:
    """The Target named by the doors' ids: an id out of the caller's reach is NotFound, as everywhere."""
    from accounts.selectors_tenancy import account_get
    from infrastructure.selectors import zone_list
    from infrastructure.selectors_topology import cluster_get
    from portal.lookup import get_by_uuid

    if sum(value is not None and value != "" for value in (zone_id, cluster_id, account_id)) > 1:
        raise InvalidParameter(_("Give at most one of zone, cluster and account."))
    if account_id:
        return Target(Scope.ACCOUNT, account_get(caller=caller, account_id=str(account_id)))
    if zone_id or cluster_id:
        authorize(caller, "config.infrastructure")
    if zone_id:
        return Target(Scope.ZONE, get_by_uuid(zone_list(caller=caller), zone_id, _("a zone")))
    if cluster_id:
        return Target(Scope.CLUSTER, cluster_get(caller=caller, cluster_id=cluster_id))
    return GLOBAL
