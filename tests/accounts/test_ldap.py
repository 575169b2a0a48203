"""LDAP logins per domain (CloudStack's LDAP integration) against a real slapd (python-ldap's slapdtest).

The directory has nested OUs, two groups linked to two domains and an OU linked to a third; users log in
through both doors: the web UI's login form and the CloudStack API's `login` command."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from accounts import services
from accounts.models import Account, LdapConfiguration, User
from accounts.services import user_keys_register
from tests.cloudstack.conftest import ENDPOINT, cs_sign
from tests.factories import TEST_PASSWORD, DomainFactory
from tests.support.requirements import require

SUFFIX = "dc=example,dc=org"
ROOT_PW = "directory manager secret"
PASSWORDS = {"erin": "erin's ldap password", "sam": "sam's ldap password", "frank": "frank's ldap password",
             "olga": "olga's ldap password"}
ENGINEERS = f"cn=engineers,ou=groups,{SUFFIX}"
SELLERS = f"cn=sellers,ou=groups,{SUFFIX}"
CONTRACTORS_OU = f"ou=contractors,ou=eng,{SUFFIX}"


def _person(uid: str, ou: str, given: str, sn: str) -> str:
    return (f"dn: uid={uid},{ou}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {given} {sn}\ngivenName: {given}\n"
            f"sn: {sn}\nmail: {uid}@example.org\nuserPassword: {PASSWORDS[uid]}\n\n")


def _ou(dn: str) -> str:
    name = dn.split(",", 1)[0].split("=", 1)[1]
    return f"dn: {dn}\nobjectClass: organizationalUnit\nou: {name}\n\n"


ENG_PEOPLE = f"ou=people,ou=eng,{SUFFIX}"
SALES_PEOPLE = f"ou=people,ou=sales,{SUFFIX}"
CONTRACTOR_STAFF = f"ou=staff,{CONTRACTORS_OU}"
LDIF = (
    f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n"
    + "".join(_ou(dn) for dn in (f"ou=eng,{SUFFIX}", ENG_PEOPLE, f"ou=sales,{SUFFIX}", SALES_PEOPLE,
                                 f"ou=groups,{SUFFIX}", CONTRACTORS_OU, CONTRACTOR_STAFF))
    + _person("erin", ENG_PEOPLE, "Erin", "Engineer")
    + _person("frank", ENG_PEOPLE, "Frank", "Nogroup")
    + _person("sam", SALES_PEOPLE, "Sam", "Seller")
    + _person("olga", CONTRACTOR_STAFF, "Olga", "Outside")
    + f"dn: {ENGINEERS}\nobjectClass: groupOfNames\ncn: engineers\nmember: uid=erin,{ENG_PEOPLE}\n\n"
    + f"dn: {SELLERS}\nobjectClass: groupOfNames\ncn: sellers\nmember: uid=sam,{SALES_PEOPLE}\n\n"
)


@pytest.fixture(scope="module")
def slapd(tmp_path_factory):
    require(shutil.which("slapd") is not None or Path("/usr/sbin/slapd").exists(),
            "OpenLDAP's slapd is not installed (apt-get install slapd ldap-utils)")
    import slapdtest

    class Server(slapdtest.SlapdObject):
        suffix = SUFFIX
        root_cn = "Manager"
        root_pw = ROOT_PW
        openldap_schema_files = ("core.ldif", "cosine.ldif", "inetorgperson.ldif")
        TMPDIR = str(tmp_path_factory.mktemp("slapd"))

    server = Server()
    server.start()
    try:
        server.ldapadd(LDIF)
        yield server
    finally:
        server.stop()


@pytest.fixture
def directory(slapd, cloud):
    """Domains Engineering, Sales and Contractors under ROOT, the slapd as the global LDAP server, the two
    groups and the contractors' OU linked to one account each."""
    root = cloud.admin.account.domain
    domains = {name: DomainFactory(name=name, parent=root) for name in ("Engineering", "Sales", "Contractors")}
    configuration = services.ldap_configuration_add(
        caller=cloud.admin, hostname=slapd.hostname, port=slapd.port, bind_dn=slapd.root_dn,
        bind_password=ROOT_PW, base_dn=SUFFIX)
    services.ldap_domain_link(caller=cloud.admin, domain=domains["Engineering"], type="GROUP", name=ENGINEERS,
                              account_type=Account.Type.DOMAIN_ADMIN, account_name="engineers")
    services.ldap_domain_link(caller=cloud.admin, domain=domains["Sales"], type="GROUP", name=SELLERS,
                              account_type=Account.Type.USER, account_name="sellers")
    services.ldap_domain_link(caller=cloud.admin, domain=domains["Contractors"], type="OU", name=CONTRACTORS_OU,
                              account_type=Account.Type.USER, account_name="contractors")
    return {"configuration": configuration, **domains}


