"""A logged bench run for the tests of export, plot, report and the dashboard: the standard
vessel batch on one bench board, logged by the logger, with a batch started, a temperature
alarm raised (the broth heated past temp_high through Bench.inject) and acknowledged through
ops.execute, as a technician's dashboard or CLI does."""

from loggerkit import wait_until

from pilotedge import ops
from pilotedge.bench import Bench
from pilotedge.logger import Logger


def request(op, unit, **args):
    return {"op": op, "board": "sim0", "unit": unit, "args": args, "operator": "tester",
            "origin": "test"}


def alarm_raised(logger, code):
    """True once the board reports `code` among its unit's alarms or an EVENT of it."""
    port = logger.ports[0]
    return any(code in ops.alarm_names(u.kind, port.latest[u.number][1].fields()["alarms"])
               for u in port.units if u.number in port.latest and u.kind != "board")


def logged_run(folder, sim_s=3600.0, speed=600):
    """Log sim_s simulated seconds of the standard batch into folder/run.sqlite; the
    broth is heated to 50 degC half way (TEMP_HIGH) and the alarm acknowledged."""
    db = folder / "run.sqlite"
    bench = Bench("vessel_batch_48h", speed=speed, workdir=folder / "bench", fresh=True)
    try:
        board = bench.start()[0]
        with Logger([str(board.protocol_port)], db, {str(board.protocol_port): board.name},
                    command="test run") as logger:
            ops.execute(logger, request("batch", "v0", action="start"))
            bench.wait_sim(0, sim_s / 2, timeout=120)
            bench.inject(0, "set", target="v0", values={"temp_c": 50.0})
            wait_until(lambda: alarm_raised(logger, "TEMP_HIGH"), "TEMP_HIGH raised")
            ops.execute(logger, request("ack", "v0", alarm="temp_high"))
            bench.wait_sim(0, sim_s, timeout=120)
    finally:
        bench.stop()
    return db
