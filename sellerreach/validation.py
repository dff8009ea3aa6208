"""Batch validation of mapped orders with the Great Expectations suites in schemas/expectations/.

`validate_orders` puts the fct_orders rows and the fct_order_items rows of a batch into two pandas DataFrames,
runs one suite on each and rejects an order when its order row or any of its item rows fails an expectation.
The suites are data (JSON, loaded through GE's own `ExpectationSuite`), so an analyst can read and change the
rules without reading this module.

Costs, measured with GE 1.24 on the project's 2-core machine:
- `import great_expectations` takes 7-15 s, so it happens lazily on the first call, once per process.
- One ephemeral context, one pandas datasource, one dataframe asset and whole-dataframe batch definition per
  table and the parsed suites are built once and reused; a batch only swaps the DataFrame in.
- GE's cost is per expectation, not per row: each one builds its metric graph again (about 10 ms with
  BOOLEAN_ONLY, 15-20 ms with COMPLETE), while 100,000 rows add well under a second. So a batch first runs
  every expectation with BOOLEAN_ONLY and re-runs only the failed ones with COMPLETE to find the failed rows.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sellerreach.amazon.mapping import OrderRows

SUITE_FILES = {"fct_orders": "orders.json", "fct_order_items": "order_items.json"}
_COLUMN_KWARGS = ("column", "column_A", "column_B", "column_list")


@dataclass(frozen=True)
class Rejected:
    rows: OrderRows
    reasons: tuple[str, ...]  # "<table>.<column>: <expectation type> (<rule>)", one per failed expectation


@dataclass(frozen=True)
class ValidationResult:
    valid: list[OrderRows]
    rejected: list[Rejected]


def validate_orders(batch: Sequence[OrderRows]) -> ValidationResult:
    """Split a batch of mapped orders into those that meet the expectation suites and those that do not.

    An order is rejected when its fct_orders row or any of its fct_order_items rows fails an expectation;
    each rejection lists every failed expectation with its table and column. Order is kept in both lists.
    Raises RuntimeError when a suite cannot be evaluated at all (a missing column, a broken expectation).
    """
    if not batch:
        return ValidationResult(valid=[], rejected=[])
    engine = _engine()
    reasons: dict[int, list[str]] = {}
    order_rows = [rows.order for rows in batch]
    item_rows: list[dict] = []
    item_owner: list[int] = []  # position in `batch` of the order each item row belongs to
    for position, rows in enumerate(batch):
        item_rows.extend(rows.items)
        item_owner.extend([position] * len(rows.items))

    with engine.lock:
        for index, reason in engine.failures("fct_orders", order_rows):
            reasons.setdefault(index, []).append(reason)
        if item_rows:
            for index, reason in engine.failures("fct_order_items", item_rows):
                reasons.setdefault(item_owner[index], []).append(reason)

    valid = [rows for position, rows in enumerate(batch) if position not in reasons]
    rejected = [
        Rejected(rows=batch[position], reasons=tuple(dict.fromkeys(reasons[position])))
        for position in sorted(reasons)
    ]
    return ValidationResult(valid=valid, rejected=rejected)


def load_suite_document(table: str) -> dict[str, Any]:
    """The JSON document of a table's expectation suite, as stored in schemas/expectations/."""
    text = resources.files("schemas").joinpath("expectations", SUITE_FILES[table]).read_text(encoding="utf-8")
    return json.loads(text)


