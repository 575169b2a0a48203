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

import time
from pathlib import Path

import pytest

from compute import services as compute_services
from compute.services_migration import vm_migrate
from compute.services_vm_snapshots import vm_snapshot_create, vm_snapshot_delete, vm_snapshot_revert
from infrastructure import hypervisor as hv
from infrastructure.models import Host
from tests.e2e.conftest import VM_MEMORY_MIB, Console, shared_pool
from tests.support.agent import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_vm_lifecycle_on_two_real_hosts(lab):
    started = time.monotonic()
    a, b = lab.hosts["a"], lab.hosts["b"]

    # Cluster-wide primary storage: one directory both hosts define as the same pool.
    pool = shared_pool(lab)

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
