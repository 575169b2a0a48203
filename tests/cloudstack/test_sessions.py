"""Session login/logout: POST-only login, JSESSIONID + sessionkey cookies, the sessionkey parameter."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, User
from tests import factories
from tests.cloudstack.conftest import ENDPOINT

pytestmark = pytest.mark.django_db

FAILED_LOGIN = re.compile(r"^Failed to authenticate user \S+ in domain \S+; please provide valid credentials\.$")


def session_call(client, command: str, sessionkey: str | None, **params):
    """A call authenticated by the client's cookies and (when given) the sessionkey parameter."""
    if sessionkey is not None:
        params["sessionkey"] = sessionkey
    return client.get(ENDPOINT, {"command": command, "response": "json", **params})


def test_login_answers_like_cloudstack_and_sets_httponly_cookies(client, cloud, login):
    response = login("alice")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = response.json()["loginresponse"]
    account = cloud.alice.account
    assert body == {
        "username": "alice", "userid": str(cloud.alice.uuid), "domainid": str(account.domain.uuid),
        "timeout": 1800, "account": "alice", "firstname": "", "lastname": "", "type": "0",
        "registered": "false", "sessionkey": body["sessionkey"],
    }
    assert len(body["sessionkey"]) >= 20

    jsession, sessionkey = response.cookies["JSESSIONID"], response.cookies["sessionkey"]
    assert sessionkey.value == body["sessionkey"]
    for cookie in (jsession, sessionkey):
        assert cookie["httponly"] is True
        assert cookie["path"] == "/client"
        assert cookie["max-age"] == ""  # a browser-session cookie
    # The JSESSIONID names a Django session, which expires after the timeout.
    stored = Session.objects.get(session_key=jsession.value)
    remaining = (stored.expire_date - timezone.now()).total_seconds()
    assert 1790 < remaining <= 1800
    cloud.alice.refresh_from_db()
    assert cloud.alice.last_login is not None


def test_the_session_authenticates_later_calls_with_the_sessionkey_parameter(client, cloud, login):
    sessionkey = login("alice").json()["loginresponse"]["sessionkey"]

    response = session_call(client, "listZones", sessionkey)
    assert response.status_code == 200
    assert response.json()["listzonesresponse"]["zone"][0]["id"] == str(cloud.zone.uuid)
    # Who the caller is comes from the session: alice sees her own user only.
    users = session_call(client, "listUsers", sessionkey).json()["listusersresponse"]
    assert [u["username"] for u in users["user"]] == ["alice"]


