"""The matrix itself can fail: a scoping bug, an accepted write and a missing entry point each fail a row.
Without these, a matrix that passed could mean nothing was checked."""

from __future__ import annotations

import pytest

from compute import selectors as compute_selectors
from compute.models import VirtualMachine
from portal.errors import NotFound
from tests.isolation import test_cloudstack_matrix, test_matrix_coverage, test_rest_matrix, test_ui_matrix
from tests.isolation.matrix import DENIED, check, cs, rest, ui

pytestmark = pytest.mark.django_db


def no_scope(caller, queryset):
    return queryset


def test_a_list_that_forgets_the_tenancy_scope_fails_its_row(iso, monkeypatch):
    monkeypatch.setattr(compute_selectors, "scope", no_scope)
    with pytest.raises(AssertionError, match="A's VM name"):
        check(cs("list", "listVirtualMachines", lambda w: {"listall": True}), "b1", iso)
    with pytest.raises(AssertionError, match="A's VM name"):
        check(rest("list", "GET", lambda w: "/api/v1/virtual-machines/", name="vms"), "south_admin", iso)


def test_a_write_that_goes_through_fails_its_row(iso, monkeypatch):
    monkeypatch.setattr(compute_selectors, "scope", no_scope)
    monkeypatch.setattr("compute.services_lifecycle.authorize", lambda *args, **kwargs: None)
    with pytest.raises(AssertionError, match="expected hidden"):
        check(cs("write", "stopVirtualMachine", lambda w: {"id": str(w.vm.uuid)}), "b1", iso)


def test_a_write_that_answers_like_a_refusal_but_wrote_fails_its_row(iso, monkeypatch):
    """Only the snapshot catches a change made before the refusal and not rolled back."""
    monkeypatch.setattr(compute_selectors, "scope", no_scope)

    def stop_then_refuse(*, caller, vm, forced=False):
        VirtualMachine.objects.filter(pk=vm.pk).update(display_name="tampered")
        raise NotFound()

    monkeypatch.setattr("compute.services.vm_stop", stop_then_refuse)
    with pytest.raises(AssertionError, match=r"compute.virtualmachine #\d+ changed: .*tampered"):
        check(cs("write", "stopVirtualMachine", lambda w: {"id": str(w.vm.uuid)}), "b1", iso)


def test_a_refused_control_fails_its_row(iso):
    """A row whose request is wrong for everyone would pass as a refusal; its control catches that."""
    with pytest.raises(AssertionError, match="as its control"):
        check(cs("write", "stopVirtualMachine", lambda w: {"id": "not-a-vm"}), "control", iso)


@pytest.mark.parametrize("row", [
    cs("list", "listFrobnicators"),
    rest("list", "GET", lambda w: "/api/v1/frobnicators/", name="frobnicators"),
    ui("list", "GET", lambda w: "/frobnicators/", name="frobnicators"),
], ids=str)
def test_a_row_for_a_missing_entry_point_fails_loudly(iso, row):
    for actor in ("anonymous", "b1", "control"):
        with pytest.raises(AssertionError, match=r"no (CloudStack command|REST route|route)"):
            check(row, actor, iso)


def test_a_grantee_let_through_fails_its_row(iso, monkeypatch):
    """b2 sees A's VM through its console grant: only the service's own check stops it; without it, the row
    fails (the stop went through)."""
    monkeypatch.setattr("compute.services_lifecycle.authorize", lambda *args, **kwargs: None)
    with pytest.raises(AssertionError, match="as the grantee b2"):
        check(cs("write", "stopVirtualMachine", lambda w: {"id": str(w.vm.uuid)}, grantee=DENIED), "b2", iso)


def test_an_entry_point_without_a_row_fails_the_coverage_check(iso, monkeypatch):
    monkeypatch.setattr(test_rest_matrix, "ROWS", [r for r in test_rest_matrix.ROWS if "reorder" not in r.name])
    with pytest.raises(AssertionError, match="role-permission-reorder"):
        test_matrix_coverage.test_every_rest_route_and_method_has_a_row(iso)
    monkeypatch.setattr(test_ui_matrix, "ROWS", [r for r in test_ui_matrix.ROWS if r.name != "role rule move"])
    with pytest.raises(AssertionError, match="role_rule_move"):
        test_matrix_coverage.test_every_identity_page_has_a_row(iso)
    monkeypatch.setattr(test_cloudstack_matrix, "ROWS",
                        [r for r in test_cloudstack_matrix.ROWS if r.method != "listRolePermissions"])
    with pytest.raises(AssertionError, match="listRolePermissions"):
        test_matrix_coverage.test_every_cloudstack_command_has_a_row()
