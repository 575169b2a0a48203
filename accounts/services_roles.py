"""Writes on roles and their ordered rules (CloudStack's createRole, updateRole, deleteRole and the
RolePermission commands).

Built-in roles are fixed: every installation and every account type relies on them meaning the same thing, so
they cannot be renamed, retyped, deleted or have their rules changed (CloudStack refuses the same). A role's
type decides which accounts may hold it, so it changes only while no account does. A rule must name something
that exists (an action or a CloudStack command, possibly through wildcards): a typo would otherwise be a rule
that silently never applies.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from accounts.models import Account, User
from accounts.roles import RULE_PATTERN, Role, RolePermission, RoleType, rule_regex
from accounts.services_accounts import audit_account
from portal.authz import ACTIONS, action_command_names, authorize
from portal.errors import InvalidParameter, PermissionDenied, ResourceInUse
from portal.events import event_emit

NAME_MAX = Role._meta.get_field("name").max_length
RULE_MAX = RolePermission._meta.get_field("rule").max_length


def _emit(caller: User, type: str, description: str, role: Role) -> None:
    event_emit(type=type, description=description, account=audit_account(caller), user=caller, resource=role)


def _validate_name(name: str | None, *, exclude: Role | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidParameter(_("A role needs a name."))
    if len(name) > NAME_MAX:
        raise InvalidParameter(_("A role name has at most %(max)d characters.") % {"max": NAME_MAX})
    taken = Role.objects.filter(name__iexact=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise InvalidParameter(_("A role named %(name)s already exists.") % {"name": name})
    return name


def _validate_type(role_type: str | None) -> str:
    if role_type not in RoleType.values:
        raise InvalidParameter(_("Invalid role type %(type)s; valid types are %(valid)s.") % {
            "type": role_type, "valid": ", ".join(RoleType.values)})
    return role_type


def _require_editable(role: Role) -> None:
    if role.is_default:
        raise PermissionDenied(_("The built-in role %(name)s cannot be changed.") % {"name": role.name})


def known_names() -> list[str]:
    """Every name a rule can match: the actions and the CloudStack commands declared for them."""
    names = set(ACTIONS)
    for commands in action_command_names().values():
        names.update(commands)
    return sorted(names)


def validate_rule(rule: str | None) -> str:
    rule = (rule or "").strip()
    if not rule:
        raise InvalidParameter(_("A rule needs a pattern."))
    if len(rule) > RULE_MAX or not RULE_PATTERN.match(rule):
        raise InvalidParameter(_("Invalid rule %(rule)s: use letters, digits, \".\", \"_\" and \"*\" wildcards "
                                 "(at most %(max)d characters).") % {"rule": rule, "max": RULE_MAX})
    pattern = rule_regex(rule)
    if not any(pattern.match(name) for name in known_names()):
        raise InvalidParameter(_("The rule %(rule)s matches no action and no API command.") % {"rule": rule})
    return rule


def _validate_permission(permission: str | None) -> str:
    if permission not in RolePermission.Permission.values:
        raise InvalidParameter(_("Invalid permission %(value)s; use allow or deny.") % {"value": permission})
    return permission


@transaction.atomic
def role_create(*, caller: User, name: str, role_type: str | None = None, description: str = "",
                source: Role | None = None) -> Role:
    """A new custom role; with `source`, a copy of that role's type (unless given) and rules, in order."""
    authorize(caller, "role.create")
    name = _validate_name(name)
    if role_type is None and source is not None:
        role_type = source.role_type
    role_type = _validate_type(role_type)
    role = Role.objects.create(name=name, role_type=role_type, description=(description or "").strip())
    if source is not None:
        RolePermission.objects.bulk_create(
            RolePermission(role=role, rule=rule.rule, permission=rule.permission, sort_order=order,
                           description=rule.description)
            for order, rule in enumerate(source.permissions.order_by("sort_order", "pk")))
    _emit(caller, "ROLE.CREATE", _("Created role %(name)s") % {"name": role.name}, role)
    return role


@transaction.atomic
def role_update(*, caller: User, role: Role, name: str | None = None, role_type: str | None = None,
                description: str | None = None) -> Role:
    authorize(caller, "role.update")
    role = Role.objects.select_for_update().get(pk=role.pk)
    _require_editable(role)
    if name is not None:
        role.name = _validate_name(name, exclude=role)
    if role_type is not None and role_type != role.role_type:
        role_type = _validate_type(role_type)
        if Account.objects.filter(role=role).exists():
            raise ResourceInUse(_("The role %(name)s is held by accounts; its type cannot change.") % {
                "name": role.name})
        role.role_type = role_type
    if description is not None:
        role.description = description.strip()
    role.save()
    _emit(caller, "ROLE.UPDATE", _("Updated role %(name)s") % {"name": role.name}, role)
    return role


