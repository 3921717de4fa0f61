"""Options, errors and exit codes every `edumon` command shares.

Exit codes (every command):
  0  ok
  1  the command ran, but something failed: a source, an alert delivery, a locked warehouse,
     the thing asked for is not there
  2  usage or config error: a missing or unknown option, a config file that does not load,
     input the command cannot read

Every error is one line on stderr, `Error: ...`, never a stack trace (`edumon -v` logs the
trace of an unexpected error at debug level).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import click

from classifiers import ClassifierError
from core.config import ClassifierConfig, Config, ConfigError, load_config
from warehouse import SchemaTooNew, Warehouse, WarehouseLocked, warehouse_for
from warehouse.views import PseudonymKeyMismatch, PseudonymKeyMissing, verify_key

EXIT_OK = 0
EXIT_FAILED = 1  # ran, but a source or delivery failed (or what was asked cannot be done now)
EXIT_USAGE = 2  # usage or config error

log = logging.getLogger("edumon.cli")


class CliError(click.ClickException):
    """The one error of the `edumon` commands: one line on stderr and an exit code.

    `exit_code` is `EXIT_FAILED` (1) unless given; `usage_error` makes one with `EXIT_USAGE` (2).
    """

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(" ".join(ln.strip() for ln in str(message).splitlines() if ln.strip()) or "failed")
        self.exit_code = exit_code

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True, file=file)


def usage_error(message: str) -> CliError:
    """A usage, config or input error (exit code 2)."""
    return CliError(message, EXIT_USAGE)


def refuse_other_pseudonym_key(cfg: Config) -> None:
    """Before `run` and `serve`: a pseudonym key other than the warehouse's is a config error
    (exit 2), not a silent new pseudonym for every author (`warehouse.views.verify_key`)."""
    try:
        verify_key(cfg, warehouse_for(cfg))
    except PseudonymKeyMismatch as e:
        raise usage_error(str(e)) from None
    except PseudonymKeyMissing:  # a too-short key: the cycle warns and computes no pseudonyms
        pass


def first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


def as_cli_error(e: Exception) -> CliError:
    """An error no command caught, as one line with exit code 1 (the trace is logged at debug)."""
    log.debug("unexpected error", exc_info=e)
    if isinstance(e, SchemaTooNew):
        return usage_error(first_line(e))
    if isinstance(e, WarehouseLocked):
        return CliError(first_line(e))
    return CliError(f"{type(e).__name__}: {first_line(e)}")


def one_line_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Any failure of a command becomes one `CliError` line: input it cannot read (a missing
    file, a bad row, text that is not UTF-8) or a classifier the config cannot load (a bad heads
    file, models that cannot be downloaded) exits 2; a locked warehouse or anything else exits 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except FileNotFoundError as e:
            raise usage_error(f"{e.filename or e}: file not found") from None
        except SchemaTooNew as e:
            raise usage_error(first_line(e)) from None
        except (ValueError, ConfigError, ClassifierError) as e:  # UnicodeDecodeError, JSON errors are ValueErrors
            raise usage_error(first_line(e)) from None
        except WarehouseLocked as e:
            raise CliError(first_line(e)) from None
        except Exception as e:  # noqa: BLE001 - a CLI never shows a stack trace
            log.debug("%s failed", getattr(fn, "__name__", "command"), exc_info=True)
            raise CliError(first_line(e)) from None

    return wrapper


def load(path: str) -> Config:
    """The config at `path`, loaded and validated; a mistake is one line and exit code 2."""
    try:
        return load_config(path)
    except ConfigError as e:
        raise usage_error(f"config error: {e}") from None


def refuse_newer_schema(cfg: Config) -> None:
    """A warehouse a newer edumon migrated: one line and exit 2 before the command does anything.
    Reads only, without waiting: a locked or unreadable file is left to the command itself (every
    connection checks again, `warehouse.SchemaTooNew`)."""
    path = Path(cfg.warehouse.path)
    if not path.is_file():
        return
    try:
        Warehouse(path, lock_timeout_s=0).query("SELECT 1")
    except SchemaTooNew as e:
        raise usage_error(first_line(e)) from None
    except Exception:  # noqa: BLE001 - locked, damaged: the command meets it and says so
        log.debug("schema check of %s skipped", path, exc_info=True)


def config_option(f: Callable[..., Any] | None = None, *, required: bool = True, schema_check: bool = True) -> Any:
    """`--config FILE` (or $EDUMON_CONFIG), loaded and passed as the command's first argument.

    The one definition every command uses.  `required=False` (the classifier's commands, the
    `edumon web` group) passes None when it is not given.  Every command refuses a warehouse at
    a newer schema than this code (`refuse_newer_schema`) unless `schema_check=False` (`edumon
    restore`, which may go back to an older backup)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @click.option(
            "--config",
            "config_path",
            required=required,
            type=click.Path(dir_okay=False),
            envvar="EDUMON_CONFIG",
            help="The TOML config file (or $EDUMON_CONFIG)." + ("" if required else " Optional here."),
        )
        @functools.wraps(fn)
        def wrapper(config_path: str | None, **kw: Any) -> Any:
            cfg = load(config_path) if config_path else None
            if cfg is not None and schema_check:
                refuse_newer_schema(cfg)
            return fn(cfg, **kw)

        return wrapper

    return decorate(f) if f is not None else decorate


def need_config(cfg: Config | None, what: str, why: str = "") -> Config:
    """The config an optional `--config` gave, or a usage error saying what needs it."""
    if cfg is None:
        raise usage_error(f"{what} needs --config" + (f" ({why})" if why else ""))
    return cfg


def classifier_config(cfg: Config | None) -> ClassifierConfig:
    """The config's [classifier] section, or the defaults without a config."""
    return cfg.classifier if cfg is not None else ClassifierConfig()


def existing_warehouse(cfg: Config) -> Warehouse:
    """The config's warehouse, migrated; a missing or locked one is one clear line (exit 1)."""
    wh = warehouse_for(cfg)
    if not wh.path.exists():
        raise CliError(f"{wh.path}: no warehouse here yet (run a cycle first)")
    try:
        wh.migrate()
    except WarehouseLocked as e:
        raise CliError(str(e)) from None
    return wh
