"""JSON API: the OpenAPI document, and schemathesis fuzzing every operation against it.

Each operation gets bounded generated requests with a coordinator's token over seeded
data; every answer must be documented (status and schema) and none may be a 500.
Schema-valid requests may still be refused with 422 by the services' rules (a phone
number, a time zone, a protocol id that JSON Schema cannot express), so schemathesis'
"positive data must be accepted" check is left out; every other check runs.
Each generated case is sent twice: as generated, and with its ids pointed at seeded
records, so the fuzzer reaches real participants, sessions and alerts, not only 404s.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis_profiles import examples
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy import select
from test_api_access import MONDAY, World, build_world

import telejt.api.views  # noqa: F401  (declares every operation)
from telejt.api.routing import OPERATIONS
from telejt.api.schemas import ALL_SCHEMAS
from telejt.extensions import db
from telejt.planning.models import Contact


@pytest.fixture
def world(frozen_clock, make_court, make_staff, make_participant) -> World:
    """The shared world at Monday noon UTC."""
    frozen_clock.set(MONDAY)
    return build_world(make_court, make_staff, make_participant)


@pytest.fixture
def api_schema(app_ctx, world):
    """The API's own OpenAPI document, loaded through the app."""
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app_ctx)


def seeded_ids(world: World) -> dict[str, int]:
    """Ids of records the coordinator may see, by parameter name."""
    mine = world.participants["mine"]
    session = db.session.scalar(
        select(Contact.id).where(Contact.participant_id == mine.id, Contact.kind == "session")
    )
    return {
        "participant_id": mine.id,
        "session_id": session,
        "alert_id": world.alerts["court"].id,
        "court_id": world.court_a.id,
    }


def test_document_lists_every_operation_and_schema(client, world) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert set(document["components"]["schemas"]) == {schema.name for schema in ALL_SCHEMAS}
    operations = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert operations == {
        ("GET", "/courts"), ("POST", "/courts"), ("PATCH", "/courts/{court_id}"),
        ("GET", "/staff"), ("GET", "/protocols"),
        ("GET", "/participants"), ("POST", "/participants"),
        ("GET", "/participants/{participant_id}"),
        ("PATCH", "/participants/{participant_id}"),
        ("GET", "/participants/{participant_id}/contacts"),
        ("GET", "/participants/{participant_id}/messages"),
        ("GET", "/participants/{participant_id}/compliance"),
        ("POST", "/sessions"), ("POST", "/sessions/{session_id}/attendance"),
        ("POST", "/contacts/{contact_id}/justification"),
        ("POST", "/contacts/{contact_id}/verification"),
        ("GET", "/alerts"), ("POST", "/alerts/{alert_id}/ack"),
        ("POST", "/alerts/{alert_id}/verification"), ("POST", "/alerts/{alert_id}/seen"),
    }  # fmt: skip
    for item in document["paths"].values():
        for operation in item.values():
            assert operation["security"] == [{"bearerAuth": []}]
            assert operation["responses"]["401"]["content"]["application/problem+json"][
                "schema"
            ] == {"$ref": "#/components/schemas/Error"}


#: every declared operation, as (METHOD, OpenAPI path)
OPERATION_KEYS = [(op.method, re.sub(r"<int:(\w+)>", r"{\1}", op.rule)) for op in OPERATIONS]


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
@pytest.mark.parametrize("method,path", OPERATION_KEYS)
def test_fuzzing_finds_no_error_and_no_undocumented_answer(
    api_schema, world, method, path, mode
) -> None:
    # schemathesis' own pytest loader does not run on pytest 9; hypothesis drives it here
    operation = api_schema[path][method]
    headers = {"Authorization": f"Bearer {world.tokens['coordinator']}"}
    ids = seeded_ids(world)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples(30),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def exchange(case: Any) -> None:
        check(case, case.call(headers=headers))
        if mode is not GenerationMode.POSITIVE:
            return  # pointing a negative case at real ids could make it valid
        for name in list(case.path_parameters or {}):
            if name in ids:
                case.path_parameters[name] = ids[name]
        if isinstance(case.body, dict) and "participant_id" in case.body:
            case.body["participant_id"] = ids["participant_id"]
        check(case, case.call(headers=headers))

    def check(case: Any, response: Any) -> None:
        case.validate_response(
            response, headers=headers, excluded_checks=[positive_data_acceptance]
        )

    exchange()
