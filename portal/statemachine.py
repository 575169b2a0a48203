"""Explicit state machines. Every state change of a VM, volume, snapshot or host goes through
`StateMachine.transit`, so the transition tables are the one place that says what may happen."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext as _

from portal.errors import InvalidState


@dataclass(frozen=True)
class StateMachine:
    name: str
    transitions: dict[tuple[str, str], str]
    field: str = "state"

    def next_state(self, current: str, event: str) -> str | None:
        return self.transitions.get((current, event))

    def allows(self, current: str, event: str) -> bool:
        return (current, event) in self.transitions

    def states_allowing(self, event: str) -> set[str]:
        return {state for (state, ev) in self.transitions if ev == event}

    def check(self, obj: models.Model, event: str) -> str:
        """The state `event` leads to from obj's state, or InvalidState (nothing changes)."""
        current = getattr(obj, self.field)
        new = self.next_state(current, event)
        if new is None:
            raise InvalidState(
                _("%(kind)s %(name)s is %(state)s; %(event)s is not possible in that state.")
                % {"kind": self.name, "name": obj, "state": current, "event": event}
            )
        return new

    def transit(self, obj: models.Model, event: str, **changes: object) -> str:
        """Apply a transition with a compare-and-set UPDATE so two racing requests cannot both win.

        `changes` are extra fields written in the same UPDATE. The instance is updated in place.
        """
        new = self.check(obj, event)
        old = getattr(obj, self.field)
        updated = type(obj).objects.filter(pk=obj.pk, **{self.field: old}).update(**{self.field: new}, **changes)
        if updated != 1:
            obj.refresh_from_db(fields=[self.field])
            raise InvalidState(
                _("%(kind)s %(name)s changed state concurrently (now %(state)s); try again.")
                % {"kind": self.name, "name": obj, "state": getattr(obj, self.field)}
            )
        setattr(obj, self.field, new)
        for field, value in changes.items():
            setattr(obj, field, value)
        return new


def table(rows: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str], str]:
    """Build a transition table from (from_state, event, to_state) rows; duplicates are a bug."""
    result: dict[tuple[str, str], str] = {}
    for source, event, target in rows:
        key = (str(source), str(event))
        if key in result:
            raise ValueError(f"duplicate transition {key}")
        result[key] = str(target)
    return result
