"""The OpenAPI schema generates without warnings, and the documentation pages need no internet."""

from __future__ import annotations

import re

import pytest
import yaml
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"

ENDPOINTS = {
    "/api/v1/virtual-machines/": {"get", "post"},
    "/api/v1/virtual-machines/{id}/": {"get"},
    "/api/v1/virtual-machines/{id}/start/": {"post"},
    "/api/v1/virtual-machines/{id}/stop/": {"post"},
    "/api/v1/virtual-machines/{id}/reboot/": {"post"},
    "/api/v1/virtual-machines/{id}/destroy/": {"post"},
    "/api/v1/virtual-machines/{id}/recover/": {"post"},
    "/api/v1/virtual-machines/{id}/expunge/": {"post"},
    "/api/v1/virtual-machines/{id}/restore/": {"post"},
    "/api/v1/jobs/": {"get"},
    "/api/v1/jobs/{id}/": {"get"},
    "/api/v1/zones/": {"get", "post"},
    "/api/v1/zones/{id}/": {"get", "patch", "delete"},
    "/api/v1/zones/{id}/enable/": {"post"},
    "/api/v1/zones/{id}/disable/": {"post"},
    "/api/v1/pods/": {"get", "post"},
    "/api/v1/pods/{id}/": {"get", "patch", "delete"},
    "/api/v1/pods/{id}/enable/": {"post"},
    "/api/v1/pods/{id}/disable/": {"post"},
    "/api/v1/clusters/": {"get", "post"},
    "/api/v1/clusters/{id}/": {"get", "patch", "delete"},
    "/api/v1/clusters/{id}/enable/": {"post"},
    "/api/v1/clusters/{id}/disable/": {"post"},
    "/api/v1/physical-networks/": {"get", "post"},
    "/api/v1/physical-networks/{id}/": {"get", "patch", "delete"},
    "/api/v1/physical-networks/{id}/enable/": {"post"},
    "/api/v1/physical-networks/{id}/disable/": {"post"},
    "/api/v1/traffic-types/": {"get", "post"},
    "/api/v1/traffic-types/{id}/": {"get", "patch", "delete"},
    "/api/v1/hosts/": {"get", "post"},
    "/api/v1/hosts/{id}/": {"get", "patch", "delete"},
    "/api/v1/hosts/{id}/reconnect/": {"post"},
    "/api/v1/hosts/{id}/maintenance/": {"post"},
    "/api/v1/hosts/{id}/cancel-maintenance/": {"post"},
    "/api/v1/storage-pools/": {"get", "post"},
    "/api/v1/storage-pools/{id}/": {"get", "patch", "delete"},
    "/api/v1/storage-pools/{id}/maintenance/": {"post"},
    "/api/v1/storage-pools/{id}/cancel-maintenance/": {"post"},
    "/api/v1/image-stores/": {"get", "post"},
    "/api/v1/image-stores/{id}/": {"get", "delete"},
    "/api/v1/capacity/": {"get"},
    "/api/v1/service-offerings/": {"get", "post"},
    "/api/v1/service-offerings/{id}/": {"get", "patch", "delete"},
    "/api/v1/disk-offerings/": {"get", "post"},
    "/api/v1/disk-offerings/{id}/": {"get", "patch", "delete"},
    "/api/v1/templates/": {"get"},
    "/api/v1/templates/{id}/": {"get"},
    "/api/v1/auth/token/": {"post"},
    "/api/v1/domains/": {"get", "post"},
    "/api/v1/domains/{id}/": {"get", "patch", "delete"},
    "/api/v1/accounts/": {"get", "post"},
    "/api/v1/accounts/{id}/": {"get", "patch", "delete"},
    "/api/v1/accounts/{id}/disable/": {"post"},
    "/api/v1/accounts/{id}/enable/": {"post"},
    "/api/v1/accounts/{id}/lock/": {"post"},
    "/api/v1/users/": {"get", "post"},
    "/api/v1/users/{id}/": {"get", "patch", "delete"},
    "/api/v1/users/{id}/disable/": {"post"},
    "/api/v1/users/{id}/enable/": {"post"},
    "/api/v1/profile/": {"get"},
    "/api/v1/profile/keys/": {"get", "post"},
    "/api/v1/profile/password/": {"post"},
    "/api/v1/ldap-configurations/": {"get", "post"},
    "/api/v1/ldap-configurations/{id}/": {"get", "delete"},
    "/api/v1/ldap-configurations/{id}/users/": {"get"},
    "/api/v1/ldap-links/": {"get", "post"},
    "/api/v1/resource-limits/": {"get", "post", "patch"},
    "/api/v1/resource-counts/recalculate/": {"post"},
    "/api/v1/virtual-machines/{id}/grants/": {"get", "post"},
    "/api/v1/virtual-machines/{id}/metrics/": {"get"},
    "/api/v1/virtual-machines/{id}/grants/{user_id}/{permission}/": {"delete"},
    "/api/v1/virtual-machines/{id}/settings/": {"patch"},
    "/api/v1/virtual-machines/{id}/change-offering/": {"post"},
    "/api/v1/virtual-machines/{id}/scale/": {"post"},
    "/api/v1/virtual-machines/{id}/attach-iso/": {"post"},
    "/api/v1/virtual-machines/{id}/detach-iso/": {"post"},
    "/api/v1/virtual-machines/{id}/reset-ssh-key/": {"post"},
    "/api/v1/virtual-machines/{id}/migrate/": {"post"},
    "/api/v1/virtual-machines/{id}/hosts-for-migration/": {"get"},
    "/api/v1/virtual-machines/{id}/console/": {"post"},
    "/api/v1/ssh-key-pairs/": {"get", "post"},
    "/api/v1/ssh-key-pairs/{id}/": {"get", "delete"},
    "/api/v1/affinity-groups/": {"get", "post"},
    "/api/v1/affinity-groups/{id}/": {"get", "delete"},
    "/api/v1/tags/": {"get", "post"},
    "/api/v1/tags/delete/": {"post"},
    "/api/v1/vm-snapshots/": {"get", "post"},
    "/api/v1/vm-snapshots/{id}/": {"get", "delete"},
    "/api/v1/vm-snapshots/{id}/revert/": {"post"},
    "/api/v1/roles/": {"get", "post"},
    "/api/v1/roles/{id}/": {"get", "patch", "delete"},
    "/api/v1/roles/{role_id}/permissions/": {"get", "post"},
    "/api/v1/roles/{role_id}/permissions/reorder/": {"post"},
    "/api/v1/roles/{role_id}/permissions/{id}/": {"patch", "delete"},
    "/api/v1/configurations/": {"get"},
    "/api/v1/configurations/{name}/": {"get", "patch"},
    "/api/v1/configurations/{name}/reset/": {"post"},
}
# POSTs that answer at once rather than with a job.
IMMEDIATE = {TOKEN, "/api/v1/domains/", "/api/v1/accounts/", "/api/v1/accounts/{id}/enable/",
             "/api/v1/accounts/{id}/lock/", "/api/v1/users/", "/api/v1/users/{id}/disable/",
             "/api/v1/users/{id}/enable/", "/api/v1/profile/keys/", "/api/v1/profile/password/"}
