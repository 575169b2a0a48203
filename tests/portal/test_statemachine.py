"""The state-machine engine and the VM table."""

from __future__ import annotations

import pytest

from compute.states import VM_STATE_MACHINE, VmEvent, VmState
from portal.errors import InvalidState
from portal.statemachine import table
from tests.compute.test_vm_services import deploy


def test_duplicate_transitions_are_a_bug():
    with pytest.raises(ValueError):
        table([("A", "go", "B"), ("A", "go", "C")])


def test_vm_table_uses_only_cloudstack_state_names():
    states = {s for (s, _e) in VM_STATE_MACHINE.transitions} | set(VM_STATE_MACHINE.transitions.values())
    assert states <= set(VmState.values)


@pytest.mark.django_db
def test_transit_is_compare_and_set(cloud, run_jobs):
    vm, _ = deploy(cloud, run_jobs, name="cas")
    stale = type(vm).objects.get(pk=vm.pk)
    VM_STATE_MACHINE.transit(vm, VmEvent.STOP_REQUESTED)
    # `stale` still believes the VM is Running: its transition must lose, not overwrite.
    with pytest.raises(InvalidState):
        VM_STATE_MACHINE.transit(stale, VmEvent.STOP_REQUESTED)
    stale.refresh_from_db()
    assert stale.state == VmState.STOPPING
