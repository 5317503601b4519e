"""`typing.NamedTuple`'s class syntax without importing `typing` at run time.

Importing `typing` costs ~2 ms, and each `typing.NamedTuple` class checks every field's annotation
(~0.1 ms a class, more with postponed annotations, which it compiles into `ForwardRef`s): together
a noticeable share of a one-file `regaudit check`, which needs neither. Here a class body's
annotations only name the fields, in order, and its values are their defaults; what the class
defines besides (methods, properties, class methods, a docstring) is set on the
`collections.namedtuple` made from them, as `typing.NamedTuple` does. Type checkers see
`typing.NamedTuple` itself.
"""

from collections import namedtuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple
else:
    # What a class body may not define, and what namedtuple sets itself (typing's _prohibited and
    # _special).
    _PROHIBITED = frozenset(("__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults",
                             "_make", "_replace", "_asdict", "_source"))
    _SPECIAL = frozenset(("__module__", "__name__", "__annotations__"))

    class _NamedTupleType(type):
        def __new__(cls, name, bases, namespace):
            if not bases:  # the NamedTuple base class below
                return super().__new__(cls, name, bases, namespace)
            if bases != (NamedTuple,):
                raise TypeError(f"{name}: a NamedTuple class can only inherit from NamedTuple")
            fields = tuple(namespace.get("__annotations__", {}))
            defaults = [namespace[field] for field in fields if field in namespace]
            if any(field not in namespace for field in fields[len(fields) - len(defaults):]):
                raise TypeError(f"{name}: a field without a default follows one with a default")
            made = namedtuple(name, fields, defaults=defaults, module=namespace["__module__"])
            made.__annotations__ = dict(namespace.get("__annotations__", {}))
            for key, value in namespace.items():
                if key in _PROHIBITED:
                    raise AttributeError(f"{name}: cannot overwrite NamedTuple attribute {key}")
                if key not in _SPECIAL and key not in fields:
                    setattr(made, key, value)
            return made

    class NamedTuple(metaclass=_NamedTupleType):
        """Base class of a named tuple declared with annotated fields (see the module docstring)."""
