"""Web UI forms of the tenancy administration: domains, accounts and their users.

The forms only parse: names, e-mail addresses, passwords and the rules of the tree are checked by the
services (accounts.services_domains / _accounts / _users / _security), whose refusals the views show as form
errors. Choices come from selectors, so an administrator can only pick domains and roles within reach.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import Account, Domain, User
from accounts.roles import ROLE_TYPE_OF_ACCOUNT, Role
from accounts.selectors import domain_list
from accounts.selectors_roles import role_list

NAME_MAX = 255
PERSON_NAME_MAX = 150

ACCOUNT_TYPE_CHOICES = [(Account.Type.USER, Account.Type.USER.label),
                        (Account.Type.DOMAIN_ADMIN, Account.Type.DOMAIN_ADMIN.label),
                        (Account.Type.ROOT_ADMIN, Account.Type.ROOT_ADMIN.label)]


def role_list_for(*, caller: User, account_type: int | None = None) -> QuerySet[Role]:
    """The roles the caller may see (and so give), of one account type's role type if given."""
    role_type = ROLE_TYPE_OF_ACCOUNT[Account.Type(account_type)] if account_type is not None else None
    return role_list(caller=caller, role_type=role_type).order_by("name", "pk")


class DomainChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Domain) -> str:
        return obj.cloudstack_path


class RoleChoiceField(forms.ModelChoiceField):
    """A role select grouped by the account type each role fits, so the right one is easy to find even
    when all roles are offered (without JavaScript the list cannot follow the chosen account type)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("to_field_name", "uuid")
        kwargs.setdefault("required", False)
        kwargs.setdefault("empty_label", _("The default role of the account type"))
        super().__init__(*args, **kwargs)

    def _get_choices(self) -> list[tuple[Any, Any]]:
        if self.queryset is None:
            return []
        groups: dict[str, list[tuple[str, str]]] = {}
        for role in self.queryset:
            groups.setdefault(role.role_type, []).append((str(role.uuid), role.name))
        choices: list[tuple[Any, Any]] = [("", self.empty_label)] if self.empty_label is not None else []
        for account_type, _label in ACCOUNT_TYPE_CHOICES:
            role_type = ROLE_TYPE_OF_ACCOUNT[account_type]
            if role_type in groups:
                choices.append((Account.Type(account_type).label, groups.pop(role_type)))
        choices.extend((role_type, options) for role_type, options in groups.items())
        return choices

    choices = property(_get_choices, forms.ChoiceField.choices.fset)


class DomainForm(forms.Form):
    """A subdomain to create, or a domain's new name and network domain."""

    name = forms.CharField(label=_("Name"), max_length=NAME_MAX)
    network_domain = forms.CharField(
        label=_("Network domain"), max_length=NAME_MAX, required=False,
        help_text=_("The DNS suffix of the guest networks in this domain, e.g. sales.example.com."))

    def __init__(self, *args: Any, rename: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not rename:  # the ROOT domain keeps its name
            self.fields["name"].disabled = True


class DomainDeleteForm(forms.Form):
    cleanup = forms.BooleanField(
        label=_("Delete everything inside (cleanup)"), required=False,
        help_text=_("Also delete its subdomains and all their accounts, with their users and virtual machines. "
                    "Without this, only an empty domain can be deleted."))


class PasswordFields(forms.Form):
    """A new password typed twice; Django's password validators run in the service."""

    password = forms.CharField(label=_("Password"), strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password_confirm = forms.CharField(label=_("Confirm the password"), strip=False,
                                       widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("password") and data.get("password_confirm") and data["password"] != data["password_confirm"]:
            self.add_error("password_confirm", _("The two passwords differ."))
        return data


class UserFields(PasswordFields):
    username = forms.CharField(label=_("User name"), max_length=PERSON_NAME_MAX,
                               widget=forms.TextInput(attrs={"autocomplete": "off"}))
    email = forms.EmailField(label=_("Email"), required=False)
    first_name = forms.CharField(label=_("First name"), max_length=PERSON_NAME_MAX, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=PERSON_NAME_MAX, required=False)

    field_order = ["username", "password", "password_confirm", "email", "first_name", "last_name"]


class UserCreateForm(UserFields):
    pass


class AccountCreateForm(UserFields):
    """CloudStack's Add account: where, what kind, and the account's first user."""

    domain = DomainChoiceField(label=_("Domain"), queryset=Domain.objects.none(), to_field_name="uuid",
                               empty_label=None)
    account_type = forms.TypedChoiceField(label=_("Account type"), coerce=int, choices=ACCOUNT_TYPE_CHOICES,
                                          initial=Account.Type.USER)
    role = RoleChoiceField(label=_("Role"), queryset=None)
    name = forms.CharField(label=_("Account name"), max_length=NAME_MAX, required=False,
                           help_text=_("Leave empty to name the account after its first user."))

    field_order = ["domain", "account_type", "role", "name", *UserFields.field_order]

    def __init__(self, *args: Any, caller: User, role_type_of: int | None = None, **kwargs: Any) -> None:
        """`role_type_of`: offer only the roles of this account type (the page asks for them once a type is
        picked); otherwise every role, grouped by type."""
        super().__init__(*args, **kwargs)
        self.fields["domain"].queryset = domain_list(caller=caller)
        self.fields["role"].queryset = role_list_for(caller=caller, account_type=role_type_of)


class AccountEditForm(forms.Form):
    name = forms.CharField(label=_("Account name"), max_length=NAME_MAX)
    role = RoleChoiceField(label=_("Role"), queryset=None, empty_label=_("Keep the current role"))

    def __init__(self, *args: Any, caller: User, account: Account, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"name": account.name})
        super().__init__(*args, **kwargs)
        self.fields["role"].queryset = role_list_for(caller=caller, account_type=account.account_type)


class UserEditForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=PERSON_NAME_MAX)
    email = forms.EmailField(label=_("Email"), required=False)
    first_name = forms.CharField(label=_("First name"), max_length=PERSON_NAME_MAX, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=PERSON_NAME_MAX, required=False)

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"username": user.username, "email": user.email,
                                      "first_name": user.first_name, "last_name": user.last_name})
        super().__init__(*args, **kwargs)
        if user.source != "native":  # the directory owns an LDAP user's name
            self.fields["username"].disabled = True


class PasswordResetForm(PasswordFields):
    pass


class AccountFilterForm(forms.Form):
    """The account list's search box and filters (GET)."""

    q = forms.CharField(label=_("Search"), required=False, max_length=255)
    state = forms.ChoiceField(label=_("State"), required=False,
                              choices=[("", _("All states")), *Account.State.choices])
    account_type = forms.TypedChoiceField(label=_("Account type"), required=False, coerce=int, empty_value=None,
                                          choices=[("", _("All types")), *ACCOUNT_TYPE_CHOICES])
    # Set by the domain tree's links (accounts of one domain); kept by the search form.
    domain = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
