"""Every CloudStack error code the door emits, in JSON and in XML: HTTP status = errorcode, with cserrorcode.

Real commands produce each condition that is reachable today. 534, 535, 536 and 537 (and an unexpected crash,
a bug by definition) have no real command yet, so a command registered by the test alone raises them: that
proves the framework's error path, which later commands raising those errors will take.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from compute.models import VirtualMachine
from portal.cloudstack.registry import Call, Command, _commands, register
from portal.errors import LimitExceeded, NetworkRuleConflict, ResourceInUse, ResourceUnavailable, Unsupported
from portal.models import AsyncJob
from storage.models import Volume
from tests import factories
from tests.cloudstack.conftest import ENDPOINT, cs_sign

pytestmark = pytest.mark.django_db

# errorcode -> cserrorcode, as portal/errors.py declares them (405 is the door's own, CloudStack's 9999 for a
# ServerApiException).
CSERRORCODES = {401: 4365, 405: 9999, 431: 4350, 432: 4355, 530: 4250, 531: 4365, 533: 4325, 534: 4380,
                535: 4370, 536: 4375, 537: 4360}
REASONS = {401: "Unauthorized", 405: "Method Not Allowed", 431: "Invalid Parameter", 432: "Unsupported Action",
           530: "Internal Error", 531: "Account Error", 533: "Insufficient Capacity", 534: "Resource Unavailable",
           535: "Resource Allocation Error", 536: "Resource In Use", 537: "Network Rule Conflict"}


@dataclass
class Ctx:
    cloud: Any
    client: Any
    api: Callable[..., Any]
    keys: dict[str, tuple[str, str]]
    run_jobs: Callable[[], Any]
    test_command: Callable[[BaseException], str]
    fmt: dict[str, str]


@pytest.fixture
def test_command() -> Iterator[Callable[[BaseException], str]]:
    """Register a command that raises `error` (any role may call it); every one is unregistered after."""
    added: list[Command] = []

    def make(error: BaseException) -> str:
        def handler(call: Call) -> dict:
            raise error

        command = register(Command(name=f"raise{type(error).__name__}ForTest", description="test only",
                                   action="zone.list", handler=handler))
        added.append(command)
        return command.name

    yield make
    for command in added:
        _commands.pop(command.key)


def unknown_command(ctx: Ctx) -> tuple[Any, str]:
    return ctx.api("alice", "fooBar", **ctx.fmt), "errorresponse"


def bad_signature(ctx: Ctx) -> tuple[Any, str]:
    api_key, secret = ctx.keys["alice"]
    signed = cs_sign({"command": "listZones", **ctx.fmt}, api_key, secret)
    return ctx.client.get(ENDPOINT, {**signed, "keyword": "added after signing"}), "listzonesresponse"


def login_by_get(ctx: Ctx) -> tuple[Any, str]:
    return ctx.client.get(ENDPOINT, {"command": "login", "username": "alice",
                                     "password": factories.TEST_PASSWORD, **ctx.fmt}), "loginresponse"


def invalid_parameter(ctx: Ctx) -> tuple[Any, str]:
    cloud = ctx.cloud
    response = ctx.api("alice", "deployVirtualMachine", zoneid="not-a-uuid", serviceofferingid=cloud.offering.uuid,
                       templateid=cloud.template.uuid, **ctx.fmt)
    assert not VirtualMachine.objects.exists()
    return response, "deployvirtualmachineresponse"


def internal_error(ctx: Ctx) -> tuple[Any, str]:
    name = ctx.test_command(RuntimeError("secret internals"))
    response = ctx.api("alice", name, **ctx.fmt)
    assert b"secret internals" not in response.content  # a crash's details stay in the server log
    return response, f"{name.lower()}response"


def bad_login(ctx: Ctx) -> tuple[Any, str]:
    return ctx.client.post(ENDPOINT, {"command": "login", "username": "alice", "password": "wrong",
                                      **ctx.fmt}), "loginresponse"


def keys_of_another_user_of_the_account(ctx: Ctx) -> tuple[Any, str]:
    other = factories.UserFactory(username="alice2", account=ctx.cloud.alice.account)
    response = ctx.api("alice", "registerUserKeys", id=other.uuid, **ctx.fmt)
    other.refresh_from_db()
    assert other.api_key is None
    return response, "registeruserkeysresponse"


def no_capacity(ctx: Ctx) -> tuple[Any, str]:
    huge = factories.ServiceOfferingFactory(name="Huge", cpu_number=64)  # the only host has 8 cores
    cloud = ctx.cloud
    response = ctx.api("alice", "deployVirtualMachine", zoneid=cloud.zone.uuid, serviceofferingid=huge.uuid,
                       templateid=cloud.template.uuid, name="big", **ctx.fmt)
    assert not VirtualMachine.objects.exists() and not Volume.objects.exists() and not AsyncJob.objects.exists()
    return response, "deployvirtualmachineresponse"


def raising(error: BaseException) -> Callable[[Ctx], tuple[Any, str]]:
    def case(ctx: Ctx) -> tuple[Any, str]:
        name = ctx.test_command(error)
        return ctx.api("alice", name, **ctx.fmt), f"{name.lower()}response"

    return case


CASES = [
    (401, unknown_command),
    (401, bad_signature),
    (405, login_by_get),
    (431, invalid_parameter),
    (432, raising(Unsupported("Migrating a VM's storage is not supported."))),
    (530, internal_error),
    (531, bad_login),
    (531, keys_of_another_user_of_the_account),
    (533, no_capacity),
    (534, raising(ResourceUnavailable("The host is in maintenance."))),
    (535, raising(LimitExceeded("The account's VM limit (5) would be exceeded."))),
    (536, raising(ResourceInUse("The volume is attached to a VM."))),
    (537, raising(NetworkRuleConflict("The port forwarding rule overlaps an existing rule."))),
]


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "xml"])
@pytest.mark.parametrize("errorcode,case", CASES, ids=[f"{code}-{case.__name__}" for code, case in CASES])
def test_error_answer(client, cloud, api, keys, run_jobs, test_command, as_json, errorcode, case):
    ctx = Ctx(cloud=cloud, client=client, api=api, keys=keys, run_jobs=run_jobs, test_command=test_command,
              fmt={"response": "json"} if as_json else {})

    response, answer_name = case(ctx)

    assert response.status_code == errorcode
    assert response.reason_phrase == REASONS[errorcode]
    if as_json:
        assert response["Content-Type"] == "application/json; charset=utf-8"
        data = response.json()
        assert list(data) == [answer_name]
        body = data[answer_name]
        assert set(body) == {"uuidList", "errorcode", "cserrorcode", "errortext"}
        assert (body["uuidList"], body["errorcode"], body["cserrorcode"]) == ([], errorcode, CSERRORCODES[errorcode])
        assert body["errortext"]
    else:
        assert response["Content-Type"] == "text/xml; charset=utf-8"
        root = ET.fromstring(response.content)  # noqa: S314 (our own server's answer)
        assert root.tag == answer_name
        assert root.findtext("errorcode") == str(errorcode)
        assert root.findtext("cserrorcode") == str(CSERRORCODES[errorcode])
        assert root.findtext("errortext")


@pytest.mark.parametrize("as_json", [True, False], ids=["json", "xml"])
def test_a_failed_job_reports_530_in_its_result(api, cloud, run_jobs, as_json):
    # A host whose libvirtd is gone: nothing listens on port 1, so the job's connection is refused.
    cloud.host.url = "qemu+tcp://127.0.0.1:1/system"
    cloud.host.save()
    fmt = {"response": "json"} if as_json else {}
    with run_jobs():
        deployed = api("alice", "deployVirtualMachine", zoneid=cloud.zone.uuid, serviceofferingid=cloud.offering.uuid,
                       templateid=cloud.template.uuid, name="web1", response="json")
    # The command itself was accepted; the failure is the job's.
    assert deployed.status_code == 200
    jobid = deployed.json()["deployvirtualmachineresponse"]["jobid"]

    response = api("alice", "queryAsyncJobResult", jobid=jobid, **fmt)

    assert response.status_code == 200
    if as_json:
        job = response.json()["queryasyncjobresultresponse"]
        assert (job["jobstatus"], job["jobresultcode"], job["jobresulttype"]) == (2, 530, "object")
        assert job["jobresult"]["errorcode"] == 530
        assert "web1" in job["jobresult"]["errortext"]
    else:
        root = ET.fromstring(response.content)  # noqa: S314 (our own server's answer)
        assert (root.findtext("jobstatus"), root.findtext("jobresultcode")) == ("2", "530")
        assert root.findtext("jobresult/errorcode") == "530"
        assert "web1" in root.findtext("jobresult/errortext")
    assert VirtualMachine.objects.get().state == "Error"
