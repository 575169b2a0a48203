"""Security basics of identities: API secrets encrypted at rest, the login throttle (per user name and per
client address), events with their actor, and hashed passwords."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.conf import global_settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import RequestFactory
from django.utils import timezone

from accounts.crypto import decrypt, encrypt
from accounts.models import API_SECRET_PURPOSE, Account, LoginThrottle, User
from accounts.selectors import user_for_api_key, user_keys_get
from accounts.services import user_keys_issue, user_keys_register
from accounts.services_security import (
    LoginFailed,
    LoginLocked,
    PasswordRejected,
    client_ip,
    login_authenticate,
    user_logout,
    user_password_change,
)
from portal.cloudstack import signing
from portal.errors import InvalidParameter, PermissionDenied
from portal.models import Event
from tests import factories
from tests.accounts.test_ldap import PASSWORDS, api_login, directory, slapd, ui_login  # noqa: F401 (fixtures)
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture(autouse=True)
def _small_limits(settings):
    settings.CIRROSTACK_LOGIN_FAILURE_LIMIT = 3
    settings.CIRROSTACK_LOGIN_ADDRESS_FAILURE_LIMIT = 5
    settings.CIRROSTACK_LOGIN_FAILURE_WINDOW = 600
    settings.CIRROSTACK_LOGIN_LOCKOUT = 900
    settings.CIRROSTACK_TRUSTED_PROXIES = 0


def request_from(ip: str = "192.0.2.10", **meta):
    return RequestFactory().post("/login/", REMOTE_ADDR=ip, **meta)


def attempt(username: str, password: str, ip: str = "192.0.2.10") -> User:
    return login_authenticate(request=request_from(ip), username=username, password=password)


def fail(username: str, times: int, ip: str = "192.0.2.10") -> None:
    for _ in range(times):
        with pytest.raises(LoginFailed):
            attempt(username, "wrong password", ip)


# --- API secrets at rest ----------------------------------------------------------------------------------

def test_the_database_holds_no_plain_api_secret_and_signatures_still_verify(cloud):
    api_key, secret = user_keys_register(user=cloud.alice)

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_user WHERE id = %s", [cloud.alice.pk])
        row = cursor.fetchone()
    assert api_key in row  # the key is an identifier, not a secret
    assert not any(isinstance(value, str) and secret in value for value in row)
    stored = User.objects.get(pk=cloud.alice.pk)
    assert stored.secret_key_encrypted and secret not in stored.secret_key_encrypted
    # In Python the secret reads back in plain text, which is what the HMAC check needs.
    assert stored.secret_key == secret
    params = [("command", "listZones"), ("apiKey", api_key), ("response", "json")]
    signature = signing.sign(signing.canonical_strings(params)[0], secret)
    assert signing.signature_matches(params, signature, user_for_api_key(api_key).secret_key)
    assert not signing.signature_matches(params, signature, "another secret")


def test_the_secret_is_encrypted_for_its_own_purpose(cloud):
    _api_key, secret = user_keys_register(user=cloud.alice)
    token = User.objects.get(pk=cloud.alice.pk).secret_key_encrypted

    assert decrypt(token, purpose=API_SECRET_PURPOSE) == secret
    assert decrypt(token, purpose="ldap-bind") == ""


def test_a_dedicated_encryption_key_rotates_without_losing_secrets(cloud, settings):
    settings.CIRROSTACK_ENCRYPTION_KEYS = ["first dedicated key"]
    _api_key, secret = user_keys_register(user=cloud.alice)
    token = User.objects.get(pk=cloud.alice.pk).secret_key_encrypted

    settings.CIRROSTACK_ENCRYPTION_KEYS = ["second dedicated key", "first dedicated key"]
    assert User.objects.get(pk=cloud.alice.pk).secret_key == secret
    assert decrypt(encrypt("x", purpose="t"), purpose="t") == "x"

    settings.CIRROSTACK_ENCRYPTION_KEYS = ["second dedicated key"]
    # Neither the remaining key nor SECRET_KEY opens it: the key, not the database, holds the power.
    assert decrypt(token, purpose=API_SECRET_PURPOSE) == ""


@pytest.mark.django_db(transaction=True)
def test_the_data_migration_encrypts_existing_plain_secrets():
    migration = importlib.import_module("accounts.migrations.0005_security").Migration
    before, after = [dep for dep in migration.dependencies if dep[0] == "accounts"], [("accounts", "0005_security")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old_apps = executor.loader.project_state(before).apps
        old_apps.get_model("accounts", "User").objects.create(username="legacy", secret_key="plain-legacy-secret",
                                                              api_key="legacy-key", password="!")
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        with connection.cursor() as cursor:
            cursor.execute("SELECT secret_key_encrypted FROM accounts_user WHERE username = 'legacy'")
            (stored,) = cursor.fetchone()
        assert stored and "plain-legacy-secret" not in stored
        assert decrypt(stored, purpose=API_SECRET_PURPOSE) == "plain-legacy-secret"
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())


def test_get_user_keys_still_returns_the_plain_secret_for_cloudstack_clients(cloud):
    api_key, secret = user_keys_issue(caller=cloud.alice, user=cloud.alice)
    assert user_keys_get(caller=cloud.alice, user=User.objects.get(pk=cloud.alice.pk)) == (api_key, secret)


# --- login throttle ---------------------------------------------------------------------------------------

def test_too_many_failures_lock_the_user_name_even_with_the_right_password(cloud):
    fail("alice", 3)

    with pytest.raises(LoginLocked) as locked:
        attempt("alice", TEST_PASSWORD)
    assert "Too many failed sign-in attempts" in locked.value.message and "15 minutes" in locked.value.message
    # From any address, and whatever the case of the name.
    with pytest.raises(LoginLocked):
        attempt("ALICE", TEST_PASSWORD, ip="198.51.100.7")
    # Other users are not affected.
    assert attempt("bob", TEST_PASSWORD) == cloud.bob


def test_unknown_user_names_lock_the_same_way_with_the_same_message(cloud):
    fail("alice", 3)
    fail("nobody-here", 3, ip="198.51.100.8")

    with pytest.raises(LoginLocked) as known:
        attempt("alice", TEST_PASSWORD)
    with pytest.raises(LoginLocked) as unknown:
        attempt("nobody-here", TEST_PASSWORD, ip="198.51.100.8")
    assert known.value.message == unknown.value.message


def test_too_many_failures_from_one_address_lock_that_address(cloud):
    for name in ("u1", "u2", "u3", "u4", "u5"):
        fail(name, 1, ip="203.0.113.5")

    with pytest.raises(LoginLocked):
        attempt("alice", TEST_PASSWORD, ip="203.0.113.5")
    assert attempt("alice", TEST_PASSWORD, ip="203.0.113.6") == cloud.alice


def test_failures_older_than_the_window_do_not_count(cloud):
    fail("alice", 2)
    LoginThrottle.objects.update(window_start=timezone.now() - timedelta(seconds=601))
    fail("alice", 2)

    assert attempt("alice", TEST_PASSWORD) == cloud.alice


def test_a_lock_ends_after_the_lockout_time(cloud):
    fail("alice", 3)
    with pytest.raises(LoginLocked):
        attempt("alice", TEST_PASSWORD)

    LoginThrottle.objects.filter(locked_until__isnull=False).update(
        locked_until=timezone.now() - timedelta(seconds=1))
    assert attempt("alice", TEST_PASSWORD) == cloud.alice


def test_a_success_resets_the_user_name_count(cloud):
    fail("alice", 2)
    assert attempt("alice", TEST_PASSWORD) == cloud.alice
    fail("alice", 2)

    assert attempt("alice", TEST_PASSWORD) == cloud.alice


def test_a_locked_attempt_checks_no_password_and_counts_nothing(cloud):
    fail("alice", 3)
    throttle = LoginThrottle.objects.get(scope=LoginThrottle.Scope.USERNAME)
    for _ in range(3):
        with pytest.raises(LoginLocked):
            attempt("alice", "wrong password")
    assert LoginThrottle.objects.get(pk=throttle.pk).locked_until == throttle.locked_until
    assert not User.objects.filter(pk=cloud.alice.pk, last_login__isnull=False).exists()


def test_throttle_rows_do_not_store_the_typed_user_name(cloud):
    fail("my secret passphrase typed as a name", 1)
    row = LoginThrottle.objects.get(scope=LoginThrottle.Scope.USERNAME)
    assert "passphrase" not in row.key_digest and len(row.key_digest) == 64


def test_a_disabled_account_cannot_log_in_and_counts_as_a_failure(cloud):
    Account.objects.filter(pk=cloud.alice.account_id).update(state=Account.State.DISABLED)
    with pytest.raises(LoginFailed):
        attempt("alice", TEST_PASSWORD)
    assert LoginThrottle.objects.get(scope=LoginThrottle.Scope.USERNAME).failures == 1


@pytest.mark.usefixtures("directory")
def test_ldap_logins_go_through_the_same_throttle(client):
    for _ in range(3):
        assert not ui_login(client, "erin", "not erin's password")

    # The directory would accept this password; the lock refuses it before the directory is asked.
    assert not ui_login(client, "erin", PASSWORDS["erin"])
    answer = api_login(client, "erin", PASSWORDS["erin"], domain="/Engineering")
    assert answer["errorcode"] == 531 and "Too many failed sign-in attempts" in answer["errortext"]
    assert not User.objects.filter(username="erin").exists()
    assert ui_login(client, "sam", PASSWORDS["sam"])  # other directory users are unaffected


def test_client_ip_trusts_x_forwarded_for_only_behind_configured_proxies(settings):
    forged = request_from("10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.20")
    assert client_ip(forged) == "10.0.0.1"
    settings.CIRROSTACK_TRUSTED_PROXIES = 1
    assert client_ip(forged) == "198.51.100.20"  # the entry our proxy appended, not the client's claim
    assert client_ip(request_from("10.0.0.1")) == "10.0.0.1"


# --- events -----------------------------------------------------------------------------------------------

def test_logins_failures_locks_and_logouts_are_events(cloud):
    attempt("alice", TEST_PASSWORD)
    login = Event.objects.get(type="USER.LOGIN", level=Event.Level.INFO)
    assert (login.user, login.account, login.resource_id) == (cloud.alice, cloud.alice.account,
                                                               str(cloud.alice.uuid))
    assert "192.0.2.10" in login.description

    fail("alice", 3)
    failures = Event.objects.filter(type="USER.LOGIN", level=Event.Level.ERROR)
    assert failures.count() == 3
    assert all(event.user is None and event.account == cloud.alice.account for event in failures)
    lock = Event.objects.get(type="USER.LOCK")
    assert lock.account == cloud.alice.account and lock.level == Event.Level.WARN

    user_logout(caller=cloud.bob, request=request_from())
    logout = Event.objects.get(type="USER.LOGOUT")
    assert (logout.user, logout.account) == (cloud.bob, cloud.bob.account)


def test_failed_logins_of_unknown_users_leave_no_event(cloud):
    fail("nobody-here", 3)
    assert not Event.objects.exists()


def test_key_registration_is_an_event_with_the_actor(cloud):
    user_keys_issue(caller=cloud.admin, user=cloud.alice)
    event = Event.objects.get(type="REGISTER.USER.KEY")
    assert (event.user, event.account) == (cloud.admin, cloud.alice.account)


# --- passwords --------------------------------------------------------------------------------------------

def test_passwords_are_stored_as_hasher_strings(cloud):
    stored = User.objects.get(pk=cloud.alice.pk).password
    assert TEST_PASSWORD not in stored
    # The tests pick MD5 for speed (tests/conftest.py); the hasher string names its algorithm and salt.
    algorithm, _salt, digest = stored.split("$")
    assert algorithm == "md5" and digest


def test_production_settings_keep_djangos_strong_hashers():
    import portal.settings as production

    hashers = getattr(production, "PASSWORD_HASHERS", global_settings.PASSWORD_HASHERS)
    assert hashers[0] in ("django.contrib.auth.hashers.PBKDF2PasswordHasher",
                          "django.contrib.auth.hashers.Argon2PasswordHasher")
    assert not any("MD5" in hasher or "Unsalted" in hasher for hasher in hashers)


def test_changing_your_own_password_needs_the_current_one(cloud):
    user_password_change(caller=cloud.alice, user=cloud.alice, password=NEW_PASSWORD, current_password=TEST_PASSWORD)

    alice = User.objects.get(pk=cloud.alice.pk)
    assert alice.check_password(NEW_PASSWORD) and NEW_PASSWORD not in alice.password
    event = Event.objects.get(type="USER.UPDATE")
    assert (event.user, event.account, event.resource_id) == (cloud.alice, cloud.alice.account,
                                                               str(cloud.alice.uuid))


@pytest.mark.parametrize("current", [None, "", "wrong password"])
def test_a_missing_or_wrong_current_password_changes_nothing(cloud, current):
    with pytest.raises(PasswordRejected) as rejected:
        user_password_change(caller=cloud.alice, user=cloud.alice, password=NEW_PASSWORD, current_password=current)
    assert rejected.value.field == "current_password"
    assert User.objects.get(pk=cloud.alice.pk).check_password(TEST_PASSWORD)
    assert not Event.objects.filter(type="USER.UPDATE").exists()


def test_wrong_current_passwords_count_towards_the_lock(cloud):
    for _ in range(3):
        with pytest.raises(PasswordRejected):
            user_password_change(caller=cloud.alice, user=cloud.alice, password=NEW_PASSWORD,
                                 current_password="wrong password")
    with pytest.raises(LoginLocked):
        user_password_change(caller=cloud.alice, user=cloud.alice, password=NEW_PASSWORD,
                             current_password=TEST_PASSWORD)
    with pytest.raises(LoginLocked):
        attempt("alice", TEST_PASSWORD)


@pytest.mark.parametrize("password", ["short", "password123", "alice"])
def test_the_new_password_must_pass_djangos_validators(cloud, password):
    with pytest.raises(PasswordRejected) as rejected:
        user_password_change(caller=cloud.alice, user=cloud.alice, password=password, current_password=TEST_PASSWORD)
    assert rejected.value.field == "password" and rejected.value.message
    assert User.objects.get(pk=cloud.alice.pk).check_password(TEST_PASSWORD)


def test_an_admin_sets_a_users_password_without_the_current_one(cloud):
    user_password_change(caller=cloud.admin, user=cloud.alice, password=NEW_PASSWORD)

    assert User.objects.get(pk=cloud.alice.pk).check_password(NEW_PASSWORD)
    event = Event.objects.get(type="USER.UPDATE")
    assert (event.user, event.account) == (cloud.admin, cloud.alice.account)


def test_nobody_else_changes_a_users_password(cloud):
    with pytest.raises(PermissionDenied):
        user_password_change(caller=cloud.bob, user=cloud.alice, password=NEW_PASSWORD)
    domain_admin = factories.UserFactory(account__domain=cloud.alice.account.domain,
                                         account__account_type=Account.Type.DOMAIN_ADMIN)
    with pytest.raises(PermissionDenied):
        user_password_change(caller=domain_admin, user=cloud.admin, password=NEW_PASSWORD)
    assert User.objects.get(pk=cloud.admin.pk).check_password(TEST_PASSWORD)
    assert User.objects.get(pk=cloud.alice.pk).check_password(TEST_PASSWORD)


def test_ldap_users_change_their_password_in_the_directory(cloud):
    User.objects.filter(pk=cloud.alice.pk).update(source="ldap")
    alice = User.objects.get(pk=cloud.alice.pk)
    with pytest.raises(InvalidParameter):
        user_password_change(caller=alice, user=alice, password=NEW_PASSWORD, current_password=TEST_PASSWORD)
