"""CloudStack API declarations of tenancy administration: domains, accounts and their users.

Names, parameters and sync/async flags are CloudStack's (4.19): createDomain, updateDomain, deleteDomain
(async), listDomains, listDomainChildren, createAccount, updateAccount, disableAccount (async),
enableAccount, lockAccount, deleteAccount (async), listAccounts, createUser, updateUser, disableUser (async),
enableUser, deleteUser. listUsers is in accounts/cloudstack.py.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import services_accounts, services_domains, services_users
from accounts.cloudstack import default_domain, domain_param, owner_params, render_user
from accounts.limits import GIB, STORAGE_TYPES, UNLIMITED, ResourceType
from accounts.models import Account, Domain
from accounts.selectors import domain_get, user_get
from accounts.selectors_tenancy import (
    LISTED_RESOURCES,
    account_get_detailed,
    account_limit,
    account_list_detailed,
    domain_list_annotated,
)
from portal.authz import Role, role_of
from portal.cloudstack.registry import Call, Command, Listing, ObjectType, Param, ParamType, register, register_object
from portal.errors import InvalidParameter, Unsupported
from portal.models import AsyncJob

T = ParamType

# --- domains --------------------------------------------------------------------------------------------

DOMAIN_FIELDS = ("id", "name", "level", "parentdomainid", "parentdomainname", "haschild", "networkdomain", "path",
                 "state", "created")


def render_domain(call: Call, domain: Domain) -> dict[str, Any]:
    """CloudStack's DomainResponse. `haschild` comes from domain_list_annotated's annotation."""
    parent = domain.parent
    has_child = getattr(domain, "has_child", None)
    if has_child is None:
        has_child = domain.children.exists()
    return {
        "id": str(domain.uuid),
        "name": domain.name,
        "level": domain.level,
        "parentdomainid": str(parent.uuid) if parent is not None else None,
        "parentdomainname": parent.name if parent is not None else None,
        "haschild": bool(has_child),
        "networkdomain": domain.network_domain or None,
        "path": domain.cloudstack_path,
        "state": "Active",
        "created": domain.created,
    }


register_object(ObjectType(
    model="domain", name="domain", instance_type="Domain",
    lookup=lambda caller, domain_id: domain_list_annotated(caller=caller).get(
        pk=domain_get(caller=caller, domain_id=domain_id).pk),
    render=render_domain, fields=DOMAIN_FIELDS,
))

DOMAIN_ID = Param("id", T.UUID, required=True, description=gettext_lazy("The ID of the domain."))


def _one_domain(call: Call, domain: Domain) -> dict:
    return {"domain": render_domain(call, domain_list_annotated(caller=call.caller).get(pk=domain.pk))}


def create_domain(call: Call) -> dict:
    parent = domain_param(call, "parentdomainid") or default_domain(call)
    domain = services_domains.domain_create(caller=call.caller, name=call.get("name"), parent=parent,
                                            network_domain=call.get("networkdomain") or "")
    return _one_domain(call, domain)


register(Command(
    name="createDomain",
    description=gettext_lazy("Creates a domain."),
    action="domain.create",
    handler=create_domain,
    params=(
        Param("name", required=True, description=gettext_lazy("Name of the new domain.")),
        Param("parentdomainid", T.UUID,
              description=gettext_lazy("The parent domain; without it, ROOT (a domain admin's own domain).")),
        Param("networkdomain", description=gettext_lazy("Network domain for networks in the domain.")),
    ),
    response_object="domain",
))


def update_domain(call: Call) -> dict:
    domain = services_domains.domain_update(
        caller=call.caller, domain=domain_get(caller=call.caller, domain_id=call.get("id")), name=call.get("name"),
        network_domain=call.get("networkdomain"))
    return _one_domain(call, domain)


register(Command(
    name="updateDomain",
    description=gettext_lazy("Updates a domain with a new name or network domain."),
    action="domain.update",
    handler=update_domain,
    params=(
        DOMAIN_ID,
        Param("name", description=gettext_lazy("New name of the domain (the paths below follow).")),
        Param("networkdomain", description=gettext_lazy("Network domain for networks in the domain.")),
    ),
    response_object="domain",
))


def delete_domain(call: Call) -> AsyncJob:
    return services_domains.domain_delete(caller=call.caller, domain=domain_get(caller=call.caller,
                                                                                 domain_id=call.get("id")),
                                          cleanup=bool(call.get("cleanup")))


SUCCESS_FIELDS = ("success", "displaytext")

register(Command(
    name="deleteDomain",
    description=gettext_lazy("Deletes a domain; with cleanup, its subdomains and their accounts too."),
    action="domain.delete",
    handler=delete_domain,
    is_async=True,
    params=(
        DOMAIN_ID,
        Param("cleanup", T.BOOLEAN, default=False, description=gettext_lazy(
            "true deletes the subdomains and accounts (and their resources) too; false refuses a domain that "
            "is not empty.")),
    ),
    response_fields=SUCCESS_FIELDS,
))


def _narrow_domains(call: Call, domains: QuerySet[Domain]) -> QuerySet[Domain]:
    if call.get("level") is not None:
        domains = domains.filter(level=call.get("level"))
    return domains


def list_domains(call: Call) -> QuerySet[Domain]:
    """CloudStack's rule: a root admin lists every domain; others their own domain, or their subtree with
    listall or isrecursive. With id, that domain (and its subtree with isrecursive)."""
    domains = domain_list_annotated(caller=call.caller)
    if call.get("id"):
        domain = domain_get(caller=call.caller, domain_id=call.get("id"))
        if call.get("isrecursive"):
            return _narrow_domains(call, domains.filter(path__startswith=domain.path))
        return domains.filter(pk=domain.pk)
    if role_of(call.caller) is not Role.ROOT_ADMIN and not (call.get("listall") or call.get("isrecursive")):
        domains = domains.filter(pk=call.caller.account.domain_id)
    return _narrow_domains(call, domains)


DOMAIN_LISTING = Listing(object_name="domain", render=render_domain, id_field=None)

register(Command(
    name="listDomains",
    description=gettext_lazy("Lists domains."),
    action="domain.list",
    handler=list_domains,
    params=(
        Param("id", T.UUID, description=gettext_lazy("List the domain with this ID.")),
        Param("level", T.INTEGER, description=gettext_lazy("List the domains at this level (ROOT is 0).")),
        Param("listall", T.BOOLEAN, default=False,
              description=gettext_lazy("true lists every domain the caller may see.")),
        Param("isrecursive", T.BOOLEAN, default=False,
              description=gettext_lazy("true includes the subdomains.")),
    ),
    response_object="domain",
    listing=DOMAIN_LISTING,
))


def list_domain_children(call: Call) -> QuerySet[Domain]:
    domain = domain_param(call, "id") or default_domain(call)
    domains = domain_list_annotated(caller=call.caller).filter(path__startswith=domain.path).exclude(pk=domain.pk)
    if not (call.get("isrecursive") or call.get("listall")):
        domains = domains.filter(parent=domain)
    return domains


register(Command(
    name="listDomainChildren",
    description=gettext_lazy("Lists the child domains of a domain."),
    action="domain.list",
    handler=list_domain_children,
    params=(
        Param("id", T.UUID, description=gettext_lazy("The domain whose children are listed (default: yours).")),
        Param("isrecursive", T.BOOLEAN, default=False,
              description=gettext_lazy("true lists every domain below, not only the children.")),
        Param("listall", T.BOOLEAN, default=False,
              description=gettext_lazy("true lists every domain below, not only the children.")),
    ),
    response_object="domain",
    listing=DOMAIN_LISTING,
))


# --- accounts -------------------------------------------------------------------------------------------

ACCOUNT_FIELDS = (
    "id", "name", "accounttype", "roleid", "rolename", "roletype", "domainid", "domain", "domainpath", "state",
    "created", "isdefault", "user", "vmrunning", "vmstopped",
    *(f"{prefix}{suffix}" for prefix in ("vm", "cpu", "memory", "volume", "primarystorage", "template")
      for suffix in ("total", "limit", "available")),
)
# AccountResponse's name of each listed resource.
RESOURCE_PREFIX = {
    ResourceType.USER_VM: "vm", ResourceType.CPU: "cpu", ResourceType.MEMORY: "memory",
    ResourceType.VOLUME: "volume", ResourceType.PRIMARY_STORAGE: "primarystorage",
    ResourceType.TEMPLATE: "template",
}


def _resource_fields(account: Account) -> dict[str, Any]:
    """total, limit and available per resource, as CloudStack shows them: limits "Unlimited" or a number,
    storage in GiB."""
    body: dict[str, Any] = {}
    for resource_type in LISTED_RESOURCES:
        prefix = RESOURCE_PREFIX[resource_type]
        total = getattr(account, f"count_{ResourceType(resource_type).label}", 0) or 0
        limit = account_limit(account, resource_type)
        scale = GIB if resource_type in STORAGE_TYPES else 1
        body[f"{prefix}total"] = total // scale
        if limit == UNLIMITED:
            body[f"{prefix}limit"] = body[f"{prefix}available"] = "Unlimited"
        else:
            body[f"{prefix}limit"] = str(limit // scale)
            body[f"{prefix}available"] = str(max(limit - total, 0) // scale)
    return body


def render_account(call: Call, account: Account) -> dict[str, Any]:
    """CloudStack's AccountResponse, from account_list_detailed (users prefetched, counts annotated)."""
    role = account.role
    return {
        "id": str(account.uuid),
        "name": account.name,
        "accounttype": int(account.account_type),
        "roleid": str(role.uuid),
        "rolename": role.name,
        "roletype": role.role_type,
        "domainid": str(account.domain.uuid),
        "domain": account.domain.name,
        "domainpath": account.domain.cloudstack_path,
        "state": account.state,
        "created": account.created,
        "isdefault": False,
        "user": [render_user(call, user) for user in account.users.all()],
        "vmrunning": getattr(account, "vm_running", None),
        "vmstopped": getattr(account, "vm_stopped", None),
        **_resource_fields(account),
    }


