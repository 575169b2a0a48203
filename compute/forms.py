"""Web UI forms for VMs. Choices come from selectors, so a caller can only pick what it may use."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from compute.models import ServiceOffering
from compute.selectors import offering_list
from compute.services import HOSTNAME_RE
from compute.states import VmState
from infrastructure.selectors import zone_list
from storage.models import Template
from storage.selectors import template_list


class OfferingChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ServiceOffering) -> str:
        return gettext("%(name)s (%(cpu)s vCPU, %(speed)s MHz, %(memory)s MiB)") % {
            "name": obj.name, "cpu": obj.cpu_number, "speed": obj.cpu_speed, "memory": obj.memory}


class TemplateChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Template) -> str:
        if obj.zone_id:
            return gettext("%(name)s (zone %(zone)s only)") % {"name": obj.name, "zone": obj.zone.name}
        return obj.name


class DeployVmForm(forms.Form):
    zone = forms.ModelChoiceField(label=_("Zone"), queryset=None, to_field_name="uuid",
                                  empty_label=None)
    service_offering = OfferingChoiceField(label=_("Compute offering"), queryset=None, to_field_name="uuid",
                                           empty_label=None)
    template = TemplateChoiceField(label=_("Template"), queryset=None, to_field_name="uuid",
                                   empty_label=None)
    name = forms.CharField(
        label=_("Name"), required=False, max_length=63,
        help_text=_("Host name: letters, digits and hyphens, starting with a letter. "
                    "Leave empty to generate one."),
        validators=[RegexValidator(HOSTNAME_RE, _(
            "Use 1-63 letters, digits and hyphens, starting with a letter and not ending with a hyphen."))],
    )
    display_name = forms.CharField(label=_("Display name"), required=False, max_length=255)
    start_vm = forms.BooleanField(label=_("Start the VM after creating it"), required=False, initial=True)

    def __init__(self, *args: Any, caller: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zone_list(caller=caller, available=True)
        self.fields["service_offering"].queryset = offering_list(caller=caller)
        self.fields["template"].queryset = template_list(caller=caller, template_filter="executable").filter(
            is_ready=True)


class VmFilterForm(forms.Form):
    """The VM list's search box and state filter (GET)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=255)
    state = forms.ChoiceField(label=_("State"), required=False,
                              choices=[("", _("All states")), *VmState.choices])
