"""`edumon web`: serve the review page; `edumon web hash-password`: make a password hash for the config."""

from __future__ import annotations

import ipaddress
import sys

import click

from core.config import Config
from core.passwords import hash_password
from core.secrets import MissingSecret, Secrets
from edumon.cli.options import CliError, config_option, usage_error
from edumon.web.app import SecretError, create_app
from warehouse import WarehouseLocked


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@click.group("web", invoke_without_command=True)
@config_option(required=False)
@click.option("--host", default=None, help="Address to bind to (default: web.host, 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default: web.port, 8080).")
@click.pass_context
def web(ctx: click.Context, cfg: Config | None, host: str | None, port: int | None) -> None:
    """Serve the review page for comms staff and school leaders.

    Users log in with the accounts in the config's [[users]]; the session
    secret comes from the environment variable named by web.secret_env
    (default EDUMON_WEB_SECRET, at least 32 characters).

    \b
    Example:
        export EDUMON_WEB_SECRET="$(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        edumon web --config config/example.toml --port 8080
    """
    if ctx.invoked_subcommand:
        return
    if cfg is None:
        raise usage_error("Missing option '--config'.")
    if not cfg.users:
        raise CliError("no [[users]] in the config: add accounts (see `edumon web hash-password`)")
    try:
        secret = Secrets().require(cfg.web.secret_env, "the review page's session secret")
    except MissingSecret as e:
        raise CliError(str(e)) from None

    try:
        app = create_app(cfg, secret)
    except (SecretError, WarehouseLocked) as e:
        raise CliError(str(e)) from None
    import uvicorn

    host = host or cfg.web.host
    port = port or cfg.web.port
    if not _is_loopback(host):
        click.echo(
            f"warning: binding to {host}: the page is reachable from the network; serve it behind HTTPS "
            "and set web.secure_cookies = true",
            err=True,
        )
    click.echo(f"Review page on http://{host}:{port}/ ({len(cfg.users)} users); Ctrl+C stops.")
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False, proxy_headers=False)


@web.command("hash-password")
@click.option("--stdin", "from_stdin", is_flag=True, help="Read the password from the first line of stdin.")
def hash_password_cmd(from_stdin: bool) -> None:
    """Print a password hash for a user's password_hash in the config.

    The password is asked twice (not echoed), or read from stdin.

    \b
    Example:
        edumon web hash-password
        printf '%s\\n' "$PASSWORD" | edumon web hash-password --stdin
    """

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 10:
        raise CliError("the password must be at least 10 characters")
    click.echo(hash_password(password))
