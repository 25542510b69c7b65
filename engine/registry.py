"""Name registries: everything a user can pick is looked up by name and validated here.

Each pickable component (activation, loss, initializer, optimizer, schedule, dataset) is a class
with a ``name`` and a tuple of :class:`Param` declaring its hyper-parameters with defaults and
ranges. ``Registry.create(name, params)`` validates the name and every parameter and raises a
``ValueError`` that names the bad key and value (as torch does: "Invalid learning rate: -1").
``Registry.catalog()`` describes the entries for the API's catalog routes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Param:
    """One hyper-parameter: its type, default and allowed range.

    ``kind`` is "float", "int", "bool" or "choice". Bounds are inclusive unless the matching
    ``*_open`` flag is set (e.g. a learning rate must be > 0, so ``low=0, low_open=True``).
    """

    name: str
    default: Any
    kind: str = "float"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] = ()
    doc: str = ""
    nullable: bool = False

    def check(self, owner: str, value: Any) -> Any:
        """Return ``value`` converted to this parameter's type, or raise ValueError naming it."""
        label = f"{owner}: invalid {self.name} {value!r}"
        if value is None:
            if self.nullable:
                return None
            raise ValueError(f"{label}: a value is required")
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise ValueError(f"{label}: must be true or false")
            return value
        if self.kind == "choice":
            if value not in self.choices:
                raise ValueError(f"{label}: must be one of {list(self.choices)}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{label}: must be a number")
        if self.kind == "int":
            if float(value) != int(value):
                raise ValueError(f"{label}: must be an integer")
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"{label}: must be finite")
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            op = ">" if self.low_open else ">="
            raise ValueError(f"{label}: must be {op} {self.low}")
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            op = "<" if self.high_open else "<="
            raise ValueError(f"{label}: must be {op} {self.high}")
        return value

    def describe(self) -> dict[str, Any]:
        """JSON-safe description for catalogs."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "default": self.default}
        for key in ("low", "high", "doc"):
            if getattr(self, key) not in (None, ""):
                out[key] = getattr(self, key)
        if self.low_open:
            out["low_open"] = True
        if self.high_open:
            out["high_open"] = True
        if self.choices:
            out["choices"] = list(self.choices)
        if self.nullable:
            out["nullable"] = True
        return out


def check_params(
    owner: str, spec: tuple[Param, ...], given: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Fill defaults, reject unknown keys, validate each value against ``spec``."""
    given = dict(given or {})
    known = {p.name for p in spec}
    unknown = sorted(set(given) - known)
    if unknown:
        raise ValueError(
            f"{owner}: unknown parameter {unknown[0]!r}; expected one of {sorted(known) or 'none'}"
        )
    return {p.name: p.check(owner, given.get(p.name, p.default)) for p in spec}


class Registry(Generic[T]):
    """A map from names to component classes of one kind (e.g. "activation").

    Entries are classes with class attributes ``name: str``, ``params: tuple[Param, ...]``
    and an ``__init__`` taking the validated parameters as keyword arguments.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Any] = {}

    def register(self, cls: type[T]) -> type[T]:
        """Class decorator adding ``cls`` under ``cls.name``."""
        name = cls.name  # type: ignore[attr-defined]
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} registered twice")
        self._entries[name] = cls
        return cls

    def names(self) -> list[str]:
        return list(self._entries)

    def lookup(self, name: Any) -> Any:
        """The class registered under ``name``; ValueError naming it and the choices if unknown."""
        if not isinstance(name, str) or name not in self._entries:
            raise ValueError(f"unknown {self.kind} {name!r}; choose one of {self.names()}")
        return self._entries[name]

    def create(self, name: Any, params: Mapping[str, Any] | None = None) -> T:
        """Instantiate ``name`` with validated ``params`` (defaults filled in)."""
        cls = self.lookup(name)
        checked = check_params(f"{self.kind} {name}", cls.params, params)
        instance: T = cls(**checked)
        return instance

    def defaults(self, name: str) -> dict[str, Any]:
        return {p.name: p.default for p in self.lookup(name).params}

    def catalog(
        self, describe: Callable[[Any], dict[str, Any]] | None = None
    ) -> list[dict[str, Any]]:
        """One JSON-safe entry per name: its parameters, defaults, ranges and first doc line."""
        out = []
        for name, cls in self._entries.items():
            doc = (cls.__doc__ or "").strip().splitlines()
            entry: dict[str, Any] = {
                "name": name,
                "doc": doc[0] if doc else "",
                "params": [p.describe() for p in cls.params],
            }
            if describe is not None:
                entry.update(describe(cls))
            out.append(entry)
        return out
