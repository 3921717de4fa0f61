"""The analysts' views as SQL, for the migrations that create them (`warehouse.schema`)
and the store's local-day column; `warehouse.views` keeps them correct."""

from __future__ import annotations

VIEWS = ("mentions_pseudonymous", "daily_mentions", "followup_stats")
ANALYST_VERSION = 3  # the schema version that created the views

# The author of a mention as one string; what the pseudonym is computed from.
AUTHOR_KEY_SQL = "m.source || ':' || coalesce(m.author_id, m.author)"

# Handles in post text: Bluesky (@name.bsky.social) and Mastodon (@user@instance).
_HANDLE_RE = r"@[A-Za-z0-9_][A-Za-z0-9_.\-]*(@[A-Za-z0-9_.\-]+)?"
_URL_RE = r"https?://[^\s<>\"]+"

ANALYST_VIEWS = f"""
CREATE VIEW mentions_pseudonymous AS
WITH tz AS (SELECT coalesce(max(value) FILTER (WHERE key = 'timezone'), 'Europe/Amsterdam') AS tz FROM settings),
m AS (
    SELECT m.*, least(coalesce(m.published_at, m.fetched_at), m.fetched_at) AS posted_at
    FROM mentions m
)
SELECT
    m.mention_id,
    m.source,
    p.pseudonym                                                  AS author_pseudonym,
    m.posted_at,                                                 -- publication (or collection) time, UTC
    CAST(timezone(tz.tz, m.posted_at) AS DATE)                   AS day,     -- local day
    strftime(timezone(tz.tz, m.posted_at), '%Y-%m')              AS month,   -- local month, YYYY-MM
    m.fetched_at,
    m.school_ids,
    m.lang,
    CASE WHEN m.source = 'rss' THEN m.title END                  AS title,
    regexp_replace(regexp_replace(
        CASE WHEN length(m.author) >= 3 THEN replace(m.text, m.author, '@[account]') ELSE m.text END,
        '{_URL_RE}', '[link]', 'g'), '{_HANDLE_RE}', '@[account]', 'g') AS text,   -- no handles, no links
    CASE WHEN m.source = 'rss' THEN m.canonical_url END          AS article_url,   -- news articles only
    list_transform(coalesce(m.links, []),
                   lambda x: lower(regexp_extract(x, '^[a-zA-Z]+://([^/:?#]+)', 1))) AS link_hosts,
    coalesce(m.has_media, false)                                 AS has_media,
    CAST(coalesce(json_array_length(m.media), 0) AS INTEGER)     AS media_count,
    m.metrics,
    m.reply_to IS NOT NULL                                       AS is_reply,
    m.sentiment,
    m.harm,
    m.harm_kind,
    m.scores,
    m.cues,
    m.classifier,
    m.deleted_at IS NOT NULL                                     AS deleted_at_source
FROM m
CROSS JOIN tz
LEFT JOIN pseudonyms p ON p.author_key = {AUTHOR_KEY_SQL};

CREATE VIEW daily_mentions AS
SELECT day, school_id, source, sentiment, harm, count(*) AS n
FROM (SELECT day, unnest(school_ids) AS school_id, source, sentiment, harm FROM mentions_pseudonymous)
GROUP BY ALL;

CREATE VIEW followup_stats AS
WITH tz AS (SELECT coalesce(max(value) FILTER (WHERE key = 'timezone'), 'Europe/Amsterdam') AS tz FROM settings),
f AS (
    SELECT unnest(f.school_ids) AS school_id, f.action, f.status, f.created_at,
           CASE WHEN f.status <> 'open' THEN f.updated_at END AS closed_at
    FROM followups f
),
fw AS (
    SELECT f.*,
           CAST(date_trunc('week', timezone(tz.tz, f.created_at)) AS DATE) AS week_opened,
           CAST(date_trunc('week', timezone(tz.tz, f.closed_at)) AS DATE)  AS week_closed,
           epoch(f.closed_at - f.created_at) / 3600.0                      AS hours_to_close
    FROM f CROSS JOIN tz
),
weeks AS (
    SELECT CAST(unnest(generate_series(
               CAST(min(fw.week_opened) AS TIMESTAMP),
               CAST(greatest(max(fw.week_opened), max(fw.week_closed),
                             CAST(date_trunc('week', timezone(any_value(tz.tz), now())) AS DATE)) AS TIMESTAMP),
               INTERVAL 7 DAY)) AS DATE) AS week
    FROM fw CROSS JOIN tz
    HAVING count(*) > 0
),
keys AS (SELECT DISTINCT school_id, action FROM fw)
SELECT
    k.school_id,
    w.week,                                                             -- Monday, local time
    k.action,
    count(fw.school_id) FILTER (WHERE fw.week_opened = w.week)          AS opened,
    count(fw.school_id) FILTER (WHERE fw.week_closed = w.week)          AS closed,
    count(fw.school_id) FILTER (WHERE fw.week_closed = w.week AND fw.status = 'dismissed') AS dismissed,
    count(fw.school_id) FILTER (WHERE fw.week_opened <= w.week
                                  AND (fw.week_closed IS NULL OR fw.week_closed > w.week)) AS open_at_week_end,
    round(median(fw.hours_to_close) FILTER (WHERE fw.week_closed = w.week), 1) AS median_hours_to_close
FROM keys k
CROSS JOIN weeks w
LEFT JOIN fw ON fw.school_id = k.school_id AND fw.action = k.action
GROUP BY k.school_id, w.week, k.action
HAVING opened + closed + open_at_week_end > 0;
"""

