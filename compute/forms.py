"""Web UI forms for VMs: the list's filters and the actions that need input (scale, change offering, attach an
ISO, reset the SSH key, migrate). Choices come from selectors, so a caller can only pick what it may use; the
deploy wizard's forms are in compute.forms_deploy."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import account_list, domain_list
from compute.forms_deploy import OfferingChoiceField, OfferingStepForm
from compute.models import VirtualMachine
from compute.selectors import offering_list
from compute.selectors_keypairs import keypair_list
from compute.states import VmState
from infrastructure.selectors import zone_list
from storage.selectors_isos import iso_list


class VmFilterForm(forms.Form):
    """The VM list's search box and filters (GET); admins also filter by account and domain."""

    q = forms.CharField(label=_("Search"), required=False, max_length=255)
    state = forms.ChoiceField(label=_("State"), required=False,
                              choices=[("", _("All states")), *VmState.choices])
    zone = forms.ModelChoiceField(label=_("Zone"), required=False, queryset=None, to_field_name="uuid",
                                  empty_label=_("All zones"))
    account = forms.ModelChoiceField(label=_("Account"), required=False, queryset=None, to_field_name="uuid",
                                     empty_label=_("All accounts"))
    domain = forms.ModelChoiceField(label=_("Domain"), required=False, queryset=None, to_field_name="uuid",
                                    empty_label=_("All domains"))

    def __init__(self, *args: Any, caller: User, admin: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["zone"].queryset = zone_list(caller=caller)
        if admin:
            self.fields["account"].queryset = account_list(caller=caller).order_by("name")
            self.fields["account"].label_from_instance = lambda account: gettext("%(name)s (%(domain)s)") % {
                "name": account.name, "domain": account.domain.cloudstack_path}
            self.fields["domain"].queryset = domain_list(caller=caller).order_by("path")
            self.fields["domain"].label_from_instance = lambda domain: domain.cloudstack_path
        else:
            del self.fields["account"], self.fields["domain"]


class VmActionForm(forms.Form):
    """The form of an action that needs input; it gets the VM and the caller for its choices."""

    def __init__(self, *args: Any, caller: User, vm: VirtualMachine, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.caller = caller
        self.vm = vm


class ResizeForm(VmActionForm):
    """Scale (running) or change the offering (stopped): an offering, and the sizes a custom one asks for,
    checked as the deploy wizard checks them."""

    service_offering = OfferingChoiceField(label=_("Compute offering"), queryset=None, to_field_name="uuid",
                                           empty_label=None)
    cpu_number = forms.IntegerField(label=_("CPU cores"), required=False, min_value=1)
    cpu_speed = forms.IntegerField(label=_("CPU speed (MHz)"), required=False, min_value=1)
    memory = forms.IntegerField(label=_("Memory (MiB)"), required=False, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["service_offering"].queryset = offering_list(caller=self.caller).filter(is_system=False)
        self.fields["service_offering"].initial = self.vm.service_offering.uuid
        help_text = _("Only for a custom offering that leaves it open.")
        for name in OfferingStepForm.SIZE_FIELDS:
            self.fields[name].help_text = help_text

    def clean(self) -> dict[str, Any]:
        # The same checks as the wizard's offering step, on the same field names.
        data = super().clean()
        step = OfferingStepForm(self.data, caller=self.caller, chosen={})
        if step.is_valid():
            data.update({name: step.cleaned_data[name] for name in OfferingStepForm.SIZE_FIELDS})
        else:
            for name, errors in step.errors.items():
                if name in self.fields and name not in self.errors:
                    for error in errors:
                        self.add_error(name if name != "__all__" else None, error)
        return data


class AttachIsoForm(VmActionForm):
    iso = forms.ModelChoiceField(label=_("ISO"), queryset=None, to_field_name="uuid", empty_label=None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["iso"].queryset = iso_list(caller=self.caller, zone=self.vm.zone).filter(is_ready=True)


class ResetSshKeyForm(VmActionForm):
    key_pairs = forms.ModelMultipleChoiceField(
        label=_("SSH key pairs"), queryset=None, to_field_name="name", widget=forms.CheckboxSelectMultiple,
        help_text=_("They replace the VM's authorised keys at its next start."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["key_pairs"].queryset = keypair_list(caller=self.caller).filter(account=self.vm.account_id)


class MigrateForm(VmActionForm):
    """The target host: one of the suitable hosts, or none to let the planner choose."""

    host = forms.ChoiceField(label=_("Target host"), required=False)

    def __init__(self, *args: Any, candidates: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.candidates = {str(c.host.uuid): c for c in candidates}
        choices: list[tuple[str, str]] = [("", gettext("Let the planner choose"))]
        for key, candidate in self.candidates.items():
            label = candidate.host.name
            if not candidate.suitable:
                label = gettext("%(name)s (not suitable: %(reason)s)") % {"name": label,
                                                                           "reason": candidate.reason}
            choices.append((key, label))
        self.fields["host"].choices = choices

    def clean_host(self) -> Any:
        key = self.cleaned_data["host"]
        return self.candidates[key].host if key else None
