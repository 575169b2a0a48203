"""listUsers, registerUserKeys, getUserKeys: fields, who sees and may touch whose keys, and bad input."""

from __future__ import annotations

import re

import pytest

from accounts.models import Account, User
from accounts.services import user_keys_register
from portal.models import Event
from tests import factories

pytestmark = pytest.mark.django_db

DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$")


def usernames(body: dict) -> list[str]:
    return [user["username"] for user in body.get("user", [])]


@pytest.fixture
def alice2(cloud, keys):
    """A second user in alice's account."""
    user = factories.UserFactory(username="alice2", account=cloud.alice.account, first_name="Al", last_name="Two")
    keys["alice2"] = user_keys_register(user=user)
    return user


@pytest.fixture
def sales(cloud, keys):
    """A subdomain with a domain admin `boss` and an end user `carol`."""
    domain = factories.DomainFactory(name="Sales", parent=cloud.admin.account.domain)
    boss = factories.UserFactory(username="boss", account__name="boss", account__domain=domain,
                                 account__account_type=Account.Type.DOMAIN_ADMIN)
    factories.UserFactory(username="carol", account__name="carol", account__domain=domain)
    keys["boss"] = user_keys_register(user=boss)
    return domain


def test_a_user_response_has_cloudstacks_fields_and_types(api_json, cloud, keys):
    status, body = api_json("alice", "listUsers")

    assert status == 200 and body["count"] == 1
    user = body["user"][0]
    account = cloud.alice.account
    assert user == {
        "id": str(cloud.alice.uuid), "username": "alice", "firstname": "", "lastname": "",
        "email": "alice@example.test", "created": user["created"], "state": "enabled", "account": "alice",
        "accounttype": 0, "accountid": str(account.uuid), "roleid": str(account.role.uuid), "rolename": "User",
        "roletype": "User",
        "domainid": str(account.domain.uuid), "domain": "ROOT", "apikey": keys["alice"][0],
        "usersource": "native", "iscallerchilddomain": True, "isdefault": False, "is2faenabled": False,
    }
    assert DATE_RE.match(user["created"])
    assert "secretkey" not in user


def test_end_users_list_their_own_account_and_see_only_their_own_api_key(api_json, cloud, keys, alice2):
    _, body = api_json("alice", "listUsers")
    assert usernames(body) == ["alice", "alice2"]
    by_name = {user["username"]: user for user in body["user"]}
    assert by_name["alice"]["apikey"] == keys["alice"][0]
    assert "apikey" not in by_name["alice2"]
    # listall does not widen an end user's view.
    assert usernames(api_json("alice", "listUsers", listall="true")[1]) == ["alice", "alice2"]
    # Another account's user, even by id: nothing.
    assert api_json("alice", "listUsers", id=cloud.bob.uuid)[1] == {}


def test_admins_list_their_account_unless_listall_and_see_api_keys(api_json, cloud, keys):
    assert usernames(api_json("admin", "listUsers")[1]) == ["admin"]
    _, body = api_json("admin", "listUsers", listall="true")
    assert usernames(body) == ["admin", "alice", "bob"]
    assert {user["username"]: user["apikey"] for user in body["user"]} == {
        name: pair[0] for name, pair in keys.items()}
    assert {user["username"]: user["roletype"] for user in body["user"]} == {
        "admin": "Admin", "alice": "User", "bob": "User"}


def test_list_users_filters(api_json, cloud, keys, sales):
    User.objects.filter(pk=cloud.bob.pk).update(is_active=False)
    root = cloud.admin.account.domain

    def listed(**params):
        status, body = api_json("admin", "listUsers", listall="true", **params)
        assert status == 200, body
        return usernames(body)

    assert listed(username="bob") == ["bob"]
    assert listed(state="disabled") == ["bob"]
    assert listed(state="ENABLED") == ["admin", "alice", "boss", "carol"]
    assert listed(state="locked") == []
    assert listed(accounttype=2) == ["boss"]
    assert listed(accounttype=1) == ["admin"]
    assert listed(keyword="CAR") == ["carol"]
    assert listed(id=cloud.alice.uuid) == ["alice"]
    assert listed(domainid=sales.uuid) == ["boss", "carol"]
    assert listed(domainid=root.uuid) == ["admin", "alice", "bob"]
    assert listed(domainid=root.uuid, isrecursive="true") == ["admin", "alice", "bob", "boss", "carol"]
    assert listed(account="carol", domainid=sales.uuid) == ["carol"]
    _, page = api_json("admin", "listUsers", listall="true", page=2, pagesize=2)
    assert page["count"] == 5 and usernames(page) == ["bob", "boss"]


@pytest.mark.parametrize("params,mentions", [
    ({"state": "asleep"}, "state"),
    ({"accounttype": "9"}, "9"),
    ({"accounttype": "admin"}, "accounttype"),
    ({"id": "not-a-uuid"}, "id"),
])
def test_list_users_refuses_bad_filters_with_431(api_json, cloud, params, mentions):
    status, body = api_json("admin", "listUsers", **params)
    assert status == 431 and body["errorcode"] == 431 and mentions in body["errortext"]


