"""The VM lifecycle end to end on two real libvirtds with QEMU (TCG), through the service layer and a real agent
process: deploy the tiny guest from a template onto a cluster-wide directory pool that both hosts reach, take a
VM snapshot with memory and revert to it, delete it, live-migrate the guest to the other host while it keeps
answering on its serial console, stop and start it, destroy and recover it, and start it again.

The serial console is where the guest proves it is the same, live guest: commands typed there (libvirt's
openConsole on whichever host runs it now) compute a number the serial log must then show, and a file written
in the guest's RAM-backed root before a snapshot (or a migration) says whether the guest's memory state is the
one expected afterwards.

Both hosts must see the pool's directory and the serial logs: they live in one directory per run under
/var/lib/cirrostack, which the extra host shares (it only bind-mounts libvirt's own directories, so the
default /var/log/libvirt/qemu would be a different directory on each host).

Needs (started by `bin/cirrostack test`): CIRROSTACK_E2E_LIBVIRT_URI and one extra libvirtd in
CIRROSTACK_E2E_EXTRA_LIBVIRT_URIS, the tiny image (CIRROSTACK_E2E_IMAGE), PostgreSQL shared with the agent,
root. Under CIRROSTACK_STRICT_SKIPS=1 a missing one fails instead of skipping.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from accounts.models import Account, User
from compute import services as compute_services
from compute.models import ServiceOffering, VirtualMachine
from compute.services_migration import vm_migrate
from compute.services_vm_snapshots import vm_snapshot_create, vm_snapshot_delete, vm_snapshot_revert
from compute.specs import serial_log_path
from infrastructure import hypervisor as hv
from infrastructure import services as infra_services
from infrastructure.models import Host
from portal.celery import app as celery_app
from portal.models import AsyncJob
from storage.models import StoragePool, Template
from storage.services_pools import storage_pool_create
from tests import factories
from tests.support.agent import agent_process, shared_database_url, wait_for
from tests.support.requirements import require

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BOOT_MARKER = "CIRROSTACK-GUEST-BOOTED"
STORAGE_ROOT = Path("/var/lib/cirrostack")
VM_MEMORY_MIB = 128  # the tiny guest needs little; a small RAM keeps memory snapshots and migration quick


def _virtual_size(image: str) -> int:
    info = subprocess.run(["qemu-img", "info", "--output=json", image], check=True, capture_output=True,
                          text=True)
    return int(json.loads(info.stdout)["virtual-size"])


def _finished(job: AsyncJob) -> bool:
    job.refresh_from_db()
    return job.is_done


@dataclass
class Lab:
    """Two Up hosts in one cluster with a shared pool, the agent serving them, and the callers."""

    agent: subprocess.Popen
    hosts: dict[str, Host]  # "a" (the system libvirtd), "b" (the first extra one)
    admin: User
    user: User
    template: Template
    offering: ServiceOffering
    run_dir: Path
    vms: list[VirtualMachine] = field(default_factory=list)  # what the cleanup removes
    pools: list[StoragePool] = field(default_factory=list)

    def wait(self, job: AsyncJob, what: str, timeout: float = 90) -> AsyncJob:
        wait_for(lambda: _finished(job), timeout=timeout, what=what, process=self.agent)
        assert job.status == AsyncJob.Status.SUCCEEDED, (what, job.result)
        return job

    def runs_on(self, vm: VirtualMachine) -> str:
        """The one host whose libvirtd runs the guest, agreeing with the VM's row."""
        vm.refresh_from_db()
        running = [name for name, host in self.hosts.items()
                   if hv.domain_state(host.url, vm.instance_name) == hv.DomainState.RUNNING]
        assert len(running) == 1, f"{vm.instance_name} runs on {running or 'no host'}"
        assert vm.state == "Running" and vm.host_id == self.hosts[running[0]].pk, (vm.state, vm.host_id)
        return running[0]


