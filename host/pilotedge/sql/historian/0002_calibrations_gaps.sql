-- Calibration records and link gaps, as a logger's log keeps them (logdb: calibrations,
-- gaps), so that a batch report reads the historian as it reads a log. The bridge does not
-- carry them yet: until it does, these tables stay empty, and a report says "none recorded"
-- and lists no gap.
CREATE TABLE calibrations (
    id BIGSERIAL PRIMARY KEY, board BIGINT NOT NULL REFERENCES boards(id),
    boot BIGINT REFERENCES boots(id), unit INTEGER NOT NULL, sensor TEXT NOT NULL,
    method TEXT NOT NULL, host_time DOUBLE PRECISION NOT NULL, points TEXT, fit TEXT,
    health TEXT, expires DOUBLE PRECISION, operator TEXT,
    stored_on_board INTEGER NOT NULL DEFAULT 0);

CREATE TABLE gaps (
    id BIGSERIAL PRIMARY KEY, board BIGINT REFERENCES boards(id), port TEXT NOT NULL,
    kind TEXT NOT NULL, started DOUBLE PRECISION NOT NULL, ended DOUBLE PRECISION,
    frames_lost INTEGER, detail TEXT);
