"""A board and the rows of its log as Sparkplug metrics, both ways: what the bridge
publishes, what the historian stores, what a DCMD may ask.

A board is a device of the bridge's edge node, named as the logger names it. Its metrics,
names, datatypes and units all from the protocol spec (messages.toml) through the log's own
table definitions (pilotedge.logdb), so a field new in the spec is a new metric:

    <unit>/<field>            telemetry, one DDATA per frame (v0/ph, c0/pressure)
    <unit>/<param>            a parameter's value; a DCMD sets it (v0/temp_sp, board/tlm_period)
    <unit>/<table>/<column>   an event or param_value row (v0/event/code, c0/event/value)
    <unit>/<loop>_mode        a DCMD sets a control loop's mode (ph, temp, orp)
    <unit>/dose/<pump>        a DCMD doses that volume in mL
    <unit>/ack, <unit>/batch  a DCMD acknowledges an alarm (its code) or starts/stops a batch
    board/<key>               the board: board_id, firmware, boot_count, reset_cause, ...
    command/<column>          a command's audit row: who, what, the result, the board's answer
    log/<key>                 where a row comes from: source (the log's id), table, id,
                              unit, boot (its id in the log), boot_count, board_time, seq
                              (the frame's wire sequence)

Enums travel as their member names (String), scaled values as Double, integers as the
Sparkplug type of their wire type, a reading the board does not vouch for as a null.
"""

from pilotproto import messages as m
from pilotproto import schema as s

from .. import boardinfo, codec, logdb
from ..errors import UsageError
from . import (
    DOUBLE,
    INT8,
    INT16,
    INT32,
    STRING,
    UINT8,
    UINT16,
    UINT32,
    UINT64,
    Metric,
)

_INT_TYPES = {"b": INT8, "B": UINT8, "h": INT16, "H": UINT16, "i": INT32, "I": UINT32}
TELEMETRY_TABLES = tuple(boardinfo.telemetry_message(kind).lower()
                         for kind, _section, _at in m.UNIT_KINDS)
UNIT_TABLES = ("event", "param_value")  # rows of any unit, under <unit>/<table>/
ROW_TABLES = TELEMETRY_TABLES + UNIT_TABLES
BOARD = boardinfo.BOARD_UNIT

LOG = (("source", STRING, None), ("table", STRING, None), ("id", UINT64, None),
       ("unit", UINT8, None), ("boot", UINT64, None), ("boot_count", UINT32, None),
       ("board_time", DOUBLE, "s"), ("seq", UINT8, None))
BOARD_INFO = (("board_id", STRING), ("firmware", STRING), ("boot_count", UINT32),
              ("reset_cause", STRING), ("schema_hash", STRING))
# The audit columns a command's row carries (pilotedge.logdb's audit table).
COMMAND = (("host_time", DOUBLE, "s"), ("operator", STRING, None), ("os_user", STRING, None),
           ("origin", STRING, None), ("unit", STRING, None), ("command", STRING, None),
           ("arguments", STRING, None), ("cmd_id", UINT32, None), ("result", STRING, None),
           ("reason", STRING, None), ("answer", STRING, None), ("done", DOUBLE, "s"))
_DOSE = s.VERBS["DOSE"]
PUMPS = tuple(p.lower() for p in _DOSE[1][2])  # the pumps DOSE takes: acid, base
LOOPS = tuple(name.lower() for name in s.ENUMS["LOOP"].values())


def columns(table):
    """[(column, datatype, unit)] of a row table, as its rows' metrics carry them (the
    unit number travels as log/unit)."""
    msg_id = logdb.FRAME_TABLES[table]
    codes = {f[0]: f[1] for f in s.FIELDS[msg_id]}
    out = []
    for col, sql, unit, _enum, _bits in logdb.message_columns(msg_id):
        if col == "unit":
            continue
        dt = STRING if sql == "TEXT" else DOUBLE if sql == "REAL" else _INT_TYPES[codes[col]]
        out.append((col, dt, unit))
    return out


_COLUMNS = {table: columns(table) for table in ROW_TABLES}


def params(kind):
    """The spec's parameters of a unit kind ("board" for the board's own)."""
    return [p for p in codec.PARAMS.values() if p[0] == kind]


def _takes(verb, kind):
    return kind in s.VERBS[verb][0]


def metric_name(table, unit, column):
    if table in TELEMETRY_TABLES:
        return "%s/%s" % (unit, column)
    return "%s/%s/%s" % (unit, table, column)


