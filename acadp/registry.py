"""Name → object registries filled by decorators (datasets, signals, models, learners, attacks).

A registry refuses a second registration under the same name and a failed lookup lists the valid names, so a typo in
a sweep file is answered with the choices the user has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from acadp.errors import RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of pluggable parts of one kind (e.g. ``"dataset"``)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator registering its argument under ``name``; a duplicate name raises :class:`RegistryError`."""

        def decorate(item: T) -> T:
            self.add(name, item)
            return item

        return decorate

    def add(self, name: str, item: T) -> None:
        """Register ``item`` under ``name`` (the non-decorator form)."""
        if name in self._items:
            raise RegistryError(f"{self.kind} {name!r} is registered twice; pick another name")
        self._items[name] = item

    def get(self, name: str) -> T:
        """The item registered under ``name``; an unknown name raises an error listing the valid names."""
        try:
            return self._items[name]
        except KeyError:
            valid = ", ".join(sorted(self._items)) or "(none registered)"
            raise RegistryError(f"unknown {self.kind} {name!r}; valid names: {valid}") from None

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)
