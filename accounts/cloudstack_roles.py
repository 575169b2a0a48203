"""CloudStack API declarations of dynamic roles: createRole, listRoles, updateRole, deleteRole,
createRolePermission, listRolePermissions, updateRolePermission, deleteRolePermission (CloudStack 4.19 names,
parameters and response objects). Imported by accounts.cloudstack (the module the registry autodiscovers).
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import services_roles
from accounts.roles import Role, RolePermission, RoleType
from accounts.selectors_roles import role_get, role_list, role_permission_get, role_permission_list
from portal.cloudstack.registry import Call, Command, Listing, Param, ParamType, register
from portal.errors import InvalidParameter

T = ParamType

ROLE_FIELDS = ("id", "name", "type", "description", "isdefault", "ispublic")
PERMISSION_FIELDS = ("id", "roleid", "rolename", "rule", "permission", "description")
SUCCESS_FIELDS = ("success",)


def render_role(call: Call, role: Role) -> dict[str, Any]:
    """CloudStack's RoleResponse (every role here is public: any admin who may list it may assign it)."""
    return {"id": str(role.uuid), "name": role.name, "type": role.role_type, "description": role.description,
            "isdefault": role.is_default, "ispublic": True}


def render_permission(call: Call, rule: RolePermission) -> dict[str, Any]:
    """CloudStack's RolePermissionResponse."""
    return {"id": str(rule.uuid), "roleid": str(rule.role.uuid), "rolename": rule.role.name, "rule": rule.rule,
            "permission": rule.permission, "description": rule.description}


def _role_type(value: str | None) -> str | None:
    """CloudStack reads role types case-insensitively ("user", "DOMAINADMIN")."""
    if value is None or value == "":
        return None
    by_lower = {choice.lower(): choice for choice in RoleType.values}
    if value.lower() not in by_lower:
        raise InvalidParameter(_("Invalid role type %(type)s; valid types are %(valid)s.") % {
            "type": value, "valid": ", ".join(RoleType.values)})
    return by_lower[value.lower()]


def _role(call: Call, param: str) -> Role:
    return role_get(caller=call.caller, role_id=call.get(param))


# --- roles ----------------------------------------------------------------------------------------------

def create_role(call: Call) -> dict:
    source = _role(call, "roleid") if call.get("roleid") else None
    role_type = _role_type(call.get("type"))
    if role_type is None and source is None:
        raise InvalidParameter(_("Either type or roleid is required."))
    role = services_roles.role_create(caller=call.caller, name=call.get("name"), role_type=role_type,
                                      description=call.get("description") or "", source=source)
    return {"role": render_role(call, role)}


register(Command(
    name="createRole",
    description=gettext_lazy("Creates a role, empty or as a copy of another role's rules."),
    action="role.create",
    handler=create_role,
    params=(
        Param("name", required=True, description=gettext_lazy("Creates a role with this unique name.")),
        Param("type", description=gettext_lazy("The type of the role: Admin, DomainAdmin or User (with roleid: "
                                               "that role's type by default).")),
        Param("roleid", T.UUID, description=gettext_lazy("The role to copy the rules of.")),
        Param("description", description=gettext_lazy("The description of the role.")),
    ),
    response_object="role",
    response_fields=ROLE_FIELDS,
    since="4.9.0",
))


def list_roles(call: Call) -> QuerySet[Role]:
    return role_list(caller=call.caller, role_type=_role_type(call.get("type"))).order_by("name", "pk")


register(Command(
    name="listRoles",
    description=gettext_lazy("Lists dynamic roles; domain admins see the DomainAdmin and User roles."),
    action="role.list",
    handler=list_roles,
    params=(Param("type", description=gettext_lazy("List roles of this type: Admin, DomainAdmin or User.")),),
    response_object="role",
    response_fields=ROLE_FIELDS,
    listing=Listing(object_name="role", render=render_role, keyword_fields=("name", "description")),
    since="4.9.0",
))


def update_role(call: Call) -> dict:
    role = services_roles.role_update(caller=call.caller, role=_role(call, "id"), name=call.get("name"),
                                      role_type=_role_type(call.get("type")), description=call.get("description"))
    return {"role": render_role(call, role)}


register(Command(
    name="updateRole",
    description=gettext_lazy("Updates a role's name, type (while no account holds it) or description."),
    action="role.update",
    handler=update_role,
    params=(
        Param("id", T.UUID, required=True, description=gettext_lazy("The ID of the role.")),
        Param("name", description=gettext_lazy("The new name of the role.")),
        Param("type", description=gettext_lazy("The new type of the role: Admin, DomainAdmin or User.")),
        Param("description", description=gettext_lazy("The new description of the role.")),
    ),
    response_object="role",
    response_fields=ROLE_FIELDS,
    since="4.9.0",
))


