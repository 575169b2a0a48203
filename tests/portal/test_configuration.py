"""The settings (portal.configuration): declarations, typed resolution by scope, validated and authorized
changes that emit events, and placement reading the effective overprovisioning factors."""

from __future__ import annotations

import pytest

from accounts.models import Account
from infrastructure.models import Host
from infrastructure.placement import host_reserve
from portal.configuration import (
    GLOBAL,
    SETTINGS,
    Kind,
    Scope,
    Target,
    config_list,
    config_value,
)
from portal.errors import InvalidParameter, PermissionDenied
from portal.models import ConfigurationValue, Event
from portal.services_configuration import config_reset, config_update
from tests.factories import AccountFactory, ClusterFactory, DomainFactory, UserFactory
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db


def test_declarations_are_well_formed():
    for setting in SETTINGS.values():
        assert setting.name == setting.name.lower() and " " not in setting.name
        setting.parse(setting.default)  # every default satisfies its own type and range
        assert str(setting.description) and setting.category
        if setting.cluster_field:
            assert setting.scope is Scope.CLUSTER and setting.kind is Kind.FLOAT
    assert SETTINGS["cpu.overprovisioning.factor"].scope is Scope.CLUSTER
    assert SETTINGS["pool.storage.capacity.disablethreshold"].scope is Scope.ZONE
    assert SETTINGS["allow.user.expunge.recover.vm"].scope is Scope.ACCOUNT
    assert SETTINGS["vm.allocation.algorithm"].choices[:2] == ("random", "firstfit")


def test_default_then_global_then_scoped_value(cloud):
    zone = cloud.zone
    name = "pool.storage.capacity.disablethreshold"
    assert config_value(name, zone=zone) == 0.85
    config_update(caller=cloud.admin, name=name, value="0.7", target=GLOBAL)
    assert config_value(name) == 0.7 and config_value(name, zone=zone) == 0.7
    config_update(caller=cloud.admin, name=name, value="0.5", target=Target(Scope.ZONE, zone))
    assert config_value(name, zone=zone) == 0.5 and config_value(name) == 0.7
    # A cluster given to a zone-scoped setting is no zone: the global value applies.
    assert config_value(name, cluster=cloud.host.cluster) == 0.7
    config_reset(caller=cloud.admin, name=name, target=Target(Scope.ZONE, zone))
    assert config_value(name, zone=zone) == 0.7
    config_reset(caller=cloud.admin, name=name, target=GLOBAL)
    assert config_value(name, zone=zone) == 0.85
    assert not ConfigurationValue.objects.exists()


def test_values_are_typed(cloud):
    config_update(caller=cloud.admin, name="vm.destroy.forcestop", value="TRUE", target=GLOBAL)
    config_update(caller=cloud.admin, name="ping.interval", value=" 30 ", target=GLOBAL)
    config_update(caller=cloud.admin, name="vm.allocation.algorithm", value="firstfit", target=GLOBAL)
    assert config_value("vm.destroy.forcestop") is True
    assert config_value("ping.interval") == 30
    assert config_value("vm.allocation.algorithm") == "firstfit"
    assert config_value("expunge.delay") == 86400


@pytest.mark.parametrize("name,value", [
    ("ping.interval", "often"),
    ("ping.interval", "1.5"),
    ("ping.interval", "0"),
    ("cpu.overprovisioning.factor", "0"),
    ("cpu.overprovisioning.factor", "nan"),
    ("cluster.cpu.allocated.capacity.disablethreshold", "1.5"),
    ("vm.allocation.algorithm", "bestfit"),
    ("vm.destroy.forcestop", "yes"),
    ("no.such.setting", "1"),
])
def test_bad_values_are_refused_with_nothing_changed(cloud, name, value):
    with pytest.raises(InvalidParameter) as refused:
        config_update(caller=cloud.admin, name=name, value=value, target=GLOBAL)
    assert refused.value.errorcode == 431
    assert not ConfigurationValue.objects.exists() and not Event.objects.exists()


def test_a_setting_is_set_only_at_its_own_scope(cloud):
    with pytest.raises(InvalidParameter, match="scope is cluster"):
        config_update(caller=cloud.admin, name="cpu.overprovisioning.factor", value="2",
                      target=Target(Scope.ZONE, cloud.zone))
    with pytest.raises(InvalidParameter):
        config_update(caller=cloud.admin, name="ping.interval", value="10",
                      target=Target(Scope.ACCOUNT, cloud.alice.account))
    assert not ConfigurationValue.objects.exists()


