"""listApis and listCapabilities come from the registry; declared response fields match what is rendered."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from compute.models import VirtualMachine
from portal.authz import can
from portal.cloudstack.registry import Call, all_commands, get_command, get_object_type
from portal.models import AsyncJob

pytestmark = pytest.mark.django_db


def test_list_apis_describes_commands_from_their_declarations(api_json, cloud):
    status, body = api_json("alice", "listApis")
    assert status == 200
    apis = {api["name"]: api for api in body["api"]}
    # Every command alice's role may call (root-only ones, e.g. the LDAP configuration, are hidden).
    visible = [c for c in all_commands() if c.action is None or can(cloud.alice, c.action)]
    assert body["count"] == len(apis) == len(visible)

    deploy = apis["deployVirtualMachine"]
    assert deploy["isasync"] is True
    params = {p["name"]: p for p in deploy["params"]}
    assert params["zoneid"] == {"name": "zoneid", "description": "The zone to deploy the VM in.", "type": "uuid",
                                "length": 255, "required": True, "related": ""}
    assert params["startvm"]["type"] == "boolean" and params["startvm"]["required"] is False
    assert params["name"]["length"] == 63
    assert "state" in {r["name"] for r in deploy["response"]}

    listing = {p["name"] for p in apis["listVirtualMachines"]["params"]}
    assert {"page", "pagesize", "keyword", "id", "name", "listall", "account", "domainid", "isrecursive"} <= listing
    assert apis["listZones"]["isasync"] is False
    assert {p["name"] for p in apis["listTemplates"]["params"] if p["required"]} == {"templatefilter"}

    _, one = api_json("alice", "listApis", name="listzones")
    assert one["count"] == 1 and one["api"][0]["name"] == "listZones"


def test_list_apis_hides_commands_outside_the_callers_role(api_json):
    from portal.cloudstack.registry import Command, _commands, register

    command = register(Command(name="addHostForTest", description="test", action="host.add",
                               handler=lambda call: {}))
    try:
        assert "addHostForTest" not in {a["name"] for a in api_json("alice", "listApis")[1]["api"]}
        assert "addHostForTest" in {a["name"] for a in api_json("admin", "listApis")[1]["api"]}
        assert api_json("alice", "listApis", name="addHostForTest")[0] == 431
    finally:
        _commands.pop(command.key)


def test_list_capabilities(api_json):
    status, body = api_json("alice", "listCapabilities")
    assert status == 200
    capability = body["capability"]
    assert capability["cloudstackversion"].startswith("4.")
    assert capability["securitygroupsenabled"] is False


def test_rendered_objects_use_only_declared_response_fields(api_json, cloud, run_jobs):
    """listApis reports the declared fields; a renderer emitting an undeclared key would make it lie."""
    with run_jobs():
        _, created = api_json("admin", "deployVirtualMachine", zoneid=cloud.zone.uuid, name="web1",
                              serviceofferingid=cloud.offering.uuid, templateid=cloud.template.uuid)
    request = RequestFactory().get("/client/api")
    objects = {
        "virtualmachine": VirtualMachine.objects.get(uuid=created["id"]),
        "zone": cloud.zone,
        "serviceoffering": cloud.offering,
        "template": cloud.template,
        "asyncjob": AsyncJob.objects.get(uuid=created["jobid"]),
        "user": cloud.admin,
    }
    for model, obj in objects.items():
        object_type = get_object_type(model)
        call = Call(request=request, command=get_command("listApis"), caller=cloud.admin, params={})
        rendered = object_type.render(call, obj)
        undeclared = set(rendered) - set(object_type.fields)
        assert not undeclared, (model, undeclared)


def test_list_apis_describes_the_session_and_user_commands(api_json):
    _, body = api_json("alice", "listApis")
    apis = {api["name"]: api for api in body["api"]}

    login = apis["login"]
    assert login["isasync"] is False
    params = {p["name"]: p for p in login["params"]}
    assert {name for name, p in params.items() if p["required"]} == {"username", "password"}
    assert params["domainid"]["type"] == "uuid" and params["domain"]["length"] == 1024
    assert {r["name"] for r in login["response"]} >= {"sessionkey", "userid", "timeout", "type", "account"}
    assert [r["name"] for r in apis["logout"]["response"]] == ["description"]

    users = apis["listUsers"]
    listing = {p["name"] for p in users["params"]}
    assert {"username", "state", "accounttype", "id", "keyword", "page", "pagesize", "listall", "account",
            "domainid", "isrecursive"} <= listing
    assert "name" not in listing  # users are listed by username, as in CloudStack
    assert {"id", "username", "apikey", "accounttype", "roletype"} <= {r["name"] for r in users["response"]}
    for name in ("registerUserKeys", "getUserKeys"):
        api = apis[name]
        assert [(p["name"], p["type"], p["required"]) for p in api["params"]] == [("id", "uuid", True)]
        assert [r["name"] for r in api["response"]] == ["apikey", "secretkey"]
        assert api["isasync"] is False


def test_answers_carry_exactly_the_fields_list_apis_declares(client, api_json, cloud, keys, login):
    declared = {api["name"]: {r["name"] for r in api["response"]} for api in api_json("admin", "listApis")[1]["api"]}

    assert set(login("alice").json()["loginresponse"]) == declared["login"]
    _, registered = api_json("admin", "registerUserKeys", id=cloud.bob.uuid)
    assert set(registered["userkeys"]) == declared["registerUserKeys"]
    _, fetched = api_json("admin", "getUserKeys", id=cloud.bob.uuid)
    assert set(fetched["userkeys"]) == declared["getUserKeys"]
    _, users = api_json("admin", "listUsers", listall="true")
    assert all(set(user) <= declared["listUsers"] for user in users["user"])
