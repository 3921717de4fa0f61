"""The warehouse schema, created and migrated by the code.

Each migration is applied once, in order, and recorded in `schema_version`.
Add a migration by appending to `MIGRATIONS`; never edit an applied one.
"""

from __future__ import annotations

from .viewsql import ANALYST_VIEWS, DAILY_MENTIONS_DIRECT, MASKED_TEXT, POSTED_DAY

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "foundation",
        """
CREATE TABLE mentions (
    mention_id    VARCHAR PRIMARY KEY,
    source        VARCHAR NOT NULL,
    source_id     VARCHAR NOT NULL,
    url           VARCHAR,
    canonical_url VARCHAR,
    author        VARCHAR,
    author_id     VARCHAR,
    title         VARCHAR,
    text          VARCHAR NOT NULL,
    text_hash     VARCHAR NOT NULL,
    published_at  TIMESTAMPTZ,
    fetched_at    TIMESTAMPTZ NOT NULL,
    target        VARCHAR,
    lang          VARCHAR,
    links         VARCHAR[],
    has_media     BOOLEAN,
    media         JSON,
    metrics       JSON,
    reply_to      VARCHAR,
    raw           VARCHAR,
    school_ids    VARCHAR[] NOT NULL,
    sentiment     VARCHAR,
    harm          VARCHAR,
    harm_kind     VARCHAR,
    scores        JSON,
    cues          VARCHAR[],
    classifier    VARCHAR,
    deleted_at    TIMESTAMPTZ
);
CREATE INDEX mentions_text_hash ON mentions (text_hash);
CREATE INDEX mentions_canonical_url ON mentions (canonical_url);

CREATE TABLE source_runs (
    run_id       VARCHAR PRIMARY KEY,
    cycle_id     VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,
    target       VARCHAR NOT NULL,
    status       VARCHAR NOT NULL,   -- ok | not_modified | failed | rate_limited
    error        VARCHAR,
    http_status  INTEGER,
    requests     INTEGER,
    fetched      INTEGER,            -- items the source returned
    relevant     INTEGER,            -- of those, about a school
    new          INTEGER,            -- of those, stored for the first time
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ NOT NULL,
    duration_ms  DOUBLE
);

CREATE TABLE source_state (
    source      VARCHAR NOT NULL,
    target      VARCHAR NOT NULL,
    state       JSON NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, target)
);

CREATE TABLE classifications (
    text_hash     VARCHAR PRIMARY KEY,
    sentiment     VARCHAR NOT NULL,
    harm          VARCHAR NOT NULL,
    harm_kind     VARCHAR,
    scores        JSON,
    cues          VARCHAR[],
    classifier    VARCHAR NOT NULL,
    classified_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE followups (
    mention_id  VARCHAR PRIMARY KEY,
    school_ids  VARCHAR[] NOT NULL,
    action      VARCHAR NOT NULL,    -- in_real_life | report_police | correct_online
    status      VARCHAR NOT NULL,    -- open | done | dismissed
    note        VARCHAR,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    updated_by  VARCHAR NOT NULL
);

CREATE TABLE alerts (
    alert_id    VARCHAR PRIMARY KEY,
    mention_id  VARCHAR,
    school_id   VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,    -- threat | insult | spike | source_health
    severity    VARCHAR NOT NULL,    -- urgent | normal
    channel     VARCHAR NOT NULL,    -- webhook | email
    recipient   VARCHAR,
    status      VARCHAR NOT NULL,    -- pending | sent | failed
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  VARCHAR,
    created_at  TIMESTAMPTZ NOT NULL,
    sent_at     TIMESTAMPTZ
);
""",
    ),
    (
        2,
        "protocol",
        """
-- Shared tables from migration 1 (followups, alerts) keep their columns (other modules insert
-- into them); what the protocol needs besides lives in tables of its own.

-- the audit trail of follow-ups: who changed what, when, from, to, with which note
CREATE TABLE followup_events (
    event_id    VARCHAR PRIMARY KEY,
    mention_id  VARCHAR NOT NULL,
    event_at    TIMESTAMPTZ NOT NULL,
    by_whom     VARCHAR NOT NULL,
    field       VARCHAR NOT NULL,    -- created | action | status | note
    from_value  VARCHAR,
    to_value    VARCHAR,
    note        VARCHAR
);
CREATE INDEX followup_events_mention ON followup_events (mention_id);

-- the text of an alert.  alert_id is derived from (kind, subject, channel, recipient), so a
-- re-run cannot raise the same alert twice; alerts rows with status pending/failed are
-- delivered (retried) by every cycle until sent or max_attempts.  An alerts row without a
-- message here (e.g. source_health from another module) gets a generic Dutch text.
CREATE TABLE alert_messages (
    alert_id    VARCHAR PRIMARY KEY,
    ref         VARCHAR,             -- mention_id, escalation_id or source key
    subject     VARCHAR NOT NULL,
    body        VARCHAR NOT NULL,
    link        VARCHAR
);

-- evidence: append-only; the raw payload as fetched, never updated or deleted by edumon
CREATE TABLE evidence (
    evidence_id   VARCHAR PRIMARY KEY,
    mention_id    VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,
    source_id     VARCHAR NOT NULL,
    url           VARCHAR,
    author        VARCHAR,
    author_id     VARCHAR,
    text          VARCHAR NOT NULL,
    published_at  TIMESTAMPTZ,
    fetched_at    TIMESTAMPTZ NOT NULL,
    school_ids    VARCHAR[] NOT NULL,
    harm          VARCHAR,
    harm_kind     VARCHAR,
    cues          VARCHAR[],
    classifier    VARCHAR,
    raw           VARCHAR NOT NULL,  -- the item exactly as fetched (JSON / XML text)
    raw_sha256    VARCHAR NOT NULL,  -- SHA-256 of the UTF-8 bytes of raw
    stored_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX evidence_mention ON evidence (mention_id);

-- protocol flags that are not follow-ups: media_consent, staff_disclosure
CREATE TABLE flags (
    flag_id     VARCHAR PRIMARY KEY,
    mention_id  VARCHAR NOT NULL,
    kind        VARCHAR NOT NULL,
    school_ids  VARCHAR[] NOT NULL,
    detail      VARCHAR,
    created_at  TIMESTAMPTZ NOT NULL
);

-- escalations (spike / pile_on): one row per episode, alerted once
CREATE TABLE escalations (
    escalation_id VARCHAR PRIMARY KEY,
    school_id     VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,  -- spike | pile_on
    key           VARCHAR NOT NULL,  -- spike: school id; pile_on: the parent post
    started_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    count         INTEGER NOT NULL,
    baseline      DOUBLE,
    mention_ids   VARCHAR[] NOT NULL
);

-- which stored mentions the protocol has acted on (so a crash or a spooled write is caught up)
CREATE TABLE protocol_done (
    mention_id  VARCHAR PRIMARY KEY,
    acted_at    TIMESTAMPTZ NOT NULL
);
""",
    ),
    (
        3,
        "analyst-views",
        """
-- Values the views need from the config (a view cannot read it): written by
-- `warehouse.views.sync_settings` whenever the config is at hand (purge, export, query).
CREATE TABLE settings (
    key    VARCHAR PRIMARY KEY,
    value  VARCHAR NOT NULL
);
INSERT INTO settings VALUES ('timezone', 'Europe/Amsterdam');

-- The keyed hash (HMAC-SHA256, key from the environment) of each author, computed in Python
-- by `warehouse.views.refresh_pseudonyms`; the key itself is never stored, only its fingerprint
-- (settings 'pseudonym_key_id'), so a new key recomputes them all.
CREATE TABLE pseudonyms (
    author_key  VARCHAR PRIMARY KEY,   -- source || ':' || coalesce(author_id, author)
    pseudonym   VARCHAR NOT NULL
);

-- Ids (hashes) of purged mentions, so a feed that still serves an item cannot bring it back.
CREATE TABLE purged_mentions (
    mention_id  VARCHAR PRIMARY KEY,
    purged_at   TIMESTAMPTZ NOT NULL,
    reason      VARCHAR NOT NULL       -- retention | deleted_at_source
);
"""
        + ANALYST_VIEWS,
    ),
    (
        5,
        "label_feedback",
        """
-- what people said about a mention's labels on the review page (or `edumon feedback`):
-- corrections of sentiment/harm and dismissals; the training data `edumon train` can include
CREATE TABLE label_feedback (
    feedback_id    VARCHAR PRIMARY KEY,
    mention_id     VARCHAR NOT NULL,
    text_hash      VARCHAR NOT NULL,
    text           VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,    -- correction | dismissal
    reason         VARCHAR,             -- dismissal: not_about_us | false_alarm | other
    about_school   BOOLEAN NOT NULL,    -- false: "not about us" (a relevance mistake, not a label)
    sentiment      VARCHAR,             -- the labels as the person says they are
    harm           VARCHAR,
    harm_kind      VARCHAR,
    was_sentiment  VARCHAR,             -- what the classifier said
    was_harm       VARCHAR,
    was_harm_kind  VARCHAR,
    classifier     VARCHAR,
    note           VARCHAR,
    by_whom        VARCHAR NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX label_feedback_text_hash ON label_feedback (text_hash);
""",
    ),
    (
        6,
        "deletion_checks",
        """
-- when each Bluesky/Mastodon mention was last asked "still there?" at its source
-- (`pipeline.deletion.check_deleted`), so capped runs rotate: never-asked first, then the
-- longest ago; removed with its mention by the retention purge
CREATE TABLE deletion_checks (
    mention_id  VARCHAR PRIMARY KEY,
    checked_at  TIMESTAMPTZ NOT NULL,
    outcome     VARCHAR NOT NULL       -- present | gone | unknown
);
""",
    ),
    (7, "daily-mentions-direct", DAILY_MENTIONS_DIRECT),
    (8, "posted-day", POSTED_DAY),
    (
        9,
        "triage",
        """
-- what the protocol decided for each mention it acted on (`protocol.triage`): alert (the leader is
-- told at once), review (comms staff judge it first: the "Te beoordelen" queue) or none; a review
-- item is open until someone confirms or dismisses it, or `triage.review_within_hours` passes
CREATE TABLE triage (
    mention_id    VARCHAR PRIMARY KEY,
    decision      VARCHAR NOT NULL,    -- none | review | alert
    urgency       VARCHAR,             -- urgent | normal (review: what the alert would be)
    kind          VARCHAR,             -- threat | insult
    lang          VARCHAR,             -- the post's language as triage saw it (ISO 639-1)
    reason        VARCHAR NOT NULL,    -- Dutch, for the alert, the digest and the review page
    created_at    TIMESTAMPTZ NOT NULL,
    review_status VARCHAR,             -- review: open | confirmed | dismissed | expired
    reviewed_by   VARCHAR,
    reviewed_at   TIMESTAMPTZ
);
CREATE INDEX triage_review_status ON triage (review_status);
""",
    ),
    (
        10,
        "followup-school-decisions",
        """
-- each school's own decision on a follow-up about several schools (issue 17): a leader closing
-- it for their school leaves it open for the others; append-only, the latest row per
-- (mention, school) counts (`protocol.followups.school_decisions`)
CREATE TABLE followup_school_decisions (
    decision_id VARCHAR PRIMARY KEY,
    mention_id  VARCHAR NOT NULL,
    school_id   VARCHAR NOT NULL,
    status      VARCHAR NOT NULL,      -- done | dismissed
    reason      VARCHAR,               -- a dismissal's reason (protocol.feedback.DISMISS_REASONS)
    note        VARCHAR,
    by_whom     VARCHAR NOT NULL,
    decided_at  TIMESTAMPTZ NOT NULL
);
""",
    ),
    (
        11,
        "source-runs-newest-item",
        """
-- when the newest item a fetch returned was published (NULL: no items, or none with a date), so
-- source health judges silence on content: a feed answering 304 or repeating old items is not news
ALTER TABLE source_runs ADD COLUMN newest_item_at TIMESTAMPTZ;
""",
    ),
    # issue 18.3: handles masked only at mention positions, e-mail addresses whole (warehouse.viewsql)
    (12, "pseudonymous-text-masking", MASKED_TEXT),
]

LATEST = max(version for version, _, _ in MIGRATIONS)
