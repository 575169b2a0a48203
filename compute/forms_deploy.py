"""The forms of the deploy wizard's steps (compute.views_deploy), one per step.

Every choice comes from a selector, so a caller can only pick what it may use. A step's form gets what the
earlier steps chose (`chosen`: the zone narrows the images, the image decides whether a root disk offering is
needed, the offering decides whether a size is asked for). Checks that the deploy service would make anyway
are made here too, through the same functions it calls (offering_resolve_size, disk_offering_resolve_size),
so a wrong size is shown on the step that asked for it instead of after the review.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from compute.cloudinit import USER_DATA_MAX_BYTES
from compute.models import AffinityGroup, ServiceOffering
from compute.selectors import offering_list
from compute.selectors_affinity import affinity_group_list
from compute.selectors_keypairs import keypair_list
from compute.services import HOSTNAME_RE
from infrastructure.selectors import zone_list
from portal.errors import InvalidParameter
from storage.models import DiskOffering, Template
from storage.selectors import template_list
from storage.selectors_isos import iso_list

USER_DATA_MAX = USER_DATA_MAX_BYTES  # characters: the service checks the bytes (compute.cloudinit)


def optional_function(module: str, name: str) -> Callable[..., Any] | None:
    """A function of another helper's module that may not exist yet in this checkout (disk offerings and
    offering size checks land in parallel); the wizard leaves out what it cannot offer rather than fail."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def offering_size_text(offering: ServiceOffering) -> str:
    """An offering's sizes in words: fixed values, or the bounds a custom one allows."""
    def one(value: int | None, low: int | None, high: int | None, unit: str) -> str:
        if value is not None:
            return f"{value} {unit}"
        if low is not None or high is not None:
            return f"{low if low is not None else 1}-{high if high is not None else '∞'} {unit}"
        return gettext("any %(unit)s") % {"unit": unit}

    return gettext("%(cpu)s, %(speed)s, %(memory)s") % {
        "cpu": one(offering.cpu_number, offering.min_cpu_number, offering.max_cpu_number, gettext("vCPU")),
        "speed": one(offering.cpu_speed, None, None, gettext("MHz")),
        "memory": one(offering.memory, offering.min_memory, offering.max_memory, gettext("MiB")),
    }


def disk_size_text(offering: DiskOffering) -> str:
    if offering.is_customized:
        return gettext("custom size")
    return gettext("%(size)s GiB") % {"size": round(offering.disk_size / 2**30, 1)}


class OfferingChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ServiceOffering) -> str:
        return gettext("%(name)s (%(size)s)") % {"name": obj.name, "size": offering_size_text(obj)}


class DiskOfferingChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: DiskOffering) -> str:
        return gettext("%(name)s (%(size)s)") % {"name": obj.name, "size": disk_size_text(obj)}


class ImageChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Template) -> str:
        return obj.name