IMMEDIATE |= {"/api/v1/ldap-configurations/", "/api/v1/ldap-links/", "/api/v1/resource-limits/",
              "/api/v1/resource-counts/recalculate/", "/api/v1/virtual-machines/{id}/grants/"}
IMMEDIATE |= {"/api/v1/roles/", "/api/v1/roles/{role_id}/permissions/", "/api/v1/roles/{role_id}/permissions/reorder/"}
IMMEDIATE |= {"/api/v1/configurations/{name}/reset/"}
IMMEDIATE |= {"/api/v1/service-offerings/", "/api/v1/disk-offerings/"}  # catalogue rows, no host work
# Key pairs, affinity groups and tags are database rows only: answered at once.
IMMEDIATE |= {"/api/v1/ssh-key-pairs/", "/api/v1/affinity-groups/", "/api/v1/tags/", "/api/v1/tags/delete/"}
IMMEDIATE |= {"/api/v1/virtual-machines/{id}/change-offering/"}  # a stopped VM: no host work
IMMEDIATE |= {"/api/v1/virtual-machines/{id}/recover/"}  # synchronous in CloudStack too
IMMEDIATE |= {"/api/v1/virtual-machines/{id}/console/"}  # a ticket row: the host is reached later, by the WebSocket
# The pool row is created at once (201); the hosts define it in background jobs.
IMMEDIATE |= {"/api/v1/storage-pools/", "/api/v1/image-stores/"}
# The topology (zones, pods, clusters, physical networks, traffic types) involves no hypervisor.
IMMEDIATE |= {f"/api/v1/{kind}/{suffix}" for kind in ("zones", "pods", "clusters", "physical-networks")
              for suffix in ("", "{id}/enable/", "{id}/disable/")} | {"/api/v1/traffic-types/"}


