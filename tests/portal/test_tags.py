"""portal.tags: the one normalisation of CloudStack's comma lists (host, storage and network tags)."""

from __future__ import annotations

import pytest

from portal.errors import InvalidParameter
from portal.tags import comma_list, tags_text


def test_comma_list_strips_drops_empties_and_duplicates_keeping_order():
    assert comma_list(" ssd, gpu,,ssd , fast ") == ["ssd", "gpu", "fast"]
    assert comma_list(["b", " a", "b"]) == ["b", "a"]
    assert comma_list(None) == [] and comma_list("") == []


def test_tags_text_refuses_what_does_not_fit_its_column_with_the_callers_message():
    assert tags_text("a, b", too_long="nope") == "a,b"
    with pytest.raises(InvalidParameter, match="nope"):
        tags_text(",".join(f"tag{n}" for n in range(300)), too_long="nope")
