"""`Recipe`: the parameters of a generator or of `render`, as one frozen dataclass.

Each recipe (`synthscope.phantoms.NucleiRecipe`, ..., `synthscope.phantoms.RenderRecipe`)
is the one place where the names, defaults and checks of its parameters are written: a
field declared with `number`, `pair` or `choice` carries its check, any other field must fit
its type annotation (`fits`). Construction checks
every value that does not depend on the image and keeps it normalised (a pair as a tuple
of floats); a generator recipe's ``resolve(shape, spacing)`` checks the rest and returns
the parameters its drawing code reads. A preset section becomes a recipe through
`Recipe.from_mapping`, which names a bad key as ``section.key``.
"""

import contextlib
import dataclasses
import functools
import numbers
import re
import types
import typing
from collections.abc import Iterator

from synthscope import checks as check
from synthscope.errors import InputError


def fits(value, hint) -> bool:
    """Whether `value` fits the type annotation `hint`: a class, a generic or a union of them.

    An integer fits a float, a bool fits no number, a list fits a tuple (YAML has no
    tuples); the items of a list are not looked at.

    Examples
    --------
    >>> fits(3, float | None), fits(True, int), fits([6, 9], float | tuple[float, float]), fits([], str)
    (True, False, True, False)
    """
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    for option in options:
        kind = typing.get_origin(option) or option
        if kind in (int, float):
            if isinstance(value, numbers.Integral if kind is int else numbers.Real) and not isinstance(value, bool):
                return True
        elif isinstance(value, (kind, list) if kind is tuple else kind):
            return True
    return False


def number(default, **limits):
    """A field holding a number, checked by `synthscope.checks.check_number` with `limits`.

    A field whose default is None may be None (not given); so with `pair` and `choice`.
    """
    return dataclasses.field(default=default, metadata={"check": functools.partial(check.check_number, **limits)})


def pair(default, **limits):
    """A field holding a range ``(low, high)`` (given as one number or a pair), checked by `check_range`."""
    return dataclasses.field(default=default, metadata={"check": functools.partial(check.check_range, **limits)})


def choice(default, choices):
    """A field holding one of `choices`."""
    return dataclasses.field(
        default=default, metadata={"check": functools.partial(check.check_choice, choices=choices)}
    )


class Recipe:
    """Base of the recipes: frozen, keyword-only dataclasses, checked at construction.

    A subclass is declared ``@dataclasses.dataclass(frozen=True, kw_only=True)``; its
    fields declared by `number`, `pair` or `choice` are checked and normalised in
    declaration order, and a subclass's ``__post_init__`` adds what involves several fields.

    Examples
    --------
    >>> from synthscope.phantoms import NucleiRecipe
    >>> recipe = NucleiRecipe.from_mapping({"count": 30, "radius": [6, 9]}, section_name="nuclei")
    >>> recipe.radius, recipe.replace(count=10).count
    ((6.0, 9.0), 10)
    >>> NucleiRecipe.from_mapping(recipe.to_dict(), section_name="nuclei") == recipe
    True
    >>> NucleiRecipe.from_mapping({"roughness": 2}, section_name="nuclei")
    Traceback (most recent call last):
    ...
    synthscope.errors.InputError: nuclei.roughness must be in [0, 0.3], got 2
    """

    def __post_init__(self):
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if "check" not in field.metadata:
                if not fits(value, hints[field.name]):
                    raise InputError(f"{field.name} has the wrong type: {value!r}")
            elif not (value is None and field.default is None):
                self._store(**{field.name: self._check(field.name, value)})

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The parameter names, in the order they are documented."""
        return tuple(field.name for field in dataclasses.fields(cls))

    @classmethod
    def from_mapping(cls, section: dict, *, section_name: str) -> "Recipe":
        """Return the recipe of `section` (a preset's mapping of parameters to values).

        Raises
        ------
        InputError
            For a key that is not a parameter, or a bad value, named ``section_name.key``.
        """
        names = cls.names()
        for key in section:
            if key not in names:
                raise InputError(
                    f"{section_name}.{key} is not a parameter of {section_name}; use one of {', '.join(names)}"
                )
        with cls.naming(section_name):
            return cls(**section)

    @classmethod
    def of(cls, recipe: "Recipe | None" = None, /, **params) -> "Recipe":
        """The recipe of a generator call: `recipe` (by default every default) with `params` replacing its fields."""
        if recipe is None:
            return cls(**params)
        if not isinstance(recipe, cls):
            raise TypeError(f"recipe must be a {cls.__name__}, got {type(recipe).__name__}")
        return recipe.replace(**params) if params else recipe

    @classmethod
    @contextlib.contextmanager
    def naming(cls, section_name: str) -> Iterator[None]:
        """Name the section in an `InputError` raised inside.

        A message about a parameter becomes ``section_name.key ...``, any other
        ``section_name: ...``; one about the shape or the spacing stays as it is.
        """
        try:
            yield
        except InputError as error:
            message = str(error)
            if message.startswith(("shape", "spacing")):
                raise
            named = re.match(r"\w*", message).group() in cls.names()
            raise InputError(f"{section_name}.{message}" if named else f"{section_name}: {message}") from None

    def to_dict(self) -> dict:
        """The parameters as a dict (pairs as tuples), which `from_mapping` reads back."""
        return dataclasses.asdict(self)

    def replace(self, **changes) -> "Recipe":
        """A copy with the fields in `changes` replaced (and checked again)."""
        return dataclasses.replace(self, **changes)

    def _check(self, name, value, **limits):
        """Return `value` checked as the field `name` declares, `limits` replacing its own (e.g. from the image)."""
        return next(f for f in dataclasses.fields(self) if f.name == name).metadata["check"](value, name, **limits)

    def _store(self, **values):
        """Keep the checked, normalised values of fields (from ``__post_init__``: the dataclass is frozen)."""
        for name, value in values.items():
            object.__setattr__(self, name, value)
