"""Amazon's vendored OpenAPI models (schemas/spapi/): operations, their usage plans and response schemas.

The models are the single source for rate limits and payload shapes: both the client and the stand-in read them,
so a change in Amazon's published usage plan changes both sides at once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from sellerreach.amazon.rate_limit import UsagePlan

MODEL_FILES = ("orders_2026-01-01.json", "tokens_2021-03-01.json", "solicitations.json")
_USAGE_PLAN_ROW = re.compile(r"\|\s*([0-9]*\.?[0-9]+)\s*\|\s*([0-9]+)\s*\|")


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str  # upper case
    path: str  # template, e.g. /orders/2026-01-01/orders/{orderId}
    usage_plan: UsagePlan
    model_file: str

    def path_regex(self) -> re.Pattern[str]:
        pattern = re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(self.path))
        return re.compile(f"^{pattern}$")


def load_model(name: str) -> dict[str, Any]:
    return _load_model(name)


@cache
def _load_model(name: str) -> dict[str, Any]:
    return json.loads(resources.files("schemas").joinpath("spapi", name).read_text(encoding="utf-8"))


def parse_usage_plan(description: str) -> UsagePlan:
    """Read the `| rate | burst |` row of an operation's "Usage Plan" table."""
    match = _USAGE_PLAN_ROW.search(description.split("Usage Plan", 1)[-1])
    if not match:
        raise ValueError("operation description has no usage-plan table")
    return UsagePlan(rate=float(match.group(1)), burst=int(match.group(2)))


@cache
def operations() -> dict[str, Operation]:
    """Every operation of the vendored models, by operationId."""
    found: dict[str, Operation] = {}
    for name in MODEL_FILES:
        model = _load_model(name)
        for path, methods in model["paths"].items():
            for method, op in methods.items():
                if not isinstance(op, dict) or "operationId" not in op:
                    continue
                found[op["operationId"]] = Operation(
                    operation_id=op["operationId"],
                    method=method.upper(),
                    path=path,
                    usage_plan=parse_usage_plan(op.get("description", "")),
                    model_file=name,
                )
    return found


def operation(operation_id: str) -> Operation:
    try:
        return operations()[operation_id]
    except KeyError:
        raise KeyError(f"operation {operation_id!r} is not in the vendored models {MODEL_FILES}") from None


def response_schema(operation_id: str, status: int) -> dict[str, Any] | None:
    """The JSON schema of one response, with the model's definitions attached so `$ref`s resolve."""
    op = operation(operation_id)
    model = _load_model(op.model_file)
    spec = model["paths"][op.path][op.method.lower()]["responses"].get(str(status))
    if spec is None or "schema" not in spec:
        return None
    return {**spec["schema"], "definitions": model["definitions"]}


def validate_response(operation_id: str, status: int, body: Any) -> list[str]:
    """Errors found validating `body` against the model's schema for that response; [] when valid."""
    import jsonschema

    schema = response_schema(operation_id, status)
    if schema is None:
        return [f"{operation_id} has no schema for HTTP {status}"]
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '<root>'}: {error.message}"
        for error in validator.iter_errors(body)
    ]
