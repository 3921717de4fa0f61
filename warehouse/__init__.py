"""The DuckDB warehouse: schema, migrations and idempotent batch writes."""

from .store import (
    SchemaTooNew,
    UpsertResult,
    Warehouse,
    WarehouseLocked,
    mentions_to_arrow,
    migrate,
    record_run,
    save_labels,
    save_state,
    schema_version,
    upsert_mentions,
    warehouse_for,
)

__all__ = [
    "SchemaTooNew",
    "UpsertResult",
    "Warehouse",
    "WarehouseLocked",
    "mentions_to_arrow",
    "migrate",
    "record_run",
    "save_labels",
    "save_state",
    "schema_version",
    "upsert_mentions",
    "warehouse_for",
]