register_object(ObjectType(
    model="account", name="account", instance_type="Account",
    lookup=lambda caller, account_id: account_get_detailed(caller=caller, account_id=account_id),
    render=render_account, fields=ACCOUNT_FIELDS,
))


def _account(call: Call, *, required_pair: bool = False) -> Account:
    """An account named by `id`, or by `account` + `domainid` (CloudStack accepts either)."""
    if call.get("id") and not required_pair:
        return account_get_detailed(caller=call.caller, account_id=call.get("id"))
    if not call.get("account") or not call.get("domainid"):
        raise InvalidParameter(_("Give the account's id, or its name (account) and domainid."))
    found, _domain = owner_params(call)
    return account_get_detailed(caller=call.caller, account_id=str(found.uuid))


def _one_account(call: Call, account: Account) -> dict:
    return {"account": render_account(call, account_get_detailed(caller=call.caller, account_id=str(account.uuid)))}


def _role(call: Call) -> Any:
    """The role named by roleid (the Roles engineer's selector), or None."""
    if not call.get("roleid"):
        return None
    from accounts.selectors_roles import role_get

    return role_get(caller=call.caller, role_id=call.get("roleid"))


def create_account(call: Call) -> dict:
    role = _role(call)
    account_type = call.get("accounttype")
    if account_type is None:
        if role is None:
            raise InvalidParameter(_("Give the account type (accounttype) or a role (roleid)."))
        account_type = role.account_type
    domain = domain_param(call) or default_domain(call)
    account = services_accounts.account_create(
        caller=call.caller, domain=domain, name=call.get("account") or call.get("username"),
        account_type=account_type, role=role, username=call.get("username"), password=call.get("password"),
        email=call.get("email"), first_name=call.get("firstname"), last_name=call.get("lastname"))
    return _one_account(call, account)


