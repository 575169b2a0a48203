"""createConsoleEndpoint through /client/api: a single-use console URL for the caller, CloudStack's answer
shape, success=false (and no ticket) for a VM that is not running, and nothing for other tenants."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from compute.models import ConsoleToken, VirtualMachine
from compute.services_console import console_fields, token_hash
from compute.services_grants import vm_grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def vm(console_vm):
    return console_vm


def test_create_console_endpoint_answers_a_single_use_url(cloud, api_json, vm):
    status, body = api_json("alice", "createConsoleEndpoint", virtualmachineid=str(vm.uuid), token="extra-1")
    assert status == 200, body
    endpoint = body["consoleendpoint"]
    assert endpoint["success"] is True
    url = urlsplit(endpoint["url"])
    assert url.path == f"/vms/{vm.uuid}/console/"
    token = parse_qs(url.query)["token"][0]
    websocket = endpoint["websocket"]
    assert websocket["token"] == token and websocket["path"] == "/ws/console/" and websocket["extra"] == "extra-1"
    ticket = ConsoleToken.objects.get(token_hash=token_hash(token))
    assert (ticket.user, ticket.virtual_machine, ticket.used) == (cloud.alice, vm, None)
    assert (ticket.account_id, ticket.domain_id) == (vm.account_id, vm.domain_id)
    assert 0 < (ticket.expires - ticket.created).total_seconds() <= 60


def test_a_stopped_vm_answers_success_false_and_mints_nothing(cloud, api_json, vm):
    VirtualMachine.objects.filter(pk=vm.pk).update(state="Stopped", host=None, **console_fields(None))
    status, body = api_json("alice", "createConsoleEndpoint", virtualmachineid=str(vm.uuid))
    assert status == 200, body
    assert body["consoleendpoint"]["success"] is False and "Running" in body["consoleendpoint"]["details"]
    assert "url" not in body["consoleendpoint"]
    assert not ConsoleToken.objects.exists()


def test_other_tenants_get_nothing_and_a_console_grant_is_enough(cloud, api_json, vm):
    status, _body = api_json("bob", "createConsoleEndpoint", virtualmachineid=str(vm.uuid))
    assert status == 431
    assert not ConsoleToken.objects.exists()
    vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")
    status, body = api_json("bob", "createConsoleEndpoint", virtualmachineid=str(vm.uuid))
    assert status == 200 and body["consoleendpoint"]["success"] is True
    assert ConsoleToken.objects.get().user == cloud.bob


def test_the_virtual_machine_id_is_required(cloud, api_json, vm):
    status, body = api_json("alice", "createConsoleEndpoint")
    assert status == 431 and "virtualmachineid" in body["errortext"]
