"""The console's web UI doors (compute.views_console): the noVNC page, the ticket it connects with, the serial
console's text, and the Console button of the VM page — who gets each, and what each refuses."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse, set_script_prefix
from django.utils.dateparse import parse_datetime

from compute import services
from compute.models import ConsoleToken, VirtualMachine
from compute.services_console import console_fields, token_hash
from compute.services_grants import vm_grant
from compute.states import VmState
from infrastructure.hypervisor import VncEndpoint
from infrastructure.models import Host
from portal.models import AsyncJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def vm(cloud, deploy_vm):
    """alice's running VM, with a console (as the agent records it for a domain with VNC graphics)."""
    vm = deploy_vm(cloud.alice, "web1")
    assert vm.state == VmState.RUNNING
    VirtualMachine.objects.filter(pk=vm.pk).update(**console_fields(VncEndpoint(port=5907, password="pw")))
    vm.refresh_from_db()
    return vm


def url(name: str, vm: VirtualMachine, *args: object) -> str:
    return reverse(f"compute:{name}", args=[vm.uuid, *args])


def post_ticket(client: Client, vm: VirtualMachine):
    return client.post(url("vm_console_ticket", vm))


def error_of(response) -> str:
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)["error"]


# --- the page ---------------------------------------------------------------------------------------------

def test_owner_gets_the_console_page_without_any_ticket_in_it(cloud, vm, login):
    response = login(cloud.alice).get(url("vm_console", vm))

    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-ticket-url="{url("vm_console_ticket", vm)}"' in html
    assert 'data-ws-path="/ws/console/"' in html
    assert re.search(r'data-rfb-module="/static/novnc/core/rfb\.js"', html)
    assert re.search(r'<script type="module" src="/static/console/console\.js">', html)
    assert 'id="console-strings"' in html and 'data-key="close_4404"' in html
    # Nothing that opens the console is in the page: tickets are minted by POST only.
    assert "token" not in html.lower().replace("csrfmiddlewaretoken", "").replace("csrf", "")
    assert not ConsoleToken.objects.exists()
    # The simulated host has no serial console: the page says so instead of offering the button.
    assert 'id="console-serial-note"' in html and 'id="console-serial-read"' not in html


def test_console_only_grantee_gets_the_page_and_the_button(cloud, vm, login):
    vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")
    client = login(cloud.bob)

    assert client.get(url("vm_console", vm)).status_code == 200
    detail = client.get(url("vm_detail", vm)).content.decode()
    assert re.search(rf'<a class="btn" href="{url("vm_console", vm)}" target="_blank" rel="noopener" '
                     r'data-vm-console>', detail)
    assert url("vm_stop", vm) not in detail  # still no power buttons


def test_others_get_404_and_a_grantee_without_console_403(cloud, vm, login):
    bob = login(cloud.bob)
    assert bob.get(url("vm_console", vm)).status_code == 404
    response = post_ticket(bob, vm)
    assert response.status_code == 404 and error_of(response)

    vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="operate")  # sees the VM, no console
    assert bob.get(url("vm_console", vm)).status_code == 403
    response = post_ticket(bob, vm)
    assert response.status_code == 403 and error_of(response)
    assert url("vm_console", vm) not in bob.get(url("vm_detail", vm)).content.decode()
    assert not ConsoleToken.objects.exists()


def test_anonymous_visitors_are_sent_to_login_or_get_401(vm):
    client = Client()
    response = client.get(url("vm_console", vm))
    assert response.status_code == 302 and response.url.startswith(reverse("ui:login"))
    response = post_ticket(client, vm)
    assert response.status_code == 401 and error_of(response)
    response = client.post(url("vm_console_serial", vm))
    assert response.status_code == 401 and error_of(response)


def test_the_vm_page_offers_the_console_only_while_running(cloud, vm, login, run_jobs):
    client = login(cloud.alice)
    assert f'href="{url("vm_console", vm)}"' in client.get(url("vm_detail", vm)).content.decode()

    with run_jobs():
        services.vm_stop(caller=cloud.alice, vm=vm, forced=True)
    vm.refresh_from_db()
    assert vm.state == VmState.STOPPED
    assert url("vm_console", vm) not in client.get(url("vm_detail", vm)).content.decode()


# --- tickets ------------------------------------------------------------------------------------------------