ACCOUNT_BY_ID = (
    Param("id", T.UUID, description=gettext_lazy("The ID of the account.")),
    Param("account", description=gettext_lazy("The name of the account (with domainid).")),
    Param("domainid", T.UUID, description=gettext_lazy("The domain of the account (with account).")),
)

register(Command(
    name="createAccount",
    description=gettext_lazy("Creates an account with its first user."),
    action="account.create",
    handler=create_account,
    params=(
        Param("accounttype", T.INTEGER,
              description=gettext_lazy("0 user, 1 root admin, 2 domain admin; or give roleid.")),
        Param("roleid", T.UUID, description=gettext_lazy("The role of the account; its type sets the account type.")),
        Param("account", description=gettext_lazy("Name of the account (default: the user name).")),
        Param("username", required=True, description=gettext_lazy("Unique user name of the first user.")),
        Param("password", required=True, description=gettext_lazy("Password of the first user.")),
        Param("email", required=True, description=gettext_lazy("Email of the first user.")),
        Param("firstname", required=True, description=gettext_lazy("First name of the first user.")),
        Param("lastname", required=True, description=gettext_lazy("Last name of the first user.")),
        Param("domainid", T.UUID, description=gettext_lazy("The domain of the account (default: yours).")),
    ),
    response_object="account",
))


