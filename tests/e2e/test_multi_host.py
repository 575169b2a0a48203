"""End to end on three real libvirt hosts: the system libvirtd (16509) and the extra hosts "b" (16510) and "c"
(16511) that `bin/cirrostack test` starts with bin/lib/libvirt-hosts.sh. A root admin creates a cluster and adds
the three hosts through the CloudStack API; a real agent process connects them (Up, with the CPU, memory and
version libvirt reports) and starts the deployed VMs as QEMU (TCG) guests of the tiny image. The tests check
where the deployment planner put each VM: in the portal and on the libvirtd that really runs it.

Placement settings are changed through updateConfiguration / updateCluster, as an operator would.

Needs: CIRROSTACK_E2E_LIBVIRT_URI and CIRROSTACK_E2E_EXTRA_LIBVIRT_URIS (two more libvirtds), the tiny image
(CIRROSTACK_E2E_IMAGE), PostgreSQL shared with the agent, root. Under CIRROSTACK_STRICT_SKIPS=1 a missing one
fails instead of skipping.
"""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from cs.client import CloudStack

from accounts.models import Account, User
from accounts.services import user_keys_register
from compute.models import ServiceOffering, VirtualMachine
from infrastructure import hypervisor as hv
from infrastructure.models import Cluster, Host
from portal.models import AsyncJob
from storage.models import Template
from tests import factories
from tests.e2e.conftest import e2e_preconditions, virtual_size
from tests.support.agent import agent_process, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ENDPOINT = "/client/api"
STORAGE_ROOT = "/var/lib/cirrostack/e2e-multi"
VM_MEMORY_MIB = 128  # the tiny guest needs little; these tests only check where guests run


def _sign(params: dict[str, str], api_key: str, secret: str) -> dict[str, str]:
    signed = {**params, "apiKey": api_key}
    CloudStack(endpoint="http://testserver" + ENDPOINT, key=api_key, secret=secret)._sign(signed)
    return signed


@dataclass
class MultiHost:
    """Three Up hosts in one API-made cluster, the agent serving them, and signed API callers."""

    client: Any
    keys: dict[str, tuple[str, str]]
    agent: subprocess.Popen | None
    zone_id: str
    cluster: Cluster | None
    hosts: dict[str, Host]  # "a" (16509), "b" (16510), "c" (16511)
    template: Template
    admin: User
    users: dict[str, User]
    vms: list[VirtualMachine] = field(default_factory=list)

    def api(self, username: str, command: str, /, **params: Any) -> tuple[int, dict]:
        api_key, secret = self.keys[username]
        wire = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}
        response = self.client.get(ENDPOINT, _sign({"command": command, "response": "json", **wire},
                                                   api_key, secret))
        return response.status_code, response.json()[f"{command.lower()}response"]

    def ok(self, username: str, command: str, /, **params: Any) -> dict:
        status, body = self.api(username, command, **params)
        assert status == 200, (command, body)
        return body

    def configure(self, **settings: str) -> None:
        for name, value in settings.items():
            self.ok("admin", "updateConfiguration", name=name, value=value)

    def wait_job(self, jobid: str, what: str, timeout: float = 60) -> AsyncJob:
        job = AsyncJob.objects.get(uuid=jobid)

        def done() -> bool:
            job.refresh_from_db()
            return job.is_done

        wait_for(done, timeout=timeout, what=what, process=self.agent)
        return job

    def deploy(self, username: str, offering: ServiceOffering, name: str) -> VirtualMachine:
        """deployVirtualMachine, then wait until the agent started the guest; the VM as the portal sees it."""
        body = self.ok(username, "deployVirtualMachine", zoneid=self.zone_id, serviceofferingid=offering.uuid,
                       templateid=self.template.uuid, name=name)
        vm = VirtualMachine.objects.get(uuid=body["id"])
        self.vms.append(vm)
        job = self.wait_job(body["jobid"], f"the deploy job of {name}")
        assert job.status == AsyncJob.Status.SUCCEEDED, job.result
        vm.refresh_from_db()
        assert vm.state == "Running" and vm.host_id is not None, (vm.state, vm.host_id)
        return vm

    def host_of(self, vm: VirtualMachine) -> str:
        """The host that really runs the guest, asked of the three libvirtds (and agreeing with the portal)."""
        running = [name for name, host in self.hosts.items()
                   if hv.domain_state(host.url, vm.instance_name) == hv.DomainState.RUNNING]
        assert len(running) == 1, f"{vm.instance_name} runs on {running or 'no host'}"
        assert self.hosts[running[0]].pk == vm.host_id
        return running[0]

    def offering(self, name: str, host_tags: str = "") -> ServiceOffering:
        return factories.ServiceOfferingFactory(name=name, cpu_number=1, cpu_speed=500, memory=VM_MEMORY_MIB,
                                                host_tags=host_tags)