# A mention's local day (publication, or collection when later or unknown, in the time zone the
# `settings` table holds): stored as `mentions.posted_day` when a row is written
# (`upsert_mentions`), so `daily_mentions` needs no time-zone conversion per row.
POSTED_DAY_SQL = (
    "CAST(timezone((SELECT coalesce(max(value) FILTER (WHERE key = 'timezone'), 'Europe/Amsterdam') "
    "FROM settings), least(coalesce(published_at, fetched_at), fetched_at)) AS DATE)"
)

# Migration 8: the local day stored with each mention (`posted_day`, written by `upsert_mentions`,
# recomputed by `sync_settings` when the time zone changes); the view falls back to computing it
# for a row written without it.
POSTED_DAY = f"""
ALTER TABLE mentions ADD COLUMN posted_day DATE;
UPDATE mentions SET posted_day = {POSTED_DAY_SQL};
CREATE OR REPLACE VIEW daily_mentions AS
WITH tz AS (SELECT coalesce(max(value) FILTER (WHERE key = 'timezone'), 'Europe/Amsterdam') AS tz FROM settings)
SELECT day, school_id, source, sentiment, harm, count(*) AS n
FROM (
    SELECT coalesce(m.posted_day,
                    CAST(timezone(tz.tz, least(coalesce(m.published_at, m.fetched_at), m.fetched_at)) AS DATE)) AS day,
           unnest(m.school_ids) AS school_id, m.source, m.sentiment, m.harm
    FROM mentions m CROSS JOIN tz
)
GROUP BY ALL;
"""

# Migration 7: `daily_mentions` straight from `mentions` (same rows and numbers as the first
# version, which went through `mentions_pseudonymous` and its pseudonym join: about 40% faster).
DAILY_MENTIONS_DIRECT = """
CREATE OR REPLACE VIEW daily_mentions AS
WITH tz AS (SELECT coalesce(max(value) FILTER (WHERE key = 'timezone'), 'Europe/Amsterdam') AS tz FROM settings)
SELECT day, school_id, source, sentiment, harm, count(*) AS n
FROM (
    SELECT CAST(timezone(tz.tz, least(coalesce(m.published_at, m.fetched_at), m.fetched_at)) AS DATE) AS day,
           unnest(m.school_ids) AS school_id, m.source, m.sentiment, m.harm
    FROM mentions m CROSS JOIN tz
)
GROUP BY ALL;
"""