def update_account(call: Call) -> dict:
    account = services_accounts.account_update(caller=call.caller, account=_account(call),
                                               name=call.get("newname"), role=_role(call))
    return _one_account(call, account)


register(Command(
    name="updateAccount",
    description=gettext_lazy("Renames an account or changes its role."),
    action="account.update",
    handler=update_account,
    params=(
        *ACCOUNT_BY_ID,
        Param("newname", description=gettext_lazy("The new name of the account.")),
        Param("roleid", T.UUID, description=gettext_lazy("A new role of the same type as the account.")),
    ),
    response_object="account",
))


def disable_account(call: Call) -> AsyncJob:
    return services_accounts.account_disable(caller=call.caller, account=_account(call), lock=bool(call.get("lock")))


register(Command(
    name="disableAccount",
    description=gettext_lazy("Disables an account and stops its VMs; with lock=true, locks it instead."),
    action="account.disable",
    handler=disable_account,
    is_async=True,
    params=(
        *ACCOUNT_BY_ID,
        Param("lock", T.BOOLEAN, required=True, description=gettext_lazy(
            "true only locks the account (no logins, VMs keep running); false disables it.")),
    ),
    response_object="account",
))


def enable_account(call: Call) -> dict:
    return _one_account(call, services_accounts.account_enable(caller=call.caller, account=_account(call)))


register(Command(
    name="enableAccount",
    description=gettext_lazy("Enables a disabled or locked account."),
    action="account.enable",
    handler=enable_account,
    params=ACCOUNT_BY_ID,
    response_object="account",
))


def lock_account(call: Call) -> dict:
    account = _account(call, required_pair=True)
    return _one_account(call, services_accounts.account_lock(caller=call.caller, account=account))


register(Command(
    name="lockAccount",
    description=gettext_lazy("Locks an account: its users cannot log in, its VMs keep running."),
    action="account.lock",
    handler=lock_account,
    params=(
        Param("account", required=True, description=gettext_lazy("The name of the account.")),
        Param("domainid", T.UUID, required=True, description=gettext_lazy("The domain of the account.")),
    ),
    response_object="account",
))


def delete_account(call: Call) -> AsyncJob:
    return services_accounts.account_delete(caller=call.caller, account=_account(call))


register(Command(
    name="deleteAccount",
    description=gettext_lazy("Deletes an account and everything it owns."),
    action="account.delete",
    handler=delete_account,
    is_async=True,
    params=(Param("id", T.UUID, required=True, description=gettext_lazy("The ID of the account.")),),
    response_fields=SUCCESS_FIELDS,
))


def list_accounts(call: Call) -> QuerySet[Account]:
    """CloudStack's rule: with id or domainid, those (isrecursive adds the subdomains); otherwise an admin
    lists the accounts of its own domain, or everything it reaches with listall or isrecursive; an end
    user its own account."""
    accounts = account_list_detailed(caller=call.caller, state=call.get("state"),
                                     account_type=call.get("accounttype"))
    if call.get("id"):
        return accounts
    domain = domain_param(call)
    if domain is not None:
        if call.get("isrecursive"):
            return accounts.filter(domain__path__startswith=domain.path)
        return accounts.filter(domain=domain)
    if call.get("listall") or call.get("isrecursive") or not call.caller.account_id:
        return accounts
    if role_of(call.caller) is Role.USER:
        return accounts.filter(pk=call.caller.account_id)
    return accounts.filter(domain=call.caller.account.domain_id)


