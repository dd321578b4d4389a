# Flash folders for store tests on both interpreters (MicroPython has no tempfile module).
import os


def tmpdir():
    # A fresh, empty folder under /tmp.
    while True:
        path = "/tmp/pe_fw_%s" % "".join("%02x" % b for b in os.urandom(6))
        try:
            os.mkdir(path)
            return path
        except OSError:
            pass


def clear_dir(path):
    for name in os.listdir(path):
        os.remove(path + "/" + name)
