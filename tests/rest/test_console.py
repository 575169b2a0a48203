"""POST /api/v1/virtual-machines/{id}/console/: a single-use console URL and WebSocket ticket."""

from __future__ import annotations

import pytest

from compute.models import ConsoleToken, VirtualMachine
from compute.services_console import console_fields, token_hash
from tests.rest.helpers import VMS, assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def vm(console_vm):
    return console_vm


def test_post_answers_a_ticket_of_the_caller(cloud, client_for, vm):
    response = client_for(cloud.alice).post(f"{VMS}{vm.uuid}/console/")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["url"].startswith(f"http://testserver/vms/{vm.uuid}/console/?token=")
    assert body["websocket"]["path"] == "/ws/console/" and body["websocket"]["scheme"] == "ws"
    ticket = ConsoleToken.objects.get(token_hash=token_hash(body["websocket"]["token"]))
    assert ticket.user == cloud.alice and ticket.virtual_machine == vm


def test_get_changes_nothing(cloud, client_for, vm):
    assert_error(client_for(cloud.alice).get(f"{VMS}{vm.uuid}/console/"), 405, 432)
    assert not ConsoleToken.objects.exists()


def test_refusals_mint_nothing(cloud, client_for, vm):
    assert_error(client_for(cloud.bob).post(f"{VMS}{vm.uuid}/console/"), 404, 431)
    VirtualMachine.objects.filter(pk=vm.pk).update(state="Stopped", host=None, **console_fields(None))
    error = assert_error(client_for(cloud.alice).post(f"{VMS}{vm.uuid}/console/"), 409, 431)
    assert "Running" in error["message"]
    assert not ConsoleToken.objects.exists()