register(Command(
    name="listAccounts",
    description=gettext_lazy("Lists accounts and their users, resource limits and usage."),
    action="account.list",
    handler=list_accounts,
    params=(
        Param("domainid", T.UUID, description=gettext_lazy("List the accounts of this domain.")),
        Param("accounttype", T.INTEGER, description=gettext_lazy("List accounts of this type.")),
        Param("state", description=gettext_lazy("List accounts in this state: enabled, disabled or locked.")),
        Param("isrecursive", T.BOOLEAN, default=False, description=gettext_lazy("true includes subdomains.")),
        Param("listall", T.BOOLEAN, default=False,
              description=gettext_lazy("true lists every account the caller may see.")),
    ),
    response_object="account",
    listing=Listing(object_name="account", render=render_account),
))


# --- users ----------------------------------------------------------------------------------------------

USER_ID = Param("id", T.UUID, required=True, description=gettext_lazy("The ID of the user."))


def create_user(call: Call) -> dict:
    account, _domain = owner_params(call)  # account is required: never None here
    user = services_users.user_create(caller=call.caller, account=account, username=call.get("username"),
                                      password=call.get("password"), email=call.get("email"),
                                      first_name=call.get("firstname"), last_name=call.get("lastname"))
    return {"user": render_user(call, user)}


register(Command(
    name="createUser",
    description=gettext_lazy("Creates a user in an existing account."),
    action="user.create",
    handler=create_user,
    params=(
        Param("account", required=True, description=gettext_lazy("The account of the user.")),
        Param("domainid", T.UUID, description=gettext_lazy("The domain of the account (default: yours).")),
        Param("username", required=True, description=gettext_lazy("Unique user name.")),
        Param("password", required=True, description=gettext_lazy("Password.")),
        Param("email", required=True, description=gettext_lazy("Email.")),
        Param("firstname", required=True, description=gettext_lazy("First name.")),
        Param("lastname", required=True, description=gettext_lazy("Last name.")),
    ),
    response_object="user",
))


def update_user(call: Call) -> dict:
    user = user_get(caller=call.caller, user_id=call.get("id"))
    if call.get("password") is not None:
        try:
            from accounts.services_security import user_password_change
        except ImportError:
            raise Unsupported(_("Changing passwords is not available yet.")) from None
        user_password_change(caller=call.caller, user=user, password=call.get("password"),
                             current_password=call.get("currentpassword"))
    user = services_users.user_update(caller=call.caller, user=user, username=call.get("username"),
                                      email=call.get("email"), first_name=call.get("firstname"),
                                      last_name=call.get("lastname"))
    return {"user": render_user(call, user)}


register(Command(
    name="updateUser",
    description=gettext_lazy("Updates a user's name, email or password."),
    action="user.update",
    handler=update_user,
    params=(
        USER_ID,
        Param("username", description=gettext_lazy("New unique user name.")),
        Param("email", description=gettext_lazy("New email.")),
        Param("firstname", description=gettext_lazy("New first name.")),
        Param("lastname", description=gettext_lazy("New last name.")),
        Param("password", description=gettext_lazy("New password.")),
        Param("currentpassword", description=gettext_lazy(
            "The current password; required when users change their own password.")),
    ),
    response_object="user",
))


def disable_user(call: Call) -> AsyncJob:
    return services_users.user_disable_submit(caller=call.caller, user=user_get(caller=call.caller,
                                                                                 user_id=call.get("id")))


register(Command(
    name="disableUser", description=gettext_lazy("Disables a user."), action="user.disable",
    handler=disable_user, is_async=True, params=(USER_ID,), response_object="user",
))


def enable_user(call: Call) -> dict:
    user = services_users.user_enable(caller=call.caller, user=user_get(caller=call.caller, user_id=call.get("id")))
    return {"user": render_user(call, user)}


register(Command(
    name="enableUser", description=gettext_lazy("Enables a user."), action="user.enable",
    handler=enable_user, params=(USER_ID,), response_object="user",
))


def delete_user(call: Call) -> dict:
    services_users.user_delete(caller=call.caller, user=user_get(caller=call.caller, user_id=call.get("id")))
    return {"success": True}


register(Command(
    name="deleteUser", description=gettext_lazy("Deletes a user."), action="user.delete",
    handler=delete_user, params=(USER_ID,), response_fields=SUCCESS_FIELDS,
))
