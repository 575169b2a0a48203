"""The Sharing panel of the VM page: owners list, grant and revoke; grantees get no panel."""

from __future__ import annotations

import pytest
from django.urls import reverse

from compute.selectors_grants import grant_name, vm_grant_list
from compute.services_grants import vm_grant
from portal import authz

pytestmark = pytest.mark.django_db


@pytest.fixture
def vm(cloud, deploy_vm):
    return deploy_vm(cloud.alice, "shared")


def test_vm_page_loads_the_sharing_panel(cloud, vm, login):
    html = login(cloud.alice).get(reverse("compute:vm_detail", args=[vm.uuid])).content.decode()
    assert reverse("compute:vm_sharing", args=[vm.uuid]) in html


def test_owner_shares_and_sees_the_grant_in_the_panel(cloud, vm, login):
    client = login(cloud.alice)

    response = client.post(reverse("compute:vm_sharing_grant", args=[vm.uuid]),
                           {"user": str(cloud.bob.uuid), "permission": "console"})

    assert response.status_code == 302
    assert response.url == reverse("compute:vm_detail", args=[vm.uuid]) + "#vm-sharing"
    assert [(g.user, grant_name(g)) for g in vm_grant_list(caller=cloud.alice, vm=vm)] == [(cloud.bob, "console")]
    panel = client.get(reverse("compute:vm_sharing", args=[vm.uuid]), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="vm-sharing"' in panel and "<html" not in panel
    assert f'data-grant="{cloud.bob.uuid}:console"' in panel and "Console only" in panel
    page = client.get(reverse("compute:vm_sharing", args=[vm.uuid])).content.decode()
    assert "<html" in page and f'data-grant="{cloud.bob.uuid}:console"' in page


def test_htmx_grant_swaps_the_panel_in_place(cloud, vm, login):
    client = login(cloud.alice)

    response = client.post(reverse("compute:vm_sharing_grant", args=[vm.uuid]),
                           {"user": str(cloud.bob.uuid), "permission": "operate"}, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert f'data-grant="{cloud.bob.uuid}:operate"' in html and "Shared VM shared with bob." in html


def test_unknown_user_is_a_form_error_and_nothing_changes(cloud, vm, login):
    client = login(cloud.alice)

    for reference in ("bob", "ROOT/bob", "00000000-0000-0000-0000-000000000000"):
        response = client.post(reverse("compute:vm_sharing_grant", args=[vm.uuid]),
                               {"user": reference, "permission": "console"})
        assert response.status_code == 400
        assert "Unable to find an enabled user" in response.content.decode()
    assert not vm_grant_list(caller=cloud.alice, vm=vm).exists()


def test_owner_revokes(cloud, vm, login):
    vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")
    client = login(cloud.alice)

    response = client.post(reverse("compute:vm_sharing_revoke", args=[vm.uuid]),
                           {"user": str(cloud.bob.uuid), "permission": "console"}, follow=True)

    assert response.status_code == 200 and "can no longer use VM shared" in response.content.decode()
    assert not authz.can(cloud.bob, "vm.console", vm)


def test_grantee_sees_the_vm_but_no_panel_and_cannot_share(cloud, vm, login):
    vm_grant(caller=cloud.alice, vm=vm, grantee=cloud.bob, permission="console")
    client = login(cloud.bob)

    detail = client.get(reverse("compute:vm_detail", args=[vm.uuid]))
    assert detail.status_code == 200
    # No power buttons for a console-only grantee.
    assert reverse("compute:vm_stop", args=[vm.uuid]) not in detail.content.decode()
    panel = client.get(reverse("compute:vm_sharing", args=[vm.uuid]), HTTP_HX_REQUEST="true")
    assert panel.status_code == 200 and panel.content == b""
    response = client.post(reverse("compute:vm_sharing_grant", args=[vm.uuid]),
                           {"user": str(cloud.admin.uuid), "permission": "console"})
    assert response.status_code == 403
    response = client.post(reverse("compute:vm_sharing_revoke", args=[vm.uuid]),
                           {"user": str(cloud.bob.uuid), "permission": "console"})
    assert response.status_code == 403
    assert authz.can(cloud.bob, "vm.console", vm)


def test_other_tenants_get_404(cloud, vm, login):
    client = login(cloud.bob)
    assert client.get(reverse("compute:vm_sharing", args=[vm.uuid])).status_code == 404
    assert client.post(reverse("compute:vm_sharing_grant", args=[vm.uuid]),
                       {"user": str(cloud.bob.uuid), "permission": "console"}).status_code == 404
