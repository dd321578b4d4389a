-- pilotedge historian, schema version 1.
-- The tables of a logger's SQLite log (pilotedge.logdb, docs/logger.md) under the same names
-- and columns, so that the same queries serve a log and the historian; times are Unix
-- seconds (double precision), as in the log. Each row also says where it came from: src (the
-- log it was read from, sources) and src_id (its id there), unique together, so a message
-- delivered twice is stored once. The message tables (vessel, canister, event, ...) follow
-- the protocol spec and are made by pilotedge.historian_db at start; the views (telemetry,
-- alarms, param_changes, batches) are made after them.

CREATE TABLE sources (
    id BIGSERIAL PRIMARY KEY, source TEXT NOT NULL UNIQUE, grp TEXT NOT NULL,
    node TEXT NOT NULL, first_seen DOUBLE PRECISION NOT NULL);

CREATE TABLE nodes (
    grp TEXT NOT NULL, node TEXT NOT NULL, online BOOLEAN NOT NULL, bd_seq BIGINT,
    since DOUBLE PRECISION NOT NULL, PRIMARY KEY (grp, node));

CREATE TABLE boards (
    id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, board_id TEXT,
    first_seen DOUBLE PRECISION NOT NULL, grp TEXT NOT NULL, node TEXT NOT NULL,
    UNIQUE (grp, node, name));

CREATE TABLE boots (
    id BIGSERIAL PRIMARY KEY, board BIGINT NOT NULL REFERENCES boards(id),
    boot_count BIGINT NOT NULL, reset_cause TEXT, firmware TEXT, proto_version INTEGER,
    schema_hash TEXT, port TEXT, session BIGINT, first_seen DOUBLE PRECISION NOT NULL,
    uptime_s DOUBLE PRECISION,
    src BIGINT NOT NULL REFERENCES sources(id), src_id BIGINT NOT NULL, UNIQUE (src, src_id));

CREATE TABLE units (
    board BIGINT NOT NULL REFERENCES boards(id), unit INTEGER NOT NULL, name TEXT NOT NULL,
    kind TEXT NOT NULL, PRIMARY KEY (board, unit));

CREATE TABLE columns (
    tbl TEXT NOT NULL, col TEXT NOT NULL, unit TEXT, enum TEXT, bits TEXT,
    PRIMARY KEY (tbl, col));

CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY, session BIGINT, host_time DOUBLE PRECISION NOT NULL,
    operator TEXT NOT NULL, os_user TEXT, origin TEXT NOT NULL, board TEXT NOT NULL,
    unit TEXT, command TEXT NOT NULL, arguments TEXT NOT NULL, cmd_id BIGINT,
    result TEXT NOT NULL, reason TEXT, answer TEXT, done DOUBLE PRECISION,
    src BIGINT NOT NULL REFERENCES sources(id), src_id BIGINT NOT NULL,
    stored DOUBLE PRECISION NOT NULL DEFAULT extract(epoch FROM clock_timestamp()),
    UNIQUE (src, src_id));
CREATE INDEX audit_time ON audit (host_time);
