"""Query-parameter filters of REST lists (django-filter), applied by DjangoFilterBackend.

A list's rows come from a selector, already scoped to the caller's tenancy; a FilterSet only narrows
them. Where a filter's meaning belongs to the domain (CloudStack's templatefilter, say), its method asks the
selector and keeps the rows it returns, so that meaning is written once.

An invalid value is a 400 whose `fields` names the parameter (DjangoFilterBackend raises DRF's
ValidationError, which portal.rest.errors renders), never a silently ignored parameter.
"""

from __future__ import annotations

from typing import Any, ClassVar

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _
from django_filters import fields as filter_fields
from django_filters.rest_framework import FilterSet as RestFilterSet
from rest_framework import serializers

from accounts.models import User


class FilterSet(RestFilterSet):
    """The base of every list's filters. `defaults` are values a parameter takes when the query does not
    give it (django-filter skips absent parameters, but some defaults narrow, e.g. "no destroyed VMs")."""

    defaults: ClassVar[dict[str, str]] = {}

    def __init__(self, data: Any = None, *args: Any, **kwargs: Any) -> None:
        if data is not None and self.defaults:
            data = data.copy()
            for name, value in self.defaults.items():
                if not data.get(name):
                    data[name] = value
        super().__init__(data, *args, **kwargs)

    @property
    def caller(self) -> User:
        return self.request.user


class StrictBooleanField(forms.Field):
    """true/false (and DRF's other spellings); anything else is an error, where django-filter's own
    boolean widget would quietly treat it as absent and return an unfiltered list."""

    widget = forms.Select(choices=[("", "---------"), ("true", _("Yes")), ("false", _("No"))])
    default_error_messages = {"invalid": _("Must be true or false.")}

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {str(v).lower() for v in serializers.BooleanField.TRUE_VALUES}:
            return True
        if text in {str(v).lower() for v in serializers.BooleanField.FALSE_VALUES}:
            return False
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class CaseInsensitiveChoiceField(filter_fields.ChoiceField):
    """Accepts a choice in any letter case and yields it as declared ("running" -> "Running"): CloudStack
    matches state names without regard to case, and the database compares them exactly."""

    def to_python(self, value: Any) -> str:
        value = super().to_python(value)
        if not value:
            return value
        canonical = {str(key).lower(): str(key) for key, _label in self.choices if key != ""}
        return canonical.get(value.lower(), value)


class CaseInsensitiveChoiceFilter(django_filters.ChoiceFilter):
    field_class = CaseInsensitiveChoiceField
