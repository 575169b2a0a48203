"""/api/v1/ldap-configurations/ and /api/v1/ldap-links/ (root admins only), with a real slapd: a server
added over REST serves LDAP logins at once."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import Account, LdapConfiguration, LdapLink, User
from portal.models import Event
from tests import factories
from tests.accounts import test_ldap as directory_fixtures
from tests.rest.helpers import assert_error
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db

slapd = directory_fixtures.slapd  # the module-scoped real directory server
SUFFIX, ROOT_PW = directory_fixtures.SUFFIX, directory_fixtures.ROOT_PW
CONFIGURATIONS = "/api/v1/ldap-configurations/"
LINKS = "/api/v1/ldap-links/"


def test_configure_over_rest_and_an_ldap_user_logs_in(cloud, client_for, client, slapd):
    api = client_for(cloud.admin)
    engineering = factories.DomainFactory(name="Engineering", parent=cloud.admin.account.domain)

    response = api.post(CONFIGURATIONS, {"hostname": slapd.hostname, "port": slapd.port, "base_dn": SUFFIX,
                                         "bind_dn": slapd.root_dn, "bind_password": ROOT_PW}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert "bind_password" not in body and ROOT_PW not in response.content.decode()
    assert (body["hostname"], body["port"], body["domain"], body["base_dn"]) == (
        slapd.hostname, slapd.port, None, SUFFIX)
    assert LdapConfiguration.objects.get().bind_password == ROOT_PW

    response = api.post(LINKS, {"domain": str(engineering.uuid), "type": "GROUP",
                                "dn": directory_fixtures.ENGINEERS, "account_name": "engineers",
                                "account_type": Account.Type.DOMAIN_ADMIN}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["domain"]["path"] == "ROOT/Engineering"

    # The configuration is live: erin logs in through the web UI into the linked account.
    login = client.post(reverse("ui:login"), {"username": "erin",
                                              "password": directory_fixtures.PASSWORDS["erin"]})
    assert login.status_code == 302
    erin = User.objects.get(username="erin")
    assert (erin.account.name, erin.account.domain) == ("engineers", engineering)

    listed = api.get(CONFIGURATIONS).json()
    assert listed["count"] == 1 and ROOT_PW not in str(listed)
    assert api.get(LINKS).json()["results"][0]["dn"] == directory_fixtures.ENGINEERS


def test_delete_configuration(cloud, client_for):
    configuration = services.ldap_configuration_add(caller=cloud.admin, hostname="ldap.example", port=389)
    api = client_for(cloud.admin)

    assert api.get(f"{CONFIGURATIONS}{configuration.uuid}/").json()["hostname"] == "ldap.example"
    assert api.delete(f"{CONFIGURATIONS}{configuration.uuid}/").status_code == 204
    assert not LdapConfiguration.objects.exists()
    assert Event.objects.get(type="LDAP.CONFIGURATION.DELETE").user == cloud.admin
    assert_error(api.delete(f"{CONFIGURATIONS}{configuration.uuid}/"), 404, 431)


def test_invalid_requests_change_nothing(cloud, client_for):
    api = client_for(cloud.admin)
    services.ldap_configuration_add(caller=cloud.admin, hostname="ldap.example", port=389)

    error = assert_error(api.post(CONFIGURATIONS, {"hostname": "ldap.example", "port": 70000}, format="json"),
                         400, 431)
    assert "port" in error["fields"]
    assert_error(api.post(CONFIGURATIONS, {"hostname": "ldap.example", "port": 389}, format="json"), 400, 431)
    error = assert_error(api.post(CONFIGURATIONS, {"hostname": "h", "domain": "00000000-0000-0000-0000-000000000000"},
                                  format="json"), 400, 431)
    assert "domain" in error["fields"]
    error = assert_error(api.post(LINKS, {"domain": str(cloud.admin.account.domain.uuid), "type": "GROUP",
                                          "dn": "cn=x", "account_name": "x", "account_type": 1}, format="json"),
                         400, 431)
    assert LdapConfiguration.objects.count() == 1 and not LdapLink.objects.exists()


@pytest.mark.parametrize("path", [CONFIGURATIONS, LINKS])
def test_only_root_admins(cloud, tenants_rest, client_for, path):
    for user in (cloud.alice, tenants_rest):
        api = client_for(user)
        assert_error(api.get(path), 403, 531)
        assert_error(api.post(path, {"hostname": "h", "port": 389}, format="json"), 403, 531)
    assert not LdapConfiguration.objects.exists()


@pytest.fixture
def tenants_rest(cloud) -> User:
    """A domain admin of ROOT/Sales."""
    sales = factories.DomainFactory(name="Sales", parent=cloud.admin.account.domain)
    return factories.UserFactory(account__domain=sales, account__account_type=Account.Type.DOMAIN_ADMIN)


@pytest.mark.parametrize("path", [CONFIGURATIONS, LINKS])
def test_list_query_count_does_not_grow(cloud, client_for, path):
    api = client_for(cloud.admin)
    root = cloud.admin.account.domain

    def add(n: int) -> None:
        for _ in range(n):
            domain = factories.DomainFactory(name=f"d{LdapConfiguration.objects.count()}{LdapLink.objects.count()}",
                                             parent=root)
            if path == CONFIGURATIONS:
                services.ldap_configuration_add(caller=cloud.admin, hostname="ldap.example", port=389,
                                                domain=domain)
            else:
                services.ldap_domain_link(caller=cloud.admin, domain=domain, type="OU", name=f"ou=x,{SUFFIX}",
                                          account_type=0, account_name="people")

    add(2)
    with_two, with_ten = assert_queries_constant(lambda: ok(api.get(path)), lambda: add(8))
    assert (with_two.json()["count"], with_ten.json()["count"]) == (2, 10)


def test_directory_users_of_a_live_server_and_a_clear_error_when_it_is_down(cloud, client_for, slapd):
    from tests.ui.test_ldap_pages import free_port

    api = client_for(cloud.admin)
    live = services.ldap_configuration_add(caller=cloud.admin, hostname=slapd.hostname, port=slapd.port,
                                           bind_dn=slapd.root_dn, bind_password=ROOT_PW, base_dn=SUFFIX)

    response = api.get(f"{CONFIGURATIONS}{live.uuid}/users/")
    assert response.status_code == 200, response.content
    people = {person["username"]: person for person in response.json()}
    assert set(people) == {"erin", "frank", "sam", "olga"}
    assert people["erin"]["dn"] == f"uid=erin,{directory_fixtures.ENG_PEOPLE}"
    assert people["erin"]["email"] == "erin@example.org"

    sales = factories.DomainFactory(name="Sales", parent=cloud.admin.account.domain)
    down = services.ldap_configuration_add(caller=cloud.admin, hostname="127.0.0.1", port=free_port(),
                                           domain=sales, base_dn=SUFFIX)
    error = assert_error(api.get(f"{CONFIGURATIONS}{down.uuid}/users/"), 503, 534)
    assert down.uri in error["message"] and "could not be searched" in error["message"]