def delete_role(call: Call) -> dict:
    services_roles.role_delete(caller=call.caller, role=_role(call, "id"))
    return {"success": True}


register(Command(
    name="deleteRole",
    description=gettext_lazy("Deletes a custom role no account holds."),
    action="role.delete",
    handler=delete_role,
    params=(Param("id", T.UUID, required=True, description=gettext_lazy("The ID of the role.")),),
    response_fields=SUCCESS_FIELDS,
    since="4.9.0",
))

# --- rules ----------------------------------------------------------------------------------------------

PERMISSION_PARAM = Param("permission", choices=("allow", "deny"),
                         description=gettext_lazy("The rule's permission: allow or deny."))


def create_role_permission(call: Call) -> dict:
    rule = services_roles.role_permission_create(
        caller=call.caller, role=_role(call, "roleid"), rule=call.get("rule"),
        permission=call.get("permission"), description=call.get("description") or "")
    return {"rolepermission": render_permission(call, rule)}


register(Command(
    name="createRolePermission",
    description=gettext_lazy("Adds a rule after a role's existing rules."),
    action="role.permission.create",
    handler=create_role_permission,
    params=(
        Param("roleid", T.UUID, required=True, description=gettext_lazy("The ID of the role.")),
        Param("rule", required=True, description=gettext_lazy(
            "The API command name or portal action the rule matches; \"*\" is a wildcard.")),
        Param("permission", required=True, choices=PERMISSION_PARAM.choices,
              description=PERMISSION_PARAM.description),
        Param("description", description=gettext_lazy("The description of the rule.")),
    ),
    response_object="rolepermission",
    response_fields=PERMISSION_FIELDS,
    since="4.9.0",
))


def list_role_permissions(call: Call) -> QuerySet[RolePermission]:
    role = _role(call, "roleid") if call.get("roleid") else None
    return role_permission_list(caller=call.caller, role=role)


register(Command(
    name="listRolePermissions",
    description=gettext_lazy("Lists a role's rules in the order they are evaluated."),
    action="role.permission.list",
    handler=list_role_permissions,
    params=(Param("roleid", T.UUID, description=gettext_lazy("The ID of the role.")),),
    response_object="rolepermission",
    response_fields=PERMISSION_FIELDS,
    listing=Listing(object_name="rolepermission", render=render_permission, id_field=None, name_field=None,
                    keyword_fields=("rule", "description")),
    since="4.9.0",
))


def update_role_permission(call: Call) -> dict:
    role = _role(call, "roleid")
    order, rule_id, permission = call.get("ruleorder"), call.get("ruleid"), call.get("permission")
    if order is not None:
        if rule_id is not None or permission is not None:
            raise InvalidParameter(_("Parameters permission and ruleid must be mutually exclusive with "
                                     "ruleorder."))
        services_roles.role_permissions_reorder(caller=call.caller, role=role, order=order)
    elif rule_id is not None and permission is not None:
        rule = role_permission_get(caller=call.caller, permission_id=rule_id)
        if rule.role_id != role.pk:
            raise InvalidParameter(_("The rule %(rule)s does not belong to role %(role)s.") % {
                "rule": rule_id, "role": role.name})
        services_roles.role_permission_update(caller=call.caller, rule=rule, permission=permission)
    else:
        raise InvalidParameter(_("Give either ruleorder, or ruleid with permission."))
    return {"success": True}


register(Command(
    name="updateRolePermission",
    description=gettext_lazy("Reorders a role's rules, or turns one rule to allow or deny."),
    action="role.permission.update",
    handler=update_role_permission,
    params=(
        Param("roleid", T.UUID, required=True, description=gettext_lazy("The ID of the role.")),
        Param("ruleorder", T.LIST, item_type=T.UUID, description=gettext_lazy(
            "Every rule ID of the role, in the new order.")),
        Param("ruleid", T.UUID, description=gettext_lazy("The rule to change (with permission).")),
        PERMISSION_PARAM,
    ),
    response_fields=SUCCESS_FIELDS,
    since="4.9.0",
))


def delete_role_permission(call: Call) -> dict:
    rule = role_permission_get(caller=call.caller, permission_id=call.get("id"))
    services_roles.role_permission_delete(caller=call.caller, rule=rule)
    return {"success": True}


register(Command(
    name="deleteRolePermission",
    description=gettext_lazy("Deletes a rule of a role."),
    action="role.permission.delete",
    handler=delete_role_permission,
    params=(Param("id", T.UUID, required=True, description=gettext_lazy("The ID of the rule.")),),
    response_fields=SUCCESS_FIELDS,
    since="4.9.0",
))
