"""listServiceOfferings reports the offering's placement settings as CloudStack names them."""

from __future__ import annotations

import pytest

from compute.models import ServiceOffering

pytestmark = pytest.mark.django_db


def test_offering_reports_host_tags_storage_tags_and_planner(api_json, cloud):
    ServiceOffering.objects.filter(pk=cloud.offering.pk).update(
        host_tags="ssd,gpu", storage_tags="fast", deployment_planner="UserDispersingPlanner")
    _, body = api_json("alice", "listServiceOfferings")
    offering = body["serviceoffering"][0]
    assert (offering["hosttags"], offering["storagetags"], offering["deploymentplanner"]) == (
        "ssd,gpu", "fast", "UserDispersingPlanner")


def test_offering_without_placement_settings_leaves_them_out(api_json, cloud):
    _, body = api_json("alice", "listServiceOfferings")
    offering = body["serviceoffering"][0]
    assert not {"hosttags", "storagetags", "deploymentplanner"} & set(offering)
