"""No exercise changes its array arguments in place; a call that does fails its test.

A test often builds its expected value from the same arrays it passes to the learner's
function. A function that overwrote them (say, with zeros, and returned zeros) would then be
compared against values of its own choosing. So every call of a topic's function is checked:
in the learner's own ``pytest`` run through ``CheckedTopic``, and when graded in isolation by
the worker, which reports the changed arguments, never their new values (``grading.remote``).
"""

from __future__ import annotations

import functools
import sys
import types
from typing import Any

import numpy as np


class ChangedInPlace(Exception):
    """A topic function changed one of its array arguments; the message says which."""


def arrays(args: tuple | list, kwargs: dict) -> dict[str, Any]:
    """The top-level numpy arrays and torch tensors among the arguments, by position
    (``"0"``) or keyword (``"k:name"``)."""
    torch = sys.modules.get("torch")
    kinds = (np.ndarray,) + ((torch.Tensor,) if torch is not None else ())
    found = {str(i): a for i, a in enumerate(args) if isinstance(a, kinds)}
    found.update({f"k:{k}": v for k, v in kwargs.items() if isinstance(v, kinds)})
    return found


def contents(value: Any) -> bytes:
    """An array's or tensor's bytes, to compare after a call (copying costs less than hashing)."""
    if isinstance(value, np.ndarray):
        return np.ascontiguousarray(value).tobytes()
    data = value.detach().contiguous().reshape(-1)
    return data.view(sys.modules["torch"].uint8).numpy().tobytes()


def snapshot(args: tuple | list, kwargs: dict) -> dict[str, bytes]:
    """The bytes of every array argument, before a call."""
    try:
        return {key: contents(value) for key, value in arrays(args, kwargs).items()}
    except Exception:  # an array that cannot be read (a meta tensor, say) is not checked
        return {}


def changed(args: tuple | list, kwargs: dict, before: dict[str, bytes]) -> list[str]:
    """The keys (as ``arrays`` names them) of the array arguments the call changed."""
    found = []
    for key, value in arrays(args, kwargs).items():
        try:
            if key in before and contents(value) != before[key]:
                found.append(key)
        except Exception:
            found.append(key)
    return found


def changed_message(function: str, keys: list[str]) -> str:
    """One line naming the arguments a call changed in place (positions counted from 1)."""
    names = [str(int(k) + 1) for k in keys if k.isdigit()]
    names += [f"'{k[2:]}'" for k in keys if k.startswith("k:")]
    if not names:
        names = ["?"]
    which = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    plural = "s" if len(names) > 1 else ""
    return (
        f"{function}() changed its argument{plural} {which} in place: return a new array and "
        "leave the arguments as they were"
    )


def checked(function: types.FunctionType):
    """``function``, failing with ``ChangedInPlace`` if a call changes an array argument."""

    @functools.wraps(function)
    def call(*args, **kwargs):
        before = snapshot(args, kwargs)
        result = function(*args, **kwargs)
        keys = changed(args, kwargs, before)
        if keys:
            raise ChangedInPlace(changed_message(function.__name__, keys))
        return result

    return call


class CheckedTopic:
    """A topic module whose functions are ``checked``; every other attribute as it is."""

    def __init__(self, module: types.ModuleType) -> None:
        object.__setattr__(self, "_module", module)

    def __getattr__(self, name: str) -> Any:
        value = getattr(object.__getattribute__(self, "_module"), name)
        return checked(value) if isinstance(value, types.FunctionType) else value

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(object.__getattribute__(self, "_module"), name, value)

    def __repr__(self) -> str:
        return repr(object.__getattribute__(self, "_module"))