def test_an_api_session_is_not_a_web_ui_login(client, cloud, login):
    login("alice")
    response = client.get(reverse("ui:dashboard"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_session_call_without_the_sessionkey_parameter_is_refused(client, cloud, login):
    login("alice")
    response = session_call(client, "listZones", None)
    assert response.status_code == 401
    assert response.json()["listzonesresponse"]["errorcode"] == 401


def test_a_wrong_sessionkey_is_refused_and_ends_the_session(client, cloud, login):
    response = login("alice")
    sessionkey, session_id = response.json()["loginresponse"]["sessionkey"], response.cookies["JSESSIONID"].value

    refused = session_call(client, "listZones", sessionkey + "x")
    assert refused.status_code == 401
    assert refused.json()["listzonesresponse"]["errortext"] == (
        "unable to verify user credentials and/or request signature")
    # As CloudStack does: a forged key ends the session, so even the right key no longer works.
    assert not Session.objects.filter(session_key=session_id).exists()
    assert session_call(client, "listZones", sessionkey).status_code == 401


def test_the_sessionkey_cookie_must_match_too(client, cloud, login):
    sessionkey = login("alice").json()["loginresponse"]["sessionkey"]
    del client.cookies["sessionkey"]
    assert session_call(client, "listZones", sessionkey).status_code == 401

    sessionkey = login("alice").json()["loginresponse"]["sessionkey"]
    client.cookies["sessionkey"] = "not-the-key"
    assert session_call(client, "listZones", sessionkey).status_code == 401


def test_a_sessionkey_without_a_session_cookie_is_refused(client, cloud, login):
    sessionkey = login("alice").json()["loginresponse"]["sessionkey"]
    del client.cookies["JSESSIONID"]
    assert session_call(client, "listZones", sessionkey).status_code == 401


@pytest.mark.parametrize("as_json", [True, False])
def test_login_by_get_is_405(client, cloud, as_json):
    params = {"command": "login", "username": "alice", "password": factories.TEST_PASSWORD}
    if as_json:
        params["response"] = "json"
    response = client.get(ENDPOINT, params)

    assert response.status_code == 405
    assert "JSESSIONID" not in response.cookies
    if as_json:
        body = response.json()["loginresponse"]
        assert (body["errorcode"], body["cserrorcode"]) == (405, 9999)
    else:
        root = ET.fromstring(response.content)  # noqa: S314 (our own server's answer)
        assert root.tag == "loginresponse" and root.findtext("errorcode") == "405"


@pytest.mark.parametrize("username,password,params", [
    ("alice", "wrong password", {}),
    ("nobody", factories.TEST_PASSWORD, {}),
    ("alice", factories.TEST_PASSWORD, {"domain": "/Nowhere"}),
    ("alice", factories.TEST_PASSWORD, {"domain": "/Sales"}),  # exists, but alice is not in it
    ("alice", factories.TEST_PASSWORD, {"domainid": "00000000-0000-0000-0000-000000000000"}),
])
def test_bad_credentials_are_531_and_open_no_session(client, cloud, login, username, password, params):
    factories.DomainFactory(name="Sales", parent=cloud.alice.account.domain)

    response = login(username, password, **params)

    assert response.status_code == 531
    body = response.json()["loginresponse"]
    assert (body["errorcode"], body["cserrorcode"]) == (531, 4365)
    assert FAILED_LOGIN.match(body["errortext"]), body["errortext"]
    assert "JSESSIONID" not in response.cookies
    assert not Session.objects.exists()


def test_disabled_users_and_accounts_cannot_log_in(client, cloud, login):
    User.objects.filter(pk=cloud.alice.pk).update(is_active=False)
    assert login("alice").status_code == 531
    Account.objects.filter(pk=cloud.bob.account_id).update(state=Account.State.DISABLED)
    assert login("bob").status_code == 531
    assert not Session.objects.exists()


@pytest.mark.parametrize("domain", ["/Sales", "/Sales/", "Sales", "/ROOT/Sales", "ROOT/Sales/"])
def test_login_into_a_subdomain_by_path(client, cloud, login, domain):
    sales = factories.DomainFactory(name="Sales", parent=cloud.alice.account.domain)
    factories.UserFactory(username="carol", account__name="carol", account__domain=sales)

    response = login("carol", domain=domain)

    assert response.status_code == 200, response.content
    assert response.json()["loginresponse"]["domainid"] == str(sales.uuid)
    assert login("carol", domain="/").status_code == 531
    assert login("carol").status_code == 531  # no domain means ROOT


def test_login_by_domainid_takes_precedence_over_the_path(client, cloud, login):
    sales = factories.DomainFactory(name="Sales", parent=cloud.alice.account.domain)
    factories.UserFactory(username="carol", account__name="carol", account__domain=sales)
    assert login("carol", domainid=str(sales.uuid), domain="/").status_code == 200
    assert login("alice", domainid=str(sales.uuid), domain="/").status_code == 531


def test_login_answers_xml_by_default(client, cloud):
    response = client.post(ENDPOINT, {"command": "login", "username": "alice", "password": factories.TEST_PASSWORD})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    root = ET.fromstring(response.content)  # noqa: S314 (our own server's answer)
    assert root.tag == "loginresponse"
    assert root.findtext("sessionkey") == response.cookies["sessionkey"].value
    assert root.findtext("timeout") == "1800"


def test_logout_ends_the_session_and_expires_the_cookies(client, cloud, login):
    response = login("alice")
    sessionkey, session_id = response.json()["loginresponse"]["sessionkey"], response.cookies["JSESSIONID"].value
    assert session_call(client, "listZones", sessionkey).status_code == 200

    old_cookies = {name: morsel.value for name, morsel in client.cookies.items()}
    response = session_call(client, "logout", sessionkey)

    assert response.status_code == 200
    assert response.json() == {"logoutresponse": {"description": "success"}}
    for name in ("JSESSIONID", "sessionkey"):
        assert response.cookies[name].value == ""
        assert response.cookies[name]["max-age"] == 0
    assert not Session.objects.filter(session_key=session_id).exists()
    # A client that kept the old cookies cannot use them any more.
    for name, value in old_cookies.items():
        client.cookies[name] = value
    assert session_call(client, "listZones", sessionkey).status_code == 401
    # Logging out again (or without a session) still answers success, as CloudStack does.
    assert session_call(client, "logout", None).json() == {"logoutresponse": {"description": "success"}}


def test_a_new_login_ends_the_previous_session(client, cloud, login):
    first = login("alice").cookies["JSESSIONID"].value
    second = login("alice").cookies["JSESSIONID"].value
    assert first != second
    assert not Session.objects.filter(session_key=first).exists()
    assert Session.objects.filter(session_key=second).exists()


def test_a_failed_login_ends_the_previous_session(client, cloud, login):
    first = login("alice").cookies["JSESSIONID"].value
    assert login("alice", "wrong password").status_code == 531
    assert not Session.objects.filter(session_key=first).exists()


def test_the_timeout_is_sliding_and_an_expired_session_is_refused(client, cloud, login, settings):
    settings.CIRROSTACK_API_SESSION_TIMEOUT = 600
    response = login("alice")
    sessionkey, session_id = response.json()["loginresponse"]["sessionkey"], response.cookies["JSESSIONID"].value
    assert response.json()["loginresponse"]["timeout"] == 600

    # Nearly timed out: a call renews the full timeout.
    Session.objects.filter(session_key=session_id).update(expire_date=timezone.now() + timedelta(seconds=5))
    assert session_call(client, "listZones", sessionkey).status_code == 200
    remaining = (Session.objects.get(session_key=session_id).expire_date - timezone.now()).total_seconds()
    assert 590 < remaining <= 600

    Session.objects.filter(session_key=session_id).update(expire_date=timezone.now() - timedelta(seconds=1))
    assert session_call(client, "listZones", sessionkey).status_code == 401


def test_a_password_change_ends_the_session(client, cloud, login):
    sessionkey = login("alice").json()["loginresponse"]["sessionkey"]
    cloud.alice.set_password("a new password entirely")
    cloud.alice.save()
    assert session_call(client, "listZones", sessionkey).status_code == 401


def test_a_disabled_users_session_gets_531(client, cloud, login):
    sessionkey = login("alice").json()["loginresponse"]["sessionkey"]
    User.objects.filter(pk=cloud.alice.pk).update(is_active=False)
    response = session_call(client, "listZones", sessionkey)
    assert response.status_code == 531
    assert response.json()["listzonesresponse"]["errortext"] == "User alice is disabled."


def test_signed_requests_work_beside_a_session(client, cloud, login, api_json):
    login("alice")  # the client now carries alice's session cookies
    status, body = api_json("bob", "listUsers")  # signed as bob, no sessionkey
    assert status == 200 and [u["username"] for u in body["user"]] == ["bob"]


@pytest.mark.parametrize("params", [{"username": "alice"}, {"password": factories.TEST_PASSWORD},
                                    {"username": "alice", "password": factories.TEST_PASSWORD, "domainid": "x"}])
def test_login_with_missing_or_malformed_parameters_is_431(client, cloud, params):
    response = client.post(ENDPOINT, {"command": "login", "response": "json", **params})
    assert response.status_code == 431
    assert response.json()["loginresponse"]["errorcode"] == 431
    assert "JSESSIONID" not in response.cookies and not Session.objects.exists()
