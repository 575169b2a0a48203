"""One role rule governs every door: a custom role denying deployVirtualMachine (a CloudStack command name)
and the built-in Read-Only role are enforced alike by the web UI, the REST API and the CloudStack API.

The CloudStack door answers a command the caller's role does not allow as CloudStack does: 401, "the given
command either does not exist or is not available for user" (the same answer as for a command above the
caller's role type), and leaves the command out of listApis.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import User
from accounts.roles import READ_ONLY_ROLE, Role
from accounts.services import user_keys_register
from compute import services
from compute.models import VirtualMachine
from tests import factories
from tests.cloudstack.conftest import ENDPOINT, cs_sign

VMS = "/api/v1/virtual-machines/"


@dataclass
class Doors:
    """The same user behind the three doors."""

    user: User
    ui: Client
    rest: APIClient
    keys: tuple[str, str]
    cs_client: Client

    def cloudstack(self, command: str, **params) -> tuple[int, dict]:
        signed = cs_sign({"command": command, "response": "json", **{k: str(v) for k, v in params.items()}},
                         *self.keys)
        response = self.cs_client.get(ENDPOINT, signed)
        return response.status_code, response.json()[f"{command.lower()}response"]


def _user_with_vm(cloud, run_jobs, role: Role) -> tuple[Doors, VirtualMachine]:
    """A user whose account deployed a running VM under the default User role and then got `role`."""
    user = factories.UserFactory(username=f"u-{role.name.lower()}", account__name=f"a-{role.name.lower()}")
    with run_jobs():
        vm, _job = services.vm_deploy(caller=user, zone=cloud.zone, service_offering=cloud.offering,
                                      template=cloud.template, name="web1")
    account = user.account
    account.role = role
    account.save()
    ui = Client()
    ui.force_login(user)
    rest = APIClient()
    rest.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    doors = Doors(user=user, ui=ui, rest=rest, keys=user_keys_register(user=user), cs_client=Client())
    vm.refresh_from_db()
    assert vm.state == "Running"
    return doors, vm


def _deploy_body(cloud) -> dict[str, str]:
    return {"zone": str(cloud.zone.uuid), "service_offering": str(cloud.offering.uuid),
            "template": str(cloud.template.uuid), "name": "web2"}


def _assert_lists_but_cannot_deploy(cloud, doors: Doors, vm: VirtualMachine) -> None:
    # Listing works in every door.
    assert "web1" in doors.ui.get(reverse("compute:vm_list")).content.decode()
    assert [row["id"] for row in doors.rest.get(VMS).json()["results"]] == [str(vm.uuid)]
    status, body = doors.cloudstack("listVirtualMachines")
    assert status == 200 and [row["id"] for row in body["virtualmachine"]] == [str(vm.uuid)]

    # Deploying is refused in every door, and nothing is created.
    assert doors.ui.get(reverse("compute:vm_deploy")).status_code == 403
    assert doors.ui.post(reverse("compute:vm_deploy"), {**_deploy_body(cloud), "start_vm": "on"}).status_code == 403
    response = doors.rest.post(VMS, _deploy_body(cloud), format="json")
    assert response.status_code == 403 and response.json()["error"]["errorcode"] == 531
    status, body = doors.cloudstack("deployVirtualMachine", zoneid=cloud.zone.uuid,
                                    serviceofferingid=cloud.offering.uuid, templateid=cloud.template.uuid)
    assert status == 401 and "not available" in body["errortext"]
    status, body = doors.cloudstack("listApis")
    assert "deployVirtualMachine" not in {api["name"] for api in body["api"]}
    assert list(VirtualMachine.objects.filter(account=doors.user.account).values_list("name", flat=True)) == [
        "web1"]


def test_a_custom_role_denying_one_command_holds_in_every_door(cloud, run_jobs):
    role = factories.RoleFactory(name="NoDeploy", rules=[("deployVirtualMachine", "deny"), ("*", "allow")])
    doors, vm = _user_with_vm(cloud, run_jobs, role)

    _assert_lists_but_cannot_deploy(cloud, doors, vm)

    # Everything else the User type allows still works: `allow *` comes after the deny.
    with run_jobs():
        status, body = doors.cloudstack("stopVirtualMachine", id=vm.uuid)
    assert status == 200 and "jobid" in body
    vm.refresh_from_db()
    assert vm.state == "Stopped"
    with run_jobs():
        response = doors.rest.post(f"{VMS}{vm.uuid}/start/")
    assert response.status_code == 202


@pytest.mark.parametrize("door", ["ui", "rest", "cloudstack"])
def test_read_only_lists_but_cannot_deploy_or_stop(cloud, run_jobs, door):
    doors, vm = _user_with_vm(cloud, run_jobs, Role.objects.get(uuid=READ_ONLY_ROLE))

    _assert_lists_but_cannot_deploy(cloud, doors, vm)

    with run_jobs():
        if door == "ui":
            assert doors.ui.get(reverse("compute:vm_detail", args=[vm.uuid])).status_code == 200
            assert doors.ui.post(reverse("compute:vm_stop", args=[vm.uuid])).status_code == 403
        elif door == "rest":
            assert doors.rest.get(f"{VMS}{vm.uuid}/").status_code == 200
            response = doors.rest.post(f"{VMS}{vm.uuid}/stop/")
            assert response.status_code == 403 and response.json()["error"]["errorcode"] == 531
        else:
            status, body = doors.cloudstack("stopVirtualMachine", id=vm.uuid)
            assert status == 401 and "not available" in body["errortext"]
    vm.refresh_from_db()
    assert vm.state == "Running"
