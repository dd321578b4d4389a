"""Serial ports by name: a device path, a pyserial URL or `auto`, opened only through
serial.serial_for_url, with errors that say what to do.

A port is opened for exclusive use (a lock other pilotedge processes and pyserial programs
respect), non-blocking: the link waits on the port itself, so a frame is handled the moment
it arrives instead of when a read timeout ends (protocol/README.md: a bench board at 600x
gives the host 8 ms of wall time to answer its heartbeat).
"""

import errno
import grp
import os

import serial
import serial.tools.list_ports

from .errors import LinkError

# USB serial devices boards are reached through, by (vendor id, product id): the boards'
# own USB (ESP32-S2/S3/C3 native USB, MicroPython on an RP2040) and the USB-UART bridges
# on ESP32 development boards and adapter cables. Vendor and product ids from the vendors'
# drivers (Linux drivers/usb/serial/cp210x.c, ch341.c, ftdi_sio_ids.h; Espressif and
# Raspberry Pi USB ids).
USB_BOARDS = {
    (0x303A, 0x1001): "Espressif native USB (ESP32-S2/S3/C3)",
    (0x2E8A, 0x0005): "Raspberry Pi RP2040 (MicroPython)",
    (0x10C4, 0xEA60): "Silicon Labs CP210x (ESP32-DevKitC)",
    (0x1A86, 0x7523): "WCH CH340",
    (0x1A86, 0x55D4): "WCH CH9102 (ESP32-DevKitC v4)",
    (0x0403, 0x6001): "FTDI FT232R",
    (0x0403, 0x6015): "FTDI FT231X",
}
AUTO = "auto"


def usb_boards():
    """Device paths of the USB serial devices in USB_BOARDS plugged in now, sorted."""
    return sorted(p.device for p in serial.tools.list_ports.comports()
                  if (p.vid, p.pid) in USB_BOARDS)


def expand(names):
    """Port names with `auto` replaced by the USB boards plugged in (LinkError when there is
    none); duplicates dropped, order kept."""
    out = []
    for name in names:
        found = usb_boards() if name == AUTO else [name]
        if name == AUTO and not found:
            raise LinkError("auto: no USB serial board plugged in (looked for %s); give the "
                            "port instead, e.g. /dev/ttyUSB0" % ", ".join(
                                "%04x:%04x" % key for key in USB_BOARDS))
        out += [n for n in found if n not in out]
    return out


def open_port(url, baudrate=115200):
    """An open, non-blocking pyserial port; LinkError naming the port and the fix."""
    try:
        return serial.serial_for_url(url, baudrate=baudrate, timeout=0, exclusive=True)
    except (serial.SerialException, ValueError, OSError) as exc:
        raise LinkError(_why(url, exc)) from None


def _why(url, exc):
    code = getattr(exc, "errno", None)
    if code == errno.ENOENT:
        return "no such port %s: is the board plugged in? (ports now: %s)" % (
            url, ", ".join(p.device for p in serial.tools.list_ports.comports()) or "none")
    if code == errno.EACCES:
        return "permission denied on %s: %s" % (url, _group_hint(url))
    if code in (errno.EAGAIN, errno.EBUSY) or "exclusively lock" in str(exc):
        return "port %s is busy: another program has it open (a pilotedge logger, a " \
               "terminal, mpremote?)" % url
    return "cannot open %s: %s" % (url, exc)


def _group_hint(path):
    try:
        group = grp.getgrgid(os.stat(path).st_gid).gr_name
    except (OSError, KeyError):
        group = "dialout"
    return ("join the %s group that owns it (sudo usermod -aG %s $USER), then log out and "
            "in again" % (group, group))


def fileno(port):
    """The file descriptor a port can be waited on with (selectors), or None for a port
    without one (loop://), which must be polled."""
    try:
        return port.fileno()
    except (AttributeError, OSError, ValueError, NotImplementedError):
        return None
