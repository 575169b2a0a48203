"""Web UI forms of roles and their rules. They only parse; names, types and rule patterns are checked by
accounts.services_roles, whose refusals the views show as form errors."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.roles import Role, RolePermission, RoleType
from accounts.selectors_roles import role_list


class RoleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=255)
    role_type = forms.ChoiceField(label=_("Role type"), choices=RoleType.choices, help_text=_(
        "Which accounts may hold the role: Admin for root admins, Domain admin for domain admins, User for "
        "users. The type is also the most the role can ever allow."))
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))


class RoleCreateForm(RoleForm):
    source = forms.ModelChoiceField(label=_("Copy the rules of"), queryset=Role.objects.none(), required=False,
                                    to_field_name="uuid", empty_label=_("No role: start without rules"))

    def __init__(self, *args: Any, caller: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = role_list(caller=caller).order_by("name", "pk")


class RuleForm(forms.Form):
    rule = forms.CharField(label=_("Rule"), max_length=255, help_text=_(
        "An action such as vm.deploy or an API command such as deployVirtualMachine; * matches anything, e.g. "
        "vm.* or list*."))
    permission = forms.ChoiceField(label=_("Permission"), choices=RolePermission.Permission.choices,
                                   initial=RolePermission.Permission.ALLOW)
    description = forms.CharField(label=_("Description"), required=False, max_length=1000)
