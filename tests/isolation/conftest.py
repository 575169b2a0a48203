"""The isolation matrix's world is built once for the whole package, inside a transaction that the package's
last test rolls back; every test runs in its own savepoint on top (pytest-django's `db`), so a control's
successful write never reaches the next test. Building it per test would cost a deploy per row."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from django.db import transaction

from tests.isolation.world import World, build_world


@pytest.fixture(scope="package")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            built = build_world()
        except BaseException:
            outer.__exit__(*sys.exc_info())
            raise
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def iso(world, db) -> World:
    """The world, for a test running in its own savepoint."""
    return world