def _cleanup(vms: list[VirtualMachine], hosts: dict[str, Host]) -> None:
    """Remove every guest and volume the test made, whatever state the test left them in."""
    by_pk = {host.pk: host for host in hosts.values()}

    def remove(vm: VirtualMachine) -> None:
        for host in hosts.values():
            hv.destroy_domain(host.url, vm.instance_name)
            hv.undefine_domain(host.url, vm.instance_name)

    # A QEMU takes over a second to die after SIGTERM: in parallel (libvirt connections are thread-safe).
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(remove, vms))
    for vm in vms:
        for volume in vm.volumes.all():
            host = by_pk.get(volume.host_id)
            if host is not None:
                hv.delete_volume(host.url, host.local_pool_name, volume.file_name)


@pytest.fixture
def multi(client, settings, tmp_path) -> Iterator[MultiHost]:
    image, uris = e2e_preconditions(extra_hosts=2)

    root = factories.DomainFactory()
    admin = factories.UserFactory(username="admin", account__name="admin", account__domain=root,
                                  account__account_type=Account.Type.ROOT_ADMIN)
    users = {name: factories.UserFactory(username=name, account__name=name, account__domain=root)
             for name in ("alice", "bob")}
    keys = {user.username: user_keys_register(user=user) for user in (admin, *users.values())}
    pod = factories.PodFactory()
    template = factories.TemplateFactory(name="tiny-guest", url=f"file://{image}", size=virtual_size(image),
                                         account=admin.account, domain=root)
    env = MultiHost(client=client, keys=keys, agent=None, zone_id=str(pod.zone.uuid), cluster=None, hosts={},
                    template=template, admin=admin, users=users)

    body = env.ok("admin", "addCluster", clustername="multi", zoneid=pod.zone.uuid, podid=pod.uuid,
                  hypervisor="KVM")
    env.cluster = Cluster.objects.get(uuid=body["cluster"][0]["id"])
    jobs = {}
    for name, uri in uris.items():
        # One directory per host: CIRROSTACK_LOCAL_STORAGE_PATH is read when the host is added.
        settings.CIRROSTACK_LOCAL_STORAGE_PATH = f"{STORAGE_ROOT}-{name}"
        body = env.ok("admin", "addHost", zoneid=pod.zone.uuid, podid=pod.uuid, clusterid=env.cluster.uuid,
                      url=uri, hypervisor="KVM", name=f"multi-{name}")
        host = Host.objects.get(uuid=body["host"][0]["id"])
        assert host.domain_type == "qemu"  # KVM hangs guests here: TCG only
        env.hosts[name] = host
        jobs[name] = AsyncJob.objects.filter(instance_id=host.uuid, cmd="addHost").get()

    with agent_process(tmp_path, host_ids=[host.pk for host in env.hosts.values()]) as agent:
        env.agent = agent
        try:
            for name, job in jobs.items():
                job = env.wait_job(str(job.uuid), f"the addHost job of host {name}")
                assert job.status == AsyncJob.Status.SUCCEEDED, job.result
            for host in env.hosts.values():
                host.refresh_from_db()
            yield env
        finally:
            _cleanup(env.vms, env.hosts)


def test_three_real_hosts_added_through_the_api_are_up_with_discovered_capacity(multi):
    listed = multi.ok("admin", "listHosts", clusterid=multi.cluster.uuid)
    assert listed["count"] == 3
    by_name = {host["name"]: host for host in listed["host"]}
    assert set(by_name) == {"multi-a", "multi-b", "multi-c"}
    for name, host in multi.hosts.items():
        row = by_name[f"multi-{name}"]
        assert (row["state"], row["resourcestate"], row["clusterid"]) == ("Up", "Enabled", str(multi.cluster.uuid))
        # What the libvirtd reported, not defaults: same machine, so the same facts on every host.
        facts = hv.host_facts(host.url)
        assert row["cpunumber"] == facts.cpu_sockets * facts.cpu_cores > 0
        assert row["memorytotal"] == host.memory_total == facts.memory_bytes > 0
        assert row["hypervisorversion"] == host.hypervisor_version and host.hypervisor_version.strip()
        assert host.status == "Up" and host.last_seen is not None
    # Three libvirtds, not one reached three times: each host has its own identity.
    assert len({hv.get_connection(host.url).getCapabilities().split("<uuid>")[1][:36]
                for host in multi.hosts.values()}) == 3


