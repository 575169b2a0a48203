"""REST pieces of the VM lifecycle used by compute.api's VirtualMachineViewSet: the deploy options' references
resolved as the caller, and the bodies of start, destroy and restore."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import User
from infrastructure.selectors import host_list
from portal.errors import NotFound, ServiceError
from portal.lookup import get_by_uuid
from storage.selectors import template_get_executable


def _lookup(errors: dict[str, list[str]], field: str, fetch: Any) -> Any:
    try:
        return fetch()
    except ServiceError as exc:
        errors[field] = [exc.message]
        return None


def resolve_deploy_references(caller: User, attrs: dict[str, Any], resolved: dict[str, Any],
                              errors: dict[str, list[str]]) -> None:
    """Turn the deploy body's ids into rows the caller may use; an unknown id is an error of its field. The
    template may also name a bootable ISO (deploy from ISO)."""
    if "template" in errors and "zone" in resolved:
        try:
            from storage.selectors_isos import image_get_executable

            resolved["template"] = image_get_executable(caller=caller, image_id=str(attrs["template"]),
                                                        zone=resolved["zone"])
            del errors["template"]
        except (ImportError, NotFound):
            pass
    if attrs.get("disk_offering"):
        from storage.selectors_disk_offerings import disk_offering_get

        resolved["disk_offering"] = _lookup(errors, "disk_offering", lambda: disk_offering_get(
            caller=caller, offering_id=str(attrs["disk_offering"])))
    if attrs.get("affinity_groups"):
        from compute.selectors_affinity import affinity_group_get

        groups = [_lookup(errors, "affinity_groups", lambda gid=gid: affinity_group_get(
            caller=caller, group_id=str(gid))) for gid in attrs["affinity_groups"]]
        resolved["affinity_groups"] = [group for group in groups if group is not None]
    if attrs.get("host"):
        resolved["host"] = _lookup(errors, "host", lambda: get_by_uuid(host_list(caller=caller), attrs["host"],
                                                                       _("a host")))


def deploy_options(data: dict[str, Any]) -> dict[str, Any]:
    """The validated body's optional deploy arguments, as compute.services.vm_deploy names them."""
    options: dict[str, Any] = {}
    for field in ("disk_offering", "size_gb", "root_disk_size_gb", "cpu_number", "cpu_speed", "memory", "host",
                  "group", "user_data"):
        if data.get(field) not in (None, ""):
            options[field] = data[field]
    if data.get("key_pairs"):
        options["key_pairs"] = list(data["key_pairs"])
    if data.get("affinity_groups"):
        options["affinity_groups"] = list(data["affinity_groups"])
    return options


class VirtualMachineStartSerializer(serializers.Serializer):
    host = serializers.UUIDField(required=False, help_text=_("Start on this host (root administrators)."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("host"):
            caller = self.context["request"].user
            try:
                attrs["host"] = get_by_uuid(host_list(caller=caller), attrs["host"], _("a host"))
            except ServiceError as exc:
                raise serializers.ValidationError({"host": [exc.message]}) from exc
        return attrs


class VirtualMachineDestroySerializer(serializers.Serializer):
    expunge = serializers.BooleanField(required=False, default=False, help_text=_(
        "Expunge at once instead of after the expunge delay (administrators, or users when "
        "allow.user.expunge.recover.vm is true)."))


class VirtualMachineRestoreSerializer(serializers.Serializer):
    template = serializers.UUIDField(required=False, help_text=_(
        "Restore from this template instead of the VM's own."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("template"):
            caller = self.context["request"].user
            try:
                attrs["template"] = template_get_executable(caller=caller, template_id=str(attrs["template"]))
            except ServiceError as exc:
                raise serializers.ValidationError({"template": [exc.message]}) from exc
        return attrs
