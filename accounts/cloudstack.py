"""CloudStack API declarations of accounts: users and their API keys.

listUsers, registerUserKeys and getUserKeys let a client that only knows a password bootstrap signed access:
login (a session) -> registerUserKeys for itself -> signed calls with the new pair. Marvin's deployDataCenter
uses the same three.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts import services
from accounts.models import Account, User
from accounts.selectors import USER_STATES, user_get, user_keys_get, user_list
from portal.authz import can
from portal.cloudstack.registry import Call, Command, Listing, ObjectType, Param, ParamType, register, register_object

USER_FIELDS = (
    "id", "username", "firstname", "lastname", "email", "created", "state", "account", "accounttype",
    "accountid", "roletype", "domainid", "domain", "apikey", "usersource", "iscallerchilddomain", "isdefault",
    "is2faenabled",
)
USERKEYS_FIELDS = ("apikey", "secretkey")

# CloudStack's RoleType of each account type (listUsers' roletype).
ROLE_TYPES = {
    Account.Type.ROOT_ADMIN: "Admin",
    Account.Type.DOMAIN_ADMIN: "DomainAdmin",
    Account.Type.USER: "User",
}


def render_user(call: Call, user: User) -> dict[str, Any]:
    """CloudStack's UserResponse. The API key is shown only to whoever may fetch the user's keys (the user and
    admins over them); the secret key never is (CloudStack dropped it from listUsers: use getUserKeys)."""
    account, domain = user.account, user.account.domain
    caller_domain = call.caller.domain if call.caller is not None else None
    body: dict[str, Any] = {
        "id": str(user.uuid),
        "username": user.username,
        "firstname": user.first_name,
        "lastname": user.last_name,
        "email": user.email,
        "created": user.date_joined,
        "state": "enabled" if user.is_active else "disabled",
        "account": account.name,
        "accounttype": int(account.account_type),
        "accountid": str(account.uuid),
        "roletype": ROLE_TYPES.get(account.account_type, "User"),
        "domainid": str(domain.uuid),
        "domain": domain.name,
        "usersource": "native",
        # Whether the user's domain is the caller's or below it (CloudStack counts the domain itself).
        "iscallerchilddomain": caller_domain is not None and domain.is_within(caller_domain),
        # CloudStack's built-in, undeletable users; this portal has none.
        "isdefault": False,
        "is2faenabled": False,
    }
    if user.api_key and can(call.caller, "user.keys.get", user):
        body["apikey"] = user.api_key
    return body


register_object(ObjectType(
    model="user", name="user", instance_type="User",
    lookup=lambda caller, user_id: user_get(caller=caller, user_id=user_id),
    render=render_user, fields=USER_FIELDS,
))


def list_users(call: Call) -> QuerySet[User]:
    return user_list(caller=call.caller, username=call.get("username"), state=call.get("state"),
                     account_type=call.get("accounttype"))


register(Command(
    name="listUsers",
    description=_("Lists users."),
    action="user.list",
    handler=list_users,
    params=(
        Param("username", description=_("List the user with this user name.")),
        Param("state", choices=USER_STATES, description=_("List users in this state: enabled, disabled or locked.")),
        Param("accounttype", ParamType.INTEGER,
              description=_("List users of this account type: 0 user, 1 root admin, 2 domain admin.")),
    ),
    response_object="user",
    listing=Listing(object_name="user", render=render_user, name_field=None,
                    keyword_fields=("username", "first_name", "last_name", "email"), tenant=True,
                    domain_field="account__domain"),
))

USER_ID = Param("id", ParamType.UUID, required=True, description=_("The ID of the user."))


def register_user_keys(call: Call) -> dict:
    user = user_get(caller=call.caller, user_id=call.get("id"))
    api_key, secret_key = services.user_keys_issue(caller=call.caller, user=user)
    return {"userkeys": {"apikey": api_key, "secretkey": secret_key}}


register(Command(
    name="registerUserKeys",
    description=_("Issues a new API key and secret key for a user; the previous pair stops working at once."),
    action="user.keys.register",
    handler=register_user_keys,
    params=(USER_ID,),
    response_object="userkeys",
    response_fields=USERKEYS_FIELDS,
))


def get_user_keys(call: Call) -> dict:
    """No keys registered yet: an empty userkeys object, as CloudStack answers."""
    api_key, secret_key = user_keys_get(caller=call.caller, user=user_get(caller=call.caller,
                                                                           user_id=call.get("id")))
    return {"userkeys": {"apikey": api_key, "secretkey": secret_key}}


register(Command(
    name="getUserKeys",
    description=_("Shows a user's API key and secret key."),
    action="user.keys.get",
    handler=get_user_keys,
    params=(USER_ID,),
    response_object="userkeys",
    response_fields=USERKEYS_FIELDS,
    since="4.10.0",
))
