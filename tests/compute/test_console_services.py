"""compute.services_console on its own: who may mint a ticket, how long it lives, how tickets are pruned, and
what an open console's re-check decides."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from compute import services_console
from compute.models import ConsoleToken, VirtualMachine
from compute.services_console import (
    CONSOLE_TOKEN_TTL_MAX,
    FORBIDDEN,
    MOVED,
    STOPPED,
    console_fields,
    console_redeem,
    console_serial_request,
    console_target,
    console_token_create,
    console_verdict,
    token_hash,
)
from compute.services_grants import vm_grant
from compute.specs import domain_spec
from infrastructure import hypervisor as hv
from infrastructure.models import Host
from portal.errors import InvalidState, PermissionDenied, Unsupported
from portal.models import AsyncJob, Event
from tests import factories

pytestmark = pytest.mark.django_db


def test_only_the_hash_is_stored_and_the_ttl_is_capped_at_a_minute(cloud, console_vm, settings):
    settings.CIRROSTACK_CONSOLE_TOKEN_TTL = 600
    token, expires = console_token_create(caller=cloud.alice, vm=console_vm)
    ticket = ConsoleToken.objects.get()
    assert ticket.token_hash == token_hash(token) and token not in ticket.token_hash
    assert (expires - ticket.created).total_seconds() <= CONSOLE_TOKEN_TTL_MAX
    settings.CIRROSTACK_CONSOLE_TOKEN_TTL = 5
    _token, expires = console_token_create(caller=cloud.alice, vm=console_vm)
    assert (expires - timezone.now()).total_seconds() <= 5


def test_long_expired_tickets_are_pruned_when_new_ones_are_minted(cloud, console_vm):
    console_token_create(caller=cloud.alice, vm=console_vm)
    ConsoleToken.objects.update(expires=timezone.now() - timedelta(hours=2))
    console_token_create(caller=cloud.alice, vm=console_vm)
    assert ConsoleToken.objects.count() == 1


def test_an_operate_grant_does_not_open_the_console(cloud, console_vm):
    vm_grant(caller=cloud.alice, vm=console_vm, grantee=cloud.bob, permission="operate")
    with pytest.raises(PermissionDenied):
        console_token_create(caller=cloud.bob, vm=console_vm)
    vm_grant(caller=cloud.alice, vm=console_vm, grantee=cloud.bob, permission="console")
    assert console_token_create(caller=cloud.bob, vm=console_vm)[0]


def test_a_stopped_vm_or_one_without_a_port_has_no_console(cloud, console_vm):
    VirtualMachine.objects.filter(pk=console_vm.pk).update(**console_fields(None))
    console_vm.refresh_from_db()
    with pytest.raises(InvalidState, match="not reported"):
        console_token_create(caller=cloud.alice, vm=console_vm)
    VirtualMachine.objects.filter(pk=console_vm.pk).update(state="Stopped", host=None)
    console_vm.refresh_from_db()
    with pytest.raises(InvalidState, match="Running"):
        console_token_create(caller=cloud.alice, vm=console_vm)
    assert not ConsoleToken.objects.exists()


def test_redeeming_records_an_event_and_the_target_has_the_password(cloud, console_vm):
    token, _expires = console_token_create(caller=cloud.alice, vm=console_vm)
    target = console_redeem(caller=cloud.alice, token=token)
    assert (target.address, target.port, target.password) == ("127.0.0.1", 5901, "pw")
    assert "pw" not in repr(target)
    assert Event.objects.filter(type="VM.CONSOLE", account=console_vm.account).exists()
    with pytest.raises(PermissionDenied):
        console_redeem(caller=cloud.alice, token=token)


def test_the_verdict_follows_permission_placement_and_state(cloud, console_vm):
    target = console_target(console_vm)
    assert console_verdict(user_id=cloud.alice.pk, target=target) is None
    assert console_verdict(user_id=cloud.bob.pk, target=target) == FORBIDDEN
    other = factories.HostFactory(cluster=console_vm.host.cluster, url="qemu+tcp://192.0.2.9/system")
    VirtualMachine.objects.filter(pk=console_vm.pk).update(host=other)
    assert console_verdict(user_id=cloud.alice.pk, target=target) == MOVED
    VirtualMachine.objects.filter(pk=console_vm.pk).update(host=console_vm.host, **console_fields(
        hv.VncEndpoint(port=5902, password="pw")))
    assert console_verdict(user_id=cloud.alice.pk, target=target) == MOVED  # restarted: a new port
    VirtualMachine.objects.filter(pk=console_vm.pk).update(state="Stopped", host=None)
    assert console_verdict(user_id=cloud.alice.pk, target=target) == STOPPED
    cloud.alice.is_active = False
    cloud.alice.save()
    assert console_verdict(user_id=cloud.alice.pk, target=target) == FORBIDDEN


def test_the_console_address_is_the_host_of_the_libvirt_uri():
    host = factories.HostFactory.build(url="qemu+ssh://root@kvm7.example.net/system")
    assert host.console_address == "kvm7.example.net"
    assert factories.HostFactory.build(url="qemu+tcp://10.1.2.3:16509/system").console_address == "10.1.2.3"
    assert factories.HostFactory.build(url="qemu:///system").console_address == "127.0.0.1"


def test_every_definition_gets_a_fresh_password_and_listens_on_the_console_address(cloud, console_vm):
    volumes = list(console_vm.volumes.all())
    first, second = domain_spec(console_vm, volumes), domain_spec(console_vm, volumes)
    assert len(first.vnc_password) == 8 and first.vnc_password != second.vnc_password
    assert first.vnc_listen == console_vm.host.console_address == "127.0.0.1"


def test_the_serial_read_job_returns_the_logs_tail_from_a_line_start(cloud, console_vm, settings, tmp_path,
                                                                      run_jobs, monkeypatch):
    settings.CIRROSTACK_SERIAL_LOG_DIR = str(tmp_path)
    monkeypatch.setattr(services_console, "SERIAL_TAIL_BYTES", 64)
    Host.objects.filter(pk=console_vm.host_id).update(domain_type=Host.DomainType.KVM)
    console_vm.refresh_from_db()
    with run_jobs():
        missing = console_serial_request(caller=cloud.alice, vm=console_vm)
    missing.refresh_from_db()
    assert missing.status == AsyncJob.Status.FAILED and "nothing" in missing.result["errortext"]

    lines = [f"line {n:03d} of the boot log" for n in range(20)]
    (tmp_path / f"{console_vm.instance_name}.serial.log").write_text("\n".join(lines) + "\nlogin: ")
    with run_jobs():
        job = console_serial_request(caller=cloud.alice, vm=console_vm)
    job.refresh_from_db()
    text = job.result["text"]
    assert job.status == AsyncJob.Status.SUCCEEDED and text.endswith("line 019 of the boot log\nlogin: ")
    assert text.startswith("line ") and len(text.encode()) <= 64


def test_reading_the_serial_console_needs_the_console_right(cloud, console_vm):
    with pytest.raises(PermissionDenied):
        console_serial_request(caller=cloud.bob, vm=console_vm)
    with pytest.raises(Unsupported):  # the simulator writes no serial log
        console_serial_request(caller=cloud.alice, vm=console_vm)
