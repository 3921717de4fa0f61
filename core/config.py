"""TOML configuration, validated into typed dataclasses.

Every section is a dataclass; `load_config` walks the TOML against their
fields, so an unknown key, a wrong type or a missing required key is one
`ConfigError` naming the key path (e.g. ``schools[2].aliases``).
Secrets never live here: the config names the environment variable
(`*_env` keys) and `core.secrets` reads it.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.passwords import is_password_hash
from core.vocabulary import ROLES


class ConfigError(ValueError):
    """A configuration mistake, phrased as one line that names the key path."""


# [classifier]: how mentions are classified.
@dataclass
class TransformersConfig:
    """`[classifier.transformers]`: fine-tuned Dutch models by Hugging Face id or local path.

    Label lists map each model output index to one of our labels (by index, not by
    the model's own label names). A model set to "none" is not used.
    """

    sentiment_model: str | None = "BramVanroy/robbert-v2-dutch-base-hebban-reviews"
    sentiment_labels: list[str] = field(default_factory=lambda: ["negative", "neutral", "positive"])
    toxicity_model: str | None = "ml6team/robbert-dutch-base-toxic-comments"
    toxicity_labels: list[str] = field(default_factory=lambda: ["none", "insult"])
    severity_model: str | None = "IMSyPP/hate_speech_nl"
    severity_labels: list[str] = field(default_factory=lambda: ["none", "none", "insult", "threat"])
    toxicity_threshold: float = 0.5  # P(toxic) at or above this makes at least an insult
    max_length: int = 256  # tokens; longer posts are truncated
    batch_size: int = 16
    offline: bool = True  # load only from the local cache / path (no network)
    cache_dir: str | None = None  # Hugging Face cache; default: the HF default


@dataclass
class ClassifierConfig:
    """How mentions are classified; every key is in docs/configuration.md."""

    backend: str = "default"  # default (e5 heads + rules) | rules | transformers
    heads_path: str | None = None  # trained heads (.npz); default: the shipped classifiers/data/heads.npz
    threat_threshold: float | None = None  # model P(threat) for a threat; default: tuned value in the heads
    insult_threshold: float | None = None  # model P(insult) for an insult; default: tuned value in the heads
    rules_threat: bool = True  # a threat found by the rules is a threat whatever the model says
    rules_insult: bool = True  # an insult found by the rules is an insult whatever the model says
    batch_size: int = 32  # posts per encoder call
    transformers: TransformersConfig = field(default_factory=TransformersConfig)


# [triage]: which classified posts alert a school leader at once, which go to comms staff for review.
@dataclass
class TriageConfig:
    """`[triage]`: thresholds on the model's probabilities. Defaults tuned out-of-writer (rounds 7 and 9): the
    shipped heads' grouped cross-validation predictions (`edumon train --cv-folds 4 --cv-out`) of the stream-like
    writers (w17-w21, w22-w24, w25-w27 as separate groups), by `bench/bench_triage.py cv`; docs/triage.md
    explains the trade a school makes when it moves one."""

    alert_threat: float = 0.7  # model P(threat) at or above: an urgent alert (Dutch posts only)
    alert_insult: float = 0.9  # model P(insult) at or above: a normal alert (Dutch posts only)
    review_threat: float = 0.05  # model P(threat) at or above (below alert_threat): review by comms staff
    review_insult: float = 0.8  # model P(insult) at or above (below alert_insult): review
    rules_alert: bool = True  # a threat or insult the rules find alerts at once (see rules_alert_min)
    rules_alert_min: float = 0.3  # ... when the model's P(threat) + P(insult) is at least this; below: review
    rules_strong: bool = (
        True  # a strong rule cue (a frame, a target and an act; rules 1.4-1.5) alerts at once, any language
    )
    rules_strong_min: float = 0.05  # ... when the model's P(threat) + P(insult) is at least this; below: review
    review_within_hours: float = 24.0  # a review item nobody handled within this becomes an alert
    languages: list[str] = field(default_factory=lambda: ["nl"])  # posts the model may alert on alone


# [web] and [[users]]: the review page. Passwords are never in the config: `password_hash`
# holds a hash from `edumon web hash-password`; the session secret comes from `web.secret_env`.
@dataclass
class WebUser:
    """One account of the review page."""

    username: str
    role: str  # comms | leader | analyst
    password_hash: str  # from `edumon web hash-password`; never a password
    schools: list[str] = field(default_factory=list)  # leaders: the school ids they see
    name: str | None = None  # shown in the audit trail next to the username


@dataclass
class WebConfig:
    secret_env: str = "EDUMON_WEB_SECRET"  # environment variable with the session secret (>= 32 characters)
    host: str = "127.0.0.1"  # default bind address of `edumon web`
    port: int = 8080
    session_hours: float = 12.0  # a login lasts this long
    secure_cookies: bool = False  # set true behind HTTPS (a reverse proxy)
    public_url: str | None = None  # where staff reach the page, e.g. for links in alerts

    def followup_url(self, mention_id: str) -> str | None:
        """The review page's address of one follow-up, when `public_url` is set (else None)."""
        return f"{self.public_url.rstrip('/')}/opvolging/{mention_id}" if self.public_url else None


@dataclass
class Organisation:
    name: str
    timezone: str = "Europe/Amsterdam"


@dataclass
class WarehouseConfig:
    path: str = "data/edumon.duckdb"
    lock_timeout_s: float = 60.0  # how long a writer waits for another process's lock
    spool_dir: str | None = None  # where fetched mentions wait if the lock never frees; default: next to the database
    # the analysts' read-only copy (`warehouse.publish`), replaced after every cycle and purge;
    # default: `<database stem>.analysts.duckdb` beside the database
    analysts_path: str | None = None


@dataclass
class School:
    id: str
    name: str
    aliases: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    contacts: list[str] = field(default_factory=list)


@dataclass
class RssSource:
    url: str
    name: str | None = None
    timeout_s: float = 20.0  # the whole request (headers and body), per attempt
    retries: int = 3
    max_bytes: int = 10 * 1024 * 1024  # a longer body fails the feed (too_large)


@dataclass
class BlueskySource:
    handle: str
    app_password_env: str
    base_url: str = "https://bsky.social"
    queries: list[str] | None = None
    max_pages: int = 5
    page_size: int = 100  # searchPosts `limit` (at most 100)
    timeout_s: float = 20.0
    lookback_days: int = 7  # how far back the first cycle looks
    retries: int = 2  # a page that hits a timeout, dropped connection or 5xx is asked again


@dataclass
class MastodonSource:
    api_base_url: str
    hashtags: list[str] = field(default_factory=list)
    access_token_env: str | None = None
    max_pages: int = 5
    queries: list[str] | None = None  # keyword search (needs a token); default: the schools' aliases
    page_size: int = 40  # statuses per page (at most 40)
    timeout_s: float = 20.0
    lookback_days: int = 7  # how far back the first cycle looks
    mastodon_version: str = "4.3.0"  # assumed server version: no version probing, no recursion
    retries: int = 2  # a page that hits a timeout, dropped connection or 5xx is asked again
    stream: bool = False  # `edumon listen` also follows the hashtags' live streams (docs/streaming.md)


@dataclass
class JetstreamSource:
    """`[[sources.jetstream]]`: a Bluesky Jetstream firehose followed by `edumon listen` (docs/streaming.md)."""

    url: str  # wss://jetstream2.us-east.bsky.network/subscribe
    rewind_s: float = 5.0  # on start, resume from the stored cursor this many seconds back
    silent_after_s: float = 120.0  # no event for this long: the stream counts as failing (source health)
    timeout_s: float = 20.0  # connecting (and the first answer) per attempt


@dataclass
class Sources:
    rss: list[RssSource] = field(default_factory=list)
    bluesky: list[BlueskySource] = field(default_factory=list)
    mastodon: list[MastodonSource] = field(default_factory=list)
    jetstream: list[JetstreamSource] = field(default_factory=list)


@dataclass
class SmtpConfig:
    """An SMTP server for alert e-mail and the digest; credentials come from the environment."""

    host: str | None = None  # no host: e-mail is off
    port: int = 587
    starttls: bool = True  # STARTTLS on a plain connection (port 587)
    tls: bool = False  # implicit TLS from the start (port 465); overrides starttls
    user_env: str | None = None  # environment variable holding the user name
    password_env: str | None = None  # environment variable holding the password
    sender: str = "edumon@localhost"  # the From: address
    timeout_s: float = 20.0


@dataclass
class AlertsConfig:
    webhook_url: str | None = None  # global webhook (every alert)
    webhook_format: str = "json"  # json | teams | slack
    email_to: list[str] = field(default_factory=list)  # global e-mail recipients (every alert)
    admin_contacts: list[str] = field(default_factory=list)  # source-health alerts (e-mail or webhook URL)
    timeout_s: float = 10.0
    max_attempts: int = 10  # a failed delivery is retried each cycle up to this many times
    quiet_hours: str | None = None  # "22:00-07:00" (organisation time): normal alerts wait; urgent ones never
    catch_up_hours: float = 48.0  # mentions stored this long ago without protocol actions still get them
    smtp: SmtpConfig = field(default_factory=SmtpConfig)


@dataclass
class EscalationConfig:
    """When online discussion about a school threatens to derail."""

    enabled: bool = True
    window_hours: float = 3.0  # "the last hours"
    baseline_weeks: int = 4  # baseline: same weekday and hour in this many previous weeks
    factor: float = 3.0  # spike when negatives >= factor x baseline ...
    min_negatives: int = 5  # ... and at least this many negatives in the window
    min_baseline: float = 1.0  # baseline floor, so 0 in quiet weeks does not make every 5 a spike
    pileon_replies: int = 5  # negative replies to one post that make a pile-on
    pileon_hours: float = 24.0


@dataclass
class DigestConfig:
    recipients: list[str] = field(default_factory=list)
    subject: str = "Edumon dagoverzicht"
    highlights: int = 5  # positive highlights per school
    trend_days: int = 14
    silent_days: int = 7  # a source without any item for this long is "silent"


@dataclass
class StaffAccount:
    """A staff member's social-media account, for the disclosure rule."""

    name: str
    accounts: list[str]  # handles / author names / author ids, e.g. "@jan@mastodon.nl"
    school: str | None = None  # school id; None: any school of the group


@dataclass
class ProtocolConfig:
    criminal_harm_kinds: list[str] = field(default_factory=lambda: ["bedreigen", "stalken"])
    disclosure_phrases: list[str] = field(
        default_factory=lambda: [
            "medewerker van",
            "medewerker bij",
            "werkzaam bij",
            "werkzaam op",
            "ik werk bij",
            "ik werk op",
            "docent bij",
            "docent aan",
            "docent op",
            "leraar bij",
            "leraar op",
            "leerkracht bij",
            "leerkracht op",
        ]
    )
    disclaimer_phrases: list[str] = field(
        default_factory=lambda: [
            "persoonlijke mening",
            "persoonlijke titel",
            "mijn eigen mening",
            "eigen mening",
            "mening is de mijne",
            "spreek niet namens",
            "niet namens de school",
        ]
    )


@dataclass
class RetentionConfig:
    days: int = 90  # mentions are kept for this many full days after the day they were posted
    deleted_at_source_days: int = 0  # days a post deleted at its source is kept after we noticed (0: next purge)
    tombstone_days: int = 365  # how long the ids of purged mentions are remembered, so they are not re-stored
    deletion_checks_per_run: int = 500  # Bluesky/Mastodon posts asked "still there?" per purge run (0: no checks)


@dataclass
class AnalyticsConfig:
    pseudonym_key_env: str = "EDUMON_PSEUDONYM_KEY"  # env var with the key of the authors' keyed hash (HMAC-SHA256)


@dataclass
class ScheduleConfig:
    """When the deployments run (cron, in `organisation.timezone`) and how a cycle behaves."""

    cycle_cron: list[str] = field(default_factory=lambda: ["*/15 6-22 * * *", "0 23 * * *"])
    digest_cron: str = "30 7 * * 1-5"  # weekdays 07:30
    retention_cron: str = "15 3 * * *"  # nightly 03:15
    # No longer used: a target's fetch is retried by its connector only (sources.*.retries), never
    # by Prefect on top.  Kept so existing configs still load.
    fetch_retries: int = 2
    # In a flow run, the deliver-alerts task retries a transiently failed delivery once per delay.
    retry_delays_s: list[float] = field(default_factory=lambda: [10.0, 60.0])
    retry_jitter_factor: float = 0.5  # delays vary by up to this fraction
    lock_wait_s: float = 60.0  # how long a cycle waits for a running one before it is skipped


@dataclass
class HealthConfig:
    """When a source counts as broken (failing for a while, or silent: no new item for a while),
    and the optional heartbeat that tells an outside monitor each cycle ran.

    Older keys still load: `failures_before_alert` (N failed cycles in a row) is used only when
    `failing_after_minutes` is not given; `silent_after_hours` applies to every kind whose
    `silent_after_hours_<kind>` is not given.  The effective values: `health.rules.Thresholds`."""

    failing_after_minutes: float | None = None  # default 30; wins over failures_before_alert
    failures_before_alert: int | None = None  # older key: N failed cycles in a row
    silent_after_hours: float | None = None  # older key: one value for every kind
    silent_after_hours_rss: float | None = None  # default 48; 0 = never silent
    silent_after_hours_bluesky: float | None = None  # default 168 (per account, all its queries)
    silent_after_hours_mastodon: float | None = None  # default 336 (per instance, all its hashtags)
    overdue_grace_minutes: float = 30.0  # `edumon status`: a cycle this late after its schedule is overdue
    heartbeat_url: str | None = None  # pinged after each good cycle (healthchecks.io style)
    heartbeat_url_env: str | None = None  # or: the environment variable holding that URL (it may hold a token)
    heartbeat_fail: bool = True  # ping <url>/fail after a failed cycle
    heartbeat_timeout_s: float = 5.0


@dataclass
class ListenConfig:
    """`[listen]`: the streaming process (`edumon listen`, docs/streaming.md)."""

    batch_s: float = 3.0  # matches are stored, classified and acted on in batches this often
    run_every_s: float = 60.0  # each stream records a source run (source health) this often
    lock_wait_s: float = 5.0  # a batch waits this long for a running cycle; then it waits in memory


@dataclass
class Config:
    organisation: Organisation
    schools: list[School]
    warehouse: WarehouseConfig = field(default_factory=WarehouseConfig)
    sources: Sources = field(default_factory=Sources)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    escalation: EscalationConfig = field(default_factory=EscalationConfig)
    digest: DigestConfig = field(default_factory=DigestConfig)
    staff: list[StaffAccount] = field(default_factory=list)
    protocol: ProtocolConfig = field(default_factory=ProtocolConfig)
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    triage: TriageConfig = field(default_factory=TriageConfig)
    web: WebConfig = field(default_factory=WebConfig)
    users: list[WebUser] = field(default_factory=list)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    analytics: AnalyticsConfig = field(default_factory=AnalyticsConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    listen: ListenConfig = field(default_factory=ListenConfig)
    path: Path | None = field(default=None, metadata={"internal": True})

    def school(self, school_id: str) -> School:
        for s in self.schools:
            if s.id == school_id:
                return s
        raise KeyError(school_id)


# --- validation ---------------------------------------------------------------------------


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    if origin is list:
        (inner,) = typing.get_args(tp)
        plural = {str: "strings", int: "integers", float: "numbers", bool: "booleans"}
        return f"a list of {plural.get(inner, 'tables')}"
    if dataclasses.is_dataclass(tp):
        return "a table"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(tp, str(tp))


def _what(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    return {str: "a string", int: "an integer", float: "a number", list: "a list", dict: "a table"}.get(
        type(value), type(value).__name__
    )


def _convert(value: Any, tp: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        errors = []
        for a in args:
            try:
                return _convert(value, a, path)
            except ConfigError as e:
                errors.append(e)
        raise ConfigError(f"{path}: expected {_type_name(tp)}, got {_what(value)}")
    if origin is list:
        (inner,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"{path}: expected {_type_name(tp)}, got {_what(value)}")
        return [_convert(v, inner, f"{path}[{i}]") for i, v in enumerate(value)]
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a table, got {_what(value)}")
        return _build(tp, value, path)
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if tp in (str, int, float, bool):
        if type(value) is not tp:
            raise ConfigError(f"{path}: expected {_type_name(tp)}, got {_what(value)}")
        if tp is str and not value.strip():
            raise ConfigError(f"{path}: must not be empty")
        return value
    if tp is Any:
        return value
    raise ConfigError(f"{path}: unsupported type {tp}")  # pragma: no cover - a programming error


def _build(cls: type, data: dict[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    for key in data:
        if key not in fields:
            where = f"{prefix}.{key}" if prefix else key
            raise ConfigError(f"{where}: unknown key (expected one of: {', '.join(fields)})")
    kwargs = {}
    for name, f in fields.items():
        where = f"{prefix}.{name}" if prefix else name
        if name in data:
            kwargs[name] = _convert(data[name], hints[name], where)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where}: missing required key")
    return cls(**kwargs)


def _check_web(cfg: Config) -> None:
    school_ids = {s.id for s in cfg.schools}
    seen: set[str] = set()
    for i, u in enumerate(cfg.users):
        if u.username in seen:
            raise ConfigError(f"users[{i}].username: duplicate username {u.username!r}")
        seen.add(u.username)
        if u.role not in ROLES:
            raise ConfigError(f"users[{i}].role: expected one of {', '.join(ROLES)}, got {u.role!r}")
        if not is_password_hash(u.password_hash):
            raise ConfigError(
                f"users[{i}].password_hash: not a hash from `edumon web hash-password` "
                "(never put a password in the config)"
            )
        if u.role == "leader" and not u.schools:
            raise ConfigError(f"users[{i}].schools: a leader needs at least one school id")
        for j, sid in enumerate(u.schools):
            if sid not in school_ids:
                raise ConfigError(f"users[{i}].schools[{j}]: unknown school id {sid!r}")
    if not 0 < cfg.web.port < 65536:
        raise ConfigError(f"web.port: not a port number: {cfg.web.port}")
    if cfg.web.session_hours <= 0:
        raise ConfigError("web.session_hours: must be positive")


def _check(cfg: Config) -> None:
    _check_web(cfg)
    try:
        ZoneInfo(cfg.organisation.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"organisation.timezone: unknown time zone {cfg.organisation.timezone!r}") from None
    if not cfg.schools:
        raise ConfigError("schools: at least one [[schools]] entry is required")
    seen: set[str] = set()
    for i, s in enumerate(cfg.schools):
        if s.id in seen:
            raise ConfigError(f"schools[{i}].id: duplicate school id {s.id!r}")
        seen.add(s.id)
        if not _ID.fullmatch(s.id):
            raise ConfigError(f"schools[{i}].id: use letters, digits, '-', '_' or '.' only, got {s.id!r}")
        if not s.aliases:
            s.aliases = [s.name]
    if cfg.retention.days < 1:
        raise ConfigError(f"retention.days: must be at least 1, got {cfg.retention.days}")
    if cfg.retention.deleted_at_source_days < 0:
        raise ConfigError(
            f"retention.deleted_at_source_days: must be 0 or more, got {cfg.retention.deleted_at_source_days}"
        )
    if cfg.retention.deletion_checks_per_run < 0:
        raise ConfigError(
            f"retention.deletion_checks_per_run: must be 0 or more, got {cfg.retention.deletion_checks_per_run}"
        )
    if cfg.retention.tombstone_days < cfg.retention.days:
        raise ConfigError(
            f"retention.tombstone_days: must be at least retention.days ({cfg.retention.days}), "
            f"got {cfg.retention.tombstone_days}"
        )
    for kind in ("rss", "bluesky", "mastodon"):
        for i, src in enumerate(getattr(cfg.sources, kind)):
            url = getattr(src, "url", None) or getattr(src, "base_url", None) or getattr(src, "api_base_url", None)
            key = "url" if kind == "rss" else ("base_url" if kind == "bluesky" else "api_base_url")
            _check_url(f"sources.{kind}[{i}].{key}", url)
            if getattr(src, "max_pages", 1) < 1:
                raise ConfigError(f"sources.{kind}[{i}].max_pages: must be at least 1")
            if getattr(src, "timeout_s", 1.0) <= 0:
                raise ConfigError(f"sources.{kind}[{i}].timeout_s: must be more than 0 seconds")
            if not 0 <= getattr(src, "retries", 0) <= 10:
                raise ConfigError(f"sources.{kind}[{i}].retries: must be between 0 and 10")
            if getattr(src, "max_bytes", 1024) < 1024:
                raise ConfigError(f"sources.{kind}[{i}].max_bytes: must be at least 1024 bytes")
    if cfg.warehouse.lock_timeout_s < 0:
        raise ConfigError("warehouse.lock_timeout_s: must not be negative")
    if cfg.alerts.webhook_url is not None:
        _check_url("alerts.webhook_url", cfg.alerts.webhook_url)
    _check_protocol(cfg, seen)
    _check_streams(cfg)
    _check_schedule(cfg)
    _check_generic(cfg, "")
    check_triage(cfg.triage)


_QUIET = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")


def _check_streams(cfg: Config) -> None:
    """Jetstream URLs are ws(s) URLs; the listen timings and quiet hours are sensible."""
    for i, js in enumerate(cfg.sources.jetstream):
        parts = urlsplit(js.url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname or any(c.isspace() for c in js.url):
            raise ConfigError(f"sources.jetstream[{i}].url: expected a ws(s):// URL, got {js.url!r}")
        for key in ("rewind_s", "silent_after_s", "timeout_s"):
            if getattr(js, key) <= 0:
                raise ConfigError(f"sources.jetstream[{i}].{key}: must be more than 0")
    for key in ("batch_s", "run_every_s", "lock_wait_s"):
        if getattr(cfg.listen, key) <= 0:
            raise ConfigError(f"listen.{key}: must be more than 0")
    q = cfg.alerts.quiet_hours
    if q is not None and not _QUIET.fullmatch(q.replace(" ", "")):
        raise ConfigError(f'alerts.quiet_hours: expected "HH:MM-HH:MM" (e.g. "22:00-07:00"), got {q!r}')


def check_triage(t: TriageConfig) -> None:
    """Probabilities in [0, 1]; a review threshold never above its alert threshold; a positive window."""
    for key in (
        "alert_threat",
        "alert_insult",
        "review_threat",
        "review_insult",
        "rules_alert_min",
        "rules_strong_min",
    ):
        v = getattr(t, key)
        if not 0.0 <= v <= 1.0:
            raise ConfigError(f"triage.{key}: expected a probability between 0 and 1, got {v}")
    for kind in ("threat", "insult"):
        if getattr(t, f"review_{kind}") > getattr(t, f"alert_{kind}"):
            raise ConfigError(f"triage.review_{kind}: must not be above triage.alert_{kind}")
    if t.review_within_hours <= 0:
        raise ConfigError(f"triage.review_within_hours: must be above 0, got {t.review_within_hours}")


_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _check_url(where: str, url: Any) -> None:
    parts = urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in str(url)):
        raise ConfigError(f"{where}: expected an http(s) URL, got {url!r}")


def _check_generic(obj: Any, prefix: str) -> None:
    """Rules for every section: numbers are finite, `*_env` keys name an environment variable."""
    for f in dataclasses.fields(obj):
        if f.metadata.get("internal"):
            continue
        v = getattr(obj, f.name)
        where = f"{prefix}.{f.name}" if prefix else f.name
        if isinstance(v, float) and not math.isfinite(v):
            raise ConfigError(f"{where}: expected a finite number, got {v}")
        if f.name.endswith("_env") and isinstance(v, str) and not _ENV_NAME.fullmatch(v):
            # never echo the value: people paste the secret itself here
            raise ConfigError(
                f"{where}: expected the NAME of an environment variable (letters, digits, _), "
                "not the secret itself; put the secret in that variable"
            )
        if dataclasses.is_dataclass(v):
            _check_generic(v, where)
        elif isinstance(v, list):
            for i, item in enumerate(v):
                if dataclasses.is_dataclass(item):
                    _check_generic(item, f"{where}[{i}]")


def _check_protocol(cfg: Config, school_ids: set[str]) -> None:
    a = cfg.alerts
    if a.webhook_format not in ("json", "teams", "slack"):
        raise ConfigError(f"alerts.webhook_format: expected json, teams or slack, got {a.webhook_format!r}")
    if a.webhook_url and not a.webhook_url.startswith(("http://", "https://")):
        raise ConfigError(f"alerts.webhook_url: expected an http(s) URL, got {a.webhook_url!r}")
    if a.max_attempts < 1:
        raise ConfigError("alerts.max_attempts: must be at least 1")
    if not 0 < a.smtp.port < 65536:
        raise ConfigError(f"alerts.smtp.port: not a port number: {a.smtp.port}")
    _check_contacts(cfg)
    for i, s in enumerate(cfg.staff):
        if s.school is not None and s.school not in school_ids:
            raise ConfigError(f"staff[{i}].school: unknown school id {s.school!r}")
    e = cfg.escalation
    if e.window_hours <= 0 or e.baseline_weeks < 1 or e.factor <= 0 or e.min_negatives < 1 or e.pileon_replies < 1:
        raise ConfigError(
            "escalation: window_hours, baseline_weeks, factor, min_negatives and pileon_replies must be positive"
        )
    if cfg.digest.trend_days < 2:
        raise ConfigError("digest.trend_days: must be at least 2")


def _check_schedule(cfg: Config) -> None:
    """Cron expressions parse; counts and durations are sensible."""
    from datetime import datetime, timezone

    from cronsim import CronSim, CronSimError

    sch, h = cfg.schedule, cfg.health
    crons = [(f"schedule.cycle_cron[{i}]", c) for i, c in enumerate(sch.cycle_cron)]
    crons += [("schedule.digest_cron", sch.digest_cron), ("schedule.retention_cron", sch.retention_cron)]
    if not sch.cycle_cron:
        raise ConfigError("schedule.cycle_cron: at least one cron expression is required")
    for where, expr in crons:
        try:
            CronSim(expr, datetime.now(timezone.utc))
        except CronSimError as e:
            raise ConfigError(f"{where}: not a cron expression {expr!r} ({e})") from None
    for where, value, low in (
        ("schedule.fetch_retries", sch.fetch_retries, 0),
        ("health.failures_before_alert", h.failures_before_alert, 1),
    ):
        if value is not None and value < low:
            raise ConfigError(f"{where}: must be at least {low}")
    for where, num in (
        ("schedule.lock_wait_s", sch.lock_wait_s),
        ("schedule.retry_jitter_factor", sch.retry_jitter_factor),
        *((f"health.{k}", getattr(h, k)) for k in _HEALTH_DURATIONS),
    ):
        if num is not None and num < 0:
            raise ConfigError(f"{where}: must not be negative")
    if h.heartbeat_timeout_s <= 0:
        raise ConfigError("health.heartbeat_timeout_s: must be more than 0 seconds")
    if h.heartbeat_url is not None:
        _check_url("health.heartbeat_url", h.heartbeat_url)
    if h.heartbeat_url and h.heartbeat_url_env:
        raise ConfigError("health.heartbeat_url_env: give heartbeat_url or heartbeat_url_env, not both")
    for i, d in enumerate(sch.retry_delays_s):
        if d < 0:
            raise ConfigError(f"schedule.retry_delays_s[{i}]: must not be negative")


# An e-mail address as edumon sends to it: local@domain.tld, no display name, no spaces.
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]"
)


def is_email(addr: str) -> bool:
    """local@domain.tld: a local part, a domain of at least two labels, a top-level label of letters."""
    return bool(_EMAIL.fullmatch(addr.strip())) and ".." not in addr


def check_contact(where: str, contact: str, *, webhook: bool, school: str | None = None) -> None:
    """An e-mail address, or (where `webhook`) an http(s) URL with a host; one line otherwise."""
    of = f" (school {school!r})" if school else ""
    looks_like_url = "://" in contact or contact.lower().startswith(("http:", "https:"))
    if webhook and looks_like_url:
        parts = urlsplit(contact.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in contact.strip()):
            raise ConfigError(f"{where}: a webhook must be an http(s) URL with a host, got {contact!r}{of}")
        return
    if not is_email(contact):
        what = "an e-mail address (local@domain.tld) or an http(s) webhook URL" if webhook else "an e-mail address"
        raise ConfigError(f"{where}: expected {what}, got {contact!r}{of}")


def _check_contacts(cfg: Config) -> None:
    """Every recipient is checked when the config loads, not when the first alert fails."""
    for i, s in enumerate(cfg.schools):
        for j, c in enumerate(s.contacts):
            check_contact(f"schools[{i}].contacts[{j}]", c, webhook=True, school=s.id)
    for i, c in enumerate(cfg.alerts.admin_contacts):
        check_contact(f"alerts.admin_contacts[{i}]", c, webhook=True)
    for key, addrs in (("alerts.email_to", cfg.alerts.email_to), ("digest.recipients", cfg.digest.recipients)):
        for i, addr in enumerate(addrs):
            check_contact(f"{key}[{i}]", addr, webhook=False)


def _check_aliases(data: dict[str, Any]) -> None:
    """`aliases = []` would match nothing; leave the key out to match the school's name."""
    schools = data.get("schools")
    for i, s in enumerate(schools if isinstance(schools, list) else []):
        if isinstance(s, dict) and s.get("aliases") == []:
            name = f" {s['id']!r}" if isinstance(s.get("id"), str) else ""
            raise ConfigError(
                f"schools[{i}].aliases: empty for school{name}; list the names it goes by, "
                "or leave the key out to match its name"
            )


_HEALTH_DURATIONS = (
    "failing_after_minutes",
    "silent_after_hours",
    "silent_after_hours_rss",
    "silent_after_hours_bluesky",
    "silent_after_hours_mastodon",
    "overdue_grace_minutes",
)


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    """Validate a parsed TOML document into a `Config` (raises `ConfigError`)."""
    cfg = _build(Config, data, "")
    _check_aliases(data)
    cfg.path = path
    _check(cfg)
    return cfg


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML config file (raises `ConfigError` with one line)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: config file not found") from None
    except OSError as e:
        raise ConfigError(f"{p}: cannot read config file ({e.strerror})") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: not UTF-8 text (byte {e.start}); save the file as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML ({e})") from None
    return parse_config(data, p)