class _Engine:
    """One GE context and pandas datasource; per table a dataframe asset, batch definition and suite."""

    def __init__(self) -> None:
        # analytics off before GE reads its environment; it must never call home from a sync run
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        import great_expectations as gx
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        self.lock = threading.Lock()
        self._context = gx.get_context(
            mode="ephemeral",
            project_config=DataContextConfig(
                store_backend_defaults=InMemoryStoreBackendDefaults(),
                analytics_enabled=False,
                # GE's tqdm bars ("Calculating Metrics") would otherwise land in flow logs
                progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
            ),
        )
        datasource = self._context.data_sources.add_pandas("sellerreach_validation")
        self._batch_definitions = {}
        self._suites = {}
        self._columns = {}
        for table in SUITE_FILES:
            document = load_suite_document(table)
            suite = gx.ExpectationSuite(**document)
            if len(suite.expectations) != len(document["expectations"]):
                # ExpectationSuite logs and drops an invalid expectation; a rule must never vanish silently
                raise RuntimeError(
                    f"expectation suite of {table} has an invalid expectation (see the GE log)"
                )
            self._suites[table] = suite
            asset = datasource.add_dataframe_asset(table)
            self._batch_definitions[table] = asset.add_batch_definition_whole_dataframe(f"{table}_batch")
            self._columns[table] = _suite_columns(document)

    def failures(self, table: str, rows: list[dict]) -> list[tuple[int, str]]:
        """(row position, reason) for every row of `rows` that fails an expectation of the table's suite."""
        import pandas as pd

        frame = pd.DataFrame({column: [row[column] for row in rows] for column in self._columns[table]})
        suite = self._suites[table]
        first = self._validate(table, frame, suite, "BOOLEAN_ONLY")
        failed = [result.expectation_config for result in first.results if not result.success]
        if not failed:
            return []
        # only the failed expectations again, this time with the row indexes
        from great_expectations import ExpectationSuite

        detail = self._validate(
            table,
            frame,
            ExpectationSuite(name=f"{suite.name}_failed", expectations=failed),
            {"result_format": "COMPLETE", "return_unexpected_index_query": False},
        )
        found: list[tuple[int, str]] = []
        for result in detail.results:
            if result.success:
                continue
            config = result.expectation_config
            indexes = result.result.get("unexpected_index_list")
            if indexes is None:
                raise RuntimeError(f"{table}: {config.type} failed without naming the rows that failed")
            reason = _reason(table, config.type, config.kwargs)
            found.extend((int(index), reason) for index in indexes)
        return found

    def _validate(self, table: str, frame: Any, suite: Any, result_format: Any) -> Any:
        batch = self._batch_definitions[table].get_batch(batch_parameters={"dataframe": frame})
        outcome = batch.validate(suite, result_format=result_format)
        for result in outcome.results:
            if result.exception_info and result.exception_info.get("raised_exception"):
                raise RuntimeError(
                    f"{table}: {result.expectation_config.type} could not be evaluated: "
                    f"{result.exception_info.get('exception_message')}"
                )
        return outcome


_ENGINE: _Engine | None = None
_ENGINE_LOCK = threading.Lock()


def _engine() -> _Engine:
    global _ENGINE
    with _ENGINE_LOCK:
        if _ENGINE is None:
            _ENGINE = _Engine()
        return _ENGINE


def _suite_columns(document: dict[str, Any]) -> list[str]:
    """Every column the suite's expectations read, in first-use order: the DataFrame holds only those."""
    columns: dict[str, None] = {}
    for expectation in document["expectations"]:
        kwargs = expectation["kwargs"]
        for key in _COLUMN_KWARGS:
            value = kwargs.get(key)
            for column in value if isinstance(value, list) else [value] if value else []:
                columns[column] = None
        condition = kwargs.get("row_condition")
        if isinstance(condition, dict) and isinstance(condition.get("column"), dict):
            columns[condition["column"]["name"]] = None
    return list(columns)


def _reason(table: str, expectation_type: str, kwargs: dict[str, Any]) -> str:
    """'fct_order_items.quantity: expect_column_values_to_be_between (min 1, max 10000)'."""
    column = kwargs.get("column") or kwargs.get("column_A")
    rule: list[str] = []
    if "column_A" in kwargs and "column_B" in kwargs:
        operator = ">=" if kwargs.get("or_equal") else ">"
        rule.append(f"{kwargs['column_A']} {operator} {kwargs['column_B']}")
    if kwargs.get("min_value") is not None:
        rule.append(f"min {_number(kwargs['min_value'])}")
    if kwargs.get("max_value") is not None:
        rule.append(f"max {_number(kwargs['max_value'])}")
    if kwargs.get("regex"):
        rule.append(f"regex {kwargs['regex']}")
    if kwargs.get("value_set") is not None:
        values = list(kwargs["value_set"])
        rule.append(
            f"one of {', '.join(map(str, values))}" if len(values) <= 8 else f"one of {len(values)} values"
        )
    if expectation_type.endswith("_not_be_null"):
        rule.append("not null")
    if kwargs.get("row_condition") is not None:
        rule.append(f"where {_condition(kwargs['row_condition'])}")
    return f"{table}.{column}: {expectation_type}" + (f" ({', '.join(rule)})" if rule else "")


def _number(value: Any) -> Any:
    # GE hands bounds back as floats: show 1, not 1.0
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _condition(condition: Any) -> str:
    """A row condition as a reader writes it: a nullity condition -> 'order_total_cents is not null'."""
    if isinstance(condition, dict) and condition.get("type") == "nullity":
        return f"{condition['column']['name']} is {'null' if condition.get('is_null') else 'not null'}"
    return str(condition)
