"""Query-count checks for list pages, REST lists and CloudStack list commands.

A list that runs one query per row (a missing select_related/prefetch_related, a property reaching through a
foreign key in a template or serializer) stays fast with the handful of rows a test makes and falls over in
production. These helpers count a request's queries, add rows, count again and require the same number, so an
N+1 regression fails the test instead of slipping through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connection
from django.test.utils import CaptureQueriesContext

T = TypeVar("T")


def ok(response: Any, status: int = 200) -> Any:
    """Counting the queries of an error page proves nothing, so every counted request asserts its status."""
    assert response.status_code == status, response.content
    return response


def count_queries(call: Callable[[], T]) -> tuple[int, T]:
    """The number of queries `call` ran, and what it returned (to assert on the rows it saw)."""
    with CaptureQueriesContext(connection) as captured:
        result = call()
    return len(captured), result


def assert_queries_constant(request: Callable[[], T], grow: Callable[[], object], *, warm: bool = True,
                            at_most: int | None = None) -> tuple[T, T]:
    """Count `request`, `grow()` the data, count it again: the two counts must be equal (and at most
    `at_most`, where a fixed ceiling guards against a constant but wasteful list).

    `warm` runs the request once uncounted first, so caches filled once per process (content types, the
    caller's role rules) do not pass for a difference made by the rows. Returns the results before and after
    growing, for the caller to check that the rows really were listed.
    """
    if warm:
        request()
    small, before = count_queries(request)
    grow()
    large, after = count_queries(request)
    assert large == small, f"{small} queries before adding rows, {large} after: one query per row (N+1)?"
    if at_most is not None:
        assert large <= at_most, f"{large} queries, more than the {at_most} this list needs"
    return before, after
