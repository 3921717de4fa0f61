"""Options and helpers every `edumon` command shares."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from core.config import Config, ConfigError, load_config
from warehouse import Warehouse, WarehouseLocked, warehouse_for


def config_option(f: Callable[..., Any]) -> Callable[..., Any]:
    """`--config FILE`, loaded and validated; a mistake is one line and exit code 2."""

    @click.option(
        "--config",
        "config_path",
        required=True,
        type=click.Path(dir_okay=False),
        envvar="EDUMON_CONFIG",
        help="The TOML config file (or $EDUMON_CONFIG).",
    )
    @functools.wraps(f)
    def wrapper(config_path: str, **kw: Any) -> Any:
        try:
            cfg = load_config(config_path)
        except ConfigError as e:
            raise click.UsageError(f"config error: {e}") from None
        return f(cfg, **kw)

    return wrapper


def existing_warehouse(cfg: Config) -> Warehouse:
    """The config's warehouse, migrated; a missing or locked one is one clear line."""
    wh = warehouse_for(cfg)
    if not wh.path.exists():
        raise click.ClickException(f"{wh.path}: no warehouse here yet (run a cycle first)")
    try:
        wh.migrate()
    except WarehouseLocked as e:
        raise click.ClickException(str(e)) from None
    return wh