def test_cluster_factors_are_the_clusters_own_fields(cloud):
    cluster = cloud.host.cluster
    config_update(caller=cloud.admin, name="cpu.overprovisioning.factor", value="3",
                  target=Target(Scope.CLUSTER, cluster))
    cluster.refresh_from_db()
    assert cluster.cpu_overprovisioning == 3.0 and not ConfigurationValue.objects.exists()
    # A global value is what a reset cluster takes; the cluster's own value wins until then.
    config_update(caller=cloud.admin, name="cpu.overprovisioning.factor", value="1.5", target=GLOBAL)
    assert config_value("cpu.overprovisioning.factor", cluster=cluster) == 3.0
    config_reset(caller=cloud.admin, name="cpu.overprovisioning.factor", target=Target(Scope.CLUSTER, cluster))
    cluster.refresh_from_db()
    assert cluster.cpu_overprovisioning == 1.5
    count, value = count_queries(lambda: config_value("cpu.overprovisioning.factor", cluster=cluster))
    assert (count, value) == (0, 1.5)


def test_a_lookup_is_one_query(cloud):
    count, value = count_queries(lambda: config_value("pool.storage.capacity.disablethreshold", zone=cloud.zone))
    assert (count, value) == (1, 0.85)
    config_list(caller=cloud.admin)  # the caller's role rules are read once per caller object
    count, entries = count_queries(lambda: config_list(caller=cloud.admin))
    assert count == 1 and len(entries) == len(SETTINGS)


def test_placement_honours_the_cluster_memory_factor(cloud):
    """The simulator host has 8 GiB: 12 GiB fit only once the cluster's memory factor is raised."""
    host = cloud.host
    Host.objects.filter(pk=host.pk).update(memory_allocated=0, cpu_allocated=0)
    twelve = 12 * 2**30
    with pytest.raises(Exception, match="room"):
        host_reserve(zone=cloud.zone, cpu_mhz=100, memory_bytes=twelve)
    config_update(caller=cloud.admin, name="mem.overprovisioning.factor", value="2",
                  target=Target(Scope.CLUSTER, host.cluster))
    assert host_reserve(zone=cloud.zone, cpu_mhz=100, memory_bytes=twelve) == host
    # Another cluster's factor is its own.
    assert ClusterFactory().memory_overprovisioning == 1.0


def test_changes_emit_events_with_the_actor(cloud):
    config_update(caller=cloud.admin, name="expunge.delay", value="60", target=GLOBAL)
    config_reset(caller=cloud.admin, name="expunge.delay", target=GLOBAL)
    events = list(Event.objects.order_by("created", "id"))
    assert [(e.type, e.user, e.account) for e in events] == [
        ("CONFIGURATION.VALUE.EDIT", cloud.admin, cloud.admin.account),
        ("CONFIGURATION.VALUE.RESET", cloud.admin, cloud.admin.account)]
    assert "expunge.delay" in events[0].description and "60" in events[0].description


def test_who_may_change_what(cloud):
    sales = DomainFactory(name="Sales", parent=cloud.alice.account.domain)
    admin = UserFactory(account=AccountFactory(domain=sales, account_type=Account.Type.DOMAIN_ADMIN))
    inside = AccountFactory(domain=sales)
    name = "allow.user.expunge.recover.vm"
    # A domain admin sets its subtree's accounts' settings, and the event is the account's.
    entry = config_update(caller=admin, name=name, value="true", target=Target(Scope.ACCOUNT, inside))
    assert entry.value is True and entry.overridden
    assert config_value(name, account=inside) is True and config_value(name, account=cloud.alice.account) is False
    assert Event.objects.get(type="CONFIGURATION.VALUE.EDIT").account == inside
    assert [e.setting.name for e in config_list(caller=admin, target=Target(Scope.ACCOUNT, inside))] == [name]
    for target in (GLOBAL, Target(Scope.ZONE, cloud.zone), Target(Scope.ACCOUNT, cloud.alice.account)):
        with pytest.raises(PermissionDenied):
            config_update(caller=admin, name=name if target.scope is Scope.ACCOUNT else
                          "pool.storage.capacity.disablethreshold", value="0.5", target=target)
        with pytest.raises(PermissionDenied):
            config_list(caller=admin, target=target)
    # End users change no settings, not even their own account's.
    with pytest.raises(PermissionDenied):
        config_update(caller=cloud.alice, name=name, value="true", target=Target(Scope.ACCOUNT, cloud.alice.account))
    assert ConfigurationValue.objects.count() == 1