@pytest.fixture(scope="module")
def schema(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("schema") / "schema.yaml"
    # --fail-on-warn makes any warning (an untyped field, an unresolvable view) fail this fixture.
    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(path))
    return yaml.safe_load(path.read_text())


def test_schema_has_every_endpoint(schema):
    assert {path: set(ops) - {"parameters"} for path, ops in schema["paths"].items()} == ENDPOINTS


def test_long_operations_document_202_with_the_job_and_location(schema):
    for path, methods in ENDPOINTS.items():
        if "post" not in methods or path in IMMEDIATE:
            continue
        responses = schema["paths"][path]["post"]["responses"]
        assert responses["202"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Job"}
        assert "Location" in responses["202"]["headers"]
        assert responses["409"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}


def test_every_operation_documents_the_error_body(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code in ("401", "403", *(["404"] if "{" in path else [])):
                assert operation["responses"][code]["content"]["application/json"]["schema"] == {
                    "$ref": "#/components/schemas/Error"}, (method, path, code)
    error = schema["components"]["schemas"]["ErrorDetail"]
    assert set(error["properties"]) == {"code", "errorcode", "cserrorcode", "message", "fields"}


def test_security_schemes(schema):
    assert set(schema["components"]["securitySchemes"]) == {"tokenAuth", "apiKeyAuth", "cookieAuth"}


def test_schema_is_served(db):
    response = Client().get("/api/v1/schema/")
    assert response.status_code == 200
    assert b"/api/v1/virtual-machines/" in response.content


@pytest.mark.parametrize("page", ["/api/v1/docs/", "/api/v1/redoc/"])
def test_docs_pages_work_offline(db, page):
    response = Client().get(page)

    assert response.status_code == 200
    html = response.content.decode()
    assert "http://" not in html and "https://" not in html and "//cdn" not in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(asset.endswith(".js") for asset in assets)
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert Client().get(asset).status_code == 200, asset


PAGE = {"page": "integer", "page_size": "integer"}
LIST_PARAMETERS = {
    "/api/v1/virtual-machines/": {"state": "string", "zone": "string", "name": "string", "keyword": "string",
                                  "include_destroyed": "boolean", "ordering": "array", **PAGE},
    "/api/v1/jobs/": {"pending": "boolean", "status": "string", "instance_type": "string",
                      "instance_id": "string", "ordering": "array", **PAGE},
    "/api/v1/zones/": {"available": "boolean", "ordering": "array", **PAGE},
    "/api/v1/hosts/": {"zone": "string", "pod": "string", "cluster": "string", "state": "string",
                       "resource_state": "string", "host_tag": "string", "ordering": "array", **PAGE},
    "/api/v1/storage-pools/": {"zone": "string", "cluster": "string", "scope": "string", "state": "string",
                               "name": "string", "ordering": "array", **PAGE},
    "/api/v1/image-stores/": {"zone": "string", "provider": "string", "ordering": "array", **PAGE},
    "/api/v1/capacity/": {"level": "string", "zone": "string", "pod": "string", "cluster": "string",
                          "type": "integer", **PAGE},
    "/api/v1/pods/": {"zone": "string", "allocation_state": "string", "ordering": "array", **PAGE},
    "/api/v1/clusters/": {"zone": "string", "pod": "string", "hypervisor_type": "string",
                          "allocation_state": "string", "ordering": "array", **PAGE},
    "/api/v1/physical-networks/": {"zone": "string", "state": "string", "ordering": "array", **PAGE},
    "/api/v1/traffic-types/": {"physical_network": "string", "ordering": "array", **PAGE},
    "/api/v1/templates/": {"template_filter": "string", "zone": "string", "ordering": "array", **PAGE},
    "/api/v1/service-offerings/": {"is_system": "boolean", "is_customized": "boolean", "domain": "string",
                                   "ordering": "array", **PAGE},
    "/api/v1/disk-offerings/": {"is_customized": "boolean", "storage_type": "string", "domain": "string",
                                "ordering": "array", **PAGE},
    "/api/v1/vm-snapshots/": {"virtual_machine": "string", "state": "string", "name": "string",
                              "keyword": "string", "ordering": "array", **PAGE},
    "/api/v1/ssh-key-pairs/": {"ordering": "array", **PAGE},
    "/api/v1/affinity-groups/": {"ordering": "array", **PAGE},
    "/api/v1/tags/": {"resource_type": "string", "resource_id": "string", "key": "string", "value": "string",
                      "customer": "string", "ordering": "array", **PAGE},
    "/api/v1/domains/": {"name": "string", "level": "integer", "parent": "string", "subtree": "string",
                         "keyword": "string", "ordering": "array", **PAGE},
    "/api/v1/accounts/": {"name": "string", "domain": "string", "subtree": "string", "account_type": "integer",
                          "state": "string", "keyword": "string", "ordering": "array", **PAGE},
    "/api/v1/users/": {"username": "string", "account": "string", "state": "string", "keyword": "string",
                       "ordering": "array", **PAGE},
    "/api/v1/ldap-configurations/": {"ordering": "array", **PAGE},
    "/api/v1/ldap-links/": {"ordering": "array", **PAGE},
    "/api/v1/resource-limits/": {"account": "string", "domain": "string"},
    "/api/v1/virtual-machines/{id}/grants/": PAGE,
    "/api/v1/roles/": {"name": "string", "role_type": "string", "keyword": "string", "ordering": "array", **PAGE},
    "/api/v1/configurations/": {"zone": "string", "cluster": "string", "account": "string", "category": "string",
                                "keyword": "string", "name": "string", **PAGE},
}


def _list_parameters(schema: dict, path: str) -> dict[str, dict]:
    # A nested list's path parameter (the VM of /virtual-machines/{id}/grants/) is no filter.
    return {parameter["name"]: parameter for parameter in schema["paths"][path]["get"]["parameters"]
            if parameter["in"] != "path"}


def test_list_filters_are_documented_with_their_types(schema):
    for path, expected in LIST_PARAMETERS.items():
        parameters = _list_parameters(schema, path)
        assert {name: p["schema"]["type"] for name, p in parameters.items()} == expected, path
        for name, parameter in parameters.items():
            assert parameter["in"] == "query" and not parameter.get("required", False), (path, name)
            assert parameter.get("description"), (path, name)

    vms = _list_parameters(schema, "/api/v1/virtual-machines/")
    assert set(vms["state"]["schema"]["enum"]) == {"Starting", "Running", "Stopping", "Stopped", "Migrating",
                                                   "Destroyed", "Expunging", "Error"}
    assert vms["zone"]["schema"]["format"] == "uuid"
    jobs = _list_parameters(schema, "/api/v1/jobs/")
    assert set(jobs["status"]["schema"]["enum"]) == {"pending", "succeeded", "failed", "cancelled"}
    assert jobs["instance_id"]["schema"]["format"] == "uuid"
    templates = _list_parameters(schema, "/api/v1/templates/")
    assert templates["zone"]["schema"]["format"] == "uuid"
    assert "executable" in templates["template_filter"]["schema"]["enum"]


def test_ordering_is_a_comma_separated_list_of_the_declared_fields(schema):
    ordering = _list_parameters(schema, "/api/v1/virtual-machines/")["ordering"]
    assert (ordering["style"], ordering["explode"]) == ("form", False)
    assert ordering["schema"]["items"]["enum"] == ["name", "-name", "display_name", "-display_name", "state",
                                                   "-state", "created", "-created"]


def test_detail_and_action_operations_take_no_list_parameters(schema):
    for path, operations in schema["paths"].items():
        if path in LIST_PARAMETERS:
            continue
        for method, operation in operations.items():
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
            assert names == OPERATION_PARAMETERS.get((method, path), set()), (method, path, names)


# Query parameters an operation itself declares (not list filters or paging).
OPERATION_PARAMETERS = {("delete", "/api/v1/domains/{id}/"): {"cleanup"},
                        ("delete", "/api/v1/hosts/{id}/"): {"forced"},
                        ("get", "/api/v1/configurations/{name}/"): {"zone", "cluster", "account"},
                        ("get", "/api/v1/virtual-machines/{id}/metrics/"): {"period"}}


def test_token_endpoint_documents_the_token_and_no_request_body(schema):
    operation = schema["paths"][TOKEN]["post"]
    assert "requestBody" not in operation
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Token"}
    assert schema["components"]["schemas"]["Token"]["properties"]["token"]["type"] == "string"
    assert {next(iter(scheme)) for scheme in operation["security"]} == {"tokenAuth", "apiKeyAuth", "cookieAuth"}
