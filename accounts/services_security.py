"""Security of identities: password logins (with throttling), logouts and password changes.

Every password login of every door goes through `login_authenticate`: the web UI's sign-in form, the
CloudStack `login` command, and through them LDAP logins (Django's authenticate() asks every backend), so one
throttle covers them all. Too many failures of one user name, or from one client address, within a window
lock further attempts for a while. A locked attempt is refused before any password is checked, and the lock
works the same for user names that do not exist, so neither the refusal nor its timing tells an attacker
whether a user exists or whether a guess was right. A success clears the user name's count but not the
address's: otherwise one valid account would let an address go on guessing other users' passwords.

The login functions are not one transaction on purpose: a refused login raises, and the failure it counted
must stay counted (a rollback would give the attacker unlimited tries).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Account, Domain, LoginThrottle, User
from portal.authz import Role, authorize, role_of
from portal.errors import InvalidParameter, PermissionDenied
from portal.events import event_emit
from portal.models import Event

logger = logging.getLogger(__name__)


class LoginLocked(PermissionDenied):
    """Too many failed logins of this user name or from this address: refused without checking anything."""


class LoginFailed(PermissionDenied):
    """Wrong password, unknown user, or a user or account that may not log in: one refusal for all, so a
    caller cannot probe which."""


class PasswordRejected(InvalidParameter):
    """A password change refused because of one of its inputs; `field` names it, so a form can show the
    message next to it ("current_password" or "password")."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


# --- client address ---------------------------------------------------------------------------------------

def client_ip(request: HttpRequest | None) -> str:
    """The client's address. Behind CIRROSTACK_TRUSTED_PROXIES reverse proxies it is the entry the farthest
    trusted proxy appended to X-Forwarded-For; anything to its left came from the client and is not trusted."""
    if request is None:
        return ""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = settings.CIRROSTACK_TRUSTED_PROXIES
    if proxies <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    return forwarded[-proxies] if len(forwarded) >= proxies else remote


# --- throttle ---------------------------------------------------------------------------------------------

def _digest(scope: str, key: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{scope}:{key}".encode(), hashlib.sha256).hexdigest()


def _keys(username: str, ip: str) -> list[tuple[str, str, int]]:
    """(scope, digest, failure limit) of each counter a login attempt touches; a limit of 0 turns one off.
    User names are compared case-insensitively: directories are, and guessing "Alice" is guessing "alice"."""
    keys = []
    name = (username or "").strip().casefold()
    if name and settings.CIRROSTACK_LOGIN_FAILURE_LIMIT > 0:
        keys.append((LoginThrottle.Scope.USERNAME, _digest("user", name), settings.CIRROSTACK_LOGIN_FAILURE_LIMIT))
    if ip and settings.CIRROSTACK_LOGIN_ADDRESS_FAILURE_LIMIT > 0:
        keys.append((LoginThrottle.Scope.ADDRESS, _digest("ip", ip), settings.CIRROSTACK_LOGIN_ADDRESS_FAILURE_LIMIT))
    return keys


def _locked_until(*, username: str, ip: str, now: datetime) -> datetime | None:
    keys = _keys(username, ip)
    if not keys:
        return None
    match = Q()
    for scope, digest, _limit in keys:
        match |= Q(scope=scope, key_digest=digest)
    return LoginThrottle.objects.filter(match, locked_until__gt=now).aggregate(until=Max("locked_until"))["until"]


def _refuse_if_locked(*, username: str, ip: str, now: datetime) -> None:
    until = _locked_until(username=username, ip=ip, now=now)
    if until is None:
        return
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    raise LoginLocked(ngettext(
        "Too many failed sign-in attempts: signing in is blocked for %(minutes)d minute. Try again later.",
        "Too many failed sign-in attempts: signing in is blocked for %(minutes)d minutes. Try again later.",
        minutes) % {"minutes": minutes})


@transaction.atomic
def _failure_record(*, username: str, ip: str, now: datetime) -> list[str]:
    """Count one failure on each counter; the scopes that reached their limit now (and are locked)."""
    window = timedelta(seconds=settings.CIRROSTACK_LOGIN_FAILURE_WINDOW)
    newly_locked = []
    for scope, digest, limit in _keys(username, ip):
        # Row lock: two processes counting at once must not both read the same count.
        row, _created = LoginThrottle.objects.select_for_update().get_or_create(
            scope=scope, key_digest=digest, defaults={"window_start": now})
        if row.window_start <= now - window:
            row.failures, row.window_start = 0, now
        row.failures += 1
        if row.failures >= limit:
            row.locked_until = now + timedelta(seconds=settings.CIRROSTACK_LOGIN_LOCKOUT)
            row.failures, row.window_start = 0, now
            newly_locked.append(scope)
        row.save()
    # Housekeeping, so user names an attacker invents do not pile up: counters whose window and lock are over.
    LoginThrottle.objects.filter(window_start__lte=now - window).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lte=now)).delete()
    return newly_locked


