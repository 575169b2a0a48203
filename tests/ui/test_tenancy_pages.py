"""The tenancy administration pages: the domain tree, accounts and their users, driven through the forms as
an administrator would, with the database as the witness; reach (root admin, domain admin, plain user) and
constant query counts."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.urls import reverse

from accounts.models import Account, Domain, User
from accounts.roles import DOMAIN_ADMIN_ROLE, READ_ONLY_ROLE, ROOT_ADMIN_ROLE, USER_ROLE
from portal.models import AsyncJob
from tests import factories
from tests.factories import TEST_PASSWORD
from tests.support.queries import assert_queries_constant, ok

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a much better horse staple"


class _TreeParser(HTMLParser):
    """Which domain <li> each domain <li> is nested in (id="domain-<uuid>")."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.parent_of: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "li":
            return
        node = dict(attrs).get("id") or ""
        node = node.removeprefix("domain-") if node.startswith("domain-") else None
        if node:
            self.parent_of[node] = next((n for n in reversed(self.stack) if n), None)
        self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        if tag == "li":
            self.stack.pop()


def tree_of(html: str) -> dict[str, str | None]:
    parser = _TreeParser()
    parser.feed(html)
    return parser.parent_of


def _domain_admin(domain: Domain, name: str) -> User:
    return factories.UserFactory(username=name, account__name=name, account__domain=domain,
                                 account__account_type=Account.Type.DOMAIN_ADMIN)


@pytest.fixture
def deep(cloud, tenants):
    """ROOT/Sales/EMEA/Berlin (three levels below ROOT) and a sibling ROOT/Marketing."""
    emea = factories.DomainFactory(name="EMEA", parent=tenants.sales, network_domain="emea.example.com")
    berlin = factories.DomainFactory(name="Berlin", parent=emea)
    marketing = factories.DomainFactory(name="Marketing", parent=tenants.sales.parent)
    return {"sales": tenants.sales, "emea": emea, "berlin": berlin, "marketing": marketing}


def _snapshot() -> tuple:
    return (list(Domain.objects.order_by("pk").values_list("pk", "name", "path", "network_domain")),
            list(Account.objects.order_by("pk").values_list("pk", "name", "state")),
            list(User.objects.order_by("pk").values_list("pk", "username", "email", "is_active", "password")),
            AsyncJob.objects.count())


# --- domains --------------------------------------------------------------------------------------------------

def test_tree_renders_nested_domains_with_network_domain_and_account_count(cloud, tenants, deep, login):
    html = login(cloud.admin).get(reverse("accounts:domain_list")).content.decode()

    root = Domain.objects.get(parent=None)
    parents = tree_of(html)
    assert parents == {
        str(root.uuid): None,
        str(deep["sales"].uuid): str(root.uuid),
        str(deep["emea"].uuid): str(deep["sales"].uuid),
        str(deep["berlin"].uuid): str(deep["emea"].uuid),
        str(deep["marketing"].uuid): str(root.uuid),
    }
    assert "emea.example.com" in html
    assert "2 accounts" in html  # Sales: the domain admin's account and carol's
    assert "3 accounts" in html  # ROOT: admin, alice, bob
    assert "<details" in html and "<summary>" in html  # expand/collapse without JavaScript


def test_a_domain_admin_sees_only_its_subtree(tenants, deep, login):
    html = login(tenants.domain_admin).get(reverse("accounts:domain_list")).content.decode()

    assert set(tree_of(html)) == {str(deep[name].uuid) for name in ("sales", "emea", "berlin")}
    assert "Marketing" not in html and "ROOT" not in html


def test_create_subdomain_through_the_form(cloud, tenants, login):
    client = login(cloud.admin)
    url = reverse("accounts:domain_add", args=[tenants.sales.uuid])
    before = _snapshot()

    page = client.get(url)
    assert page.status_code == 200 and _snapshot() == before

    response = client.post(url, {"name": "APAC", "network_domain": "apac.example.com"})

    assert response.status_code == 302 and response.url == reverse("accounts:domain_list")
    created = Domain.objects.get(name="APAC")
    assert created.parent == tenants.sales and created.path == "ROOT/Sales/APAC/"
    assert created.network_domain == "apac.example.com"