def test_ticket_is_a_token_of_this_user_and_vm(cloud, vm, login):
    vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")

    response = post_ticket(login(cloud.bob), vm)

    assert response.status_code == 200
    body = json.loads(response.content)
    assert set(body) == {"token", "expires", "websocket"}
    assert body["websocket"] == "/ws/console/"
    ticket = ConsoleToken.objects.get(token_hash=token_hash(body["token"]))
    assert (ticket.user, ticket.virtual_machine, ticket.used) == (cloud.bob, vm, None)
    assert parse_datetime(body["expires"]) == ticket.expires
    # Another POST is another ticket.
    second = json.loads(post_ticket(login(cloud.bob), vm).content)["token"]
    assert second != body["token"] and ConsoleToken.objects.count() == 2


def test_ticket_websocket_path_follows_the_script_prefix(cloud, vm, login):
    """Mounted below a path (the ASGI root_path / WSGI SCRIPT_NAME sets the script prefix per request)."""
    client = login(cloud.alice)
    ticket_url = url("vm_console_ticket", vm)
    set_script_prefix("/portal/")
    try:
        response = client.post(ticket_url)
    finally:
        set_script_prefix("/")
    assert response.status_code == 200
    assert json.loads(response.content)["websocket"] == "/portal/ws/console/"


def test_ticket_is_never_minted_by_get(cloud, vm, login):
    client = login(cloud.alice)
    for method in (client.get, client.head):
        assert method(url("vm_console_ticket", vm)).status_code == 405
    assert not ConsoleToken.objects.exists()


def test_ticket_needs_the_csrf_token(cloud, vm):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cloud.alice)
    assert post_ticket(client, vm).status_code == 403
    assert not ConsoleToken.objects.exists()

    page = client.get(url("vm_console", vm)).content.decode()
    csrf = re.search(r'data-csrf="([^"]+)"', page).group(1)
    response = client.post(url("vm_console_ticket", vm), HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 200 and ConsoleToken.objects.count() == 1


def test_stopped_vm_gets_409_with_the_reason(cloud, vm, login, run_jobs):
    with run_jobs():
        services.vm_stop(caller=cloud.alice, vm=vm, forced=True)
    client = login(cloud.alice)

    assert client.get(url("vm_console", vm)).status_code == 200  # the page says why it cannot connect
    response = post_ticket(client, vm)

    assert response.status_code == 409
    assert "Stopped" in error_of(response)
    assert not ConsoleToken.objects.exists()


# --- serial console -----------------------------------------------------------------------------------------

def test_serial_console_of_a_simulated_host_is_409(cloud, vm, login):
    response = login(cloud.alice).post(url("vm_console_serial", vm))
    assert response.status_code == 409
    assert "simulated host" in error_of(response)
    assert not AsyncJob.objects.filter(cmd="readSerialConsole").exists()


def test_serial_read_is_a_job_whose_result_is_polled(cloud, vm, login):
    Host.objects.filter(pk=vm.host_id).update(domain_type=Host.DomainType.KVM)
    client = login(cloud.alice)
    assert client.get(url("vm_console_serial", vm)).status_code == 405

    response = client.post(url("vm_console_serial", vm))

    assert response.status_code == 202
    job = AsyncJob.objects.get(uuid=json.loads(response.content)["jobid"])
    assert (job.cmd, job.user, job.instance_id, job.status) == ("readSerialConsole", cloud.alice, str(vm.uuid),
                                                                 AsyncJob.Status.PENDING)
    result_url = url("vm_console_serial_result", vm, job.uuid)
    assert json.loads(response.content)["result"] == result_url
    assert json.loads(client.get(result_url).content) == {"status": "pending"}

    AsyncJob.objects.filter(pk=job.pk).update(status=AsyncJob.Status.SUCCEEDED, result={"text": "login: "})
    assert json.loads(client.get(result_url).content) == {"status": "succeeded", "text": "login: "}

    AsyncJob.objects.filter(pk=job.pk).update(status=AsyncJob.Status.FAILED,
                                              result={"errorcode": 530, "errortext": "nothing written yet"})
    assert json.loads(client.get(result_url).content) == {"status": "failed", "error": "nothing written yet"}


def test_serial_result_of_another_user_or_unknown_job_is_404(cloud, vm, login):
    Host.objects.filter(pk=vm.host_id).update(domain_type=Host.DomainType.KVM)
    vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")
    job_id = json.loads(login(cloud.alice).post(url("vm_console_serial", vm)).content)["jobid"]
    bob = login(cloud.bob)

    for other in (job_id, str(uuid.uuid4()), "not-a-uuid"):
        response = bob.get(url("vm_console_serial_result", vm, other))
        assert response.status_code == 404 and error_of(response)
