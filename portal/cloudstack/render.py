"""Serializing answers the way CloudStack does, in JSON or XML.

An answer is one top-level key, `<command lower-cased>response`, around a body dict. Bodies are plain
data: str, int, bool, datetime, nested dicts and lists of dicts. None values are left out (CloudStack omits
null fields); lists stay, even empty (typed clients iterate `nic` and friends without checking).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from django.http import HttpResponse

from portal.cloudstack.registry import API_LEVEL
from portal.errors import ServiceError

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
XML_CONTENT_TYPE = "text/xml; charset=utf-8"

REASONS = {
    401: "Unauthorized", 405: "Method Not Allowed", 429: "Too Many Requests", 430: "Malformed Parameter",
    431: "Invalid Parameter", 432: "Unsupported Action", 530: "Internal Error", 531: "Account Error",
    532: "Account Resource Limit", 533: "Insufficient Capacity", 534: "Resource Unavailable",
    535: "Resource Allocation Error", 536: "Resource In Use", 537: "Network Rule Conflict",
}


def format_date(value: datetime | date) -> str:
    """yyyy-MM-dd'T'HH:mm:ssZ in UTC, e.g. 2026-11-26T12:00:00+0000."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.strftime("%Y-%m-%dT%H:%M:%S+0000")
    return value.isoformat()


def clean(value: Any) -> Any:
    """Body data ready for serialization: dates formatted, None dropped, uuids as strings."""
    if isinstance(value, Mapping):
        return {str(k): clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value if v is not None]
    if isinstance(value, (datetime, date)):
        return format_date(value)
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def list_body(object_name: str, count: int, items: Sequence[dict]) -> dict:
    """CloudStack's list shape: `count` (total matches, not the page length) and the page's objects.

    Nothing matched: an empty body. A page past the end: only the count.
    """
    if count == 0:
        return {}
    if not items:
        return {"count": count}
    return {"count": count, object_name: list(items)}


def error_body(exc: ServiceError) -> dict:
    return {"uuidList": [], "errorcode": exc.errorcode, "cserrorcode": exc.cserrorcode, "errortext": exc.message}


def to_json(answer_name: str, body: dict) -> bytes:
    return json.dumps({answer_name: clean(body)}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _xml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _xml_fields(body: Mapping[str, Any], out: list[str]) -> None:
    for key, value in body.items():
        if isinstance(value, Mapping):
            out.append(f"<{key}>")
            _xml_fields(value, out)
            out.append(f"</{key}>")
        elif isinstance(value, list):
            for item in value:
                out.append(f"<{key}>")
                if isinstance(item, Mapping):
                    _xml_fields(item, out)
                else:
                    out.append(_xml_value(item))
                out.append(f"</{key}>")
        else:
            out.append(f"<{key}>{_xml_value(value)}</{key}>")


def to_xml(answer_name: str, body: dict) -> bytes:
    out = ['<?xml version="1.0" encoding="UTF-8"?>', f"<{answer_name} cloud-stack-version={quoteattr(API_LEVEL)}>"]
    _xml_fields(clean(body), out)
    out.append(f"</{answer_name}>")
    return "".join(out).encode("utf-8")


def respond(answer_name: str, body: dict, *, as_json: bool, status: int = 200) -> HttpResponse:
    if as_json:
        content, content_type = to_json(answer_name, body), JSON_CONTENT_TYPE
    else:
        content, content_type = to_xml(answer_name, body), XML_CONTENT_TYPE
    return HttpResponse(content, content_type=content_type, status=status, reason=REASONS.get(status))


def respond_error(answer_name: str, exc: ServiceError, *, as_json: bool) -> HttpResponse:
    """HTTP status = errorcode, as CloudStack answers (clients read either)."""
    return respond(answer_name, error_body(exc), as_json=as_json, status=exc.errorcode)
