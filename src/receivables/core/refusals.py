"""Which error codes a function can refuse with, read from its source and the project functions it calls.

The OpenAPI document declares, for each operation, the codes its view can answer with. Kept by
hand, such lists drift as services change; read from the code, they cannot. The reading follows
every call to a function of the ``receivables`` package (through decorators, classmethods and
module aliases such as ``services.create_invoice``) and collects the code of every error it
constructs: ``ReceivablesError(code, …)`` and its subclasses, ``NotFound(what, …)`` as
``what_not_found``, and the pure rules' own errors with a ``code`` (``MoneyError``,
``PolicyError``, ``PeriodError``), which the services pass on with the same code. A code held
in a parameter is read from the call (``get_document(id, "id", "refund")`` → ``refund_not_found``);
an f-string code is matched to the catalogue's templates (``f"source_{status}"``). A status change
``lifecycle.next(status, action)`` refuses with the code each lifecycle of ``rules.transitions``
names for that action (the lifecycle itself is often known only at run time: all are counted).

A project class constructed in the code (a file reader, say) counts with every method it has, since
what is made is used. Calls it cannot resolve otherwise (methods of model instances reached through
the ORM, the payment gateway) raise no codes here.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from typing import Any

from receivables.core.errors import TEMPLATES, NotFound
from receivables.rules.transitions import LIFECYCLES

PACKAGE = "receivables."
Bindings = tuple[tuple[str, object], ...]
# Calls being read right now: a recursive call adds nothing new.
_reading: set[tuple[Callable[..., Any], Bindings]] = set()


def codes_of(function: Callable[..., Any]) -> frozenset[str]:
    """Every error code ``function`` can raise, directly or through the project functions it calls."""
    return _codes(inspect.unwrap(function), ())


@cache
def _tree(function: Callable[..., Any]) -> ast.AST | None:
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return None


@cache
def _codes(function: Callable[..., Any], bound: Bindings) -> frozenset[str]:
    tree = _tree(function)
    if tree is None or (function, bound) in _reading:
        return frozenset()
    _reading.add((function, bound))
    try:
        return frozenset(_codes_in(tree, function.__globals__, dict(bound)))
    finally:
        _reading.discard((function, bound))


def _refusals_of(action: object) -> Iterator[str]:
    for lifecycle in LIFECYCLES:
        if isinstance(action, str) and action in lifecycle.refusals:
            yield lifecycle.refusals[action]


def _codes_in(tree: ast.AST, namespace: Mapping[str, Any], names: Mapping[str, object]) -> Iterator[str]:
    for call in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
        if isinstance(call.func, ast.Attribute) and call.func.attr == "next" and len(call.args) == 2:
            yield from _refusals_of(_constant(call.args[1], names))
        target = _resolve(call.func, namespace)
        if isinstance(target, type):
            if issubclass(target, Exception):
                yield from _constructed_codes(target, call, names)
            elif target.__module__.startswith(PACKAGE):
                yield from _class_codes(target)
            continue
        callee = inspect.unwrap(target) if callable(target) else None
        if (inspect.isfunction(callee) or inspect.ismethod(callee)) and callee.__module__.startswith(PACKAGE):
            yield from _codes(callee, _constant_arguments(callee, call, names))


def _class_codes(cls: type) -> frozenset[str]:
    """A project object made here is used here: what any of its own methods (and its bases') can refuse."""
    found: set[str] = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith(PACKAGE):
            continue
        for member in vars(klass).values():
            function = getattr(member, "__func__", member)
            if inspect.isfunction(function):
                found |= _codes(function, ())
    return frozenset(found)


def _resolve(expression: ast.expr, namespace: Mapping[str, Any]) -> Any:
    """The object a call's function names, where that is knowable from the module's globals."""
    if isinstance(expression, ast.Name):
        return namespace.get(expression.id)
    if isinstance(expression, ast.Attribute):
        base = _resolve(expression.value, namespace)
        return None if base is None else getattr(base, expression.attr, None)
    return None


def _constructed_codes(error_class: type, call: ast.Call, names: Mapping[str, object]) -> Iterator[str]:
    """The code of an error constructed here: its ``code`` argument (``what`` for ``NotFound``)."""
    try:
        parameters = list(inspect.signature(error_class).parameters)
    except ValueError:  # a built-in constructor: not one of the project's coded errors
        return
    if not call.args or not parameters or parameters[0] not in ("code", "what"):
        return
    first = call.args[0]
    if isinstance(first, ast.JoinedStr):
        template = "".join(p.value if isinstance(p, ast.Constant) else "{}" for p in first.values)  # type: ignore[misc]
        yield from TEMPLATES.get(str(template), [])
        return
    value = _constant(first, names)
    if isinstance(value, str):
        yield f"{value}_not_found" if issubclass(error_class, NotFound) else value


def _constant(expression: ast.expr, names: Mapping[str, object]) -> object:
    """A literal, a parameter bound to a literal, or ``a or b`` of those; else None."""
    if isinstance(expression, ast.Constant):
        return expression.value
    if isinstance(expression, ast.Name):
        return names.get(expression.id)
    if isinstance(expression, ast.BoolOp) and isinstance(expression.op, ast.Or):
        for value in (_constant(v, names) for v in expression.values):
            if value:
                return value
    return None


def _constant_arguments(callee: Callable[..., Any], call: ast.Call, names: Mapping[str, object]) -> Bindings:
    """The callee's parameters that this call (or their defaults) set to literals."""
    try:
        signature = inspect.signature(callee)
    except (TypeError, ValueError):
        return ()
    parameters = list(signature.parameters.values())
    values: dict[str, object] = {
        p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty and isinstance(p.default, str)
    }
    if any(isinstance(a, ast.Starred) for a in call.args):
        return tuple(sorted(values.items()))
    for parameter, argument in zip(parameters, call.args, strict=False):
        values[parameter.name] = _constant(argument, names)
    for keyword in call.keywords:
        if keyword.arg:
            values[keyword.arg] = _constant(keyword.value, names)
    return tuple(sorted((k, v) for k, v in values.items() if isinstance(v, str)))
