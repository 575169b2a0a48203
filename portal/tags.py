"""CloudStack's comma lists (host tags, storage tags, physical network tags and isolation methods).

Stored normalised (stripped, no empties, no duplicates, first order kept) so that matching a tag is an exact
comparison, in Python and in SQL alike."""

from __future__ import annotations

from collections.abc import Iterable

from portal.errors import InvalidParameter

MAX_LENGTH = 1024  # the width of every tags column


def comma_list(value: str | Iterable[str] | None) -> list[str]:
    """A comma list (or an iterable of items) as its normalised items."""
    items = value.split(",") if isinstance(value, str) else (value or ())
    result: list[str] = []
    for item in items:
        text = str(item).strip()
        if text and text not in result:
            result.append(text)
    return result


def tags_text(value: str | Iterable[str] | None, *, too_long: str) -> str:
    """The normalised comma list as stored; `too_long` is the refusal when it does not fit its column."""
    text = ",".join(comma_list(value))
    if len(text) > MAX_LENGTH:
        raise InvalidParameter(too_long)
    return text
