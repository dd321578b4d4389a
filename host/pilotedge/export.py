"""A log as files for a spreadsheet or a notebook: CSV or Parquet, one file per dataset.

Datasets: each unit kind's telemetry (`vessel`, `canister`: one row per frame, every field
of the spec), `event` (every EVENT frame), `alarms`, `audit` (every command) and `batches`.
Rows stream from the log to the file (never all in memory), so a month of a line exports
as fast as the disk takes it. Columns are the log's, plus `time` (the host's, ISO 8601 with
its zone) and `board`, `unit` by name (`unit_number` is the wire's); a column's unit is in
its CSV header (`ph [pH]`) and in the Parquet field's metadata.

    from pilotedge import export, history
    with history.open_sqlite("run.sqlite") as log:
        export.write(log, "run-export", "csv")
"""

import csv
import datetime
from pathlib import Path

from . import history, logdb
from .errors import ResourceError, UsageError

FORMATS = ("csv", "parquet")
DATASETS = (*history.KIND_TABLES.values(), "event", "alarms", "audit", "batches")
_BATCH_ROWS = 10000
# Datasets that are not frames: their columns (SQL types) as the Log methods give them,
# and the column their time is.
_T, _R, _I = "TEXT", "REAL", "INTEGER"
_RECORDS = {
    "alarms": ((("board", _T), ("unit", _T), ("code", _T), ("severity", _T), ("latched", _I),
                ("value", _R), ("limit", _R), ("value_unit", _T), ("raised", _R),
                ("raised_board_time", _R), ("boot", _I), ("acknowledged", _R),
                ("cleared", _R), ("end_reason", _T)), "raised"),
    "audit": ((("host_time", _R), ("operator", _T), ("origin", _T), ("board", _T),
               ("unit", _T), ("command", _T), ("arguments", _T), ("result", _T),
               ("reason", _T)), "host_time"),
    "batches": ((("id", _I), ("board", _T), ("unit", _T), ("started", _R), ("ended", _R),
                 ("operator", _T), ("stopped_by", _T)), "started"),
}
_FRAME_COMMON = (("board", _T), ("unit", _T), ("boot", _I), ("host_time", _R),
                 ("board_time", _R), ("seq", _I))
_SECONDS = ("host_time", "board_time", "raised", "raised_board_time", "acknowledged",
            "cleared", "started", "ended")


def _iso(t):
    return "" if t is None else datetime.datetime.fromtimestamp(t).astimezone().isoformat()


def rows(log, dataset, board=None, start=None, end=None):
    """([(column, SQL type, unit)], row iterator) of a dataset; each row starts with its
    time in ISO 8601."""
    if dataset in _RECORDS:
        cols, time_name = _RECORDS[dataset]
        if dataset == "alarms":
            data = [tuple(a.values()) for a in log.alarms(board, start, end)]
        elif dataset == "audit":
            data = log.audit(board, start, end)
        else:
            data = [tuple(b.values()) for b in log.batches(board)
                    if (start is None or (b["ended"] or start) >= start)
                    and (end is None or b["started"] <= end)]
        at = [c for c, _t in cols].index(time_name)
        return (_described(cols, {}), ((_iso(r[at]), *r) for r in data))
    units = {c: u for c, u, _e in log.columns(dataset)}
    # The frame's unit number beside the unit's name.
    cols = _FRAME_COMMON + tuple(("unit_number" if c == "unit" else c, t)
                                 for c, t in logdb.frame_columns(dataset))
    cursor = log.frames(dataset, board, start, end)
    return _described(cols, units), ((_iso(r[3]), *r) for r in cursor)


def _described(cols, units):
    return [("time", _T, None)] + [(c, t, units.get(c) or ("s" if c in _SECONDS else None))
                                   for c, t in cols]


def write(log, out, fmt, board=None, start=None, end=None):
    """Write every dataset with rows into the folder `out` (created); return [(path,
    rows)]. UsageError for an unknown format, ResourceError when Parquet's library is not
    installed."""
    if fmt not in FORMATS:
        raise UsageError("unknown export format %r (%s)" % (fmt, ", ".join(FORMATS)))
    writer = _csv if fmt == "csv" else _parquet_writer()
    log.check_board(board)
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError("cannot create the export folder %s: %s"
                         % (out, exc.strerror or exc)) from None
    written = []
    for dataset in DATASETS:
        cols, data = rows(log, dataset, board, start, end)
        path = out / ("%s.%s" % (dataset, fmt))
        count = writer(path, cols, data)
        if count:
            written.append((path, count))
        else:
            path.unlink(missing_ok=True)
    return written


def _csv(path, cols, data):
    count = 0
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["%s [%s]" % (c, u) if u else c for c, _t, u in cols])
        for row in data:
            w.writerow(row)
            count += 1
    return count


def _parquet_writer():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ResourceError("Parquet export needs pyarrow: pip install 'pilotedge[parquet]' "
                            "(or export --format csv)") from None

    types = {"TEXT": pa.string(), "REAL": pa.float64(), "INTEGER": pa.int64()}

    def write(path, cols, data):
        schema = pa.schema([pa.field(c, types[t], metadata={"unit": u} if u else None)
                            for c, t, u in cols])
        count = 0
        writer = None
        batch = []

        def flush():
            nonlocal writer
            if writer is None:
                writer = pq.ParquetWriter(path, schema)
            arrays = [pa.array(c, type=f.type)
                      for c, f in zip(zip(*batch, strict=True), schema, strict=True)]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            batch.clear()

        for row in data:
            batch.append(row)
            count += 1
            if len(batch) >= _BATCH_ROWS:
                flush()
        if batch:
            flush()
        if writer is not None:
            writer.close()
        return count

    return write