class Console:
    """The guest's serial console: type on it where the guest runs now, read the answers from its serial log."""

    def __init__(self, vm: VirtualMachine) -> None:
        self.vm = vm
        self.log = Path(serial_log_path(vm))

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def boots(self) -> int:
        return self.text().count(BOOT_MARKER)

    def wait_boots(self, count: int) -> None:
        wait_for(lambda: self.boots() >= count, timeout=90, interval=0.25,
                 what=f"boot #{count} ({BOOT_MARKER}) in {self.log}")

    def run(self, uri: str, command: str, answers: tuple[str, ...], timeout: float = 30) -> str:
        """Type `command`; return which of `answers` the guest printed first after it. Answers are written as
        NAME-$((6*7)) in the command and looked for as NAME-42: only a shell that ran the command prints them
        (the console's echo of the typed line shows the unevaluated text)."""
        before = len(self.text())
        conn = hv.get_connection(uri)
        stream = conn.newStream(0)
        conn.lookupByName(self.vm.instance_name).openConsole(None, stream, 0)
        try:
            stream.send(f"\n{command}\n".encode())
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                new = self.text()[before:]
                found = [(new.find(answer), answer) for answer in answers if answer in new]
                if found:
                    return min(found)[1]
                time.sleep(0.2)
        finally:
            stream.abort()
        raise AssertionError(f"the guest did not answer {command!r} on {uri} within {timeout}s "
                             f"(log tail: {self.text()[-400:]!r})")

    def ticks(self) -> int:
        """The highest TICK-<n> the guest's loop printed (the typed loop itself shows TICK-$i, not a number)."""
        return max((int(n) for n in re.findall(r"TICK-(\d+)", self.text())), default=0)

    def say(self, uri: str, marker: str) -> None:
        assert self.run(uri, f"echo {marker}-$((6*7))", (f"{marker}-42",)) == f"{marker}-42"

    def has_file(self, uri: str, path: str) -> bool:
        answer = self.run(uri, f"if [ -e {path} ]; then echo HAS-FILE-$((6*7)); else echo NO-FILE-$((6*7)); fi",
                          ("HAS-FILE-42", "NO-FILE-42"))
        return answer == "HAS-FILE-42"


def _uris() -> dict[str, str]:
    default = os.environ.get("CIRROSTACK_E2E_LIBVIRT_URI", "")
    extra = os.environ.get("CIRROSTACK_E2E_EXTRA_LIBVIRT_URIS", "").split()
    require(bool(default), "CIRROSTACK_E2E_LIBVIRT_URI is not set (bin/cirrostack test starts libvirtd)")
    require(bool(extra), "CIRROSTACK_E2E_EXTRA_LIBVIRT_URIS names no extra libvirt host "
                         "(bin/cirrostack test starts them with bin/lib/libvirt-hosts.sh)")
    uris = {"a": default, "b": extra[0]}
    for uri in uris.values():
        require(hv.ping(uri), f"no libvirtd answers at {uri}")
    return uris


def _cleanup(vms: list[VirtualMachine], hosts: dict[str, Host], pools: list[StoragePool]) -> None:
    """Leave no guest, snapshot or pool behind on either host, whatever state a failed test left them in."""
    for vm in vms:
        for host in hosts.values():
            try:
                hv.destroy_domain(host.url, vm.instance_name)
                if hv.domain_state(host.url, vm.instance_name) != hv.DomainState.MISSING:
                    for snapshot in hv.snapshot_list(host.url, vm.instance_name):
                        hv.snapshot_delete(host.url, vm.instance_name, snapshot)
                hv.undefine_domain(host.url, vm.instance_name)
            except hv.HypervisorError as exc:
                print(f"cleanup of {vm.instance_name} on {host.url}: {exc}")
    for host in hosts.values():
        for name in [pool.libvirt_name for pool in pools] + [host.local_pool_name]:
            try:
                hv.remove_pool(host.url, name)
            except hv.HypervisorError as exc:
                print(f"cleanup of pool {name} on {host.url}: {exc}")


