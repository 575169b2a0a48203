"""The web UI's one table pattern: search, column sorting, paging, and htmx partial updates.

Every list page (VMs, jobs, events, zones, hosts) declares a `TableSpec` as data and renders through
`render_table`, so a new list page is one spec, one row template and one view. What the pattern guarantees:

- Sorting only by declared columns (`?sort=name`, `?sort=-created`); anything else falls back to the
  default, so a query string can never order by an arbitrary (maybe private) field. The primary key breaks
  ties in the same direction, so pages neither overlap nor skip rows and reversing a sort reverses the
  rows exactly. NULLs sort last in both directions on every database.
- Search narrows the queryset the selector returned (already scoped to the caller), never widens it.
- An htmx request aimed at the table (`HX-Request: true`, `HX-Target: <table id>`) gets only the table;
  every other request gets the whole page, so the page works without JavaScript and with the browser's
  history (htmx asks for the whole page when it restores history).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import F, OrderBy, Q, QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.functional import Promise

PAGE_SIZE = 20
SORT_PARAM = "sort"
SEARCH_PARAM = "q"
PAGE_PARAM = "page"


@dataclass(frozen=True)
class Column:
    """One column: `sort` lists the model fields it orders by (empty: not sortable); `css` hides it on
    narrow screens (hide-sm, hide-md) without changing the data."""

    key: str
    label: str | Promise
    sort: tuple[str, ...] = ()
    css: str = ""

    @property
    def sortable(self) -> bool:
        return bool(self.sort)


@dataclass(frozen=True)
class TableSpec:
    id: str  # the DOM id of the swapped region; htmx sends it as HX-Target
    columns: tuple[Column, ...]
    default_sort: str  # a column key, "-" first for descending
    search_fields: tuple[str, ...] = ()  # icontains lookups; empty when the view searches through its selector
    search_placeholder: str | Promise = ""  # empty: "Search"
    per_page: int = PAGE_SIZE

    def __post_init__(self) -> None:
        keys = [column.key for column in self.columns]
        if len(set(keys)) != len(keys):
            raise ValueError(f"{self.id}: duplicate column keys")
        default = self.column(self.default_sort.removeprefix("-"))
        if default is None or not default.sortable:
            raise ValueError(f"{self.id}: default sort {self.default_sort!r} is not a sortable column")

    def column(self, key: str) -> Column | None:
        return next((column for column in self.columns if column.key == key), None)

    def without(self, *keys: str) -> TableSpec:
        """The same table with some columns left out (e.g. the host column for callers who may not see
        hosts): a left-out column can no longer be sorted by either."""
        return replace(self, columns=tuple(c for c in self.columns if c.key not in keys))


@dataclass(frozen=True)
class TableQuery:
    """A request's table parameters, validated against the spec: only declared sort keys survive."""

    search: str
    sort_key: str
    descending: bool
    page: str | None
    path: str
    params: QueryDict  # the whole query string, so links keep the page's other filters

    @property
    def sort(self) -> str:
        return f"-{self.sort_key}" if self.descending else self.sort_key


def parse_query(request: HttpRequest, spec: TableSpec) -> TableQuery:
    """Read q, sort and page; an unknown or undeclared sort silently becomes the default, since a shared or
    stale link should still show the list rather than an error."""
    requested = request.GET.get(SORT_PARAM, "").strip()
    column = spec.column(requested.removeprefix("-"))
    sort = requested if column is not None and column.sortable else spec.default_sort
    return TableQuery(
        search=request.GET.get(SEARCH_PARAM, "").strip()[:255],
        sort_key=sort.removeprefix("-"),
        descending=sort.startswith("-"),
        page=request.GET.get(PAGE_PARAM),
        path=request.path,
        params=request.GET.copy(),
    )


@dataclass(frozen=True)
class Header:
    label: str | Promise
    css: str
    sortable: bool
    url: str = ""
    active: bool = False
    descending: bool = False

    @property
    def aria_sort(self) -> str:
        if not self.active:
            return "none"
        return "descending" if self.descending else "ascending"


