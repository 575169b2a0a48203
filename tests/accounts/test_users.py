"""User services: create, update (users edit themselves), disable/enable, delete, the last-admin rule."""

from __future__ import annotations

import pytest
from rest_framework.authtoken.models import Token

from accounts.models import Account, Domain, User
from accounts.services_accounts import account_create
from accounts.services_domains import domain_create
from accounts.services_users import user_create, user_delete, user_disable, user_enable, user_update
from portal.authz import can
from portal.errors import InvalidParameter, PermissionDenied
from portal.models import Event
from tests import factories
from tests.factories import TEST_PASSWORD


def _root() -> Domain:
    return Domain.objects.get(parent=None)


def test_create_update_disable_enable_delete_with_events(cloud):
    user = user_create(caller=cloud.admin, account=cloud.alice.account, username="alice2", password=TEST_PASSWORD,
                       email="a2@example.test", first_name="Al", last_name="Ice")
    assert user.account == cloud.alice.account and user.check_password(TEST_PASSWORD)
    user_update(caller=cloud.admin, user=user, email="new@example.test", last_name="Smith")
    user.refresh_from_db()
    assert (user.email, user.last_name, user.first_name) == ("new@example.test", "Smith", "Al")
    user_disable(caller=cloud.admin, user=user)
    assert not User.objects.get(pk=user.pk).is_active
    assert not can(User.objects.get(pk=user.pk), "vm.list")
    user_enable(caller=cloud.admin, user=user)
    assert User.objects.get(pk=user.pk).is_active
    Token.objects.create(user=user)
    user_delete(caller=cloud.admin, user=user)
    assert not User.objects.filter(pk=user.pk).exists()
    assert not Token.objects.filter(user_id=user.pk).exists()
    types = list(Event.objects.filter(user=cloud.admin).order_by("pk").values_list("type", flat=True))
    assert types == ["USER.CREATE", "USER.UPDATE", "USER.DISABLE", "USER.ENABLE", "USER.DELETE"]


def test_users_edit_themselves_but_not_others(cloud):
    user_update(caller=cloud.alice, user=cloud.alice, first_name="Alice")
    assert User.objects.get(pk=cloud.alice.pk).first_name == "Alice"
    with pytest.raises(PermissionDenied):
        user_update(caller=cloud.alice, user=cloud.bob, first_name="Hacked")
    with pytest.raises(PermissionDenied):
        user_create(caller=cloud.alice, account=cloud.alice.account, username="x", password=TEST_PASSWORD)
    with pytest.raises(PermissionDenied):
        user_disable(caller=cloud.alice, user=cloud.bob)


def test_invalid_input_changes_nothing(cloud):
    with pytest.raises(InvalidParameter):
        user_create(caller=cloud.admin, account=cloud.alice.account, username="BOB", password=TEST_PASSWORD)
    with pytest.raises(InvalidParameter):
        user_create(caller=cloud.admin, account=cloud.alice.account, username="has space", password=TEST_PASSWORD)
    with pytest.raises(InvalidParameter):
        user_update(caller=cloud.admin, user=cloud.alice, username="bob")
    with pytest.raises(InvalidParameter):
        user_update(caller=cloud.admin, user=cloud.alice, email="nope")
    assert User.objects.get(pk=cloud.alice.pk).username == "alice"


def test_nobody_disables_or_deletes_themself(cloud):
    with pytest.raises(PermissionDenied):
        user_disable(caller=cloud.admin, user=cloud.admin)
    with pytest.raises(PermissionDenied):
        user_delete(caller=cloud.admin, user=cloud.admin)


def test_last_enabled_root_admin_user_stays(cloud):
    second = user_create(caller=cloud.admin, account=cloud.admin.account, username="admin2",
                         password=TEST_PASSWORD)
    user_disable(caller=second, user=cloud.admin)  # admin2 remains
    with pytest.raises(InvalidParameter):
        user_delete(caller=factories.UserFactory(username="super", account=None, is_superuser=True), user=second)
    with pytest.raises(InvalidParameter):
        user_disable(caller=factories.UserFactory(username="super2", account=None, is_superuser=True),
                     user=second)
    assert User.objects.get(pk=second.pk).is_active
    # A disabled root admin is no admin: deleting it is fine.
    user_delete(caller=second, user=cloud.admin)


def test_domain_admin_manages_users_in_its_subtree_only(cloud):
    sales = domain_create(caller=cloud.admin, name="Sales", parent=_root())
    admin_account = account_create(caller=cloud.admin, domain=sales, name="salesadmin",
                                   account_type=Account.Type.DOMAIN_ADMIN, username="sa", password=TEST_PASSWORD)
    admin = admin_account.users.get()
    shop = account_create(caller=admin, domain=sales, name="shop", account_type=Account.Type.USER,
                          username="shopper", password=TEST_PASSWORD)
    extra = user_create(caller=admin, account=shop, username="shopper2", password=TEST_PASSWORD)
    user_disable(caller=admin, user=extra)
    with pytest.raises(PermissionDenied):
        user_disable(caller=admin, user=cloud.alice)
    with pytest.raises(PermissionDenied):
        user_create(caller=admin, account=cloud.alice.account, username="intruder", password=TEST_PASSWORD)
    root_there = account_create(caller=cloud.admin, domain=sales, name="rootish",
                                account_type=Account.Type.ROOT_ADMIN, username="rootish", password=TEST_PASSWORD)
    with pytest.raises(PermissionDenied):
        user_create(caller=admin, account=root_there, username="escalate", password=TEST_PASSWORD)
    assert not User.objects.filter(username__in=["intruder", "escalate"]).exists()
