"""Read-only catalog: /api/v1/zones/, /service-offerings/, /templates/."""

from __future__ import annotations

import uuid

import pytest

from accounts.models import Account
from infrastructure.models import AllocationState
from tests import factories
from tests.rest.helpers import assert_error

pytestmark = pytest.mark.django_db


def test_zones(cloud, alice_api):
    disabled = factories.ZoneFactory(name="zz-disabled", allocation_state=AllocationState.DISABLED)

    listed = alice_api.get("/api/v1/zones/").json()
    assert [zone["id"] for zone in listed["results"]] == [str(cloud.zone.uuid), str(disabled.uuid)]
    available = alice_api.get("/api/v1/zones/", {"available": "true"}).json()
    assert [zone["id"] for zone in available["results"]] == [str(cloud.zone.uuid)]

    detail = alice_api.get(f"/api/v1/zones/{cloud.zone.uuid}/").json()
    assert detail["name"] == cloud.zone.name
    assert detail["url"] == f"http://testserver/api/v1/zones/{cloud.zone.uuid}/"
    assert_error(alice_api.get(f"/api/v1/zones/{uuid.uuid4()}/"), 404, 431)


def test_service_offerings_are_those_of_the_callers_domain(cloud, alice_api, client_for):
    sales = factories.DomainFactory(name="Sales", parent=cloud.alice.account.domain)
    private = factories.ServiceOfferingFactory(name="Sales only", domains=[sales])
    carol = factories.UserFactory(username="carol", account__name="carol", account__domain=sales)

    alice_sees = {o["id"] for o in alice_api.get("/api/v1/service-offerings/").json()["results"]}
    assert alice_sees == {str(cloud.offering.uuid)}
    carol_sees = {o["id"] for o in client_for(carol).get("/api/v1/service-offerings/").json()["results"]}
    assert carol_sees == {str(cloud.offering.uuid), str(private.uuid)}

    detail = alice_api.get(f"/api/v1/service-offerings/{cloud.offering.uuid}/").json()
    assert (detail["cpu_number"], detail["cpu_speed"], detail["memory"]) == (1, 1000, 512)
    assert_error(alice_api.get(f"/api/v1/service-offerings/{private.uuid}/"), 404, 431)


def test_templates_follow_the_template_filter(cloud, alice_api, client_for):
    own = factories.TemplateFactory(name="alice-private", is_public=False, account=cloud.alice.account,
                                    domain=cloud.alice.account.domain)
    bobs = factories.TemplateFactory(name="bob-private", is_public=False, account=cloud.bob.account,
                                     domain=cloud.bob.account.domain)

    def names(client, **params):
        response = client.get("/api/v1/templates/", params)
        assert response.status_code == 200, response.content
        return sorted(t["name"] for t in response.json()["results"])

    assert names(alice_api) == ["Tiny", "alice-private"]
    assert names(alice_api, template_filter="self") == ["alice-private"]
    assert names(alice_api, zone=str(cloud.zone.uuid)) == ["Tiny", "alice-private"]
    assert names(client_for(cloud.admin), template_filter="all") == ["Tiny", "alice-private", "bob-private"]

    assert alice_api.get(f"/api/v1/templates/{own.uuid}/").json()["name"] == "alice-private"
    assert_error(alice_api.get(f"/api/v1/templates/{bobs.uuid}/"), 404, 431)

    error = assert_error(alice_api.get("/api/v1/templates/", {"template_filter": "mine"}), 400, 431)
    assert set(error["fields"]) == {"template_filter"}
    error = assert_error(alice_api.get("/api/v1/templates/", {"zone": str(uuid.uuid4())}), 400, 431)
    assert set(error["fields"]) == {"zone"}


def test_disabled_account_is_refused(cloud, alice_api):
    Account.objects.filter(pk=cloud.alice.account_id).update(state=Account.State.DISABLED)

    error = assert_error(alice_api.get("/api/v1/zones/"), 403, 531)
    assert "disabled" in error["message"]
