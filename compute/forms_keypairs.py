"""Forms of the key pair and affinity group pages: they only shape the input; the services decide (name
uniqueness, key validity, group types) and their refusals are shown on the form (portal.ui.forms)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from compute.models import AffinityGroup
from compute.services_keypairs import NAME_MAX_LENGTH


class KeyPairCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=NAME_MAX_LENGTH)


class KeyPairRegisterForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=NAME_MAX_LENGTH)
    public_key = forms.CharField(
        label=_("Public key"), widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
        help_text=_("An OpenSSH public key, e.g. the contents of ~/.ssh/id_ed25519.pub."))


class AffinityGroupForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=255)
    group_type = forms.ChoiceField(
        label=_("Type"), choices=AffinityGroup.Type.choices,
        help_text=_("Anti-affinity keeps the group's VMs on different hosts; affinity keeps them on one host."))
    description = forms.CharField(label=_("Description"), max_length=4096, required=False)
