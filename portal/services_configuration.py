"""Changing the cloud's settings (CloudStack's updateConfiguration and resetConfiguration).

A value is parsed and range-checked against its declaration (portal.configuration) before anything is
written, so a refused change leaves every value as it was. Each change emits an event naming the actor.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from portal.configuration import (
    ConfigEntry,
    Scope,
    Setting,
    Target,
    authorize_target,
    check_scope,
    config_list,
    config_value,
    setting_get,
)
from portal.events import event_emit
from portal.models import ConfigurationValue

EVENT_EDIT = "CONFIGURATION.VALUE.EDIT"
EVENT_RESET = "CONFIGURATION.VALUE.RESET"


def _entry(caller: User, setting: Setting, target: Target) -> ConfigEntry:
    return config_list(caller=caller, target=target, name=setting.name)[0]


def _event(caller: User, type: str, description: str, target: Target) -> None:
    # An account's setting is recorded on that account, so its domain's admins see who changed it.
    account = target.obj if target.scope is Scope.ACCOUNT else caller.account
    if account is not None:
        event_emit(type=type, description=description, account=account, user=caller)


def _where(target: Target) -> str:
    return _("globally") if target.obj is None else _("for %(scope)s %(name)s") % {
        "scope": target.scope, "name": getattr(target.obj, "name", target.obj.pk)}


@transaction.atomic
def config_update(*, caller: User, name: str, value: object, target: Target) -> ConfigEntry:
    """Set a setting at one target (global, or a zone/cluster/account where the setting has that scope)."""
    setting = setting_get(name)
    check_scope(setting, target)
    authorize_target(caller, "config.update", target)
    typed = setting.parse(value)
    if setting.cluster_field and target.scope is Scope.CLUSTER:
        setattr(target.obj, setting.cluster_field, float(typed))
        target.obj.save(update_fields=[setting.cluster_field])
    else:
        ConfigurationValue.objects.update_or_create(name=name, scope=target.scope, scope_id=target.scope_id,
                                                    defaults={"value": setting.text(typed)})
    _event(caller, EVENT_EDIT, _("Set %(name)s to %(value)s %(where)s.") % {
        "name": name, "value": setting.text(typed), "where": _where(target)}, target)
    return _entry(caller, setting, target)


@transaction.atomic
def config_reset(*, caller: User, name: str, target: Target) -> ConfigEntry:
    """Drop the value set at a target, so the next broader one applies (a global value: the default). A
    cluster's overprovisioning factor, which a cluster always has, takes the global value again."""
    setting = setting_get(name)
    check_scope(setting, target)
    authorize_target(caller, "config.update", target)
    if setting.cluster_field and target.scope is Scope.CLUSTER:
        setattr(target.obj, setting.cluster_field, float(config_value(name)))
        target.obj.save(update_fields=[setting.cluster_field])
    else:
        ConfigurationValue.objects.filter(name=name, scope=target.scope, scope_id=target.scope_id).delete()
    _event(caller, EVENT_RESET, _("Reset %(name)s %(where)s.") % {"name": name, "where": _where(target)}, target)
    return _entry(caller, setting, target)
