"""CloudStack API declarations of the cloud's settings: listConfigurations, updateConfiguration and
resetConfiguration (CloudStack 4.19 names, parameters and response fields). Imported at the end of
portal.cloudstack.commands, so the registry's autodiscovery finds them.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from portal import services_configuration
from portal.cloudstack.registry import Call, Command, Listing, Param, ParamType, register
from portal.configuration import ConfigEntry, Scope, Target, config_list, target_lookup

CONFIGURATION_FIELDS = ("name", "value", "defaultvalue", "category", "description", "scope", "isdynamic", "type",
                        "options", "id")


def render_configuration(call: Call, entry: ConfigEntry) -> dict[str, Any]:
    """CloudStack's ConfigurationResponse: `scope` is the setting's own scope (where it may be overridden);
    `id` names the zone, cluster or account whose value is shown, when one was asked for."""
    setting = entry.setting
    body: dict[str, Any] = {
        "name": setting.name, "value": entry.text, "defaultvalue": setting.default, "category": setting.category,
        "description": str(setting.description), "scope": str(setting.scope), "isdynamic": setting.dynamic,
        "type": setting.kind.value,
    }
    if setting.choices:
        body["options"] = ",".join(setting.choices)
    if entry.target.scope is not Scope.GLOBAL:
        body["id"] = entry.target.uuid
    return body


SCOPE_PARAMS = (
    Param("zoneid", ParamType.UUID, description=_("The zone of a zone-scoped setting.")),
    Param("clusterid", ParamType.UUID, description=_("The cluster of a cluster-scoped setting.")),
    Param("accountid", ParamType.UUID, description=_("The account of an account-scoped setting.")),
)


def _target(call: Call) -> Target:
    return target_lookup(caller=call.caller, zone_id=call.get("zoneid"), cluster_id=call.get("clusterid"),
                         account_id=call.get("accountid"))


def list_configurations(call: Call) -> list[ConfigEntry]:
    return config_list(caller=call.caller, target=_target(call), name=call.get("name"),
                       category=call.get("category"), keyword=call.get("keyword"))


register(Command(
    name="listConfigurations",
    description=_("Lists the cloud's settings, or the settings of one zone, cluster or account."),
    action="config.list",
    handler=list_configurations,
    params=(
        Param("name", description=_("Lists the setting with this name.")),
        Param("category", description=_("Lists the settings of this category (Advanced, Alert, Storage).")),
        *SCOPE_PARAMS,
    ),
    response_object="configuration",
    response_fields=CONFIGURATION_FIELDS,
    listing=Listing(object_name="configuration", render=render_configuration, id_field=None, name_field=None,
                    keyword_fields=()),
))


def update_configuration(call: Call) -> dict:
    entry = services_configuration.config_update(caller=call.caller, name=call.get("name"),
                                                 value=call.get("value", ""), target=_target(call))
    return {"configuration": render_configuration(call, entry)}


register(Command(
    name="updateConfiguration",
    description=_("Sets a setting globally, or for one zone, cluster or account where the setting has that "
                  "scope."),
    action="config.update",
    handler=update_configuration,
    params=(
        Param("name", required=True, description=_("The name of the setting.")),
        Param("value", max_length=4096, description=_("The new value.")),
        *SCOPE_PARAMS,
    ),
    response_object="configuration",
    response_fields=CONFIGURATION_FIELDS,
))


def reset_configuration(call: Call) -> dict:
    entry = services_configuration.config_reset(caller=call.caller, name=call.get("name"), target=_target(call))
    return {"configuration": render_configuration(call, entry)}


register(Command(
    name="resetConfiguration",
    description=_("Resets a setting to its default, or a zone's, cluster's or account's value to the global "
                  "one."),
    action="config.update",
    handler=reset_configuration,
    params=(
        Param("name", required=True, description=_("The name of the setting.")),
        *SCOPE_PARAMS,
    ),
    response_object="configuration",
    response_fields=CONFIGURATION_FIELDS,
    since="4.16.0",
))
