"""The LDAP settings pages (root admins only), against a real slapd (python-ldap's slapdtest, the directory
of tests/accounts/test_ldap.py), and with a server that is down."""

from __future__ import annotations

import socket

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import Account, LdapConfiguration, LdapLink
from portal.models import Event
from tests import factories
from tests.accounts import test_ldap as directory_fixtures

pytestmark = pytest.mark.django_db

slapd = directory_fixtures.slapd  # the module-scoped real directory server
SUFFIX, ROOT_PW = directory_fixtures.SUFFIX, directory_fixtures.ROOT_PW


def free_port() -> int:
    """A port nothing listens on: an LDAP server that is down."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def add_form(slapd_server, **overrides) -> dict[str, str]:
    return {"hostname": slapd_server.hostname, "port": str(slapd_server.port), "domain": "",
            "base_dn": SUFFIX, "bind_dn": slapd_server.root_dn, "bind_password": ROOT_PW,
            "username_attribute": "uid", **overrides}


def test_root_admin_adds_lists_tests_and_deletes_a_server(cloud, login, slapd):
    client = login(cloud.admin)

    response = client.post(reverse("accounts:ldap_add"), add_form(slapd))
    assert response.status_code == 302 and response.url == reverse("accounts:ldap_list")
    configuration = LdapConfiguration.objects.get()
    assert configuration.domain is None and configuration.bind_password == ROOT_PW
    assert ROOT_PW not in configuration.bind_password_encrypted
    assert Event.objects.get(type="LDAP.CONFIGURATION.ADD").user == cloud.admin

    listing = client.get(reverse("accounts:ldap_list")).content.decode()
    assert f"{slapd.hostname}:{slapd.port}" in listing and "All domains" in listing
    assert SUFFIX in listing and slapd.root_dn in listing
    assert ROOT_PW not in listing and configuration.bind_password_encrypted not in listing

    users = client.get(reverse("accounts:ldap_users", args=[configuration.uuid]))
    html = users.content.decode()
    assert users.status_code == 200 and 'id="ldap-ok"' in html
    for uid in ("erin", "frank", "sam", "olga"):
        assert f"uid={uid}," in html

    confirm = client.get(reverse("accounts:ldap_delete", args=[configuration.uuid]))
    assert confirm.status_code == 200 and LdapConfiguration.objects.exists()
    response = client.post(reverse("accounts:ldap_delete", args=[configuration.uuid]))
    assert response.status_code == 302 and not LdapConfiguration.objects.exists()


def test_the_add_form_never_echoes_the_password(cloud, login, slapd):
    services.ldap_configuration_add(caller=cloud.admin, hostname=slapd.hostname, port=slapd.port)
    client = login(cloud.admin)

    response = client.post(reverse("accounts:ldap_add"), add_form(slapd, bind_password="s3cret-echo"))

    html = response.content.decode()
    assert response.status_code == 400 and "already configured" in html
    assert "s3cret-echo" not in html
    assert LdapConfiguration.objects.count() == 1


def test_a_server_for_one_domain(cloud, login, slapd):
    sales = factories.DomainFactory(name="Sales", parent=cloud.admin.account.domain)
    client = login(cloud.admin)

    client.post(reverse("accounts:ldap_add"), add_form(slapd, domain=str(sales.pk)))

    assert LdapConfiguration.objects.get().domain == sales
    assert "ROOT/Sales" in client.get(reverse("accounts:ldap_list")).content.decode()


def test_a_server_that_is_down_is_a_clear_message(cloud, login):
    configuration = services.ldap_configuration_add(caller=cloud.admin, hostname="127.0.0.1", port=free_port(),
                                                    base_dn=SUFFIX)

    response = login(cloud.admin).get(reverse("accounts:ldap_users", args=[configuration.uuid]))

    html = response.content.decode()
    assert response.status_code == 200 and 'id="ldap-error"' in html
    assert "could not be searched" in html and configuration.uri in html


def test_domain_links_list_and_add(cloud, login, slapd):
    engineering = factories.DomainFactory(name="Engineering", parent=cloud.admin.account.domain)
    client = login(cloud.admin)
    dn = f"cn=engineers,ou=groups,{SUFFIX}"

    response = client.post(reverse("accounts:ldap_link_add"), {
        "domain": str(engineering.pk), "type": "GROUP", "name": dn, "account_name": "engineers",
        "account_type": str(Account.Type.DOMAIN_ADMIN)})

    assert response.status_code == 302
    link = LdapLink.objects.get()
    assert (link.domain, link.type, link.name, link.account_name, link.account_type) == (
        engineering, "GROUP", dn, "engineers", Account.Type.DOMAIN_ADMIN)
    listing = client.get(reverse("accounts:ldap_link_list")).content.decode()
    assert dn in listing and "ROOT/Engineering" in listing and "engineers" in listing

    bad = client.post(reverse("accounts:ldap_link_add"), {
        "domain": str(engineering.pk), "type": "GROUP", "name": "", "account_name": "x", "account_type": "0"})
    assert bad.status_code == 400 and LdapLink.objects.count() == 1


@pytest.mark.parametrize("who", ["alice", "domain_admin"])
def test_ldap_pages_are_for_root_admins_only(cloud, tenants, login, who):
    user = tenants.domain_admin if who == "domain_admin" else cloud.alice
    configuration = services.ldap_configuration_add(caller=cloud.admin, hostname="ldap.example", port=389)
    client = login(user)

    for url in (reverse("accounts:ldap_list"), reverse("accounts:ldap_add"), reverse("accounts:ldap_link_list"),
                reverse("accounts:ldap_users", args=[configuration.uuid]),
                reverse("accounts:ldap_delete", args=[configuration.uuid])):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("accounts:ldap_delete", args=[configuration.uuid])).status_code == 403
    assert LdapConfiguration.objects.exists()
    assert reverse("accounts:ldap_list") not in client.get(reverse("ui:dashboard")).content.decode()


def test_ldap_is_in_the_administration_menu_of_root_admins(cloud, login):
    html = login(cloud.admin).get(reverse("ui:dashboard")).content.decode()
    assert reverse("accounts:ldap_list") in html