def ui_login(client, username: str, password: str) -> bool:
    response = client.post(reverse("ui:login"), {"username": username, "password": password})
    logged_in = response.status_code == 302 and "_auth_user_id" in client.session
    client.logout()
    return logged_in


def api_login(client, username: str, password: str, domain: str = "/") -> dict:
    response = client.post(ENDPOINT, {"command": "login", "username": username, "password": password,
                                      "domain": domain, "response": "json"})
    return response.json()["loginresponse"]


def admin_api(client, admin: User, command: str, **params) -> tuple[int, dict]:
    api_key, secret = user_keys_register(user=admin)
    signed = cs_sign({"command": command, "response": "json", **{k: str(v) for k, v in params.items()}},
                     api_key, secret)
    response = client.get(ENDPOINT, signed)
    return response.status_code, response.json()[f"{command.lower()}response"]


# --- first and later logins -------------------------------------------------------------------------------

def test_first_ui_login_creates_the_user_in_the_linked_account_and_domain(client, directory):
    assert ui_login(client, "erin", PASSWORDS["erin"])

    erin = User.objects.get(username="erin")
    assert erin.source == "ldap" and not erin.has_usable_password()
    assert (erin.first_name, erin.last_name, erin.email) == ("Erin", "Engineer", "erin@example.org")
    assert erin.account.name == "engineers" and erin.account.domain == directory["Engineering"]
    assert erin.account.account_type == Account.Type.DOMAIN_ADMIN

    assert ui_login(client, "sam", PASSWORDS["sam"])
    sam = User.objects.get(username="sam")
    assert (sam.account.name, sam.account.domain, sam.account.account_type) == (
        "sellers", directory["Sales"], Account.Type.USER)


def test_a_user_under_a_linked_ou_logs_in_through_nested_ous(client, directory):
    assert ui_login(client, "olga", PASSWORDS["olga"])

    olga = User.objects.get(username="olga")
    assert (olga.account.name, olga.account.domain) == ("contractors", directory["Contractors"])


def test_first_api_login_creates_the_user_and_the_second_reuses_it(client, directory):
    first = api_login(client, "sam", PASSWORDS["sam"], domain="/Sales")
    assert first["username"] == "sam" and first["account"] == "sellers" and first["type"] == "0"
    assert first["domainid"] == str(directory["Sales"].uuid)
    sam = User.objects.get(username="sam")

    second = api_login(client, "sam", PASSWORDS["sam"], domain="/Sales")
    assert second["userid"] == str(sam.uuid)
    assert User.objects.filter(username="sam").count() == 1
    assert Account.objects.filter(name="sellers").count() == 1
    # The UI door finds the same user too.
    assert ui_login(client, "sam", PASSWORDS["sam"])
    assert User.objects.filter(username="sam").count() == 1


def test_a_second_user_of_a_link_joins_the_existing_account(client, directory, slapd):
    slapd.ldapadd(f"dn: uid=eve,{ENG_PEOPLE}\nobjectClass: inetOrgPerson\nuid: eve\ncn: Eve E\nsn: E\n"
                  f"userPassword: eve's password\n\n")
    slapd.ldapmodify(f"dn: {ENGINEERS}\nchangetype: modify\nadd: member\nmember: uid=eve,{ENG_PEOPLE}\n\n")
    try:
        assert ui_login(client, "erin", PASSWORDS["erin"])
        assert ui_login(client, "eve", "eve's password")
        assert User.objects.get(username="eve").account == User.objects.get(username="erin").account
    finally:
        slapd.ldapmodify(f"dn: {ENGINEERS}\nchangetype: modify\ndelete: member\nmember: uid=eve,{ENG_PEOPLE}\n\n")
        slapd.ldapdelete(f"uid=eve,{ENG_PEOPLE}")


# --- refusals ---------------------------------------------------------------------------------------------

def test_a_wrong_password_is_refused_on_both_doors_and_creates_nothing(client, directory):
    assert not ui_login(client, "erin", "not erin's password")
    answer = api_login(client, "erin", "not erin's password", domain="/Engineering")
    assert answer["errorcode"] == 531
    assert not User.objects.filter(username="erin").exists()
    assert not Account.objects.filter(name="engineers").exists()


