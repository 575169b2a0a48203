"""The affinity group pages: a list scoped to the caller with each group's VMs, add (duplicate names refused on
the form, nothing changed), delete (POST only; VMs leave the group); another tenant's group is a 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from compute import services_affinity
from compute.models import AffinityGroup
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db

LIST = reverse("compute:affinity_list")
ADD = reverse("compute:affinity_add")


def _group(user, name, group_type="host anti-affinity"):
    group, _job = services_affinity.affinity_group_create(caller=user, name=name, group_type=group_type)
    return group


def test_list_is_scoped_and_shows_members(cloud, login, deploy_vm):
    mine = _group(cloud.alice, "web")
    theirs = _group(cloud.bob, "db", "host affinity")
    vm = deploy_vm(cloud.alice, "web1", affinity_groups=[mine])
    html = ok(login(cloud.alice).get(LIST)).content.decode()
    assert f'data-affinity-group="{mine.uuid}"' in html and f'data-affinity-group="{theirs.uuid}"' not in html
    assert reverse("compute:vm_detail", args=[vm.uuid]) in html and "Host anti-affinity" in html
    assert "Account" not in html.split("<thead>")[1].split("</thead>")[0]

    admin_html = ok(login(cloud.admin).get(LIST)).content.decode()
    assert f'data-affinity-group="{theirs.uuid}"' in admin_html and "Host affinity" in admin_html
    assert "Account" in admin_html.split("<thead>")[1].split("</thead>")[0]


def test_list_queries_do_not_grow_with_rows(cloud, login):
    _group(cloud.bob, "first")  # an empty list skips the page's queries: start from one row
    client = login(cloud.admin)
    counter = iter(range(100))
    before, after = assert_queries_constant(
        lambda: ok(client.get(LIST)),
        lambda: [_group(user, f"g{next(counter)}") for user in (cloud.alice, cloud.bob, cloud.alice)])
    assert (after.content.decode().count("data-affinity-group=")
            == before.content.decode().count("data-affinity-group=") + 3)


def test_add_and_delete(cloud, login):
    client = login(cloud.alice)
    assert ok(client.get(ADD))
    response = client.post(ADD, {"name": "spread", "group_type": "host anti-affinity", "description": "web tier"})
    assert response.status_code == 302 and response.url == LIST
    group = AffinityGroup.objects.get(account=cloud.alice.account, name="spread")
    assert (group.group_type, group.description) == ("host anti-affinity", "web tier")

    delete = reverse("compute:affinity_delete", args=[group.uuid])
    assert client.get(delete).status_code == 405
    assert AffinityGroup.objects.filter(pk=group.pk).exists()
    response = client.post(delete)
    assert response.status_code == 302 and response.url == LIST
    assert not AffinityGroup.objects.filter(pk=group.pk).exists()


def test_duplicate_name_is_refused_on_the_form(cloud, login):
    _group(cloud.alice, "spread")
    response = login(cloud.alice).post(ADD, {"name": "spread", "group_type": "host affinity"})
    assert response.status_code == 400 and "already exists" in response.content.decode()
    assert AffinityGroup.objects.filter(account=cloud.alice.account).count() == 1
    # Another account may use the same name.
    assert login(cloud.bob).post(ADD, {"name": "spread", "group_type": "host affinity"}).status_code == 302


def test_unknown_type_is_refused(cloud, login):
    response = login(cloud.alice).post(ADD, {"name": "x", "group_type": "explicit dedication"})
    assert response.status_code == 400
    assert not AffinityGroup.objects.filter(name="x").exists()


def test_another_tenants_group_is_a_404(cloud, login):
    group = _group(cloud.bob, "db")
    assert login(cloud.alice).post(reverse("compute:affinity_delete", args=[group.uuid])).status_code == 404
    assert AffinityGroup.objects.filter(pk=group.pk).exists()


def test_csrf_is_required(cloud, login):
    group = _group(cloud.alice, "db")
    client = login(cloud.alice, enforce_csrf_checks=True)
    assert client.post(reverse("compute:affinity_delete", args=[group.uuid])).status_code == 403
    assert client.post(ADD, {"name": "new", "group_type": "host affinity"}).status_code == 403
    assert list(AffinityGroup.objects.filter(account=cloud.alice.account)) == [group]