@pytest.fixture
def lab(settings, monkeypatch, tmp_path) -> Iterator[Lab]:
    require(os.geteuid() == 0, "end-to-end tests need root (libvirtd, QEMU, host storage)")
    image = os.environ.get("CIRROSTACK_E2E_IMAGE", "")
    require(bool(image) and Path(image).is_file(), f"tiny guest image missing: {image!r}")
    uris = _uris()
    shared_database_url()
    celery_app.conf.task_always_eager = False

    # One directory per run for everything both hosts must see: a rerun never meets an earlier run's pools.
    run_dir = STORAGE_ROOT / f"e2e-lifecycle-{uuid.uuid4().hex[:8]}"
    logs = run_dir / "serial"
    # The agent process builds the domain XML: it must get the shared serial log directory too.
    monkeypatch.setenv("CIRROSTACK_SERIAL_LOG_DIR", str(logs))
    settings.CIRROSTACK_SERIAL_LOG_DIR = str(logs)
    monkeypatch.setenv("CIRROSTACK_VM_STOP_TIMEOUT", "30")

    root = factories.DomainFactory()
    admin = factories.UserFactory(username="admin", account__name="admin", account__domain=root,
                                  account__account_type=Account.Type.ROOT_ADMIN)
    user = factories.UserFactory(username="enduser", account__domain=root)
    cluster = factories.ClusterFactory()
    offering = factories.ServiceOfferingFactory(name="tiny", cpu_number=1, cpu_speed=500, memory=VM_MEMORY_MIB)
    template = factories.TemplateFactory(name="tiny-guest", url=f"file://{image}", size=_virtual_size(image),
                                         account=admin.account, domain=root)
    hosts, jobs = {}, {}
    for name, uri in uris.items():
        host, job = infra_services.host_add(caller=admin, cluster=cluster, name=f"life-{name}", url=uri,
                                            domain_type="qemu", storage_path=str(run_dir / f"local-{name}"))
        hosts[name], jobs[name] = host, job

    logs.mkdir(parents=True, mode=0o755)
    os.chmod(run_dir, 0o755)  # noqa: S103 - QEMU runs as libvirt-qemu and must reach the disks and logs
    try:
        with agent_process(tmp_path, host_ids=[host.pk for host in hosts.values()]) as agent:
            env = Lab(agent=agent, hosts=hosts, admin=admin, user=user, template=template, offering=offering,
                      run_dir=run_dir)
            try:
                for name, job in jobs.items():
                    env.wait(job, f"the addHost job of host {name}", timeout=60)
                    hosts[name].refresh_from_db()
                    assert hosts[name].status == "Up"
                yield env
            finally:
                _cleanup(env.vms, hosts, env.pools)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def test_vm_lifecycle_on_two_real_hosts(lab):
    started = time.monotonic()
    a, b = lab.hosts["a"], lab.hosts["b"]

    # Cluster-wide primary storage: one directory both hosts define as the same pool.
    pool = storage_pool_create(caller=lab.admin, zone=a.zone, name="shared", url=f"filesystem://{lab.run_dir}/pool",
                               scope="CLUSTER", cluster=a.cluster, capacity_bytes=20 * 2**30)
    lab.pools.append(pool)
    defines = list(AsyncJob.objects.filter(cmd="createStoragePool", instance_id=pool.uuid))
    assert len(defines) == 2
    for job in defines:
        lab.wait(job, "the pool define job")
    for host in (a, b):
        assert hv.pool_info(host.url, pool.libvirt_name).capacity > 0

    # Deploy from the template: the root disk goes to the shared pool, the guest boots.
    vm, job = compute_services.vm_deploy(caller=lab.user, zone=a.zone, service_offering=lab.offering,
                                         template=lab.template, name="life1")
    lab.vms.append(vm)
    lab.wait(job, "the deploy job", timeout=120)
    first = lab.runs_on(vm)
    other = "b" if first == "a" else "a"
    root = vm.volumes.get()
    assert root.storage_pool_id == pool.pk and root.path.startswith(f"{lab.run_dir}/pool/"), root.path
    console = Console(vm)
    console.wait_boots(1)
    uri = lab.hosts[first].url
    console.say(uri, "DEPLOYED")

    # A VM snapshot with memory, then a change in the guest's RAM, then the revert: the change is gone and the
    # guest answers without a reboot.
    assert not console.has_file(uri, "/snap-proof")
    snapshot, job = vm_snapshot_create(caller=lab.user, vm=vm, name="with-ram", memory=True)
    lab.wait(job, "the VM snapshot job", timeout=120)
    snapshot.refresh_from_db()
    assert (snapshot.state, snapshot.snapshot_type) == ("Ready", "DiskAndMemory")
    assert hv.snapshot_list(uri, vm.instance_name) == [snapshot.name]
    console.run(uri, "touch /snap-proof && echo TOUCHED-$((6*7))", ("TOUCHED-42",))
    assert console.has_file(uri, "/snap-proof")
    lab.wait(vm_snapshot_revert(caller=lab.user, snapshot=snapshot), "the revert job", timeout=120)
    assert lab.runs_on(vm) == first
    assert not console.has_file(uri, "/snap-proof")
    assert console.boots() == 1
    lab.wait(vm_snapshot_delete(caller=lab.user, snapshot=snapshot), "the snapshot delete job")
    snapshot.refresh_from_db()
    assert snapshot.state == "Removed"
    assert hv.snapshot_list(uri, vm.instance_name) == []

    # Live migration to the other host while a loop in the guest keeps printing numbered ticks on its console:
    # the numbering goes on after the move (no reboot, the same processes), and the guest answers there.
    console.run(uri, "touch /migrate-proof && echo TOUCHED2-$((6*7))", ("TOUCHED2-42",))
    console.run(uri, "(i=0; while [ ! -e /stop-ticks ]; do i=$((i+1)); echo TICK-$i; sleep 0.3; done) & "
                     "echo TICKING-$((6*7))", ("TICKING-42",))
    wait_for(lambda: console.ticks() >= 3, timeout=30, what="ticks before the migration")
    capacity = {name: Host.objects.get(pk=host.pk).memory_allocated for name, host in lab.hosts.items()}
    job = vm_migrate(caller=lab.admin, vm=vm, host=lab.hosts[other])
    vm.refresh_from_db()
    assert vm.state == "Migrating"
    lab.wait(job, "the migration job", timeout=120)
    ticks_at_arrival = console.ticks()
    assert lab.runs_on(vm) == other
    assert hv.domain_state(uri, vm.instance_name) == hv.DomainState.MISSING
    uri = lab.hosts[other].url
    vm.refresh_from_db()
    assert vm.last_host_id == lab.hosts[other].pk and vm.vnc_port == hv.vnc_port(uri, vm.instance_name)
    moved = VM_MEMORY_MIB * 2**20
    assert {name: Host.objects.get(pk=host.pk).memory_allocated for name, host in lab.hosts.items()} == {
        first: capacity[first] - moved, other: capacity[other] + moved}
    wait_for(lambda: console.ticks() >= ticks_at_arrival + 3, timeout=30, what="ticks after the migration")
    assert console.text().count("TICK-1\n") + console.text().count("TICK-1\r") == 1  # one loop, never restarted
    console.say(uri, "MIGRATED")
    assert console.has_file(uri, "/migrate-proof")
    console.run(uri, "touch /stop-ticks && echo STOPPED-TICKS-$((6*7))", ("STOPPED-TICKS-42",))
    assert console.boots() == 1

    # And back, to a host the planner picks: the only other host of the pool's cluster.
    lab.wait(vm_migrate(caller=lab.admin, vm=vm), "the migration back", timeout=120)
    assert lab.runs_on(vm) == first
    uri = lab.hosts[first].url
    console.say(uri, "BACK")
    assert console.has_file(uri, "/migrate-proof") and console.boots() == 1

    # Stop (graceful) and start again, wherever the planner puts it in the pool's cluster.
    lab.wait(compute_services.vm_stop(caller=lab.user, vm=vm), "the stop job")
    vm.refresh_from_db()
    assert vm.state == "Stopped" and vm.host_id is None, (vm.state, vm.host_id)
    assert all(hv.domain_state(host.url, vm.instance_name) != hv.DomainState.RUNNING for host in (a, b))
    lab.wait(compute_services.vm_start(caller=lab.user, vm=vm), "the start job", timeout=120)
    uri = lab.hosts[lab.runs_on(vm)].url
    console.wait_boots(2)
    console.say(uri, "RESTARTED")

    # Destroy, recover (Stopped, nothing running), start again on the same root disk.
    lab.wait(compute_services.vm_destroy(caller=lab.user, vm=vm), "the destroy job")
    vm.refresh_from_db()
    assert vm.state == "Destroyed"
    assert all(hv.domain_state(host.url, vm.instance_name) == hv.DomainState.MISSING for host in (a, b))
    assert Path(root.path).exists()  # recoverable: the disk stays until expunged
    compute_services.vm_recover(caller=lab.admin, vm=vm)
    vm.refresh_from_db()
    assert vm.state == "Stopped"
    lab.wait(compute_services.vm_start(caller=lab.user, vm=vm), "the start job after recovery", timeout=120)
    uri = lab.hosts[lab.runs_on(vm)].url
    assert vm.volumes.get().path == root.path
    console.wait_boots(3)
    console.say(uri, "RECOVERED")

    print(f"VM lifecycle on two real hosts took {time.monotonic() - started:.1f}s")
