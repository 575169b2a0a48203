"""/api/v1/hosts/: root admins only; adding, reconnecting and maintenance answer 202 with the job."""

from __future__ import annotations

import pytest

from infrastructure.models import Host
from portal.models import AsyncJob
from tests import factories
from tests.rest.helpers import assert_error
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db

HOSTS = "/api/v1/hosts/"


@pytest.fixture
def admin_api(cloud, client_for):
    return client_for(cloud.admin)


def _detail(host: Host) -> str:
    return f"{HOSTS}{host.uuid}/"


def test_list_and_retrieve_show_state_resource_state_and_tags_but_never_the_password(cloud, admin_api):
    Host.objects.filter(pk=cloud.host.pk).update(host_tags="ssd,gpu", username="root", password_encrypted="x")
    body = admin_api.get(HOSTS).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["id"] == str(cloud.host.uuid)
    assert (row["state"], row["resource_state"], row["host_tags"]) == ("Up", "Enabled", ["ssd", "gpu"])
    assert row["zone"]["id"] == str(cloud.zone.uuid) and row["cluster"]["name"] == cloud.host.cluster.name
    assert row["has_password"] is True and "password" not in row and "password_encrypted" not in row
    assert admin_api.get(_detail(cloud.host)).json()["uri"] == "test:///default"


def test_filters(cloud, admin_api):
    other = factories.HostFactory(host_tags="gpu", resource_state="Disabled")
    assert [h["id"] for h in admin_api.get(HOSTS, {"host_tag": "gpu"}).json()["results"]] == [str(other.uuid)]
    assert admin_api.get(HOSTS, {"resource_state": "Disabled"}).json()["count"] == 1
    assert admin_api.get(HOSTS, {"zone": str(cloud.zone.uuid)}).json()["count"] == 1
    assert_error(admin_api.get(HOSTS, {"state": "Sleeping"}), 400, 431)


@pytest.mark.parametrize("user", ["alice", "bob"])
def test_non_root_callers_are_refused_everywhere(cloud, client_for, user):
    api = client_for(getattr(cloud, user))
    assert_error(api.get(HOSTS), 403, 531)
    assert_error(api.get(_detail(cloud.host)), 403, 531)
    assert_error(api.post(HOSTS, {"cluster": str(cloud.host.cluster.uuid), "name": "x",
                                  "uri": "test:///default?x"}, format="json"), 403, 531)
    assert_error(api.patch(_detail(cloud.host), {"name": "mine"}, format="json"), 403, 531)
    assert_error(api.delete(_detail(cloud.host)), 403, 531)
    for action in ("reconnect", "maintenance", "cancel-maintenance"):
        assert_error(api.post(f"{_detail(cloud.host)}{action}/"), 403, 531)
    cloud.host.refresh_from_db()
    assert cloud.host.name != "mine" and Host.objects.count() == 1 and not AsyncJob.objects.exists()


def test_domain_admin_is_refused(cloud, client_for):
    domain_admin = factories.UserFactory(account__account_type=2)
    assert_error(client_for(domain_admin).get(HOSTS), 403, 531)


def test_create_answers_202_with_the_job_and_the_host_comes_up(cloud, admin_api, run_jobs):
    with run_jobs():
        response = admin_api.post(HOSTS, {"cluster": str(cloud.host.cluster.uuid), "name": "sim2",
                                          "uri": "test:///default?rest", "username": "u", "password": "pw",
                                          "host_tags": ["ssd"]}, format="json")
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["resource"]["type"] == "host" and response["Location"] == job["url"]
    host = Host.objects.get(name="sim2")
    assert (host.status, host.host_tags, host.username) == ("Up", "ssd", "u")
    shown = admin_api.get(_detail(host)).json()
    assert "pw" not in str(shown)


def test_create_refuses_bad_input(cloud, admin_api):
    assert_error(admin_api.post(HOSTS, {"cluster": str(cloud.host.uuid), "name": "x", "uri": "test:///default?y"},
                                format="json"), 400, 431)
    assert_error(admin_api.post(HOSTS, {"cluster": str(cloud.host.cluster.uuid), "name": "x",
                                        "uri": "http://nope/"}, format="json"), 400, 431)
    assert Host.objects.count() == 1


def test_patch_updates_name_tags_and_allocation_state(cloud, admin_api):
    response = admin_api.patch(_detail(cloud.host), {"name": "h1", "host_tags": ["a", "b"],
                                                     "allocation_state": "Disable"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["name"], response.json()["host_tags"], response.json()["resource_state"]) == (
        "h1", ["a", "b"], "Disabled")
    assert_error(admin_api.patch(_detail(cloud.host), {"allocation_state": "Off"}, format="json"), 400, 431)


def test_maintenance_and_cancel_and_reconnect_are_jobs(cloud, admin_api, run_jobs):
    with run_jobs():
        response = admin_api.post(f"{_detail(cloud.host)}maintenance/")
    assert response.status_code == 202
    cloud.host.refresh_from_db()
    assert cloud.host.resource_state == "Maintenance"
    with run_jobs():
        assert admin_api.post(f"{_detail(cloud.host)}cancel-maintenance/").status_code == 202
    cloud.host.refresh_from_db()
    assert cloud.host.resource_state == "Enabled"
    with run_jobs():
        response = admin_api.post(f"{_detail(cloud.host)}reconnect/")
    assert response.status_code == 202
    assert AsyncJob.objects.get(uuid=response.json()["id"]).status == AsyncJob.Status.SUCCEEDED
    # Cancelling the maintenance of an enabled host is the wrong state.
    assert_error(admin_api.post(f"{_detail(cloud.host)}cancel-maintenance/"), 409, 431)


def test_delete(cloud, admin_api):
    host = factories.HostFactory(cluster=cloud.host.cluster)
    assert admin_api.delete(_detail(host)).status_code == 204
    assert not Host.objects.filter(pk=host.pk).exists()
    assert_error(admin_api.delete(_detail(host)), 404, 431)


def test_list_query_count_is_constant(cloud, admin_api):
    def add(count: int) -> None:
        for _ in range(count):
            factories.HostFactory()

    add(1)
    small, large = assert_queries_constant(lambda: ok(admin_api.get(HOSTS, {"ordering": "-name"})),
                                           lambda: add(8), at_most=6)
    assert large.json()["count"] == small.json()["count"] + 8
