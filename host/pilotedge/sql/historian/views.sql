-- Views with the names and columns of tables a logger's SQLite log keeps (pilotedge.logdb),
-- computed from the rows the historian stores; made again at every start, after the message
-- tables (the telemetry view comes from pilotedge.logdb itself).

-- An alarm: opened by a RAISED or LATCHED event when none of its (board, unit, code) is open,
-- closed by the next CLEARED of the same boot, or by the board's next boot ("reboot").
CREATE VIEW alarms AS
WITH ev AS (
    SELECT e.*, b.board AS board_ref,
           lag(e.kind) OVER w AS prev_kind, lag(e.boot) OVER w AS prev_boot
    FROM event e JOIN boots b ON b.id = e.boot
    WHERE e.kind IN ('RAISED', 'LATCHED', 'CLEARED')
    WINDOW w AS (PARTITION BY b.board, e.unit, e.code ORDER BY e.host_time, e.id)
), opened AS (
    SELECT * FROM ev
    WHERE kind IN ('RAISED', 'LATCHED')
      AND (prev_kind IS NULL OR prev_kind = 'CLEARED' OR prev_boot <> boot)
)
SELECT o.id, o.board_ref AS board, o.boot, o.unit, o.code, o.severity,
       (o.kind = 'LATCHED' OR EXISTS (
           SELECT 1 FROM ev l WHERE l.board_ref = o.board_ref AND l.unit = o.unit
              AND l.code = o.code AND l.boot = o.boot AND l.kind = 'LATCHED'
              AND l.host_time >= o.host_time
              AND l.host_time <= coalesce(c.host_time, 'infinity')))::int AS latched,
       o.value, o."limit", o.value_unit, o.host_time AS raised,
       o.board_time AS raised_board_time, coalesce(c.host_time, nb.first_seen) AS cleared,
       (SELECT min(a.host_time) FROM event a JOIN boots ab ON ab.id = a.boot
        WHERE ab.board = o.board_ref AND a.unit = o.unit AND a.code = o.code
          AND a.kind = 'ACKNOWLEDGED' AND a.host_time >= o.host_time
          AND a.host_time <= coalesce(c.host_time, nb.first_seen, 'infinity'))
           AS acknowledged,
       CASE WHEN c.id IS NOT NULL THEN 'cleared' WHEN nb.id IS NOT NULL THEN 'reboot' END
           AS end_reason
FROM opened o
LEFT JOIN LATERAL (
    SELECT x.id, x.host_time FROM ev x
    WHERE x.board_ref = o.board_ref AND x.unit = o.unit AND x.code = o.code
      AND x.boot = o.boot AND x.kind = 'CLEARED' AND (x.host_time, x.id) > (o.host_time, o.id)
    ORDER BY x.host_time, x.id LIMIT 1) c ON true
LEFT JOIN LATERAL (
    SELECT n.id, n.first_seen FROM boots n
    WHERE n.board = o.board_ref AND n.first_seen > o.host_time
    ORDER BY n.first_seen LIMIT 1) nb ON c.id IS NULL;

-- A parameter's value changed, or was first seen (an UNKNOWN answer is no value).
CREATE VIEW param_changes AS
SELECT id, boot, unit, name, old, new, value_unit, host_time, result FROM (
    SELECT p.id, p.boot, p.unit, p.name, lag(p.value) OVER w AS old, p.value AS new,
           p.value_unit, p.host_time, p.result,
           lag(p.value) OVER w IS DISTINCT FROM p.value AS changed
    FROM param_value p JOIN boots b ON b.id = p.boot
    WHERE p.result <> 'UNKNOWN'
    WINDOW w AS (PARTITION BY b.board, p.unit, p.name ORDER BY p.host_time, p.id)) x
WHERE changed;

-- A batch: from a `batch start` command that was done to the next batch command of the unit.
CREATE VIEW batches AS
SELECT id, board, unit, started, ended, operator, stopped_by FROM (
    SELECT a.id, bo.id AS board, u.unit, a.done AS started,
           a.arguments::json ->> 'action' AS action,
           lead(a.done) OVER w AS ended, a.operator, lead(a.operator) OVER w AS stopped_by
    FROM audit a
    JOIN sources so ON so.id = a.src
    JOIN boards bo ON bo.grp = so.grp AND bo.node = so.node AND bo.name = a.board
    JOIN units u ON u.board = bo.id AND (u.name = a.unit OR u.unit::text = a.unit)
    WHERE a.command = 'batch' AND a.result = 'done'
    WINDOW w AS (PARTITION BY bo.id, u.unit ORDER BY a.done, a.id)) x
WHERE action = 'start';