class StepForm(forms.Form):
    """A step's form: `chosen` holds the cleaned values of the steps before it."""

    def __init__(self, *args: Any, caller: User, chosen: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.caller = caller
        self.chosen = chosen


class ZoneStepForm(StepForm):
    zone = forms.ModelChoiceField(label=_("Zone"), queryset=None, to_field_name="uuid", empty_label=None,
                                  widget=forms.RadioSelect)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zone_list(caller=self.caller, available=True)


def image_choices(caller: User, zone: Any) -> dict[str, Any]:
    """The images offered in a zone, in the groups the wizard's tabs show: featured, the caller's own and
    shared templates, and bootable ISOs."""
    def ready(qs: Any) -> Any:
        return qs.filter(is_ready=True)

    featured = ready(template_list(caller=caller, template_filter="featured", zone=zone))
    # Each image once: a featured template of the caller's own is listed as featured only.
    mine = ready(template_list(caller=caller, template_filter="self", zone=zone)).exclude(
        pk__in=featured.values("pk"))
    executable = ready(template_list(caller=caller, template_filter="executable", zone=zone))
    shared = executable.exclude(pk__in=featured.values("pk")).exclude(pk__in=mine.values("pk"))
    isos = ready(iso_list(caller=caller, zone=zone, bootable=True))
    return {"featured": featured, "mine": mine, "shared": shared, "isos": isos,
            "all": executable | isos}


class ImageStepForm(StepForm):
    template = ImageChoiceField(label=_("Template or ISO"), queryset=None, to_field_name="uuid",
                                empty_label=None, error_messages={
                                    "required": _("Choose a template or an ISO."),
                                    "invalid_choice": _("This image is not available in the chosen zone.")})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups = image_choices(self.caller, self.chosen.get("zone"))
        self.fields["template"].queryset = self.groups["all"]


class OfferingStepForm(StepForm):
    service_offering = OfferingChoiceField(label=_("Compute offering"), queryset=None, to_field_name="uuid",
                                           empty_label=None, widget=forms.RadioSelect)
    cpu_number = forms.IntegerField(label=_("CPU cores"), required=False, min_value=1,
                                    help_text=_("Only for a custom offering that leaves it open."))
    cpu_speed = forms.IntegerField(label=_("CPU speed (MHz)"), required=False, min_value=1,
                                   help_text=_("Only for a custom offering that leaves it open."))
    memory = forms.IntegerField(label=_("Memory (MiB)"), required=False, min_value=1,
                                help_text=_("Only for a custom offering that leaves it open."))

    SIZE_FIELDS = ("cpu_number", "cpu_speed", "memory")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service_offering"].queryset = offering_list(caller=self.caller).filter(is_system=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        offering: ServiceOffering | None = data.get("service_offering")
        if offering is None or any(name in self.errors for name in self.SIZE_FIELDS):
            return data
        if not offering.is_customized:
            # A fixed offering's sizes are its own; values typed for another offering are dropped.
            for name in self.SIZE_FIELDS:
                data[name] = None
            return data
        for name in self.SIZE_FIELDS:
            if getattr(offering, name) is None and data.get(name) is None:
                self.add_error(name, gettext("Offering %(name)s asks for this value.") % {"name": offering.name})
            elif getattr(offering, name) is not None:
                data[name] = None
        if self.errors:
            return data
        self._check_bounds(offering, data)
        return data

    def _check_bounds(self, offering: ServiceOffering, data: dict[str, Any]) -> None:
        resolve = optional_function("compute.services_offerings", "offering_resolve_size")
        if resolve is not None:
            try:
                resolve(offering=offering, cpu_number=data.get("cpu_number"), cpu_speed=data.get("cpu_speed"),
                        memory=data.get("memory"))
            except InvalidParameter as exc:
                self.add_error(_size_field_of(exc.message), exc.message)
            return
        # Until the offerings helper's check is in place: the same bounds, checked here.
        for name, low, high in (("cpu_number", offering.min_cpu_number, offering.max_cpu_number),
                                ("memory", offering.min_memory, offering.max_memory)):
            value = data.get(name)
            if value is not None and ((low is not None and value < low) or (high is not None and value > high)):
                self.add_error(name, gettext("Must be between %(low)s and %(high)s.") % {
                    "low": low if low is not None else 1, "high": high if high is not None else "∞"})


def _size_field_of(message: str) -> str | None:
    """Which size field a refusal of offering_resolve_size is about, from the words it names."""
    text = message.lower()
    if "memory" in text:
        return "memory"
    if "speed" in text:
        return "cpu_speed"
    if "cpu" in text:
        return "cpu_number"
    return None


class DiskStepForm(StepForm):
    disk_offering = DiskOfferingChoiceField(label=_("Disk offering"), queryset=None, to_field_name="uuid",
                                            required=False, empty_label=_("No data disk"))
    size_gb = forms.IntegerField(label=_("Disk size (GiB)"), required=False, min_value=1,
                                 help_text=_("Only for a disk offering with a custom size."))
    root_disk_size_gb = forms.IntegerField(label=_("Root disk size (GiB)"), required=False, min_value=1,
                                           help_text=_("Leave empty for the template's size."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lister = optional_function("storage.selectors_disk_offerings", "disk_offering_list")
        offerings = lister(caller=self.caller) if lister is not None else DiskOffering.objects.none()
        field = self.fields["disk_offering"]
        field.queryset = offerings.filter(display_offering=True)
        if self.deploys_iso:
            field.label = _("Root disk offering")
            field.required = True
            field.empty_label = None
            field.help_text = _("An ISO has no disk: the VM's blank root disk is made from this offering.")
            del self.fields["root_disk_size_gb"]
        else:
            field.help_text = _("An empty data disk attached to the VM, besides its root disk.")

    @property
    def deploys_iso(self) -> bool:
        template = self.chosen.get("template")
        return template is not None and template.is_iso

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        offering: DiskOffering | None = data.get("disk_offering")
        if offering is None or "size_gb" in self.errors:
            data["size_gb"] = None if offering is None else data.get("size_gb")
            return data
        if not offering.is_customized:
            data["size_gb"] = None
            return data
        if data.get("size_gb") is None:
            self.add_error("size_gb", gettext("Disk offering %(name)s asks for a size.") % {"name": offering.name})
            return data
        resolve = optional_function("compute.services_offerings", "disk_offering_resolve_size")
        if resolve is not None:
            try:
                resolve(offering=offering, size_gb=data["size_gb"])
            except InvalidParameter as exc:
                self.add_error("size_gb", exc.message)
        return data


class AccessStepForm(StepForm):
    key_pairs = forms.ModelMultipleChoiceField(
        label=_("SSH key pairs"), queryset=None, to_field_name="name", required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Their public keys are put in the VM's authorised keys by cloud-init."))
    user_data = forms.CharField(
        label=_("User data"), required=False, max_length=USER_DATA_MAX, strip=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "mono"}),
        help_text=_("A cloud-init configuration or script, as text; the VM reads it from its config drive."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["key_pairs"].queryset = keypair_list(caller=self.caller).filter(account=self.caller.account)


class AffinityStepForm(StepForm):
    affinity_groups = forms.ModelMultipleChoiceField(
        label=_("Affinity groups"), queryset=None, to_field_name="uuid", required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Anti-affinity keeps the group's VMs on different hosts; affinity puts them on the same host."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["affinity_groups"].queryset = affinity_group_list(caller=self.caller).filter(
            account=self.caller.account)
        self.fields["affinity_groups"].label_from_instance = lambda group: gettext("%(name)s (%(type)s)") % {
            "name": group.name, "type": AffinityGroup.Type(group.group_type).label}


class DetailsStepForm(StepForm):
    name = forms.CharField(
        label=_("Name"), required=False, max_length=63,
        help_text=_("Host name: letters, digits and hyphens, starting with a letter. "
                    "Leave empty to generate one."),
        validators=[RegexValidator(HOSTNAME_RE, _(
            "Use 1-63 letters, digits and hyphens, starting with a letter and not ending with a hyphen."))],
    )
    display_name = forms.CharField(label=_("Display name"), required=False, max_length=255)
    group = forms.CharField(label=_("Group"), required=False, max_length=255,
                            help_text=_("A label to sort your VMs by."))
    start_vm = forms.BooleanField(label=_("Start the VM after creating it"), required=False, initial=True)
