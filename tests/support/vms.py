"""VMs for tests, made through the services as a user would, their jobs run for real on libvirt's test driver:
one helper instead of a copy in every test module."""

from __future__ import annotations

from typing import Any

from compute import services
from compute.models import VirtualMachine


def deploy_vm(cloud: Any, run_jobs: Any, **kwargs: Any) -> VirtualMachine:
    """alice's VM from the cloud's zone, offering and template (kwargs go to vm_deploy), its job run."""
    with run_jobs():
        vm, _job = services.vm_deploy(caller=cloud.alice, zone=cloud.zone, service_offering=cloud.offering,
                                      template=cloud.template, **kwargs)
    vm.refresh_from_db()
    return vm


def running_vm(cloud: Any, run_jobs: Any, **kwargs: Any) -> VirtualMachine:
    vm = deploy_vm(cloud, run_jobs, **kwargs)
    assert vm.state == "Running", vm.state
    return vm


def stop_vm(cloud: Any, run_jobs: Any, vm: VirtualMachine) -> VirtualMachine:
    with run_jobs():
        services.vm_stop(caller=cloud.alice, vm=vm)
    vm.refresh_from_db()
    assert vm.state == "Stopped"
    return vm
