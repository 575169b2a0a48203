"""Writes on the users of an account (CloudStack's createUser, updateUser, disable/enable/deleteUser).

The shared rules (reach, nobody removes themself, the last enabled root admin stays) are those of
accounts.services_accounts. Passwords are changed through accounts.services_security.user_password_change.
"""

from __future__ import annotations

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from accounts.models import Account, User
from accounts.services import user_provision
from accounts.services_accounts import AccountProbe, check_password, require_may_manage, require_root_admin_left
from portal.authz import authorize
from portal.errors import InvalidParameter, PermissionDenied
from portal.events import event_emit
from portal.jobs import DEFAULT_QUEUE, job_submit
from portal.models import AsyncJob

USERNAME_MAX = 150
PERSON_NAME_MAX = 150


def validate_user_fields(*, username: str | None = None, email: str | None = None, first_name: str | None = None,
                         last_name: str | None = None, exclude: User | None = None) -> str:
    """Check what a user is created or updated with; returns the cleaned user name ("" when not given)."""
    cleaned = ""
    if username is not None:
        cleaned = username.strip()
        if not cleaned:
            raise InvalidParameter(_("Give a user name."))
        if len(cleaned) > USERNAME_MAX:
            raise InvalidParameter(_("The user name is longer than %(max)d characters.") % {"max": USERNAME_MAX})
        try:
            UnicodeUsernameValidator()(cleaned)
        except ValidationError as exc:
            raise InvalidParameter(" ".join(exc.messages)) from exc
        # User names are unique in the whole cloud, in any letter case (logins and LDAP match them so).
        others = User.objects.filter(username__iexact=cleaned)
        if exclude is not None:
            others = others.exclude(pk=exclude.pk)
        if others.exists():
            raise InvalidParameter(_("A user named %(name)s already exists.") % {"name": cleaned})
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise InvalidParameter(_("Invalid email address %(email)s.") % {"email": email}) from exc
    for value in (first_name, last_name):
        if value and len(value) > PERSON_NAME_MAX:
            raise InvalidParameter(_("A name is longer than %(max)d characters.") % {"max": PERSON_NAME_MAX})
    return cleaned


def _require_not_self(caller: User, user: User) -> None:
    if user.pk == caller.pk:
        raise PermissionDenied(_("You cannot disable or delete your own user."))


def _require_admin_left(user: User) -> None:
    if user.is_active and user.account_id and user.account.account_type == Account.Type.ROOT_ADMIN:
        require_root_admin_left(users=User.objects.filter(pk=user.pk))


@transaction.atomic
def user_create(*, caller: User, account: Account, username: str, password: str, email: str = "",
                first_name: str = "", last_name: str = "") -> User:
    """Another user of an existing account (CloudStack's createUser); it has the account's rights."""
    authorize(caller, "user.create", AccountProbe(account.domain, account.pk))
    require_may_manage(caller, account)
    username = validate_user_fields(username=username, email=email, first_name=first_name, last_name=last_name)
    check_password(password)
    user = user_provision(account=account, username=username, password=password, email=email,
                          first_name=first_name, last_name=last_name)
    event_emit(type="USER.CREATE", description=_("Created user %(name)s in account %(account)s") % {
        "name": username, "account": account.name}, account=account, user=caller, resource=user)
    return user


@transaction.atomic
def user_update(*, caller: User, user: User, username: str | None = None, email: str | None = None,
                first_name: str | None = None, last_name: str | None = None) -> User:
    """Users edit themselves; admins the users in their reach. An LDAP user keeps the directory's name."""
    authorize(caller, "user.update", user)
    if user.pk != caller.pk:
        require_may_manage(caller, user.account)
    user = User.objects.select_for_update(of=("self",)).select_related("account", "account__domain").get(pk=user.pk)
    username = validate_user_fields(username=username, email=email, first_name=first_name, last_name=last_name,
                                    exclude=user) or None
    if username is not None and username != user.username and user.source != "native":
        raise InvalidParameter(_("The name of an LDAP user comes from the directory and cannot be changed."))
    changed = []
    for field, value in (("username", username), ("email", email), ("first_name", first_name),
                         ("last_name", last_name)):
        if value is not None and getattr(user, field) != value:
            setattr(user, field, value)
            changed.append(field)
    if changed:
        user.save(update_fields=changed)
    event_emit(type="USER.UPDATE", description=_("Updated user %(name)s") % {"name": user.username},
               account=user.account, user=caller, resource=user)
    return user


def _check_disable(caller: User, user: User) -> User:
    authorize(caller, "user.disable", user)
    _require_not_self(caller, user)
    require_may_manage(caller, user.account)
    user = User.objects.select_for_update(of=("self",)).select_related("account", "account__domain").get(pk=user.pk)
    _require_admin_left(user)
    return user


def user_disable_apply(*, user: User) -> None:
    """The disable itself, for the job of disableUser (checked when it was submitted)."""
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False


@transaction.atomic
def user_disable(*, caller: User, user: User) -> User:
    """A disabled user can neither log in nor call the APIs (sessions, tokens and keys stop working); the
    account and its other users are untouched."""
    user = _check_disable(caller, user)
    user_disable_apply(user=user)
    event_emit(type="USER.DISABLE", description=_("Disabled user %(name)s") % {"name": user.username},
               account=user.account, user=caller, resource=user)
    return user


@transaction.atomic
def user_disable_submit(*, caller: User, user: User) -> AsyncJob:
    """CloudStack's disableUser is asynchronous: checked now (errors answer at once), done by a job."""
    user = _check_disable(caller, user)
    return job_submit(caller=caller, account=user.account, cmd="disableUser",
                      handler="accounts.tasks.run_user_disable", instance=user, queue=DEFAULT_QUEUE,
                      event_type="USER.DISABLE", description=_("Disabling user %(name)s") % {"name": user.username})


@transaction.atomic
def user_enable(*, caller: User, user: User) -> User:
    authorize(caller, "user.enable", user)
    require_may_manage(caller, user.account)
    User.objects.filter(pk=user.pk).update(is_active=True)
    user.is_active = True
    event_emit(type="USER.ENABLE", description=_("Enabled user %(name)s") % {"name": user.username},
               account=user.account, user=caller, resource=user)
    return user


def users_remove(*, users: list[User]) -> None:
    """Invalidate everything a user authenticates with, then remove them: REST tokens are deleted, and with
    the row go the API keys and every login session (the UI's and the CloudStack API's look the user up on
    each request and find none)."""
    ids = [user.pk for user in users]
    Token.objects.filter(user_id__in=ids).delete()
    User.objects.filter(pk__in=ids).delete()


@transaction.atomic
def user_delete(*, caller: User, user: User) -> None:
    authorize(caller, "user.delete", user)
    _require_not_self(caller, user)
    require_may_manage(caller, user.account)
    user = User.objects.select_for_update(of=("self",)).select_related("account", "account__domain").get(pk=user.pk)
    _require_admin_left(user)
    event_emit(type="USER.DELETE", description=_("Deleted user %(name)s from account %(account)s") % {
        "name": user.username, "account": user.account.name}, account=user.account, user=caller, resource=user)
    users_remove(users=[user])
