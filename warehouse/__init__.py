"""The DuckDB warehouse: schema, migrations and idempotent batch writes."""

from .store import (
    UpsertResult,
    Warehouse,
    WarehouseLocked,
    mentions_to_arrow,
    migrate,
    record_run,
    save_labels,
    save_state,
    upsert_mentions,
    warehouse_for,
)

__all__ = [
    "UpsertResult",
    "Warehouse",
    "WarehouseLocked",
    "mentions_to_arrow",
    "migrate",
    "record_run",
    "save_labels",
    "save_state",
    "upsert_mentions",
    "warehouse_for",
]