@transaction.atomic
def role_delete(*, caller: User, role: Role) -> None:
    authorize(caller, "role.delete")
    role = Role.objects.select_for_update().get(pk=role.pk)
    if role.is_default:
        raise PermissionDenied(_("The built-in role %(name)s cannot be deleted.") % {"name": role.name})
    held = Account.objects.filter(role=role).count()
    if held:
        raise ResourceInUse(_("The role %(name)s is held by %(count)d account(s); give them another role "
                              "first.") % {"name": role.name, "count": held})
    _emit(caller, "ROLE.DELETE", _("Deleted role %(name)s") % {"name": role.name}, role)
    role.delete()


@transaction.atomic
def role_permission_create(*, caller: User, role: Role, rule: str, permission: str,
                           description: str = "") -> RolePermission:
    """A rule appended after the role's existing ones (CloudStack adds new rules last too)."""
    authorize(caller, "role.permission.create")
    role = Role.objects.select_for_update().get(pk=role.pk)
    _require_editable(role)
    rule = validate_rule(rule)
    permission = _validate_permission(permission)
    last = role.permissions.aggregate(last=Max("sort_order"))["last"]
    created = RolePermission.objects.create(role=role, rule=rule, permission=permission,
                                            sort_order=0 if last is None else last + 1,
                                            description=(description or "").strip())
    _emit(caller, "ROLE.PERMISSION.CREATE", _("Added rule %(permission)s %(rule)s to role %(name)s") % {
        "permission": permission, "rule": rule, "name": role.name}, role)
    return created


@transaction.atomic
def role_permission_update(*, caller: User, rule: RolePermission, permission: str) -> RolePermission:
    """Turn one rule from allow to deny or back."""
    authorize(caller, "role.permission.update")
    role = Role.objects.select_for_update().get(pk=rule.role_id)
    _require_editable(role)
    rule = RolePermission.objects.get(pk=rule.pk)
    rule.permission = _validate_permission(permission)
    rule.save(update_fields=["permission"])
    _emit(caller, "ROLE.PERMISSION.UPDATE", _("Rule %(rule)s of role %(name)s now %(permission)s") % {
        "rule": rule.rule, "name": role.name, "permission": rule.permission}, role)
    return rule


@transaction.atomic
def role_permissions_reorder(*, caller: User, role: Role, order: list[str]) -> list[RolePermission]:
    """Put the role's rules in the given order: CloudStack's `ruleorder`, every rule's id exactly once."""
    authorize(caller, "role.permission.update")
    role = Role.objects.select_for_update().get(pk=role.pk)
    _require_editable(role)
    rules = {str(rule.uuid): rule for rule in role.permissions.all()}
    order = [str(item).strip() for item in order]
    if len(order) != len(set(order)) or set(order) != set(rules):
        raise InvalidParameter(_("The new order must list every rule of role %(name)s exactly once.") % {
            "name": role.name})
    for position, rule_id in enumerate(order):
        rules[rule_id].sort_order = position
    RolePermission.objects.bulk_update(rules.values(), ["sort_order"])
    _emit(caller, "ROLE.PERMISSION.UPDATE", _("Reordered the rules of role %(name)s") % {"name": role.name}, role)
    return [rules[rule_id] for rule_id in order]


@transaction.atomic
def role_permission_move(*, caller: User, rule: RolePermission, up: bool) -> list[RolePermission]:
    """Swap a rule with its neighbour above or below (the web UI's arrows); at either end nothing moves."""
    authorize(caller, "role.permission.update")
    Role.objects.select_for_update().get(pk=rule.role_id)
    current = [str(item) for item in
               RolePermission.objects.filter(role_id=rule.role_id).order_by("sort_order", "pk")
               .values_list("uuid", flat=True)]
    index = current.index(str(rule.uuid))
    other = index - 1 if up else index + 1
    if 0 <= other < len(current):
        current[index], current[other] = current[other], current[index]
    return role_permissions_reorder(caller=caller, role=rule.role, order=current)


@transaction.atomic
def role_permission_delete(*, caller: User, rule: RolePermission) -> None:
    authorize(caller, "role.permission.delete")
    role = Role.objects.select_for_update().get(pk=rule.role_id)
    _require_editable(role)
    deleted, _count = RolePermission.objects.filter(pk=rule.pk).delete()
    if deleted:
        _emit(caller, "ROLE.PERMISSION.DELETE", _("Removed rule %(permission)s %(rule)s from role %(name)s") % {
            "permission": rule.permission, "rule": rule.rule, "name": role.name}, role)