def test_a_user_in_no_linked_group_or_ou_is_refused(client, directory):
    assert not ui_login(client, "frank", PASSWORDS["frank"])
    assert api_login(client, "frank", PASSWORDS["frank"], domain="/Engineering")["errorcode"] == 531
    assert not User.objects.filter(username="frank").exists()


def test_an_api_login_into_another_domain_than_the_link_is_refused_and_creates_nothing(client, directory):
    assert api_login(client, "sam", PASSWORDS["sam"], domain="/Engineering")["errorcode"] == 531
    assert api_login(client, "sam", PASSWORDS["sam"], domain="/NoSuchDomain")["errorcode"] == 531
    assert not User.objects.filter(username="sam").exists()


def test_a_disabled_account_is_refused_although_the_directory_accepts_the_password(client, directory):
    assert ui_login(client, "sam", PASSWORDS["sam"])
    Account.objects.filter(name="sellers").update(state=Account.State.DISABLED)

    assert not ui_login(client, "sam", PASSWORDS["sam"])
    assert api_login(client, "sam", PASSWORDS["sam"], domain="/Sales")["errorcode"] == 531


def test_a_directory_user_cannot_take_over_a_local_user_of_the_same_name(client, directory, cloud):
    local = User.objects.create_user(username="erin", password=TEST_PASSWORD, account=cloud.alice.account)

    assert not ui_login(client, "erin", PASSWORDS["erin"])
    assert ui_login(client, "erin", TEST_PASSWORD)
    assert User.objects.get(username="erin").pk == local.pk and local.account.name == "alice"


def test_a_server_that_is_down_refuses_ldap_logins_with_a_clear_log_and_local_logins_still_work(
        client, directory, slapd, cloud, caplog):
    uri = directory["configuration"].uri
    slapd.terminate()
    slapd.wait()
    try:
        with caplog.at_level(logging.ERROR, logger="accounts"):
            assert not ui_login(client, "erin", PASSWORDS["erin"])
            assert api_login(client, "sam", PASSWORDS["sam"], domain="/Sales")["errorcode"] == 531
        errors = [r.getMessage() for r in caplog.records if r.name == "accounts.ldap_backend"]
        assert errors and all(f"LDAP server {uri} could not be used" in message for message in errors)
        assert "Can't contact LDAP server" in errors[0]

        assert ui_login(client, "alice", TEST_PASSWORD)
        assert api_login(client, "alice", TEST_PASSWORD)["username"] == "alice"
        status, body = admin_api(client, cloud.admin, "listLdapUsers")
        assert status == 530 and uri in body["errortext"]
    finally:
        slapd.resume()
    assert ui_login(client, "erin", PASSWORDS["erin"])


def test_local_users_log_in_unchanged_with_ldap_configured(client, directory, cloud):
    assert ui_login(client, "alice", TEST_PASSWORD)
    assert not ui_login(client, "alice", "wrong")
    assert api_login(client, "bob", TEST_PASSWORD)["username"] == "bob"
    assert User.objects.get(username="alice").source == "native"


# --- CloudStack commands ----------------------------------------------------------------------------------

def test_list_ldap_users_reads_the_directory(client, directory, cloud):
    status, body = admin_api(client, cloud.admin, "listLdapUsers")

    assert status == 200, body
    assert body["count"] == 4
    users = {user["username"]: user for user in body["LdapUser"]}
    assert set(users) == {"erin", "frank", "sam", "olga"}
    assert users["olga"]["principal"] == f"uid=olga,{CONTRACTOR_STAFF}"
    assert users["sam"]["email"] == "sam@example.org" and users["sam"]["firstname"] == "Sam"


