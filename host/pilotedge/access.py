"""Who may command which board through the broker: the bridge's access file.

    # pilotedge bridge --access access.toml
    dcmd_client = "scada"       # plain Sparkplug DCMDs are this client's (see below)

    [clients.scada]
    "*" = "engineer"            # every board

    [clients.alice]
    "*" = "operator"
    line3-v2 = "read-only"      # but not this board

A client is an MQTT user name, as the broker authenticated it. A role per board ("*" for
every board): read-only (no commands), operator (modes, doses, alarm acknowledgements,
batches, set points: parameters named *_sp), engineer (every parameter too). A client the
file does not name, or a board its entry does not cover, is read-only.

The bridge learns the sender of a command from its topic, which the broker's ACL ties to the
user name: pilotedge/cmd/<user>/<group>/<node>/<board> (mosquitto: `pattern write
pilotedge/cmd/%u/#`). A plain Sparkplug DCMD (spBv1.0/<group>/DCMD/<node>/<board>) has no
sender, so it is taken as dcmd_client's, which is only sound when the broker lets that user
alone write DCMD topics; with no dcmd_client, plain DCMDs are refused.
"""

import tomllib

from .errors import UsageError

ROLES = ("read-only", "operator", "engineer")
READ_ONLY, OPERATOR, ENGINEER = ROLES


def command_class(req):
    """The role a request needs."""
    if req["op"] == "set" and not req["args"]["param"].endswith("_sp"):
        return ENGINEER
    return OPERATOR


class Access:
    """clients {user: {board or "*": role}}; dcmd_client: whose plain DCMDs are."""

    def __init__(self, clients=None, dcmd_client=None):
        self.clients = clients or {}
        self.dcmd_client = dcmd_client

    @classmethod
    def load(cls, path):
        """The access file at path; UsageError naming what is wrong in it."""
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except OSError as exc:
            raise UsageError("cannot read the access file %s: %s"
                             % (path, exc.strerror or exc)) from None
        except tomllib.TOMLDecodeError as exc:
            raise UsageError("access file %s: %s" % (path, exc)) from None
        unknown = set(data) - {"clients", "dcmd_client"}
        if unknown:
            raise UsageError("access file %s: unknown key %s (known: clients, dcmd_client)"
                             % (path, ", ".join(sorted(unknown))))
        clients = data.get("clients", {})
        for user, boards in clients.items():
            if not isinstance(boards, dict):
                raise UsageError("access file %s: clients.%s must be a table of board = role"
                                 % (path, user))
            for board, role in boards.items():
                if role not in ROLES:
                    raise UsageError("access file %s: clients.%s.%s = %r is no role (roles: %s)"
                                     % (path, user, board, role, ", ".join(ROLES)))
        dcmd = data.get("dcmd_client")
        if dcmd is not None and not isinstance(dcmd, str):
            raise UsageError("access file %s: dcmd_client must be a user name" % path)
        return cls(clients, dcmd)

    def role(self, client, board):
        boards = self.clients.get(client, {})
        return boards.get(board, boards.get("*", READ_ONLY))

    def refusal(self, client, board, req):
        """Why client may not send req to board, or None when it may."""
        need = command_class(req)
        have = self.role(client, board)
        if ROLES.index(have) >= ROLES.index(need):
            return None
        return "client %s is %s on board %s: %s needs %s" % (
            client, have, board, req["op"], need)
