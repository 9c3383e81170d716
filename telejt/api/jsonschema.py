"""A small JSON Schema validator: the keywords the API's schemas use, and no others.

The same :class:`Schema` object validates a request and is emitted into the
OpenAPI document (JSON Schema 2020-12, as OpenAPI 3.1 uses), so the document
cannot drift from what the API accepts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask_babel import gettext as _

from telejt.inputs import FIRST_YEAR, LAST_YEAR

JsonSchema = dict[str, Any]


@dataclass(frozen=True)
class Schema:
    """A named JSON Schema: a component of the OpenAPI document and a request validator."""

    name: str
    json: JsonSchema

    def ref(self) -> JsonSchema:
        """A reference to this schema in the OpenAPI components."""
        return {"$ref": f"#/components/schemas/{self.name}"}

    def validate(self, value: Any) -> dict[str, str]:
        """Per-field error messages; empty when the value conforms."""
        errors: dict[str, str] = {}
        _check(self.json, value, "", errors)
        return errors


def parse_instant(text: str) -> datetime:
    """An ISO-8601 instant with an explicit offset, in UTC; ValueError otherwise."""
    if not isinstance(text, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}T[0-9:.,]+.*", text):
        raise ValueError(text)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(text)  # a time without an offset is ambiguous: never guess
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise ValueError(text)  # year 1 or 9999 overflow as soon as a zone or a day is added
    return moment.astimezone(UTC)


def format_instant(moment: datetime | None) -> str | None:
    """An instant as ISO-8601 in UTC (``+00:00``)."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def _is_type(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()  # JSON Schema: 3.0 is an integer
    return isinstance(value, _TYPES[name])


def integral(value: Any) -> Any:
    """A parsed JSON value with every integral float (``3.0``) made an int."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [integral(item) for item in value]
    if isinstance(value, dict):
        return {key: integral(item) for key, item in value.items()}
    return value


def _check(schema: JsonSchema, value: Any, path: str, errors: dict[str, str]) -> None:
    """Validate one value, adding the first complaint per field to ``errors``."""
    field = path or "body"
    if "anyOf" in schema:
        if not any(not _errors_of(option, value) for option in schema["anyOf"]):
            errors.setdefault(field, _("Valor no válido."))
        return
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        if not any(_is_type(value, name) for name in names):
            errors.setdefault(field, _("Tipo no válido: se esperaba %(type)s.", type=names[0]))
            return
    if "enum" in schema and value not in schema["enum"]:
        options = ", ".join(str(v) for v in schema["enum"])
        errors.setdefault(field, _("Debe ser uno de: %(options)s", options=options))
        return
    if isinstance(value, str):
        _check_string(schema, value, field, errors)
    elif _is_type(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            errors.setdefault(field, _("Mínimo %(n)s.", n=schema["minimum"]))
        if "maximum" in schema and value > schema["maximum"]:
            errors.setdefault(field, _("Máximo %(n)s.", n=schema["maximum"]))
    elif isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.setdefault(field, _("Demasiados elementos."))
        for index, item in enumerate(value):
            _check(schema.get("items", {}), item, f"{path}[{index}]", errors)
    elif isinstance(value, dict):
        _check_object(schema, value, path, errors)


def _check_string(schema: JsonSchema, value: str, field: str, errors: dict[str, str]) -> None:
    if len(value) < schema.get("minLength", 0):
        errors.setdefault(field, _("No puede quedar vacío."))
    elif "maxLength" in schema and len(value) > schema["maxLength"]:
        errors.setdefault(field, _("Máximo %(n)d caracteres.", n=schema["maxLength"]))
    elif "pattern" in schema and not re.search(schema["pattern"], value):
        errors.setdefault(field, _("Formato no válido."))
    elif schema.get("format") == "date-time":
        try:
            parse_instant(value)
        except ValueError:
            errors.setdefault(
                field,
                _("Fecha y hora ISO-8601 con zona horaria, p. ej. 2026-03-03T10:00:00-06:00."),
            )


def _check_object(
    schema: JsonSchema, value: dict[str, Any], path: str, errors: dict[str, str]
) -> None:
    properties = schema.get("properties", {})
    prefix = f"{path}." if path else ""
    for name in schema.get("required", []):
        if name not in value:
            errors.setdefault(prefix + name, _("Campo obligatorio."))
    if schema.get("additionalProperties") is False:
        for name in value:
            if name not in properties:
                errors.setdefault(prefix + name, _("Campo desconocido."))
    if schema.get("minProperties", 0) > len(value):
        errors.setdefault(path or "body", _("Indique al menos un campo."))
    for name, item in value.items():
        if name in properties:
            _check(properties[name], item, prefix + name, errors)


def _errors_of(schema: JsonSchema, value: Any) -> dict[str, str]:
    errors: dict[str, str] = {}
    _check(schema, value, "", errors)
    return errors