@pytest.mark.parametrize(("form", "message"), [
    ({"name": "a/b"}, "cannot contain"),
    ({"name": "Sales"}, "already exists"),
    ({"name": "ok", "network_domain": "-bad-.example"}, "Invalid network domain"),
    ({"name": ""}, "This field is required"),
])
def test_invalid_domain_input_is_an_inline_error_and_creates_nothing(cloud, tenants, login, form, message):
    client = login(cloud.admin)
    before = _snapshot()

    response = client.post(reverse("accounts:domain_add", args=[tenants.sales.parent.uuid]), form)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert _snapshot() == before


def test_edit_domain_through_the_form_renames_the_subtree(cloud, deep, login):
    client = login(cloud.admin)
    url = reverse("accounts:domain_edit", args=[deep["emea"].uuid])
    before = _snapshot()

    page = client.get(url).content.decode()
    assert 'value="EMEA"' in page and 'value="emea.example.com"' in page and _snapshot() == before

    response = client.post(url, {"name": "Europe", "network_domain": "eu.example.com"})

    assert response.status_code == 302
    deep["berlin"].refresh_from_db()
    deep["emea"].refresh_from_db()
    assert deep["emea"].name == "Europe" and deep["emea"].network_domain == "eu.example.com"
    assert deep["berlin"].path == "ROOT/Sales/Europe/Berlin/"


def test_a_domain_admin_cannot_edit_its_own_domain_and_is_told_so(tenants, login):
    client = login(tenants.domain_admin)
    before = _snapshot()

    response = client.post(reverse("accounts:domain_edit", args=[tenants.sales.uuid]), {"name": "Mine"})

    assert response.status_code == 400
    assert "cannot change their own domain" in response.content.decode()
    assert _snapshot() == before


def test_delete_domain_asks_first_refuses_a_non_empty_one_and_cleans_up_in_a_job(cloud, deep, login, run_jobs):
    client = login(cloud.admin)
    url = reverse("accounts:domain_delete", args=[deep["sales"].uuid])
    before = _snapshot()

    page = client.get(url).content.decode()
    assert 'name="cleanup"' in page and "data-confirm" in page and _snapshot() == before

    refused = client.post(url, {})
    assert refused.status_code == 400 and "delete with cleanup" in refused.content.decode()
    assert _snapshot() == before

    with run_jobs():
        response = client.post(url, {"cleanup": "on"})

    job = AsyncJob.objects.get(cmd="deleteDomain")
    assert response.status_code == 302 and response.url == reverse("ui:job_detail", args=[job.uuid])
    assert job.status == AsyncJob.Status.SUCCEEDED
    assert not Domain.objects.filter(path__startswith="ROOT/Sales/").exists()
    assert not Account.objects.filter(name__in=["sales-admins", "carol"]).exists()
    assert Domain.objects.filter(name="Marketing").exists()
    job_page = client.get(response.url).content.decode()
    assert 'id="job-card"' in job_page and "hx-trigger" in job_page  # the job page follows the job live


def test_an_empty_domain_is_deleted_without_cleanup(cloud, deep, login, run_jobs):
    with run_jobs():
        response = login(cloud.admin).post(reverse("accounts:domain_delete", args=[deep["berlin"].uuid]), {})

    assert response.status_code == 302
    assert not Domain.objects.filter(pk=deep["berlin"].pk).exists()
    assert Domain.objects.filter(pk=deep["emea"].pk).exists()


# --- accounts -------------------------------------------------------------------------------------------------

def test_account_list_shows_accounts_in_reach_with_their_details(cloud, tenants, login):
    admin_html = login(cloud.admin).get(reverse("accounts:account_list")).content.decode()
    sales_html = login(tenants.domain_admin).get(reverse("accounts:account_list")).content.decode()

    for name in ("admin", "alice", "bob", "sales-admins", "carol"):
        assert f"<strong>{name}</strong>" in admin_html
    assert "ROOT/Sales" in admin_html and "Domain admin" in admin_html
    assert "account-enabled" in admin_html  # the state badge
    assert "<strong>carol</strong>" in sales_html and "<strong>alice</strong>" not in sales_html