def test_user_dispersing_spreads_one_accounts_vms_one_per_host(multi):
    offering = multi.offering("disperse")
    # Bob's two VMs pile on host a first (firstfit). Dispersing counts the deploying account's VMs only: a
    # least-loaded order would keep alice off host a, user dispersion gives her one VM on each host.
    multi.configure(**{"vm.deployment.planner": "FirstFitPlanner", "vm.allocation.algorithm": "firstfit"})
    assert [multi.host_of(multi.deploy("bob", offering, f"bob-{n}")) for n in range(2)] == ["a", "a"]
    multi.configure(**{"vm.deployment.planner": "UserDispersingPlanner", "vm.allocation.algorithm": "userdispersing"})
    placed = [multi.host_of(multi.deploy("alice", offering, f"alice-{n}")) for n in range(3)]
    assert sorted(placed) == ["a", "b", "c"], placed


def test_firstfit_fills_the_first_host_before_the_next(multi):
    multi.configure(**{"vm.deployment.planner": "FirstFitPlanner", "vm.allocation.algorithm": "firstfit"})
    # Shrink every host to room for two VMs (and a half): the memory overcommit ratio of the cluster.
    memory_total = multi.hosts["a"].memory_total
    ratio = (2.5 * VM_MEMORY_MIB * 2**20) / memory_total
    multi.ok("admin", "updateCluster", id=multi.cluster.uuid, memoryovercommitratio=f"{ratio:.8f}")
    offering = multi.offering("firstfit")
    placed = [multi.host_of(multi.deploy("alice", offering, f"fit-{n}")) for n in range(3)]
    assert placed == ["a", "a", "b"], placed
    allocated = {name: Host.objects.get(pk=host.pk).memory_allocated for name, host in multi.hosts.items()}
    assert allocated == {"a": 2 * VM_MEMORY_MIB * 2**20, "b": VM_MEMORY_MIB * 2**20, "c": 0}


def test_hosts_without_the_offerings_tag_are_never_chosen(multi):
    # Tagged by the operator after the hosts came up; untagged offerings are left to the other tests.
    for name, tags in (("b", "hdd"), ("c", "ssd,fast")):
        multi.ok("admin", "updateHost", id=multi.hosts[name].uuid, hosttags=tags)
    listed = multi.ok("admin", "listHosts", clusterid=multi.cluster.uuid)["host"]
    assert {row["name"]: row.get("hosttags", "") for row in listed} == {
        "multi-a": "", "multi-b": "hdd", "multi-c": "ssd,fast"}
    # firstfit would take host a (untagged) and b (tagged hdd) first: only the tag can send them to c.
    multi.configure(**{"vm.deployment.planner": "FirstFitPlanner", "vm.allocation.algorithm": "firstfit"})
    ssd = multi.offering("on-ssd", host_tags="ssd")
    placed = [multi.host_of(multi.deploy(user, ssd, f"ssd-{user}")) for user in ("alice", "bob")]
    assert placed == ["c", "c"], placed

    # No host carries the tag: refused with InsufficientCapacity, nothing started anywhere.
    nvme = multi.offering("on-nvme", host_tags="nvme")
    status, body = multi.api("alice", "deployVirtualMachine", zoneid=multi.zone_id, serviceofferingid=nvme.uuid,
                             templateid=multi.template.uuid, name="nvme-1")
    if status == 200:  # the planner may decide in the job: then the job fails with 533
        job = multi.wait_job(body["jobid"], "the refused deploy")
        multi.vms.append(VirtualMachine.objects.get(uuid=body["id"]))
        assert job.status == AsyncJob.Status.FAILED and job.result["errorcode"] == 533, job.result
    else:
        assert body["errorcode"] == 533, body
    counts = Counter(name for host in multi.hosts.values() for name in hv.list_domains(host.url)
                     if name.endswith("-VM") and VirtualMachine.objects.filter(instance_name=name).exists())
    assert sum(counts.values()) == 2
