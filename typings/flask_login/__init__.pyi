from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from flask import Flask
from flask.typing import ResponseReturnValue
from flask_babel.speaklater import LazyString

_F = TypeVar("_F", bound=Callable[..., Any])

#: a proxy to the user the loader returned, or an anonymous user (``is_authenticated`` false)
current_user: Any

class LoginManager:
    login_view: str | None
    login_message: str | LazyString
    login_message_category: str
    def __init__(self, app: Flask | None = None, add_context_processor: bool = True) -> None: ...
    def init_app(self, app: Flask, add_context_processor: bool = True) -> None: ...
    def user_loader(self, callback: _F) -> _F: ...
    def unauthorized(self) -> ResponseReturnValue: ...

def login_required(func: _F) -> _F: ...
def login_user(
    user: Any,
    remember: bool = False,
    duration: timedelta | None = None,
    force: bool = False,
    fresh: bool = True,
) -> bool: ...
def logout_user() -> bool: ...

__all__ = ["LoginManager", "current_user", "login_required", "login_user", "logout_user"]
