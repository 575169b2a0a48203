"""The table pattern (portal.ui.tables) on every list page: whitelisted sorting with a stable tie-break, search,
paging that keeps the other parameters, htmx partial responses, and a query count independent of the rows."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

import pytest
from django.test import RequestFactory
from django.urls import reverse

from compute.views import VM_TABLE
from infrastructure.models import Host
from portal.events import event_emit
from portal.ui.tables import parse_query
from tests import factories
from tests.support.queries import count_queries, ok

pytestmark = pytest.mark.django_db

VM_NAME = re.compile(r'<a href="/vms/[0-9a-f-]{36}/"><strong>([^<]+)</strong></a>')


def vm_names(html: str) -> list[str]:
    return VM_NAME.findall(html)


# --- parsing ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("sort", "expected"), [
    ("", "-created"),
    ("name", "name"),
    ("-name", "-name"),
    ("--name", "-created"),
    ("account__password", "-created"),  # not a column: never reaches order_by
    ("-pk", "-created"),
    ("host", "host"),
])
def test_only_declared_columns_can_be_sorted_by(rf: RequestFactory, sort, expected):
    query = parse_query(rf.get("/vms/", {"sort": sort}), VM_TABLE)

    assert query.sort == expected


def test_a_left_out_column_cannot_be_sorted_by(rf: RequestFactory):
    spec = VM_TABLE.without("host")

    assert parse_query(rf.get("/vms/", {"sort": "host"}), spec).sort == "-created"
    assert [c.key for c in spec.columns] == [c.key for c in VM_TABLE.columns if c.key != "host"]


# --- the VM table ----------------------------------------------------------------------------------------

def test_vm_list_sorts_by_a_column_both_ways(cloud, login, deploy_vm):
    for name in ("charlie", "alpha", "bravo"):
        deploy_vm(cloud.alice, name, start_vm=False)
    client = login(cloud.alice)

    ascending = vm_names(client.get(reverse("compute:vm_list"), {"sort": "name"}).content.decode())
    descending = vm_names(client.get(reverse("compute:vm_list"), {"sort": "-name"}).content.decode())
    default = vm_names(client.get(reverse("compute:vm_list")).content.decode())
    bogus = vm_names(client.get(reverse("compute:vm_list"), {"sort": "user__password"}).content.decode())

    assert ascending == ["alpha", "bravo", "charlie"]
    assert descending == ["charlie", "bravo", "alpha"]
    assert default == ["bravo", "alpha", "charlie"]  # newest first
    assert bogus == default


def test_ties_are_broken_by_creation_so_pages_neither_overlap_nor_skip(cloud, login, deploy_vm):
    for i in range(25):
        deploy_vm(cloud.alice, f"vm{i:02d}", start_vm=False)  # all Stopped: one big tie
    client = login(cloud.alice)

    def pages(sort):
        return [vm_names(client.get(reverse("compute:vm_list"), {"sort": sort, "page": n}).content.decode())
                for n in (1, 2)]

    first, second = pages("state")
    assert len(first) == 20 and len(second) == 5
    assert first + second == [f"vm{i:02d}" for i in range(25)]  # creation order within the tie
    first_desc, second_desc = pages("-state")
    assert first_desc + second_desc == list(reversed(first + second))


def test_sort_headers_and_page_links_keep_the_other_parameters(cloud, login, deploy_vm):
    for i in range(22):
        deploy_vm(cloud.alice, f"web{i:02d}", start_vm=False)
    client = login(cloud.alice)

    response = client.get(reverse("compute:vm_list"), {"q": "web", "state": "Stopped", "sort": "name"})
    html = unescape(response.content.decode())

    # The active column reverses, the others sort ascending; both keep the filters and go to page 1.
    assert 'aria-sort="ascending"' in html
    assert 'href="/vms/?q=web&state=Stopped&sort=-name"' in html
    assert 'href="/vms/?q=web&state=Stopped&sort=state"' in html
    # Paging keeps the filters and the sort.
    assert 'href="/vms/?q=web&state=Stopped&sort=name&page=2"' in html
    assert 'hx-get="/vms/?q=web&state=Stopped&sort=name&page=2"' in html
    assert "1\u201320 of 22" in html  # an en dash
    # The search form carries the current sort (a search keeps the order).
    assert '<input type="hidden" name="sort" value="name" form="vm-table-search">' in html


def test_vm_search_narrows_through_the_selector(cloud, login, deploy_vm):
    deploy_vm(cloud.alice, "web1")
    deploy_vm(cloud.alice, "db1")
    deploy_vm(cloud.bob, "web-of-bob")

    html = login(cloud.alice).get(reverse("compute:vm_list"), {"q": "WEB"}).content.decode()

    assert vm_names(html) == ["web1"]


def test_an_empty_search_says_so_and_offers_to_clear_it(cloud, login, deploy_vm):
    deploy_vm(cloud.alice, "web1")

    html = login(cloud.alice).get(reverse("compute:vm_list"), {"q": "nothing-like-this"}).content.decode()

    assert "No virtual machines match the filter." in html
    assert "Clear the search" in html and "Deploy your first VM" not in html


# --- htmx ------------------------------------------------------------------------------------------------

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "vm-table", "HTTP_HX_CURRENT_URL": "http://testserver/vms/"}


def test_htmx_gets_only_the_table(cloud, login, deploy_vm):
    deploy_vm(cloud.alice, "web1")
    deploy_vm(cloud.alice, "db1")
    client = login(cloud.alice)

    response = client.get(reverse("compute:vm_list"), {"q": "web", "sort": "name"}, **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="vm-table"')
    assert "<html" not in html and '<nav class="nav"' not in html and 'role="search"' not in html
    assert vm_names(html) == ["web1"]
    assert {"HX-Request", "HX-Target"} <= {v.strip() for v in response["Vary"].split(",")}


def test_htmx_without_a_target_gets_only_the_table_too(cloud, login, deploy_vm):
    deploy_vm(cloud.alice, "web1")

    html = login(cloud.alice).get(reverse("compute:vm_list"), HTTP_HX_REQUEST="true").content.decode()

    assert html.lstrip().startswith('<div id="vm-table"') and "web1" in html


@pytest.mark.parametrize("headers", [
    {},  # no JavaScript: a plain page load
    {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "something-else"},
    {"HTTP_HX_REQUEST": "true", "HTTP_HX_HISTORY_RESTORE_REQUEST": "true"},  # back button, cache miss
    {"HTTP_HX_REQUEST": "true", "HTTP_HX_BOOSTED": "true"},
])
def test_other_requests_get_the_whole_page(cloud, login, deploy_vm, headers):
    deploy_vm(cloud.alice, "web1")

    html = login(cloud.alice).get(reverse("compute:vm_list"), **headers).content.decode()

    assert html.startswith("<!DOCTYPE html>") and '<div id="vm-table"' in html and 'role="search"' in html


def test_the_page_wires_htmx_to_the_table(cloud, login, deploy_vm):
    deploy_vm(cloud.alice, "web1")

    html = login(cloud.alice).get(reverse("compute:vm_list")).content.decode()

    form = re.search(r'<form method="get"[^>]*role="search"[^>]*>', html, re.S).group(0)
    assert 'hx-get="/vms/"' in form and 'hx-target="#vm-table"' in form and 'hx-push-url="true"' in form
    region = re.search(r'<div id="vm-table"[^>]*>', html).group(0)
    assert 'hx-target="#vm-table"' in region and 'hx-push-url="true"' in region
    assert re.search(r'<a class="sort[^"]*" href="/vms/\?sort=name" hx-get="/vms/\?sort=name">', html)


# --- every list page ---------------------------------------------------------------------------------------

def _make_vms(cloud, deploy_vm, count):
    for i in range(count):
        deploy_vm(cloud.alice, f"row{i:02d}", run=False)  # each with a pending job, shown in the row


def _make_jobs(cloud, deploy_vm, count):
    for i in range(count):
        deploy_vm(cloud.alice, f"row{i:02d}", run=False)


def _make_events(cloud, deploy_vm, count):
    for i in range(count):
        event_emit(type="VM.CREATE", description=f"row{i:02d} created", account=cloud.alice.account,
                   user=cloud.alice)


def _make_zones(cloud, deploy_vm, count):
    for i in range(count - 1):  # the cloud has one zone already
        factories.ZoneFactory(name=f"row{i:02d}")


def _make_hosts(cloud, deploy_vm, count):
    for i in range(count - 1):  # the cloud has one host already
        factories.HostFactory(name=f"row{i:02d}")


LIST_PAGES: dict[str, tuple[str, Callable]] = {
    "vms": ("compute:vm_list", _make_vms),
    "jobs": ("ui:job_list", _make_jobs),
    "events": ("ui:event_list", _make_events),
    "zones": ("ui:zone_list", _make_zones),
    "hosts": ("ui:host_list", _make_hosts),
}
ROW = re.compile(r"<tr[\s>]")


def _rows_and_queries(client, url, **headers) -> tuple[int, int]:
    queries, response = count_queries(lambda: ok(client.get(url, **headers)))
    return len(ROW.findall(response.content.decode())) - 1, queries  # minus the header row


@pytest.mark.parametrize("page", LIST_PAGES)
def test_list_query_count_does_not_grow_with_rows(cloud, login, deploy_vm, page):
    url_name, make = LIST_PAGES[page]
    url = reverse(url_name)
    client = login(cloud.admin)
    make(cloud, deploy_vm, 2)
    rows, small = _rows_and_queries(client, url)
    _rows, small_htmx = _rows_and_queries(client, url, HTTP_HX_REQUEST="true")
    assert rows == 2

    for i in range(8):
        _more(page, cloud, deploy_vm, i)
    rows, large = _rows_and_queries(client, url)
    _rows, large_htmx = _rows_and_queries(client, url, HTTP_HX_REQUEST="true")

    assert rows == 10
    assert large == small
    assert large_htmx == small_htmx


def _more(page: str, cloud, deploy_vm, i: int) -> None:
    """More rows of another kind than the first ones (other owners, states, finished jobs)."""
    name = f"more{i:02d}"
    if page in ("vms", "jobs"):
        deploy_vm(cloud.bob, name, run=i % 2 == 0)
    elif page == "events":
        event_emit(type="VM.START", description=f"{name} started", account=cloud.bob.account, user=cloud.bob)
    elif page == "zones":
        factories.ZoneFactory(name=name)
    else:
        factories.HostFactory(name=name, status=Host.Status.DISCONNECTED)


def _names(page: str, rows: list) -> list[str]:
    if page == "events":
        return [event.description for event in rows]
    return [row.name for row in rows]


@pytest.mark.parametrize(("page", "params", "expected"), [
    ("events", {"sort": "-time", "q": "ROW0"}, ["row02 created", "row01 created", "row00 created"]),
    ("events", {"sort": "time", "q": "row01"}, ["row01 created"]),
    ("zones", {"sort": "-name", "q": "row"}, ["row01", "row00"]),
    ("zones", {"sort": "name"}, None),
    ("hosts", {"sort": "-name", "q": "ROW"}, ["row01", "row00"]),
    ("hosts", {"q": "row01"}, ["row01"]),
])
def test_every_list_sorts_and_searches(cloud, login, deploy_vm, page, params, expected):
    url_name, make = LIST_PAGES[page]
    make(cloud, deploy_vm, 3)

    response = login(cloud.admin).get(reverse(url_name), params)

    assert response.status_code == 200
    table = response.context["table"]
    names = _names(page, table.rows)
    if expected is None:  # everything, sorted
        assert names == sorted(names) and len(names) == 3
    else:
        assert names == expected
    assert f'aria-sort="{"descending" if table.query.descending else "ascending"}"' in response.content.decode()


def test_job_search_finds_the_jobs_of_an_object(cloud, login, deploy_vm):
    vm = deploy_vm(cloud.alice, "web1")
    deploy_vm(cloud.alice, "web2")
    client = login(cloud.alice)

    rows = client.get(reverse("ui:job_list"), {"q": str(vm.uuid)[:13]}).context["table"].rows

    assert [row.vm.name for row in rows] == ["web1"]


def test_job_list_is_sorted_by_status_then_creation(cloud, login, deploy_vm):
    deploy_vm(cloud.alice, "done1")
    deploy_vm(cloud.alice, "busy1", run=False)
    deploy_vm(cloud.alice, "done2")
    client = login(cloud.alice)

    rows = client.get(reverse("ui:job_list"), {"sort": "status"}).context["table"].rows
    labels = [(row.job.status, row.vm.name) for row in rows]

    assert labels == [(0, "busy1"), (1, "done1"), (1, "done2")]


def test_event_search_covers_account_and_user(cloud, login):
    event_emit(type="VM.CREATE", description="one", account=cloud.alice.account, user=cloud.alice)
    event_emit(type="VM.CREATE", description="two", account=cloud.bob.account, user=cloud.bob)
    client = login(cloud.admin)

    by_account = client.get(reverse("ui:event_list"), {"q": "bob"}).context["table"].rows

    assert [event.description for event in by_account] == ["two"]


def test_host_list_paginates(cloud, login):
    for i in range(21):
        factories.HostFactory(name=f"h{i:02d}")
    client = login(cloud.admin)

    first = client.get(reverse("ui:host_list")).context["table"]
    second = client.get(reverse("ui:host_list"), {"page": 2}).context["table"]

    assert len(first.rows) == 20 and len(second.rows) == 2
    assert {h.pk for h in first.rows}.isdisjoint({h.pk for h in second.rows})
    assert first.next_url == "/infrastructure/hosts/?page=2" and second.previous_url.endswith("page=1")