def device_birth(units, info, latest, param_values):
    """The metrics of a board's DBIRTH: units [boardinfo.Unit]; info {board_info key:
    value}; latest {unit number: {column: value}} of its latest telemetry; param_values
    {(unit number, name): value}."""
    out = [Metric("board/" + key, dt, info.get(key)) for key, dt in BOARD_INFO]
    out += [Metric("log/" + key, dt, None, unit=unit) for key, dt, unit in LOG]
    out += [Metric("command/" + key, dt, None, unit=unit) for key, dt, unit in COMMAND]
    for u in units:
        names = set()

        def add(metric, names=names):
            if metric.name not in names:
                names.add(metric.name)
                out.append(metric)

        row = latest.get(u.number, {})
        for _kind, name, unit, scale, lo, hi, _default, _hw in params(u.kind):
            add(Metric("%s/%s" % (u.name, name), DOUBLE,
                       param_values.get((u.number, name), row.get(name)), unit=unit,
                       more={"engLow": lo * scale, "engHigh": hi * scale}))
        table = boardinfo.telemetry_message(u.kind).lower()
        if table in TELEMETRY_TABLES:
            for col, dt, unit in _COLUMNS[table]:
                add(Metric(metric_name(table, u.name, col), dt, row.get(col), unit=unit))
        for table in UNIT_TABLES:
            for col, dt, unit in _COLUMNS[table]:
                add(Metric(metric_name(table, u.name, col), dt, None, unit=unit))
        if _takes("SET_MODE", u.kind):
            for loop in LOOPS:
                add(Metric("%s/%s_mode" % (u.name, loop), STRING, None))
            add(Metric("%s/batch" % u.name, STRING, None))
        if _takes("DOSE", u.kind):
            for pump in PUMPS:
                add(Metric("%s/dose/%s" % (u.name, pump), DOUBLE, None, unit="mL"))
        if _takes("ACK_ALARM", u.kind):
            add(Metric("%s/ack" % u.name, STRING, None))
    return out


def row_metrics(log, table, unit_name, values, ts_ms, historical):
    """The metrics of one row of a message table: log {source, table, id, unit, boot_count,
    board_time, seq}; values {column: value}. A parameter's row also sets <unit>/<param>."""
    out = _log_metrics(log, ts_ms, historical)
    for col, dt, unit in _COLUMNS[table]:
        out.append(Metric(metric_name(table, unit_name, col), dt, values.get(col), ts_ms,
                          historical, unit))
    if table == "param_value" and values.get("name") in codec.PARAMS:
        out.append(Metric("%s/%s" % (unit_name, values["name"]), DOUBLE, values.get("value"),
                          ts_ms, historical, codec.PARAMS[values["name"]][2]))
    return out


def command_metrics(log, row, ts_ms, historical):
    """The metrics of an audit row (a command and its outcome)."""
    out = _log_metrics(log, ts_ms, historical)
    for col, dt, unit in COMMAND:
        out.append(Metric("command/" + col, dt, row.get(col), ts_ms, historical, unit))
    return out


def _log_metrics(log, ts_ms, historical):
    return [Metric("log/" + key, dt, log.get(key), ts_ms, historical, unit)
            for key, dt, unit in LOG if key in log]


def parse_row(metrics):
    """What a row's DDATA carries: (log {key: value}, unit name or None, {column: value}),
    or None for a DDATA that is no row of a log (a rebirth's values, another vendor's)."""
    log, by_name = {}, {}
    for metric in metrics:
        if metric.name.startswith("log/"):
            log[metric.name[4:]] = metric.value
        else:
            by_name[metric.name] = metric.value
    table = log.get("table")
    if table == "audit":
        return log, None, {col: by_name.get("command/" + col) for col, _dt, _u in COMMAND}
    if table not in _COLUMNS or log.get("id") is None or log.get("source") is None:
        return None
    unit = next((name.split("/")[0] for name in by_name), None)
    if unit is None:
        return None
    return log, unit, {col: by_name.get(metric_name(table, unit, col))
                       for col, _dt, _u in _COLUMNS[table]}


# -- commands --------------------------------------------------------------------------------

def requests(metrics):
    """The requests (pilotedge.ops) a DCMD's metrics ask for, in order, without board and
    origin; UsageError for a metric that asks for nothing pilotedge knows. A String metric
    `operator` names the person the sending client acts for."""
    out = []
    for metric in metrics:
        if metric.name == "operator":
            continue
        unit, _slash, what = metric.name.partition("/")
        value = metric.value
        if not what or value is None:
            raise UsageError("DCMD metric %r asks for nothing (expected <unit>/<param>, "
                             "<unit>/<loop>_mode, <unit>/dose/<pump>, <unit>/ack or "
                             "<unit>/batch, with a value)" % metric.name)
        if what == "ack":
            req = {"op": "ack", "args": {"alarm": str(value)}}
        elif what == "batch":
            req = {"op": "batch", "args": {"action": str(value).lower()}}
        elif what.endswith("_mode") and what[:-5] in LOOPS:
            req = {"op": "mode", "args": {"loop": what[:-5], "mode": str(value)}}
        elif what.startswith("dose/") and what[5:] in PUMPS:
            req = {"op": "dose", "args": {"pump": what[5:], "volume": "%s mL" % _number(
                metric)}}
        elif what in codec.PARAMS:
            req = {"op": "set", "args": {"param": what, "value": "%s %s" % (
                _number(metric), codec.PARAMS[what][2])}}
        else:
            raise UsageError("DCMD metric %r: %r is no parameter, mode, dose, ack or batch"
                             % (metric.name, what))
        req["unit"] = unit
        out.append(req)
    return out


def operator(metrics):
    """The `operator` a DCMD names, or None."""
    for metric in metrics:
        if metric.name == "operator" and metric.value:
            return str(metric.value)
    return None


def _number(metric):
    if isinstance(metric.value, bool) or not isinstance(metric.value, (int, float)):
        raise UsageError("DCMD metric %r wants a number, got %r" % (metric.name, metric.value))
    return repr(metric.value)

