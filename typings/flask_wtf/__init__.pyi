from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import Blueprint, Flask
from markupsafe import Markup
from wtforms import Field, Form

#: a view, a blueprint, or a view's dotted name
_Exempt = TypeVar("_Exempt", bound=Callable[..., Any] | Blueprint | str)

class FlaskForm(Form):
    """A WTForms form filled from the request, with a CSRF token field."""

    def __init__(self, formdata: Any = ..., **kwargs: Any) -> None: ...
    def is_submitted(self) -> bool: ...
    def validate_on_submit(
        self, extra_validators: dict[str, Sequence[Any]] | None = None
    ) -> bool: ...
    def hidden_tag(self, *fields: str | Field) -> Markup: ...

class CSRFProtect:
    def __init__(self, app: Flask | None = None) -> None: ...
    def init_app(self, app: Flask) -> None: ...
    def exempt(self, view: _Exempt) -> _Exempt: ...

__all__ = ["CSRFProtect", "FlaskForm"]
