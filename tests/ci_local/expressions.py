"""GitHub Actions expressions (`${{ ... }}` and `if:`), only as much of the language as the
workflow uses: literals, context paths, `!`, `==`, `!=`, `&&`, `||`, parentheses and the status
functions. Anything else (other functions, indexing, comparisons by size) is an error, never a
guess: the runner must not quietly read a condition differently from GitHub.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

STATUS_FUNCTIONS = ("always", "success", "failure", "cancelled")
_TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||!|\(|\))"
    r"|(?P<call>[A-Za-z_][\w-]*\(\))|(?P<path>[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*))"
)
_EMBEDDED = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class ExpressionError(ValueError):
    """An expression this runner does not understand (or that is malformed)."""


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(f"cannot read {text[pos:]!r} in expression {text!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "")


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip()) if value.strip() else 0.0
        except ValueError:
            return math.nan
    return math.nan


def equal(left: Any, right: Any) -> bool:
    """GitHub's loose equality: strings ignore case; different types compare as numbers."""
    if isinstance(left, str) and isinstance(right, str):
        return left.casefold() == right.casefold()
    if type(left) is type(right):
        return bool(left == right)
    return _number(left) == _number(right)


def lookup(context: Mapping[str, Any], path: str) -> Any:
    """`a.b.c` in nested mappings; a missing key is null, as on GitHub."""
    value: Any = context
    parts = path.split(".")
    if parts[0] not in context:
        raise ExpressionError(f"unknown context {parts[0]!r} in {path!r}")
    for part in parts:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


class _Parser:
    def __init__(
        self, text: str, context: Mapping[str, Any], functions: Mapping[str, Callable[[], bool]]
    ) -> None:
        self.text, self.tokens, self.pos = text, _tokens(text), 0
        self.context, self.functions = context, functions

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise ExpressionError(f"expression {self.text!r} ends too early")
        self.pos += 1
        return token

    def parse(self) -> Any:
        value = self.or_()
        if self.peek() is not None:
            raise ExpressionError(f"unexpected {self.peek()[1]!r} in {self.text!r}")  # type: ignore[index]
        return value

    def or_(self) -> Any:
        value = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> Any:
        value = self.equality()
        while self.peek() == ("op", "&&"):
            self.take()
            right = self.equality()
            value = right if truthy(value) else value
        return value

    def equality(self) -> Any:
        value = self.unary()
        while self.peek() in (("op", "=="), ("op", "!=")):
            op = self.take()[1]
            same = equal(value, self.unary())
            value = same if op == "==" else not same
        return value

    def unary(self) -> Any:
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.atom()

    def atom(self) -> Any:
        kind, text = self.take()
        if kind == "op" and text == "(":
            value = self.or_()
            if self.take() != ("op", ")"):
                raise ExpressionError(f"missing ')' in {self.text!r}")
            return value
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "num":
            return float(text)
        if kind == "call":
            name = text[:-2]
            if name not in self.functions:
                raise ExpressionError(f"function {name}() is not supported here ({self.text!r})")
            return self.functions[name]()
        if kind == "path":
            if text in ("true", "false"):
                return text == "true"
            if text == "null":
                return None
            return lookup(self.context, text)
        raise ExpressionError(f"unexpected {text!r} in {self.text!r}")


def evaluate(
    text: str,
    context: Mapping[str, Any],
    functions: Mapping[str, Callable[[], bool]] | None = None,
) -> Any:
    """The value of one expression (without `${{ }}`)."""
    return _Parser(text, context, functions or {}).parse()


def uses_status_function(text: str) -> bool:
    return any(f"{name}()" in text.replace(" ", "") for name in STATUS_FUNCTIONS)


def condition(
    text: str | bool | None,
    context: Mapping[str, Any],
    functions: Mapping[str, Callable[[], bool]],
) -> bool:
    """An `if:`: without a status function GitHub reads it as `success() && (...)`."""
    if text is None:
        text = "success()"
    if isinstance(text, bool):
        text = "true" if text else "false"
    inner = text.strip()
    match = _EMBEDDED.fullmatch(inner)
    if match:
        inner = match.group(1)
    if not uses_status_function(inner):
        inner = f"success() && ({inner})"
    return truthy(evaluate(inner, context, functions))


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def substitute(text: str, context: Mapping[str, Any]) -> str:
    """Every `${{ expr }}` in a string replaced by its value as text."""
    return _EMBEDDED.sub(lambda m: to_text(evaluate(m.group(1), context)), text)