def test_ldap_configuration_and_link_commands(client, cloud, slapd):
    root = cloud.admin.account.domain
    sales = DomainFactory(name="Sales", parent=root)
    status, body = admin_api(client, cloud.admin, "addLdapConfiguration", hostname=slapd.hostname,
                             port=slapd.port, domainid=sales.uuid, binddn=slapd.root_dn, bindpassword=ROOT_PW,
                             basedn=SUFFIX)
    assert status == 200, body
    added = body["ldapconfiguration"]
    assert added["domainid"] == str(sales.uuid) and added["port"] == slapd.port
    assert "bindpassword" not in added
    stored = LdapConfiguration.objects.get(uuid=added["id"])
    assert ROOT_PW not in stored.bind_password_encrypted and stored.bind_password == ROOT_PW

    status, body = admin_api(client, cloud.admin, "linkDomainToLdap", domainid=sales.uuid, type="GROUP",
                             name=SELLERS, accounttype=0, account="sellers")
    assert status == 200, body
    assert body["linkdomaintoldap"]["name"] == SELLERS and body["linkdomaintoldap"]["accounttype"] == 0

    # The domain's own server serves the login.
    assert api_login(client, "sam", PASSWORDS["sam"], domain="/Sales")["account"] == "sellers"

    status, body = admin_api(client, cloud.admin, "listLdapConfigurations")
    assert status == 200 and [c["id"] for c in body["ldapconfiguration"]] == [added["id"]]
    status, body = admin_api(client, cloud.admin, "listLdapUsers", domainid=sales.uuid)
    assert status == 200 and body["count"] == 4

    status, body = admin_api(client, cloud.admin, "deleteLdapConfiguration", hostname=slapd.hostname,
                             port=slapd.port, domainid=sales.uuid)
    assert status == 200, body
    assert not LdapConfiguration.objects.exists()
    # Without a server, the user the directory created cannot log in any more; nothing raises.
    assert api_login(client, "sam", PASSWORDS["sam"], domain="/Sales")["errorcode"] == 531


def test_ldap_commands_are_for_root_admins_only(client, directory, cloud):
    keys = user_keys_register(user=cloud.alice)
    for command in ("listLdapUsers", "listLdapConfigurations", "addLdapConfiguration", "linkDomainToLdap",
                    "importLdapUsers", "ldapCreateAccount", "deleteLdapConfiguration"):
        signed = cs_sign({"command": command, "response": "json", "hostname": "h", "port": "389"}, *keys)
        response = client.get(ENDPOINT, signed)
        assert response.status_code == 401, command


def test_import_ldap_users_of_a_group_who_then_log_in_without_a_link(client, slapd, cloud):
    root = cloud.admin.account.domain
    lab = DomainFactory(name="Lab", parent=root)
    services.ldap_configuration_add(caller=cloud.admin, hostname=slapd.hostname, port=slapd.port,
                                    bind_dn=slapd.root_dn, bind_password=ROOT_PW, base_dn=SUFFIX)

    status, body = admin_api(client, cloud.admin, "importLdapUsers", domainid=lab.uuid, accounttype=0,
                             account="lab", group="engineers")
    assert status == 200, body
    assert [user["username"] for user in body["user"]] == ["erin"]
    assert body["user"][0]["usersource"] == "ldap" and body["user"][0]["account"] == "lab"
    erin = User.objects.get(username="erin")
    assert erin.account.domain == lab and erin.source == "ldap"

    # Lab has no link: the imported user logs in with the directory's password all the same, on both doors.
    assert ui_login(client, "erin", PASSWORDS["erin"])
    assert api_login(client, "erin", PASSWORDS["erin"], domain="/Lab")["account"] == "lab"
    assert not ui_login(client, "erin", "wrong")
    # Importing again creates nothing.
    status, body = admin_api(client, cloud.admin, "importLdapUsers", domainid=lab.uuid, accounttype=0,
                             group=ENGINEERS)
    assert status == 200 and body == {}


def test_ldap_create_account_takes_the_user_from_the_directory(client, slapd, cloud):
    services.ldap_configuration_add(caller=cloud.admin, hostname=slapd.hostname, port=slapd.port,
                                    bind_dn=slapd.root_dn, bind_password=ROOT_PW, base_dn=SUFFIX)
    root = cloud.admin.account.domain

    status, body = admin_api(client, cloud.admin, "ldapCreateAccount", username="frank", domainid=root.uuid,
                             accounttype=2)
    assert status == 200, body
    account = body["account"]
    assert account["name"] == "frank" and account["accounttype"] == 2
    assert account["user"][0]["email"] == "frank@example.org" and account["user"][0]["lastname"] == "Nogroup"
    assert api_login(client, "frank", PASSWORDS["frank"])["type"] == "2"

    status, body = admin_api(client, cloud.admin, "ldapCreateAccount", username="nobody", domainid=root.uuid,
                             accounttype=0)
    assert status == 431 and "nobody" in body["errortext"]
    status, body = admin_api(client, cloud.admin, "ldapCreateAccount", username="frank", domainid=root.uuid,
                             accounttype=0)
    assert status == 431