def _failure_events(*, username: str, ip: str, newly_locked: list[str]) -> None:
    """Failures and locks are recorded on the account of the user the name belongs to, when it belongs to
    one, for that account's admins to see. Nobody proved who they are, so no actor is recorded."""
    if LoginThrottle.Scope.ADDRESS in newly_locked:
        logger.warning("Logins from %s blocked for %ss after %s failures", ip,
                       settings.CIRROSTACK_LOGIN_LOCKOUT, settings.CIRROSTACK_LOGIN_ADDRESS_FAILURE_LIMIT)
    target = User.objects.select_related("account").filter(username=username, account__isnull=False).first()
    if target is None:
        return
    event_emit(type="USER.LOGIN", level=Event.Level.ERROR, account=target.account, resource=target,
               description=_("Failed login of user %(name)s from %(address)s") % {
                   "name": target.username, "address": ip or "?"})
    if LoginThrottle.Scope.USERNAME in newly_locked:
        minutes = max(1, math.ceil(settings.CIRROSTACK_LOGIN_LOCKOUT / 60))
        event_emit(type="USER.LOCK", level=Event.Level.WARN, account=target.account, resource=target,
                   description=ngettext(
                       "Logins of user %(name)s blocked for %(minutes)d minute after too many failed attempts",
                       "Logins of user %(name)s blocked for %(minutes)d minutes after too many failed attempts",
                       minutes) % {"name": target.username, "minutes": minutes})


def _may_log_in(user: User | None, *, domain: Domain | None, domain_required: bool) -> bool:
    if user is None or not user.is_active:
        return False
    if user.account_id is not None and user.account.state != Account.State.ENABLED:
        return False
    if domain_required:
        return domain is not None and user.account_id is not None and user.account.domain_id == domain.pk
    return True


# --- logins -----------------------------------------------------------------------------------------------

def login_authenticate(*, request: HttpRequest | None, username: str, password: str, domain: Domain | None = None,
                       domain_required: bool = False) -> User:
    """The user these credentials prove, through the throttle. `domain_required` is the CloudStack login's
    rule: the user must belong to `domain` (None: the login named a domain that does not exist). Raises
    LoginLocked or LoginFailed (both PermissionDenied); success is recorded as a USER.LOGIN event."""
    now = timezone.now()
    ip = client_ip(request)
    _refuse_if_locked(username=username, ip=ip, now=now)
    # The domain goes to the backends too: the LDAP one asks the directory that serves this domain.
    credentials = {"domain": domain, "domain_required": True} if domain_required else {}
    user = authenticate(request, username=username, password=password, **credentials)
    if not _may_log_in(user, domain=domain, domain_required=domain_required):
        newly_locked = _failure_record(username=username, ip=ip, now=now)
        _failure_events(username=username, ip=ip, newly_locked=newly_locked)
        raise LoginFailed()
    _success_record(user=user, username=username, ip=ip)
    return user


@transaction.atomic
def _success_record(*, user: User, username: str, ip: str) -> None:
    LoginThrottle.objects.filter(scope=LoginThrottle.Scope.USERNAME,
                                 key_digest__in={_digest("user", name.strip().casefold())
                                                 for name in (username, user.username)}).delete()
    if user.account_id is not None:
        event_emit(type="USER.LOGIN", account=user.account, user=user, resource=user,
                   description=_("User %(name)s logged in from %(address)s") % {
                       "name": user.username, "address": ip or "?"})


@transaction.atomic
def user_logout(*, caller: User, request: HttpRequest | None = None) -> None:
    """Record a sign-out (web UI or CloudStack logout). Even a user whose account was disabled meanwhile may
    sign out, so this authorizes nothing: it only records what the caller did to their own session."""
    if caller.account_id is None:
        return
    event_emit(type="USER.LOGOUT", account=caller.account, user=caller, resource=caller,
               description=_("User %(name)s logged out from %(address)s") % {
                   "name": caller.username, "address": client_ip(request) or "?"})


# --- passwords --------------------------------------------------------------------------------------------

def user_password_change(*, caller: User, user: User, password: str, current_password: str | None = None) -> None:
    """Set a user's portal password. Users changing their own must give the current one, so a session left
    open (or stolen) cannot take the account over; wrong current passwords count towards the login throttle.
    Admins over the user need not, but only a root admin may change a root admin's password. The new
    password passes Django's validators. Other sessions of the user end (their stored password hash no
    longer matches); the caller's door keeps its own session if it wants to."""
    authorize(caller, "user.password", user)
    if role_of(user) is Role.ROOT_ADMIN and role_of(caller) is not Role.ROOT_ADMIN:
        raise PermissionDenied(_("Only a root admin may change the password of a root admin."))
    if user.source != "native":
        raise InvalidParameter(_("The password of %(name)s is kept in the LDAP directory; change it there.") % {
            "name": user.username})
    if caller.pk == user.pk:
        if not current_password:
            raise PasswordRejected(_("Give your current password."), field="current_password")
        now = timezone.now()
        _refuse_if_locked(username=user.username, ip="", now=now)
        if not user.check_password(current_password):
            newly_locked = _failure_record(username=user.username, ip="", now=now)
            _failure_events(username=user.username, ip="", newly_locked=newly_locked)
            raise PasswordRejected(_("Your current password is not correct."), field="current_password")
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise PasswordRejected(" ".join(exc.messages), field="password") from exc
    _password_set(caller=caller, user=user, password=password)


@transaction.atomic
def _password_set(*, caller: User, user: User, password: str) -> None:
    user.set_password(password)
    user.save(update_fields=["password"])
    account = user.account if user.account_id is not None else caller.account
    if account is not None:
        event_emit(type="USER.UPDATE", account=account, user=caller, resource=user,
                   description=_("Changed the password of user %(name)s") % {"name": user.username})