@dataclass
class Table:
    spec: TableSpec
    query: TableQuery
    page: Page
    rows: list[Any]
    headers: list[Header] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def filtered(self) -> bool:
        """Whether anything narrows the list (so an empty table means "no match", not "nothing yet")."""
        return any(value for name, value in self.query.params.items() if name not in (SORT_PARAM, PAGE_PARAM))

    def url(self, **changes: str | int | None) -> str:
        """This page's URL with some query parameters changed (None removes one)."""
        params = self.query.params.copy()
        for name, value in changes.items():
            params.pop(name, None)
            if value is not None:
                params[name] = str(value)
        for name in [name for name, values in params.lists() if not any(values)]:
            del params[name]  # an empty search or filter says nothing: keep URLs short
        encoded = params.urlencode()
        return f"{self.query.path}?{encoded}" if encoded else self.query.path

    def page_url(self, number: int) -> str:
        return self.url(page=number)

    @property
    def previous_url(self) -> str:
        return self.page_url(self.page.previous_page_number()) if self.page.has_previous() else ""

    @property
    def next_url(self) -> str:
        return self.page_url(self.page.next_page_number()) if self.page.has_next() else ""


def ordering(spec: TableSpec, query: TableQuery) -> list[OrderBy]:
    """The column's fields, then the primary key, all in one direction: a total order, so paging is stable
    even among equal values."""
    column = spec.column(query.sort_key)
    assert column is not None and column.sortable  # parse_query only lets declared columns through
    terms = [*column.sort, "pk"]
    if query.descending:
        return [F(name).desc(nulls_last=True) for name in terms]
    return [F(name).asc(nulls_last=True) for name in terms]


def search(spec: TableSpec, queryset: QuerySet, text: str) -> QuerySet:
    """Any declared field containing the text (case-insensitive): the queryset only ever narrows."""
    if not text or not spec.search_fields:
        return queryset
    condition = Q()
    for name in spec.search_fields:
        condition |= Q(**{f"{name}__icontains": text})
    return queryset.filter(condition)


def build_table(spec: TableSpec, query: TableQuery, queryset: QuerySet,
                rows: Callable[[list[Any]], list[Any]] | None = None) -> Table:
    """Search, order and page a selector's queryset. `rows` turns the page's objects into what the row
    template shows (e.g. VMs with their pending job), in a constant number of queries per page."""
    queryset = search(spec, queryset, query.search).order_by(*ordering(spec, query))
    page = Paginator(queryset, spec.per_page).get_page(query.page)
    objects = list(page.object_list)
    table = Table(spec=spec, query=query, page=page, rows=rows(objects) if rows else objects)
    table.headers = [_header(table, column) for column in spec.columns]
    return table


def _header(table: Table, column: Column) -> Header:
    if not column.sortable:
        return Header(label=column.label, css=column.css, sortable=False)
    active = table.query.sort_key == column.key
    # A click on the active column reverses it; on another column it sorts ascending.
    next_sort = column.key if active and table.query.descending else (
        f"-{column.key}" if active else column.key)
    return Header(label=column.label, css=column.css, sortable=True, url=table.url(sort=next_sort, page=None),
                  active=active, descending=active and table.query.descending)


def wants_table_only(request: HttpRequest, spec: TableSpec) -> bool:
    """Only a plain htmx request for this table gets the fragment: a boosted link or a history restore
    (after the browser's back button missed htmx's cache) replaces the whole body, so it needs the page."""
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.boosted or htmx.history_restore_request:
        return False
    return htmx.target in (None, spec.id)


def render_table(request: HttpRequest, table: Table, page_template: str, table_template: str,
                 context: Mapping[str, Any] | None = None) -> HttpResponse:
    """The whole page, or only the table for htmx. `table_template` renders the region with id
    `table.id`; the page template includes it."""
    data = {**(context or {}), "table": table, "table_template": table_template}
    template = table_template if wants_table_only(request, table.spec) else page_template
    response = render(request, template, data)
    # One URL, two bodies: caches and the browser's back button must not mix them up.
    patch_vary_headers(response, ("HX-Request", "HX-Target"))
    return response