def test_a_domain_admin_reaches_the_users_of_its_subtree(api_json, cloud, keys, sales):
    _, body = api_json("boss", "listUsers", listall="true")
    assert usernames(body) == ["boss", "carol"]
    assert [user["iscallerchilddomain"] for user in body["user"]] == [True, True]
    carol = User.objects.get(username="carol")

    status, registered = api_json("boss", "registerUserKeys", id=carol.uuid)
    assert status == 200
    assert api_json("boss", "getUserKeys", id=carol.uuid)[1] == registered
    # Out of its subtree: as if the user did not exist.
    status, body = api_json("boss", "registerUserKeys", id=cloud.alice.uuid)
    assert status == 431 and str(cloud.alice.uuid) in body["errortext"]
    _, admin_view = api_json("admin", "listUsers", id=carol.uuid)
    assert admin_view["user"][0]["iscallerchilddomain"] is True
    _, carol_seen_by_boss = api_json("boss", "listUsers", id=carol.uuid)
    assert carol_seen_by_boss["user"][0]["apikey"] == registered["userkeys"]["apikey"]


def test_register_user_keys_issues_a_working_pair_and_retires_the_old_one(api_json, cloud, keys):
    old_key, old_secret = keys["alice"]

    status, body = api_json("alice", "registerUserKeys", id=cloud.alice.uuid)

    assert status == 200
    assert list(body) == ["userkeys"] and set(body["userkeys"]) == {"apikey", "secretkey"}
    new_pair = (body["userkeys"]["apikey"], body["userkeys"]["secretkey"])
    assert new_pair != (old_key, old_secret)
    cloud.alice.refresh_from_db()
    assert (cloud.alice.api_key, cloud.alice.secret_key) == new_pair
    event = Event.objects.get(type="REGISTER.USER.KEY")
    assert (event.account_id, event.user_id, event.resource_id) == (
        cloud.alice.account_id, cloud.alice.pk, str(cloud.alice.uuid))

    # The old pair stops working at once (the api fixture still signs with it); the new one works.
    assert api_json("alice", "listZones")[0] == 401
    keys["alice"] = new_pair
    assert api_json("alice", "listZones")[0] == 200


def test_get_user_keys(api_json, cloud, keys):
    status, body = api_json("alice", "getUserKeys", id=cloud.alice.uuid)
    assert status == 200
    assert body == {"userkeys": {"apikey": keys["alice"][0], "secretkey": keys["alice"][1]}}
    # Root admins read anyone's keys; a user without keys has an empty userkeys object.
    nokeys = factories.UserFactory(username="nokeys", account=cloud.bob.account)
    assert api_json("admin", "getUserKeys", id=nokeys.uuid)[1] == {"userkeys": {}}
    assert api_json("admin", "getUserKeys", id=cloud.bob.uuid)[1]["userkeys"]["secretkey"] == keys["bob"][1]


def test_users_may_not_touch_the_keys_of_other_users_in_their_account(api_json, cloud, keys, alice2):
    status, body = api_json("alice", "registerUserKeys", id=alice2.uuid)
    assert status == 531 and (body["errorcode"], body["cserrorcode"]) == (531, 4365)
    alice2.refresh_from_db()
    assert (alice2.api_key, alice2.secret_key) == keys["alice2"]
    assert not Event.objects.filter(type="REGISTER.USER.KEY").exists()

    status, body = api_json("alice", "getUserKeys", id=alice2.uuid)
    assert status == 531 and keys["alice2"][1] not in str(body)


def test_other_accounts_users_are_not_found(api_json, cloud, keys):
    for command in ("registerUserKeys", "getUserKeys"):
        status, body = api_json("alice", command, id=cloud.bob.uuid)
        assert status == 431 and body["cserrorcode"] == 4350
    cloud.bob.refresh_from_db()
    assert (cloud.bob.api_key, cloud.bob.secret_key) == keys["bob"]


@pytest.mark.parametrize("params", [{}, {"id": "not-a-uuid"}, {"id": "00000000-0000-0000-0000-000000000000"}])
def test_register_user_keys_bad_input_is_431_and_changes_nothing(api_json, cloud, keys, params):
    status, body = api_json("admin", "registerUserKeys", **params)
    assert status == 431 and body["errorcode"] == 431
    assert {u.username: (u.api_key, u.secret_key) for u in User.objects.all()} == keys
    assert not Event.objects.exists()


def test_bootstrap_keys_from_a_password(client, cloud, login, api_json, keys):
    """A user with only a password: login, registerUserKeys for itself, then signed calls."""
    User.objects.filter(pk=cloud.alice.pk).update(api_key=None, secret_key_encrypted="")
    body = login("alice").json()["loginresponse"]
    session = {"response": "json", "sessionkey": body["sessionkey"]}

    me = client.get("/client/api", {"command": "listUsers", **session}).json()["listusersresponse"]["user"][0]
    assert me["id"] == body["userid"] and "apikey" not in me
    registered = client.post("/client/api", {"command": "registerUserKeys", "id": body["userid"], **session})
    pair = registered.json()["registeruserkeysresponse"]["userkeys"]

    keys["alice"] = (pair["apikey"], pair["secretkey"])
    client.cookies.clear()
    status, zones = api_json("alice", "listZones")
    assert status == 200 and zones["count"] == 1
