"""Typed parsing of a command's parameters. Everything is validated before the handler runs, so a bad
value is refused with 431 and nothing is changed."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from portal.cloudstack.registry import Command, Param, ParamType
from portal.errors import InvalidParameter

INT_RANGES = {
    ParamType.SHORT: (-(2**15), 2**15 - 1),
    ParamType.INTEGER: (-(2**31), 2**31 - 1),
    ParamType.LONG: (-(2**63), 2**63 - 1),
}
# tags[0].key=... -> ("tags", "0", "key")
MAP_KEY_RE = re.compile(r"^([a-z0-9_]+)\[(\d+)\]\.([a-z0-9_]+)$")


def parse_params(command: Command, raw: dict[str, str]) -> dict[str, Any]:
    """Typed values of the command's declared parameters, keyed by lower-case name.

    `raw` maps lower-cased wire names to their (first) values. Unknown parameters are ignored, as
    CloudStack does. Absent or empty optional parameters take their default (and are left out when it
    is None).
    """
    parsed: dict[str, Any] = {}
    for param in command.all_params:
        if param.type is ParamType.MAP:
            value: Any = _parse_map(param, raw)
            present = bool(value)
        else:
            text = raw.get(param.name)
            present = text is not None and text != ""
            value = _convert(param, text) if present else None
        if not present:
            if param.required:
                raise InvalidParameter(
                    _("Unable to execute API command %(command)s due to missing parameter %(param)s.")
                    % {"command": command.key, "param": param.name}
                )
            if param.default is not None:
                parsed[param.name] = param.default
            continue
        parsed[param.name] = value
    return parsed


def _invalid(param: Param, value: object, why: str) -> InvalidParameter:
    return InvalidParameter(
        _("Invalid parameter %(param)s value=%(value)s: %(why)s")
        % {"param": param.name, "value": value, "why": why}
    )


def _convert(param: Param, text: str) -> Any:
    if param.type is ParamType.LIST:
        items = [item.strip() for item in text.split(",") if item.strip()]
        item_param = Param(param.name, param.item_type, max_length=param.max_length)
        return [_convert_scalar(item_param, item) for item in items]
    return _convert_scalar(param, text)


def _convert_scalar(param: Param, text: str) -> Any:
    kind = param.type
    if kind is ParamType.STRING:
        limit = param.length
        if limit is not None and len(text) > limit:
            raise _invalid(param, text[:40] + "…", _("longer than %(n)d characters.") % {"n": limit})
        if param.choices is not None and text.lower() not in param.choices:
            raise _invalid(param, text, _("must be one of %(choices)s.") % {"choices": ", ".join(param.choices)})
        return text.lower() if param.choices is not None else text
    if kind is ParamType.UUID:
        try:
            return str(uuid.UUID(text))
        except ValueError:
            raise _invalid(param, text[:64], _("not a valid UUID.")) from None
    if kind in INT_RANGES:
        try:
            number = int(text.strip())
        except ValueError:
            raise _invalid(param, text[:40], _("not a whole number.")) from None
        low, high = INT_RANGES[kind]
        if not low <= number <= high:
            raise _invalid(param, text[:40], _("out of range."))
        return number
    if kind is ParamType.BOOLEAN:
        lowered = text.strip().lower()
        if lowered not in ("true", "false"):
            raise _invalid(param, text[:40], _("must be true or false."))
        return lowered == "true"
    if kind is ParamType.DATE:
        return parse_date(text, param)
    raise _invalid(param, text[:40], _("unsupported parameter type."))


def parse_date(text: str, param: Param | None = None) -> datetime:
    """CloudStack dates: yyyy-MM-dd, or a date-time with an offset (ISO 8601 / RFC 3339)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        if param is None:
            raise
        raise _invalid(param, text[:40], _("not a date (use yyyy-MM-dd or yyyy-MM-dd'T'HH:mm:ssZ).")) from None
    return value


def _parse_map(param: Param, raw: dict[str, str]) -> list[dict[str, str]]:
    """`tags[0].key=a&tags[0].value=b&tags[1].key=...` -> [{"key": "a", "value": "b"}, ...] by index."""
    entries: dict[int, dict[str, str]] = {}
    for name, value in raw.items():
        match = MAP_KEY_RE.match(name)
        if match is None or match.group(1) != param.name:
            continue
        limit = param.length or 255
        if len(value) > limit:
            raise _invalid(param, name, _("longer than %(n)d characters.") % {"n": limit})
        entries.setdefault(int(match.group(2)), {})[match.group(3)] = value
    return [entries[index] for index in sorted(entries)]
