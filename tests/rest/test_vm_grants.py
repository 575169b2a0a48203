"""VM sharing over REST (/api/v1/virtual-machines/{id}/grants/), and a console-only grantee refused by all
three doors (REST, web UI, CloudStack API) for stop and destroy."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.services import user_keys_register
from compute.selectors_grants import vm_grant_list
from compute.services_grants import vm_grant
from portal import authz
from tests import factories
from tests.cloudstack.conftest import ENDPOINT, cs_sign
from tests.compute.test_vm_services import deploy as deploy_service
from tests.rest.helpers import VMS, assert_error
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db


def grants_url(vm) -> str:
    return f"{VMS}{vm.uuid}/grants/"


@pytest.fixture
def vm(cloud, run_jobs):
    vm, _job = deploy_service(cloud, run_jobs, name="shared")
    return vm


def test_owner_lists_creates_and_deletes_grants(cloud, vm, alice_api, client_for):
    bob_api = client_for(cloud.bob)

    assert alice_api.get(grants_url(vm)).json()["results"] == []
    response = alice_api.post(grants_url(vm), {"user_id": str(cloud.bob.uuid), "permission": "console"},
                              format="json")
    assert response.status_code == 201, response.content
    assert response.json() == {"user": {"id": str(cloud.bob.uuid), "username": "bob", "account": "bob",
                                        "domain": "ROOT"}, "permission": "console"}
    listed = alice_api.get(grants_url(vm)).json()
    assert listed["count"] == 1 and listed["results"][0]["permission"] == "console"
    # bob now sees the VM, but not who it is shared with.
    assert bob_api.get(f"{VMS}{vm.uuid}/").status_code == 200
    assert_error(bob_api.get(grants_url(vm)), 403, 531)

    response = alice_api.delete(f"{grants_url(vm)}{cloud.bob.uuid}/console/")
    assert response.status_code == 204
    assert not vm_grant_list(caller=cloud.alice, vm=vm).exists()
    assert_error(bob_api.get(f"{VMS}{vm.uuid}/"), 404, 431)
    assert_error(alice_api.delete(f"{grants_url(vm)}{cloud.bob.uuid}/console/"), 404, 431)


def test_grant_by_name_only_for_users_in_reach(cloud, vm, alice_api, client_for):
    """alice cannot find bob by name (another tenant), and the answer is the one for a name nobody has."""
    by_name = alice_api.post(grants_url(vm), {"username": "bob", "permission": "operate"}, format="json")
    nobody = alice_api.post(grants_url(vm), {"username": "nobody", "permission": "operate"}, format="json")
    assert assert_error(by_name, 404, 431)["message"].replace("bob", "X") == assert_error(
        nobody, 404, 431)["message"].replace("nobody", "X")

    admin_api = client_for(cloud.admin)
    response = admin_api.post(grants_url(vm), {"username": "bob", "domain": "ROOT", "permission": "operate"},
                              format="json")
    assert response.status_code == 201, response.content
    assert authz.can(cloud.bob, "vm.stop", vm)


def test_invalid_grant_requests(cloud, vm, alice_api, client_for):
    assert_error(alice_api.post(grants_url(vm), {"permission": "console"}, format="json"), 400, 431)
    error = assert_error(alice_api.post(grants_url(vm), {"user_id": str(cloud.bob.uuid), "permission": "root"},
                                        format="json"), 400, 431)
    assert "permission" in error["fields"]
    # Someone else's VM does not exist for bob; a grantee cannot re-share.
    bob_api = client_for(cloud.bob)
    assert_error(bob_api.post(grants_url(vm), {"user_id": str(cloud.admin.uuid), "permission": "console"},
                              format="json"), 404, 431)
    vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="operate")
    carol = factories.UserFactory(username="carol")
    assert_error(bob_api.post(grants_url(vm), {"user_id": str(carol.uuid), "permission": "console"},
                              format="json"), 403, 531)
    assert not authz.can(carol, "vm.view", vm)


def test_grant_list_query_count_does_not_grow(cloud, vm, alice_api):
    def add() -> None:
        for _ in range(6):
            vm_grant(caller=cloud.alice, vm=vm, grantee=factories.UserFactory(), permission="operate")

    vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")
    with_one, with_seven = assert_queries_constant(lambda: ok(alice_api.get(grants_url(vm))), add)
    assert (with_one.json()["count"], with_seven.json()["count"]) == (1, 7)


# --- a console-only grantee through the three doors --------------------------------------------------------

def _cs(client, user, command: str, **params) -> tuple[int, dict]:
    api_key, secret = user_keys_register(user=user)
    signed = cs_sign({"command": command, "response": "json", **{k: str(v) for k, v in params.items()}},
                     api_key, secret)
    response = client.get(ENDPOINT, signed)
    return response.status_code, response.json()[f"{command.lower()}response"]


@pytest.mark.parametrize("action", ["stop", "destroy"])
def test_console_only_grantee_is_refused_by_every_door(cloud, vm, client, client_for, run_jobs, action):
    vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")

    with run_jobs():
        rest = client_for(cloud.bob).post(f"{VMS}{vm.uuid}/{action}/", {}, format="json")
    assert_error(rest, 403, 531)

    client.force_login(cloud.bob)
    with run_jobs():
        ui = client.post(reverse(f"compute:vm_{action}", args=[vm.uuid]), {"forced": "1"}, follow=True)
    assert ui.status_code == 200
    assert "You do not have permission" in ui.content.decode()
    client.logout()

    command = {"stop": "stopVirtualMachine", "destroy": "destroyVirtualMachine"}[action]
    with run_jobs():
        status, body = _cs(client, cloud.bob, command, id=vm.uuid)
    assert status == 531 and body["errorcode"] == 531

    vm.refresh_from_db()
    assert vm.state == "Running"