# --- Migration 11: handles masked only where they are handles --------------------------------------
# Issue 18.3. The first view replaced the author's name wherever it occurred in the text (an author
# called "gemeente" turned every "gemeente" into @[account]) and masked only the "@host" part of an
# e-mail address ("karin.jansen78@[account]"). Now, in text and title, in this order:
#   links (http(s)://..., www....)                            -> [link]
#   the author's own handle as a whole token, when it looks like a handle (has "." or "@", no
#   spaces: a Bluesky handle, a Mastodon acct, an e-mail address), with or without "@"  -> @[account]
#   e-mail addresses and Mastodon accts (user@host, @user@host) -> @[account] (local part included)
#   bare Bluesky handles (name.bsky.social) and account ids (did:plc:...) -> @[account]
#   @name mentions                                            -> @[account]
# An ordinary word is never replaced, whatever an author is called.
_LINK2_RE = r"(https?://|www\.)[^\s<>\"]+"
_ACCT_RE = r"@?[\pL\pN_.+\-]+@[\pL\pN\-]+(\.[\pL\pN\-]+)+"
_BSKY_RE = r"@?[\pL\pN\-]+(\.[\pL\pN\-]+)*\.bsky\.social"
_DID_RE = r"did:[a-z]+:[A-Za-z0-9_:%\-]+(\.[A-Za-z0-9_:%\-]+)*"
_MENTION_RE = r"@[\pL\pN_]+([.\-][\pL\pN_]+)*"
# around the author's own handle (ASCII: the pattern is compiled per row, and Unicode classes
# make that about 30 times slower)
_BEFORE = r"(^|[^A-Za-z0-9_.@\-])"  # what may precede a handle token
_AFTER = r"($|[^A-Za-z0-9_@\-])"  # ... and follow it (a full stop may end the sentence)


def masked_sql(col: str) -> str:
    """SQL that masks handles and links in `col` (a text column of `mentions m`), only at
    mention positions (see the comment above).

    The author's own handle needs a pattern built per row (about 1 ms each), so that step runs
    only where it can matter: a dotted handle (a Bluesky custom domain like `leiden.nl`; an
    `@` acct or a `*.bsky.social` handle is caught by the fixed patterns) that occurs in the text.
    """
    own_handle = (
        "length(m.author) >= 3 AND strpos(m.author, '.') > 0 AND strpos(m.author, '@') = 0 "
        "AND NOT regexp_matches(m.author, '\\s') AND NOT suffix(lower(m.author), '.bsky.social') "
        f"AND strpos(lower({col}), lower(m.author)) > 0"
    )
    expr = f"regexp_replace({col}, '{_LINK2_RE}', '[link]', 'g')"
    expr = (
        f"CASE WHEN {own_handle} THEN regexp_replace({expr}, '(?i){_BEFORE}@?' || regexp_escape(m.author) || "
        f"'{_AFTER}', '\\1@[account]\\2', 'g') ELSE {expr} END"
    )
    accounts = "|".join(f"({p})" for p in (_ACCT_RE, _BSKY_RE, _DID_RE, _MENTION_RE))  # one pass, in this order
    return f"regexp_replace({expr}, '{accounts}', '@[account]', 'g')"


MASKED_TEXT = f"""
CREATE OR REPLACE VIEW mentions_pseudonymous AS
WITH tz AS (SELECT coalesce(max(value) FILTER (WHERE key = 'timezone'), 'Europe/Amsterdam') AS tz FROM settings),
m AS (
    SELECT m.*, least(coalesce(m.published_at, m.fetched_at), m.fetched_at) AS posted_at
    FROM mentions m
)
SELECT
    m.mention_id,
    m.source,
    p.pseudonym                                                  AS author_pseudonym,
    m.posted_at,                                                 -- publication (or collection) time, UTC
    CAST(timezone(tz.tz, m.posted_at) AS DATE)                   AS day,     -- local day
    strftime(timezone(tz.tz, m.posted_at), '%Y-%m')              AS month,   -- local month, YYYY-MM
    m.fetched_at,
    m.school_ids,
    m.lang,
    CASE WHEN m.source = 'rss' THEN {masked_sql("m.title")} END  AS title,   -- news titles, masked too
    {masked_sql("m.text")}                                       AS text,    -- no handles, no links
    CASE WHEN m.source = 'rss' THEN m.canonical_url END          AS article_url,   -- news articles only
    list_transform(coalesce(m.links, []),
                   lambda x: lower(regexp_extract(x, '^[a-zA-Z]+://([^/:?#]+)', 1))) AS link_hosts,
    coalesce(m.has_media, false)                                 AS has_media,
    CAST(coalesce(json_array_length(m.media), 0) AS INTEGER)     AS media_count,
    m.metrics,
    m.reply_to IS NOT NULL                                       AS is_reply,
    m.sentiment,
    m.harm,
    m.harm_kind,
    m.scores,
    m.cues,
    m.classifier,
    m.deleted_at IS NOT NULL                                     AS deleted_at_source
FROM m
CROSS JOIN tz
LEFT JOIN pseudonyms p ON p.author_key = {AUTHOR_KEY_SQL};
"""
