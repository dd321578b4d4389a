"""One thread that reads the ports of many links.

A link on its own gets a Reader of its own (pilotedge.link.Link). The logger gives all its
links one: sixteen reader threads sharing one interpreter lock spent their time handing it
over (and fighting for the writer's queue) instead of decoding, which held the logger to a
tenth of what SQLite takes (docs/logger.md). One thread that waits on every
port with selectors handles each read as it comes, whole, with nobody to wait for.

Everything a link does on its reader (decoding, answering heartbeats, callbacks) must be
quick and never block: the other links wait meanwhile.
"""

import logging
import selectors
import threading
import time

from . import ports

_log = logging.getLogger(__name__)

POLL_S = 0.01  # the longest between liveness checks, and between reads of a polled port


class Reader:
    """Reads every link added to it on one thread: link._read() when its port has input (or
    every POLL_S for a port that cannot be waited on, such as loop://), link._check_liveness()
    every POLL_S. A link whose _read() returns False (its port failed) is dropped."""

    def __init__(self, name="pilotedge-reader"):
        self._selector = selectors.DefaultSelector()
        self._links = {}  # link -> the file descriptor of its port (None: polled)
        self._lock = threading.RLock()  # held while links are read: remove() waits for it
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def add(self, link, port):
        """Read `link`, whose port is `port`, from now on."""
        fd = ports.fileno(port)
        with self._lock:
            self._links[link] = fd
            if fd is not None:
                self._selector.register(fd, selectors.EVENT_READ, link)

    def remove(self, link):
        """Stop reading `link`; returns once no read of it is under way. Idempotent."""
        with self._lock:
            fd = self._links.pop(link, None)
            if fd is not None and not self._closing:  # else the selector is closed or going
                self._selector.unregister(fd)

    def close(self):
        """Stop the thread (the links stay open: closing them is their owners' job)."""
        self._closing = True
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def _run(self):
        next_check = 0.0
        while not self._closing:
            # With no port registered an epoll selector still waits out its timeout.
            ready = self._selector.select(POLL_S)
            with self._lock:
                for key, _events in ready:
                    self._read(key.data)
                for link, fd in list(self._links.items()):
                    if fd is None:
                        self._read(link)
                now = time.monotonic()
                if now >= next_check:
                    next_check = now + POLL_S
                    for link in list(self._links):
                        try:
                            link._check_liveness()
                        except Exception:  # a bug: the other links go on
                            _log.exception("liveness check of %s failed", link.url)
        self._selector.close()

    def _read(self, link):
        # A link removed since select() returned is not read (its port may be closed).
        if link in self._links and not link._read():
            self.remove(link)  # the port failed: the link closed itself
