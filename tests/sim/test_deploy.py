"""pilotedge deploy against bench boards, which boot what is on their flash.

Each deploy goes through the board's REPL pty with mpremote's SerialTransport, resets the
board and checks its HELLO on the protocol pty, as with a board on a USB cable. A bench
started with deploy=False has a bare flash: a board with nothing but MicroPython.
"""

import hashlib
import os
import shutil
import subprocess
import time

import pytest
import serial

from mpy import MICROPYTHON
from pilotedge import boardrepl, cli, deploy, resources
from pilotedge.errors import DeployError, UsageError
from pilotedge.link import Link
from pilotproto import messages as m

_WAIT_S = 30.0


def deploy_to(board, **options):
    return deploy.deploy("sim", board.repl_port, protocol_port=board.protocol_port, **options)


def version(hello):
    return hello["fw_major"], hello["fw_minor"], hello["fw_patch"]


def firmware_copy(folder, **edits):
    """A copy of the firmware folder with edits {file: (old text, new text)}."""
    shutil.copytree(resources.firmware_dir(), folder,
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name, (old, new) in edits.items():
        path = folder / name
        text = path.read_text()
        assert old in text, (name, old)
        path.write_text(text.replace(old, new, 1))
    return folder


def version_789(tmp_path):
    folder = tmp_path / "firmware_789"
    if not folder.exists():
        firmware_copy(folder, **{"runtime/__init__.py": ("(0, 1, 0)", "(7, 8, 9)")})
    return folder


def hello_of(board):
    with Link(board.protocol_port) as link:
        return link.hello(timeout=1.0, retries=10)


@pytest.mark.bench(deploy=False)
def test_a_bare_board_takes_the_firmware_through_its_repl(bench):
    board = bench.boards[0]
    flash = board.flash_dir
    assert list(flash.iterdir()) == []
    result = deploy_to(board)
    assert version(result.hello) == (0, 1, 0)
    assert result.hello["schema_hash"] == m.SCHEMA_HASH
    assert result.board.name == "micropython" and result.board.mpy_version[0] == 6
    wanted = deploy.layout(resources.boards_dir() / "sim" / "board.json",
                           compiler=deploy.Compiler())
    on_flash = {p.relative_to(flash).as_posix() for p in (flash / "app").rglob("*.mpy")}
    assert on_flash == {path for path in wanted if path.startswith("app/")}
    # The protocol's framing goes; messages.py does not: a board's modules carry the spec
    # values they use as generated constants (tools/gen_protocol.py).
    assert "app/pilotproto/framing.mpy" in on_flash and "app/main.mpy" not in on_flash
    assert "app/pilotproto/messages.mpy" not in on_flash
    assert not list((flash / "app").rglob("*.py"))
    assert (flash / "main.py").read_bytes() == (resources.firmware_dir() / "main.py").read_bytes()
    assert (flash / "config.json").read_bytes().startswith(b"PE1 config ")
    assert result.stats.written == len(wanted)  # app/, main.py, board.json
    assert not (flash / "app.new").exists() and not (flash / "app.old").exists()

    again = deploy_to(board)
    assert again.stats == deploy.Stats(written=0, bytes=0, copied=0,
                                       unchanged=len(on_flash))
    assert again.hello["boot_count"] == result.hello["boot_count"] + 1


def test_a_changed_version_string_is_what_the_board_says_after_the_deploy(bench, tmp_path):
    board = bench.boards[0]
    first = deploy_to(board)
    assert version(first.hello) == (0, 1, 0)
    result = deploy_to(board, firmware=version_789(tmp_path))
    assert version(result.hello) == (7, 8, 9)
    assert version(hello_of(board)) == (7, 8, 9)
    # Only the changed module crossed the wire; the others were copied on the board.
    modules = [p for p in deploy.layout(resources.boards_dir() / "sim" / "board.json")
               if p.startswith("app/")]
    assert result.stats == (1, result.stats.bytes, len(modules) - 1, 0)


def test_config_and_state_survive_a_deploy_and_reset_config_clears_them(bench):
    board = bench.boards[0]
    with Link(board.protocol_port) as link:
        link.hello()
        assert link.param_set(255, "tlm_period", 2000).result == "OK"
        boots = link.hello()["boot_count"]
    result = deploy_to(board, source=True)
    assert result.hello["boot_count"] == boots + 1  # the state record stayed
    with Link(board.protocol_port) as link:
        link.hello()
        assert link.param_get(255, "tlm_period").value == 2000
    result = deploy_to(board, source=True, reset_config=True)
    assert result.hello["boot_count"] == 1
    with Link(board.protocol_port) as link:
        link.hello()
        assert link.param_get(255, "tlm_period").value == 1000


@pytest.mark.bench(speed=5)  # the firmware's watchdog runs on while the board sits in its REPL
def test_a_board_with_the_protocol_on_its_repl_port_is_sent_to_its_repl_first(
        bench, tmp_path, monkeypatch):
    # The board file says "usb"; the bench still has two ports, so both are given.
    board = bench.boards[0]
    usb = tmp_path / "board.json"
    usb.write_text((resources.boards_dir() / "sim" / "board.json").read_text().replace(
        '"protocol_port": "uart"', '"protocol_port": "usb"'))
    firmware_running = []

    def to_repl(link, url):
        to_repl_for_real(link, url)
        firmware_running.append(bench.state(0)["firmware"])

    to_repl_for_real = deploy._to_repl
    monkeypatch.setattr(deploy, "_to_repl", to_repl)
    result = deploy.deploy(usb, board.repl_port, protocol_port=board.protocol_port)
    assert firmware_running == [False]  # TO_REPL: the firmware left the port to its REPL
    assert version(result.hello) == (0, 1, 0)


class CutAfter(boardrepl.BoardTransport):
    """A connection whose cable comes out before the (files_left + 1)-th file write."""

    files_left = 0

    def fs_writefile(self, *args, **kwargs):
        if CutAfter.files_left == 0:
            self.serial.close()
        CutAfter.files_left -= 1
        return super().fs_writefile(*args, **kwargs)


def test_an_interrupted_copy_leaves_the_board_booting_its_previous_firmware(
        bench, tmp_path, monkeypatch):
    board = bench.boards[0]  # the bench deployed 0.1.0 as sources: every .mpy is new
    monkeypatch.setattr(boardrepl, "BoardTransport", CutAfter)
    CutAfter.files_left = 5
    with pytest.raises(DeployError, match="stopped .* boots its previous firmware"):
        deploy_to(board, firmware=version_789(tmp_path))
    assert len(list((board.flash_dir / "app.new").rglob("*.mpy"))) == 5
    bench.reset(0)
    assert version(hello_of(board)) == (0, 1, 0)

    monkeypatch.undo()
    result = deploy_to(board, firmware=version_789(tmp_path))  # resumes the staged files
    assert result.stats.unchanged == 5
    assert version(result.hello) == (7, 8, 9)


FAKE_RUNTIME = """
class _Wdt:
    feeds = 0
    def feed(self):
        _Wdt.feeds += 1
class _Hal:
    wdt = _Wdt()
class _Runtime:
    hal = _Hal()
rt = _Runtime()
"""


def test_the_firmware_watchdog_is_fed_while_the_repl_talks(bench, monkeypatch):
    # On a board, main.py's runtime `rt` stays in the REPL's namespace after a Ctrl-C; the
    # bench's REPL has its own namespace, so a stand-in takes its place here.
    monkeypatch.setattr(boardrepl, "_FEED_S", 0.0)
    board = boardrepl.Board(bench.boards[0].repl_port)
    try:
        board.transport.exec(FAKE_RUNTIME)
        flash = boardrepl.BoardFlash(board)
        assert len(flash.hashes("app")) > 30
        assert board.transport.eval("_Wdt.feeds") > 60  # 3 commands per file, all fed
    finally:
        board.close()


def test_the_loader_boots_app_old_when_a_switch_was_cut_between_its_renames(bench):
    board = bench.boards[0]
    os.rename(board.flash_dir / "app", board.flash_dir / "app.old")
    bench.reset(0)
    assert version(hello_of(board)) == (0, 1, 0)


def test_a_flash_without_app_stops_in_the_repl_saying_so(bench):
    board = bench.boards[0]
    shutil.rmtree(board.flash_dir / "app")
    with serial.Serial(board.repl_port, timeout=0.1) as repl:
        bench.reset(0)
        said = b""
        deadline = time.monotonic() + _WAIT_S
        while b"pilotedge deploy" not in said and time.monotonic() < deadline:
            said += repl.read(1000)
    assert b"no firmware on this board" in said
    assert not bench.state(0)["firmware"]


def test_romfs_on_a_board_without_a_romfs_partition_says_so(bench):
    board = bench.boards[0]
    before = sorted(p.name for p in (board.flash_dir / "app").iterdir())
    with pytest.raises(DeployError, match=r"build \(MicroPython .* on linux, .mpy v6.3\) has "
                                          "no ROMFS partition, as stock ESP32 and Pico builds "
                                          "have none: deploy the files instead"):
        deploy_to(board, romfs=True)
    assert sorted(p.name for p in (board.flash_dir / "app").iterdir()) == before


# A ROMFS partition for a bench board's REPL session: vfs.rom_ioctl as a port with one
# offers it (the calls mpremote's romfs deploy makes), over a bytearray.
FAKE_ROMFS = """
import sys
class _FakeVfs:
    rom = bytearray(%d)
    @staticmethod
    def rom_ioctl(op, *args):
        if op == 1:
            return 1
        if op == 2:
            return memoryview(_FakeVfs.rom)
        if op == 3:
            return 256
        if op == 4:
            offset, buf = args[1], args[2]
            _FakeVfs.rom[offset:offset + len(buf)] = buf
        if op == 6:
            return 4096
        return 0
    @staticmethod
    def umount(path):
        raise OSError(22)
sys.modules['vfs'] = _FakeVfs
"""


@pytest.mark.bench(deploy=False)  # no firmware running: the heap has room for the partition
def test_romfs_deploy_writes_the_image_into_the_partition_and_drops_app(bench):
    app = bench.boards[0].flash_dir / "app"
    app.mkdir()
    (app / "app.py").write_text("# an earlier deploy's\n")
    board = boardrepl.Board(bench.boards[0].repl_port)
    files = deploy.layout(resources.boards_dir() / "sim" / "board.json",
                          compiler=deploy.Compiler())
    image = deploy.romfs_image(files)
    try:
        board.transport.exec(FAKE_ROMFS % ((len(image) + 4095) // 4096 * 4096))
        flash = boardrepl.BoardFlash(board)
        stats = deploy.install_romfs(board, flash, files, board.info())
        written = board.transport.eval(
            "hashlib.sha256(memoryview(_FakeVfs.rom)[:%d]).digest()" % len(image))
        assert written == hashlib.sha256(image).digest()
    finally:
        board.close()
    assert stats.written == 3  # the image, main.py and board.json
    assert (bench.boards[0].flash_dir / "main.py").read_bytes() == files["main.py"]
    assert not app.exists()


def test_a_romfs_image_of_the_app_mounts_and_imports_on_micropython(tmp_path):
    board_json = resources.boards_dir() / "esp32_devkitc" / "board.json"
    image = deploy.romfs_image(deploy.layout(board_json, compiler=deploy.Compiler()))
    (tmp_path / "app.romfs").write_bytes(image)
    code = ("import sys, vfs\n"
            "vfs.mount(vfs.VfsRom(open('app.romfs', 'rb').read()), '/rom')\n"
            "sys.path.insert(0, '/rom')\n"
            "import boardfile, runtime, app\n"
            "boardfile.load(%r)\n"
            "print(runtime.__file__, runtime.VERSION)\n" % str(board_json))
    done = subprocess.run([str(MICROPYTHON), "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, MICROPYPATH=".frozen"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["/rom/runtime/__init__.mpy", "(0,", "1,", "0)"]


NATIVE = """
import micropython

@micropython.native
def double(x):
    return 2 * x
"""


def test_native_code_is_compiled_for_the_board_architecture(tmp_path, bench):
    module = tmp_path / "fast.py"
    module.write_text(NATIVE)
    with pytest.raises(DeployError, match="fast.py uses native code, and this board's "
                                          "MicroPython has no native emitter"):
        deploy.Compiler().compile(module, "fast.py")
    board = boardrepl.Board(bench.boards[0].repl_port)
    try:
        info = board.info()
    finally:
        board.close()
    assert info.arch == "x64"  # the bench runs the 64-bit Unix port
    compiler = deploy.Compiler(info.arch)
    mpy = compiler.compile(module, "fast.py")
    assert compiler.native == ["fast.py"]
    assert (mpy[0], mpy[1], mpy[2] >> 2) == (ord("M"), 6, 2)  # .mpy v6, native arch x64
    (tmp_path / "fast.mpy").write_bytes(mpy)
    done = subprocess.run([str(MICROPYTHON), "-c", "import fast; print(fast.double(21))"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, MICROPYPATH=".frozen"))
    assert done.stdout == "42\n", done.stderr


def test_no_board_on_a_port_that_does_not_exist():
    with pytest.raises(DeployError, match="^no board on /dev/no-such-port: cannot open it"):
        deploy.deploy("sim", "/dev/no-such-port")


def test_no_board_on_a_port_nobody_serves():
    controller, line = os.openpty()
    try:
        with pytest.raises(DeployError, match="no board answers on .*: no MicroPython REPL"):
            deploy.deploy("sim", os.ttyname(line), connect_timeout_s=0.5)
    finally:
        os.close(controller)
        os.close(line)


def test_a_board_file_failing_its_check_is_one_line_naming_the_key(tmp_path, capsys):
    board_json = tmp_path / "board.json"
    text = (resources.boards_dir() / "sim" / "board.json").read_text()
    board_json.write_text(text.replace('"active_high"', '"active_hgih"', 1))
    with pytest.raises(UsageError, match="fails the firmware's check: .*: outputs.v0_acid"):
        deploy.deploy(board_json, "/dev/no-such-port")
    status = cli.main(["deploy", "--board", str(board_json), "--port", "/dev/no-such-port"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert err == ("pilotedge deploy: board file fails the firmware's check: %s: "
                   "outputs.v0_acid.active_hgih: unknown key\n" % board_json)
    board_json.write_text(text[:-20])
    assert cli.main(["deploy", "--board", str(board_json), "--port", "/dev/no-such-port"]) == 2
    assert capsys.readouterr().err == ("pilotedge deploy: board file fails the firmware's "
                                       "check: %s: not valid JSON (syntax error in JSON)\n"
                                       % board_json)


@pytest.mark.bench(deploy=False)
def test_a_board_taking_another_mpy_version_is_refused(bench, monkeypatch, capsys):
    board = bench.boards[0]
    monkeypatch.setattr(deploy, "mpy_cross_version", lambda: (7, 0))
    status = cli.main(["deploy", "--board", "sim", "--port", board.repl_port,
                       "--protocol-port", board.protocol_port])
    err = capsys.readouterr().err
    assert status == 3 and err.count("\n") == 1
    assert ("loads .mpy v6.3, and this pilotedge's mpy-cross emits v7.0: update the board's "
            "MicroPython (or mpy-cross), or deploy sources with --source") in err
    assert list(board.flash_dir.iterdir()) == []


def test_a_board_in_a_boot_loop_is_reported(bench, tmp_path):
    looping = firmware_copy(tmp_path / "firmware", **{"app.py": (
        "            self.link.send_hello()\n",
        "            self.link.send_hello()\n            self.hal.reset()\n")})
    with pytest.raises(DeployError, match="is in a boot loop"):
        deploy_to(bench.boards[0], firmware=looping, source=True)


def test_a_firmware_that_stops_at_start_is_reported_with_what_its_repl_said(bench, tmp_path):
    # What the host's check runs imports fine; the board's own HAL does not.
    broken = firmware_copy(tmp_path / "firmware", **{"hal/sim.py": (
        "def make(board):\n", "def make(board):\n    raise RuntimeError('broken build')\n")})
    with pytest.raises(DeployError, match="stops at start: no HELLO within 3 s of the reset; "
                                          "its REPL says: RuntimeError: broken build"):
        deploy_to(bench.boards[0], firmware=broken, source=True, boot_timeout_s=3)