def test_account_list_filters_search_and_htmx_partial(cloud, tenants, login):
    client = login(cloud.admin)
    url = reverse("accounts:account_list")

    by_domain = client.get(url, {"domain": str(tenants.sales.uuid)}).content.decode()
    searched = client.get(url, {"q": "ali"}).content.decode()
    partial = client.get(url, {"sort": "-name"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="account-table")

    assert "<strong>carol</strong>" in by_domain and "<strong>alice</strong>" not in by_domain
    assert "<strong>alice</strong>" in searched and "<strong>bob</strong>" not in searched
    body = partial.content.decode()
    assert partial.status_code == 200 and "<html" not in body and 'id="account-table"' in body
    assert re.findall(r"<strong>([a-z-]+)</strong>", body) == ["sales-admins", "carol", "bob", "alice", "admin"]


def _account_form(domain: Domain, **changes: object) -> dict[str, object]:
    return {"domain": str(domain.uuid), "account_type": Account.Type.USER, "role": "", "name": "",
            "username": "dave", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD,
            "email": "dave@example.test", "first_name": "Dave", "last_name": "Jones", **changes}


def test_create_account_with_its_first_user(cloud, tenants, login):
    client = login(tenants.domain_admin)
    assert client.get(reverse("accounts:account_add")).status_code == 200

    response = client.post(reverse("accounts:account_add"), _account_form(tenants.sales, name="dave-co"))

    account = Account.objects.get(name="dave-co")
    assert response.status_code == 302
    assert response.url == reverse("accounts:account_detail", args=[account.uuid])
    assert account.domain == tenants.sales and account.account_type == Account.Type.USER
    user = account.users.get()
    assert (user.username, user.email, user.first_name, user.last_name) == ("dave", "dave@example.test", "Dave",
                                                                           "Jones")
    assert user.check_password(NEW_PASSWORD)
    assert "dave" in client.get(response.url).content.decode()


def test_the_role_select_follows_the_account_type(cloud, tenants, login):
    client = login(cloud.admin)
    url = reverse("accounts:account_add")

    grouped = client.get(url).content.decode()
    picked = client.get(url, {"account_type": Account.Type.DOMAIN_ADMIN}, HTTP_HX_REQUEST="true").content.decode()
    domain_admins_view = login(tenants.domain_admin).get(url).content.decode()

    assert "<optgroup" in grouped and str(ROOT_ADMIN_ROLE) in grouped and str(READ_ONLY_ROLE) in grouped
    assert f'hx-get="{url}"' in grouped and 'hx-select="#role-field"' in grouped
    role_select = picked[picked.index('id="role-field"'):]
    role_select = role_select[:role_select.index("</select>")]
    assert str(DOMAIN_ADMIN_ROLE) in role_select
    assert str(USER_ROLE) not in role_select and str(ROOT_ADMIN_ROLE) not in role_select
    assert str(ROOT_ADMIN_ROLE) not in domain_admins_view  # domain admins do not see Admin roles


def test_an_account_gets_the_chosen_role_or_its_types_default(cloud, tenants, login):
    client = login(cloud.admin)

    client.post(reverse("accounts:account_add"), _account_form(tenants.sales, name="ro", role=str(READ_ONLY_ROLE)))
    client.post(reverse("accounts:account_add"), _account_form(tenants.sales, name="plain", username="frank"))

    assert Account.objects.get(name="ro").role.uuid == READ_ONLY_ROLE
    assert Account.objects.get(name="plain").role.uuid == USER_ROLE


def test_a_role_of_another_type_is_refused_inline(cloud, tenants, login):
    client = login(cloud.admin)
    before = _snapshot()

    response = client.post(reverse("accounts:account_add"), _account_form(tenants.sales, role=str(DOMAIN_ADMIN_ROLE)))

    assert response.status_code == 400 and "needs a role of type" in response.content.decode()
    assert _snapshot() == before


def test_the_domain_select_offers_only_domains_in_reach(cloud, tenants, deep, login):
    html = login(tenants.domain_admin).get(reverse("accounts:account_add")).content.decode()

    assert str(deep["berlin"].uuid) in html and str(tenants.sales.uuid) in html
    assert str(deep["marketing"].uuid) not in html


@pytest.mark.parametrize(("changes", "message"), [
    ({"password_confirm": "something else entirely"}, "The two passwords differ."),
    ({"username": "alice"}, "already exists"),
    ({"password": "short", "password_confirm": "short"}, "too short"),
    ({"email": "not-an-address"}, "Enter a valid email address."),
    ({"account_type": Account.Type.ROOT_ADMIN}, "Only root admins create root-admin accounts."),
])
def test_invalid_account_input_is_an_inline_error_and_creates_nothing(cloud, tenants, login, changes, message):
    client = login(tenants.domain_admin)
    before = _snapshot()

    response = client.post(reverse("accounts:account_add"), _account_form(tenants.sales, **changes))

    assert response.status_code == 400
    assert message in response.content.decode()
    assert _snapshot() == before


def test_a_domain_out_of_reach_cannot_be_picked(cloud, tenants, deep, login):
    before = _snapshot()

    response = login(tenants.domain_admin).post(reverse("accounts:account_add"), _account_form(deep["marketing"]))

    assert response.status_code == 400 and _snapshot() == before


def test_edit_account_name_and_role(cloud, tenants, login):
    carol = tenants.carol.account
    client = login(tenants.domain_admin)
    page = client.get(reverse("accounts:account_edit", args=[carol.uuid])).content.decode()
    assert 'value="carol"' in page and str(READ_ONLY_ROLE) in page
    assert str(DOMAIN_ADMIN_ROLE) not in page  # only roles of the account's type

    renamed = client.post(reverse("accounts:account_edit", args=[carol.uuid]), {"name": "carol-co", "role": ""})
    carol.refresh_from_db()
    assert renamed.status_code == 302 and carol.name == "carol-co" and carol.role.uuid == USER_ROLE

    client.post(reverse("accounts:account_edit", args=[carol.uuid]), {"name": "carol-co", "role": str(READ_ONLY_ROLE)})
    carol.refresh_from_db()
    assert carol.role.uuid == READ_ONLY_ROLE
    assert "Read-Only" in client.get(reverse("accounts:account_list")).content.decode()


def test_disable_lock_enable_and_delete_through_posts(cloud, tenants, login, run_jobs):
    account = tenants.carol.account
    client = login(tenants.domain_admin)

    def url(name):
        return reverse(f"accounts:account_{name}", args=[account.uuid])

    detail = client.get(reverse("accounts:account_detail", args=[account.uuid])).content.decode()
    assert f'action="{url("disable")}"' in detail and f'action="{url("lock")}"' in detail
    assert "data-confirm" in detail

    with run_jobs():
        disabled = client.post(url("disable"))
    job = AsyncJob.objects.get(cmd="disableAccount")
    account.refresh_from_db()
    assert disabled.url == reverse("ui:job_detail", args=[job.uuid])
    assert job.status == AsyncJob.Status.SUCCEEDED and account.state == Account.State.DISABLED

    enabled = client.post(url("enable"))
    account.refresh_from_db()
    assert enabled.url == reverse("accounts:account_detail", args=[account.uuid])
    assert account.state == Account.State.ENABLED

    client.post(url("lock"))
    account.refresh_from_db()
    assert account.state == Account.State.LOCKED
    assert "account-locked" in client.get(reverse("accounts:account_detail", args=[account.uuid])).content.decode()
    client.post(url("enable"))

    before = _snapshot()
    assert client.get(url("delete")).status_code == 200 and _snapshot() == before  # the confirmation page
    with run_jobs():
        deleted = client.post(url("delete"))
    job = AsyncJob.objects.get(cmd="deleteAccount")
    assert deleted.url == reverse("ui:job_detail", args=[job.uuid])
    assert job.status == AsyncJob.Status.SUCCEEDED
    assert not Account.objects.filter(pk=account.pk).exists()
    assert not User.objects.filter(username="carol").exists()


def test_actions_change_nothing_on_get(cloud, tenants, login):
    client = login(cloud.admin)
    account, user = tenants.carol.account, tenants.carol
    before = _snapshot()

    for name in ("disable", "lock", "enable"):
        assert client.get(reverse(f"accounts:account_{name}", args=[account.uuid])).status_code == 405
    for name in ("disable", "enable"):
        assert client.get(reverse(f"accounts:user_{name}", args=[user.uuid])).status_code == 405
    for name in ("account_delete", "account_edit"):
        assert client.get(reverse(f"accounts:{name}", args=[account.uuid])).status_code == 200
    for name in ("user_delete", "user_edit", "user_password"):
        assert client.get(reverse(f"accounts:{name}", args=[user.uuid])).status_code == 200
    assert _snapshot() == before


def test_a_service_refusal_is_a_message_not_an_error_page(tenants, login):
    client = login(tenants.domain_admin)
    own = tenants.domain_admin.account

    response = client.post(reverse("accounts:account_disable", args=[own.uuid]), follow=True)

    own.refresh_from_db()
    assert response.status_code == 200 and own.state == Account.State.ENABLED
    assert "You cannot change your own account" in response.content.decode()


def test_another_domains_account_is_not_found(cloud, tenants, login):
    client = login(tenants.domain_admin)
    before = _snapshot()

    assert client.get(reverse("accounts:account_detail", args=[cloud.alice.account.uuid])).status_code == 404
    assert client.post(reverse("accounts:account_lock", args=[cloud.alice.account.uuid])).status_code == 404
    assert client.post(reverse("accounts:user_disable", args=[cloud.alice.uuid])).status_code == 404
    assert _snapshot() == before


# --- users ----------------------------------------------------------------------------------------------------

def test_users_of_an_account_are_created_edited_switched_and_deleted(cloud, tenants, login):
    account = tenants.carol.account
    client = login(tenants.domain_admin)

    created = client.post(reverse("accounts:user_add", args=[account.uuid]), {
        "username": "erin", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD, "email": "erin@example.test",
        "first_name": "Erin", "last_name": "Smith"})
    erin = User.objects.get(username="erin")
    assert created.url == reverse("accounts:account_detail", args=[account.uuid]) and erin.account == account

    detail = client.get(created.url).content.decode()
    assert "Erin Smith" in detail and reverse("accounts:user_disable", args=[erin.uuid]) in detail

    client.post(reverse("accounts:user_edit", args=[erin.uuid]), {
        "username": "erin2", "email": "e2@example.test", "first_name": "E", "last_name": "S"})
    erin.refresh_from_db()
    assert (erin.username, erin.email) == ("erin2", "e2@example.test")

    client.post(reverse("accounts:user_disable", args=[erin.uuid]))
    erin.refresh_from_db()
    assert not erin.is_active
    assert "user-disabled" in client.get(created.url).content.decode()
    client.post(reverse("accounts:user_enable", args=[erin.uuid]))
    erin.refresh_from_db()
    assert erin.is_active

    deleted = client.post(reverse("accounts:user_delete", args=[erin.uuid]))
    assert deleted.url == created.url and not User.objects.filter(pk=erin.pk).exists()


def test_invalid_user_input_is_an_inline_error(cloud, tenants, login):
    client = login(tenants.domain_admin)
    before = _snapshot()

    response = client.post(reverse("accounts:user_add", args=[tenants.carol.account.uuid]), {
        "username": "carol", "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})

    assert response.status_code == 400 and "already exists" in response.content.decode()
    assert _snapshot() == before


def test_an_admin_resets_a_users_password(cloud, tenants, login):
    client = login(tenants.domain_admin)
    url = reverse("accounts:user_password", args=[tenants.carol.uuid])

    weak = client.post(url, {"password": "123", "password_confirm": "123"})
    tenants.carol.refresh_from_db()
    assert weak.status_code == 400 and tenants.carol.check_password(TEST_PASSWORD)

    response = client.post(url, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD})

    tenants.carol.refresh_from_db()
    assert response.status_code == 302 and tenants.carol.check_password(NEW_PASSWORD)


# --- who may see the pages --------------------------------------------------------------------------------------

def _pages(cloud, tenants) -> list[tuple[str, str, list]]:
    account, user, domain = tenants.carol.account, tenants.carol, tenants.sales
    return [
        ("GET", "accounts:domain_list", []),
        ("GET", "accounts:domain_add", [domain.uuid]), ("POST", "accounts:domain_add", [domain.uuid]),
        ("GET", "accounts:domain_edit", [domain.uuid]), ("POST", "accounts:domain_edit", [domain.uuid]),
        ("GET", "accounts:domain_delete", [domain.uuid]), ("POST", "accounts:domain_delete", [domain.uuid]),
        ("GET", "accounts:account_list", []),
        ("GET", "accounts:account_add", []), ("POST", "accounts:account_add", []),
        ("GET", "accounts:account_detail", [account.uuid]),
        ("GET", "accounts:account_edit", [account.uuid]), ("POST", "accounts:account_edit", [account.uuid]),
        ("POST", "accounts:account_disable", [account.uuid]), ("POST", "accounts:account_enable", [account.uuid]),
        ("POST", "accounts:account_lock", [account.uuid]),
        ("GET", "accounts:account_delete", [account.uuid]), ("POST", "accounts:account_delete", [account.uuid]),
        ("GET", "accounts:user_add", [account.uuid]), ("POST", "accounts:user_add", [account.uuid]),
        ("GET", "accounts:user_edit", [user.uuid]), ("POST", "accounts:user_edit", [user.uuid]),
        ("GET", "accounts:user_password", [user.uuid]), ("POST", "accounts:user_password", [user.uuid]),
        ("POST", "accounts:user_disable", [user.uuid]), ("POST", "accounts:user_enable", [user.uuid]),
        ("GET", "accounts:user_delete", [user.uuid]), ("POST", "accounts:user_delete", [user.uuid]),
    ]


def test_a_plain_user_gets_403_on_every_page_and_changes_nothing(cloud, tenants, login):
    client = login(tenants.carol)  # even on their own account, domain and user
    before = _snapshot()

    answers = {(method, name): (client.get if method == "GET" else client.post)(reverse(name, args=args),
                                                                              {"name": "x"}).status_code
               for method, name, args in _pages(cloud, tenants)}

    assert set(answers.values()) == {403}, answers
    assert _snapshot() == before


def test_anonymous_visitors_are_sent_to_the_login_page(cloud, tenants, client):
    for method, name, args in _pages(cloud, tenants):
        response = (client.get if method == "GET" else client.post)(reverse(name, args=args))
        assert response.status_code == 302 and response.url.startswith(reverse("ui:login")), name


def test_administrators_see_the_pages_in_the_navigation_and_users_do_not(cloud, tenants, login):
    for user, shown in ((cloud.admin, True), (tenants.domain_admin, True), (cloud.alice, False)):
        html = login(user).get(reverse("ui:dashboard")).content.decode()
        assert (f'href="{reverse("accounts:domain_list")}"' in html) is shown
        assert (f'href="{reverse("accounts:account_list")}"' in html) is shown


# --- query counts ---------------------------------------------------------------------------------------------

def test_the_domain_tree_query_count_does_not_grow_with_domains(cloud, login):
    client = login(cloud.admin)
    root = Domain.objects.get(parent=None)
    first = factories.DomainFactory(name="d0", parent=root)
    factories.AccountFactory(domain=first)

    def add() -> None:
        parent = first
        for i in range(1, 8):
            parent = factories.DomainFactory(name=f"d{i}", parent=parent if i % 2 else root)
            factories.AccountFactory(domain=parent)

    assert_queries_constant(lambda: ok(client.get(reverse("accounts:domain_list"))), add, warm=False)


def test_the_account_table_query_count_does_not_grow_with_rows(cloud, tenants, login):
    client = login(cloud.admin)

    def add() -> None:
        for i in range(8):
            factories.UserFactory(account__name=f"extra{i}", account__domain=tenants.sales)
            factories.UserFactory(account__name=f"other{i}", account__domain=tenants.sales.parent)

    assert_queries_constant(lambda: ok(client.get(reverse("accounts:account_list"))), add, warm=False)


def test_the_users_table_query_count_does_not_grow_with_rows(cloud, tenants, login):
    client = login(tenants.domain_admin)
    url = reverse("accounts:account_detail", args=[tenants.carol.account.uuid])

    def add() -> None:
        for _ in range(8):
            factories.UserFactory(account=tenants.carol.account)

    assert_queries_constant(lambda: ok(client.get(url)), add, warm=False)


# --- language ---------------------------------------------------------------------------------------------------

@pytest.mark.usefixtures("zh_catalog")
def test_the_pages_speak_simplified_chinese(cloud, tenants, login):
    client = login(cloud.admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    tree = client.get(reverse("accounts:domain_list")).content.decode()
    detail = client.get(reverse("accounts:account_detail", args=[tenants.carol.account.uuid])).content.decode()

    assert "添加子域" in tree and "2 个账户" in tree and "Add subdomain" not in tree
    assert "添加用户" in detail and "重置密码" in detail and "Reset password" not in detail
