"""The site's MQTT broker: its URL, TLS and credentials, and a paho-mqtt client for it.

    mqtt://HOST[:PORT]     plain TCP (default port 1883), for a broker on the same host
    mqtts://HOST[:PORT]    TLS (default port 8883), the broker's certificate checked against
                           --ca (else the system's CAs); --cert/--key for a client certificate

The user name may be in the URL (mqtts://line3@broker) or --username; the password never
is, nor on any command line (ps shows those to every user of the machine): it comes from a
file (--password-file, mode 0600) or the environment (PILOTEDGE_MQTT_PASSWORD). describe()
is what logs and messages show: the URL without any secret.
"""

import os
import ssl
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho

from .errors import UsageError

PASSWORD_ENV = "PILOTEDGE_MQTT_PASSWORD"
_PORTS = {"mqtt": 1883, "mqtts": 8883}


class Broker(NamedTuple):
    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None
    ca: str | None = None
    cert: str | None = None
    key: str | None = None

    def describe(self):
        return "%s://%s%s:%d" % ("mqtts" if self.tls else "mqtt",
                                 self.username + "@" if self.username else "", self.host,
                                 self.port)


def broker(url, username=None, password_file=None, ca=None, cert=None, key=None,
           environ=None):
    """The Broker of a URL and its options; UsageError for a URL it cannot be, or one that
    carries a password."""
    environ = os.environ if environ is None else environ
    parts = urlsplit(url)
    if parts.scheme not in _PORTS or not parts.hostname:
        raise UsageError("broker %r: expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]"
                         % _without_password(url))
    if parts.password is not None:
        raise UsageError("broker %s: a password does not go in the URL (the command line "
                         "shows it to every user): put it in a file (--password-file) or in "
                         "%s" % (_without_password(url), PASSWORD_ENV))
    try:
        port = parts.port or _PORTS[parts.scheme]
    except ValueError:
        raise UsageError("broker %r: the port is not a number" % url) from None
    user = username or (unquote(parts.username) if parts.username else None)
    password = None
    if password_file:
        try:
            password = Path(password_file).read_text().strip()
        except OSError as exc:
            raise UsageError("cannot read the password file %s: %s"
                             % (password_file, exc.strerror or exc)) from None
    elif environ.get(PASSWORD_ENV):
        password = environ[PASSWORD_ENV]
    if password is not None and not user:
        raise UsageError("a broker password without a user name: give --username")
    for path, what in ((ca, "--ca"), (cert, "--cert"), (key, "--key")):
        if path and not Path(path).is_file():
            raise UsageError("%s %s: no such file" % (what, path))
    if (ca or cert) and parts.scheme != "mqtts":
        raise UsageError("--ca and --cert are for TLS: use mqtts://%s" % parts.netloc)
    return Broker(parts.hostname, port, parts.scheme == "mqtts", user, password, ca, cert, key)


def _without_password(url):
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(":%s@" % parts.password, ":***@", 1)


def client(broker, client_id, v5=False, clean=True, manual_ack=False, reconnect=True):
    """A paho-mqtt client for the broker, not yet connected (MQTT 3.1.1, or 5 with v5).
    clean=False keeps the session (subscriptions and queued messages) across connections;
    reconnect=False ends its network thread (loop_start) when the connection ends."""
    kwargs = {"protocol": paho.MQTTv5} if v5 else {"protocol": paho.MQTTv311,
                                                    "clean_session": clean}
    out = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id,
                      manual_ack=manual_ack, reconnect_on_failure=reconnect, **kwargs)
    if broker.username:
        out.username_pw_set(broker.username, broker.password)
    if broker.tls:
        out.tls_set(ca_certs=broker.ca, certfile=broker.cert, keyfile=broker.key,
                    cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    return out


def add_arguments(parser):
    """The broker options of a command."""
    parser.add_argument("--broker", required=True, metavar="URL",
                        help="the site's MQTT broker: mqtt://HOST[:PORT] or mqtts://HOST[:PORT]"
                             " (TLS)")
    parser.add_argument("--username", help="user name at the broker")
    parser.add_argument("--password-file", metavar="FILE",
                        help="file holding the broker password (else $%s; never on the "
                             "command line)" % PASSWORD_ENV)
    parser.add_argument("--ca", metavar="FILE", help="CA certificate(s) that signed the "
                                                     "broker's (mqtts; default: the system's)")
    parser.add_argument("--cert", metavar="FILE", help="client certificate (mqtts)")
    parser.add_argument("--key", metavar="FILE", help="private key of --cert")


def from_args(args):
    return broker(args.broker, args.username, args.password_file, args.ca, args.cert, args.key)
