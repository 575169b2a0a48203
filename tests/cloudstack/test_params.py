"""Parameter parsing: bad input is refused with 431 before anything is created."""

from __future__ import annotations

import pytest

from compute.models import VirtualMachine
from portal.cloudstack.params import parse_params
from portal.cloudstack.registry import Command, Param, ParamType
from portal.errors import InvalidParameter
from portal.models import AsyncJob, Event
from storage.models import Volume

pytestmark = pytest.mark.django_db


@pytest.fixture
def deploy_args(cloud):
    return {"zoneid": cloud.zone.uuid, "serviceofferingid": cloud.offering.uuid, "templateid": cloud.template.uuid}


def assert_refused_and_nothing_created(status: int, body: dict, *words: str) -> None:
    assert status == 431, body
    assert body["errorcode"] == 431
    assert body["cserrorcode"] == 4350
    assert body["uuidList"] == []
    for word in words:
        assert word in body["errortext"], body["errortext"]
    assert not VirtualMachine.objects.exists()
    assert not Volume.objects.exists()
    assert not AsyncJob.objects.exists()
    assert not Event.objects.exists()


@pytest.mark.parametrize("missing", ["zoneid", "serviceofferingid", "templateid"])
def test_missing_required_parameter(api_json, deploy_args, missing):
    del deploy_args[missing]
    status, body = api_json("alice", "deployVirtualMachine", **deploy_args)
    assert_refused_and_nothing_created(status, body, "missing parameter", missing)


def test_empty_required_parameter_counts_as_missing(api_json, deploy_args):
    status, body = api_json("alice", "deployVirtualMachine", **{**deploy_args, "templateid": ""})
    assert_refused_and_nothing_created(status, body, "missing parameter templateid")


def test_malformed_uuid(api_json, deploy_args):
    status, body = api_json("alice", "deployVirtualMachine", **{**deploy_args, "zoneid": "not-a-uuid"})
    assert_refused_and_nothing_created(status, body, "zoneid", "UUID")


def test_unknown_uuid_is_an_invalid_parameter_value(api_json, deploy_args):
    status, body = api_json("alice", "deployVirtualMachine",
                            **{**deploy_args, "templateid": "00000000-0000-0000-0000-000000000000"})
    assert_refused_and_nothing_created(status, body, "00000000-0000-0000-0000-000000000000")


def test_bad_boolean(api_json, deploy_args):
    status, body = api_json("alice", "deployVirtualMachine", **{**deploy_args, "startvm": "maybe"})
    assert_refused_and_nothing_created(status, body, "startvm", "true or false")


def test_too_long_string(api_json, deploy_args):
    status, body = api_json("alice", "deployVirtualMachine", **{**deploy_args, "displayname": "x" * 256})
    assert_refused_and_nothing_created(status, body, "displayname", "255")


def test_bad_integer(api_json):
    status, body = api_json("alice", "listZones", page="one", pagesize="10")
    assert status == 431 and "page" in body["errortext"]
    status, body = api_json("alice", "listZones", page="1", pagesize=str(2**40))
    assert status == 431 and "pagesize" in body["errortext"]


def test_choice_parameter(api_json):
    status, body = api_json("alice", "listTemplates", templatefilter="everything")
    assert status == 431 and "templatefilter" in body["errortext"]
    status, body = api_json("alice", "listTemplates", templatefilter="EXECUTABLE")
    assert status == 200 and body["count"] == 1


def test_parameter_names_and_command_are_case_insensitive(api_json, cloud):
    status, body = api_json("alice", "LISTTEMPLATES", TemplateFilter="executable", ZoneId=cloud.zone.uuid)
    assert status == 200, body
    assert body["template"][0]["zoneid"] == str(cloud.zone.uuid)


def test_start_vm_false_and_libclouds_capitalised_boolean(api_json, deploy_args, run_jobs):
    with run_jobs():
        status, body = api_json("alice", "deployVirtualMachine", **deploy_args, name="idle", startvm="False")
    assert status == 200, body
    assert VirtualMachine.objects.get(uuid=body["id"]).state == "Stopped"


def test_map_list_and_typed_values():
    command = Command(name="probe", description="", action="zone.list", handler=lambda call: {}, params=(
        Param("tags", ParamType.MAP), Param("ids", ParamType.LIST, item_type=ParamType.UUID),
        Param("count", ParamType.LONG), Param("flag", ParamType.BOOLEAN, default=False),
    ))
    parsed = parse_params(command, {
        "tags[1].key": "b", "tags[0].value": "1", "tags[0].key": "a", "tags[1].value": "2",
        "ids": "0b6f3a36-8a52-4d86-a0c8-1b1a2a1e8b9f, 5C7A0B5E-0D6A-4C4B-9C0B-1B9B7A6E5D4C",
        "count": "-3",
    })
    assert parsed == {
        "tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}],
        "ids": ["0b6f3a36-8a52-4d86-a0c8-1b1a2a1e8b9f", "5c7a0b5e-0d6a-4c4b-9c0b-1b9b7a6e5d4c"],
        "count": -3,
        "flag": False,
    }
    with pytest.raises(InvalidParameter):
        parse_params(command, {"ids": "0b6f3a36-8a52-4d86-a0c8-1b1a2a1e8b9f,nope"})


@pytest.mark.parametrize(("params", "word"), [
    ({"page": "1"}, "pagesize"),
    ({"pagesize": "10"}, "page"),
    ({"page": "0", "pagesize": "10"}, "Page"),
    ({"page": "1", "pagesize": "0"}, "Page size"),
    ({"page": "1", "pagesize": "501"}, "500"),
])
def test_page_and_pagesize_come_together_and_within_limits(api_json, params, word):
    status, body = api_json("alice", "listZones", **params)
    assert status == 431, body
    assert word in body["errortext"]
