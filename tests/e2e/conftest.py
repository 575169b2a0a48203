"""The e2e lab shared by the tests that drive the portal on real hosts: two Up hosts on the real libvirtds (the
system one and the first extra one) in one cluster, a real agent process serving them, an admin and an end
user, the tiny guest as a template, and a guest serial console reader (Console).

Both hosts must see the pools and the serial logs: they live in one directory per run under
/var/lib/cirrostack, which the extra host shares (it only bind-mounts libvirt's own directories, so the
default /var/log/libvirt/qemu would be a different directory on each host).
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
from compute.models import ServiceOffering, VirtualMachine
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

BOOT_MARKER = "CIRROSTACK-GUEST-BOOTED"
STORAGE_ROOT = Path("/var/lib/cirrostack")
VM_MEMORY_MIB = 128  # the tiny guest needs little; a small RAM keeps memory snapshots and migration quick


def virtual_size(image: str) -> int:
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


HOST_NAMES = ("a", "b", "c")


def e2e_uris(extra_hosts: int) -> dict[str, str]:
    """The system libvirtd ("a") and the first `extra_hosts` extra ones ("b", "c"), each answering."""
    default = os.environ.get("CIRROSTACK_E2E_LIBVIRT_URI", "")
    extra = os.environ.get("CIRROSTACK_E2E_EXTRA_LIBVIRT_URIS", "").split()
    require(bool(default), "CIRROSTACK_E2E_LIBVIRT_URI is not set (bin/cirrostack test starts libvirtd)")
    require(len(extra) >= extra_hosts, f"CIRROSTACK_E2E_EXTRA_LIBVIRT_URIS names fewer than {extra_hosts} extra "
                                       "libvirt hosts (bin/cirrostack test starts them with bin/lib/libvirt-hosts.sh)")
    uris = dict(zip(HOST_NAMES, [default, *extra[:extra_hosts]], strict=False))
    for uri in uris.values():
        require(hv.ping(uri), f"no libvirtd answers at {uri}")
    return uris


def e2e_preconditions(extra_hosts: int) -> tuple[str, dict[str, str]]:
    """(the tiny guest image, the hosts' URIs) for tests driving the portal on real hosts through an agent
    process sharing the tests' database; skipped (failed under CIRROSTACK_STRICT_SKIPS) when one is missing."""
    require(os.geteuid() == 0, "end-to-end tests need root (libvirtd, QEMU, host storage)")
    image = os.environ.get("CIRROSTACK_E2E_IMAGE", "")
    require(bool(image) and Path(image).is_file(), f"tiny guest image missing: {image!r}")
    uris = e2e_uris(extra_hosts)
    shared_database_url()
    celery_app.conf.task_always_eager = False
    return image, uris


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
    image, uris = e2e_preconditions(extra_hosts=1)

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
    template = factories.TemplateFactory(name="tiny-guest", url=f"file://{image}", size=virtual_size(image),
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



def shared_pool(lab: Lab) -> StoragePool:
    """Cluster-wide primary storage: one directory both hosts define as the same pool (defined on both)."""
    a = lab.hosts["a"]
    pool = storage_pool_create(caller=lab.admin, zone=a.zone, name="shared", url=f"filesystem://{lab.run_dir}/pool",
                               scope="CLUSTER", cluster=a.cluster, capacity_bytes=20 * 2**30)
    lab.pools.append(pool)
    defines = list(AsyncJob.objects.filter(cmd="createStoragePool", instance_id=pool.uuid))
    assert len(defines) == 2
    for job in defines:
        lab.wait(job, "the pool define job")
    for host in lab.hosts.values():
        assert hv.pool_info(host.url, pool.libvirt_name).capacity > 0
    return pool
