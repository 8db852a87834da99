-- Stories, operations and the callback outbox of the scale-out mode (docs/scale-out.md).
-- Stories and operations are the same JSON documents the embedded mode writes to files, as JSONB rows;
-- the columns beside `data` are copies for lookups.
CREATE TABLE s2v_stories (
    story_id    text PRIMARY KEY,
    user_id     text NOT NULL,
    data        jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX s2v_stories_user_idx ON s2v_stories (user_id, story_id);

CREATE TABLE s2v_operations (
    operation_id text PRIMARY KEY,
    story_id     text NOT NULL,
    status       text NOT NULL,
    data         jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX s2v_operations_pending_idx ON s2v_operations (created_at) WHERE status IN ('queued', 'running');

-- One row per callback event, written once: every retry sends `body` again under the same event id.
-- A delivered row stays (delivered_at set), so the same event enqueued again is a no-op.
CREATE TABLE s2v_outbox (
    id              bigserial PRIMARY KEY,
    operation_id    text NOT NULL,
    event_id        text NOT NULL,
    event           text NOT NULL,
    url             text NOT NULL,
    body            text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    delivered_at    timestamptz,
    dead_at         timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (operation_id, event_id)
);
CREATE INDEX s2v_outbox_pending_idx ON s2v_outbox (operation_id, id) WHERE delivered_at IS NULL AND dead_at IS NULL;
