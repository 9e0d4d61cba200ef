"""LOADS/1 messages as proto/PROTOCOL.md defines them, written from the spec alone.

Nothing here comes from proto/messages.hpp: each message is the list of its fields in
wire order with the default the spec gives (section 5), an envelope is
["LOADS", 1, type, body] (section 3), and msgpack does the bytes. The conformance
suite and the appendix test use it; so may a third-party peer.
"""

import msgpack

PROTOCOL = "LOADS"
VERSION = 1

# PROTOCOL.md section 5: (field, default) in wire order. None = required, no default.
JOB_OPTIONS = [("tests", ""), ("users", 1), ("hits", 0), ("duration-ms", 0),
               ("server-url", ""), ("threads", 0), ("args", []), ("rate-stages", ""),
               ("rate-start", 0), ("max-users", 0), ("user-stages", ""), ("start-at-us", 0),
               ("user-mix", 1), ("params", {}), ("files", [])]
RESULTS_CURVE = [("server-key", ""), ("client-public", ""), ("client-secret", "")]

MESSAGES = {
    # 5.1 master <-> broker
    "RUN": [("agents", 1), ("wait-agents-ms", 0), ("library-name", ""), ("library-sha256", None),
            ("library", None), ("options", "JobOptions"), ("results-endpoint", None),
            ("master-host", ""), ("results-curve", "ResultsCurve"), ("files", [])],
    "RUN-ACCEPTED": [("run-id", ""), ("agents", [])],
    "RUN-REFUSED": [("code", 0), ("text", ""), ("wanted", 0), ("idle", 0), ("registered", 0)],
    "AGENT-DONE": [("run-id", ""), ("agent-id", ""), ("host", ""), ("exit-code", 0),
                   ("signal", 0), ("reason", "")],
    "AGENT-LOST": [("run-id", ""), ("agent-id", ""), ("host", ""), ("reason", "")],
    "STOP": [("run-id", "")],
    "STOPPED": [("run-id", ""), ("agents", 0)],
    "PURGE": [],
    "PURGED": [("runs", 0)],
    "PING": [],
    "PONG": [("pid", 0), ("version", ""), ("protocol", 0), ("uptime-ms", 0), ("agents", []),
             ("runs", [])],
    "REBALANCE": [("run-id", None), ("count", None), ("shares", None), ("from-ms", 0),
                  ("lost", ""), ("rows", [])],
    "HEARTBEAT": [],
    "DISCONNECT": [("reason", "")],
    "ERROR": [("code", 0), ("text", "")],
    # 5.2 broker <-> agent
    "HELLO": [("agent-id", None), ("host", ""), ("cores", 0), ("version", ""),
              ("libraries", []), ("run-id", ""), ("pid", 0)],
    "WELCOME": [("heartbeat-ms", 0), ("liveness", 0), ("version", ""), ("max-message-size", 0)],
    "JOB": [("run-id", ""), ("index", 0), ("count", 1), ("library-name", ""),
            ("library-sha256", ""), ("library", b""), ("options", "JobOptions"),
            ("results-endpoint", ""), ("agent-id", ""), ("results-curve", "ResultsCurve")],
    "NEED-LIBRARY": [("run-id", ""), ("library-sha256", ""), ("offset", 0), ("length", 0)],
    "JOB-ENDED": [("run-id", ""), ("exit-code", 0), ("signal", 0), ("reason", "")],
    # 5.3 slave -> master
    "RESULTS": [("run-id", ""), ("agent-id", ""), ("seq", 0), ("events-sent", 0), ("events", [])],
    "STOP-TEST-RUN": [("run-id", ""), ("agent-id", ""), ("seq", 0), ("events-sent", 0),
                      ("events", [])],
    # 5.4 slave -> master, --results summary
    "SUMMARY": [("run-id", ""), ("agent-id", ""), ("seq", 0), ("events-sent", 0), ("events", 0),
                ("summary", None)],
}

# 5.3 event kinds and their args after [kind, hits, users, current-hit, current-user].
EVENTS = {
    "startTestRun": (0, ["at-us"]), "stopTestRun": (1, ["at-us"]),
    "startTest": (2, ["test"]), "stopTest": (3, ["test", "elapsed-us"]),
    "addSuccess": (4, ["test"]),
    "addFailure": (5, ["test", "type", "message", "file", "line"]),
    "addError": (6, ["test", "type", "message", "file", "line"]),
    "addSkip": (7, ["test", "reason"]), "addCancelled": (8, ["test"]),
    "addHit": (9, ["name", "url", "method", "status", "error", "started-us", "elapsed-us",
                   "bytes", "planned-start-us"]),
    "incrCounter": (10, ["test", "name", "value"]), "socketOpen": (11, ["url"]),
    "socketMessage": (12, ["url", "direction", "size"]),
    "socketClose": (13, ["url", "code", "reason", "clean"]),
    "addDropped": (14, ["test", "planned-start-us"]),
    "claimRows": (15, ["feed", "run", "up-to", "exact"]),
}

# 7. error codes
MALFORMED, UNKNOWN_RUN, UNEXPECTED, NOT_REGISTERED, DUPLICATE = 400, 404, 405, 407, 409
VERSION_MISMATCH, UNKNOWN_TYPE, NOT_ENOUGH_AGENTS = 426, 501, 503


def _compound(kind, values):
    spec = {"JobOptions": JOB_OPTIONS, "ResultsCurve": RESULTS_CURVE}[kind]
    values = values or {}
    return [values.get(name, default) for name, default in spec]


def body(type_name, **fields):
    """The body array of `type_name`: every field in wire order, defaults filled in.
    Field names use '_' for '-' (run_id=...)."""
    out = []
    given = {k.replace("_", "-"): v for k, v in fields.items()}
    for name, default in MESSAGES[type_name]:
        if default in ("JobOptions", "ResultsCurve"):
            out.append(_compound(default, given.get(name)))
        elif name in given:
            out.append(given[name])
        elif default is None:
            raise ValueError(f"{type_name}: field {name} is required")
        else:
            out.append(default)
    unknown = set(given) - {name for name, _ in MESSAGES[type_name]}
    if unknown:
        raise ValueError(f"{type_name}: no field {sorted(unknown)}")
    return out


def pack(value):
    return msgpack.packb(value, use_bin_type=True)


def envelope(type_name, body_array, version=VERSION):
    return pack([PROTOCOL, version, type_name, body_array])


def message(type_name, **fields):
    """One ZeroMQ frame: the envelope of `type_name` with these fields."""
    return envelope(type_name, body(type_name, **fields))


def event(call, loads_status=(0, 0, 0, 0), /, **args):
    """One event of section 5.3; args by name ('_' for '-'), trailing ones may be left out."""
    kind, names = EVENTS[call]
    given = {k.replace("_", "-"): v for k, v in args.items()}
    values = [given[n] for n in names if n in given]
    if len(values) != len(given) or [n for n in names if n in given] != names[:len(values)]:
        raise ValueError(f"{call}: args must be a prefix of {names}")
    return [kind, *loads_status, *values]


def decode(frame):
    """(type, body as a dict by field name, raw body) of a frame; raises on a bad envelope."""
    value = msgpack.unpackb(frame, raw=False)
    if not (isinstance(value, list) and len(value) >= 4 and value[0] == PROTOCOL):
        raise ValueError(f"not a LOADS envelope: {value!r}")
    if value[1] != VERSION:
        raise ValueError(f"version {value[1]}")
    type_name, raw = value[2], value[3]
    names = [name for name, _ in MESSAGES.get(type_name, [])]
    return type_name, dict(zip(names, raw)), raw
