#!/usr/bin/python3
"""LOADS/1 conformance: drives the real daemons through every row of PROTOCOL.md §8.

    conformance.py BUILD_DIR SOURCE_DIR {frontend|backend|results|agent|appendix}

frontend: §8.1 on a real loads-broker; backend: §8.2; results: §8.3 on a real
loads-master's results port (this script plays the agent and its slave); agent: a real
loads-agent against this script as its broker (§5.2's JOB-ENDED table, §6); appendix:
the examples of appendix A are what loads_wire builds from the spec's field lists.
Every message is built by loads_wire from the spec, never by proto/. Each row prints
"ok - ..." or "not ok - ..."; the exit code is 0 when every row conforms, 1 when one
does not, 2 on a usage error. Every wait is bounded.
"""

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loads_wire as w  # noqa: E402

H_MS, LIVENESS = 200, 5          # the broker's heartbeat and liveness: silence = 1 s
LIBRARY = b"\x7fELF conformance"  # the broker never loads it
SHA = hashlib.sha256(LIBRARY).hexdigest()
failures = []


def row(name, condition, detail=""):
    print(("ok - " if condition else "not ok - ") + name + ("" if condition else f": {detail}"),
          flush=True)
    if not condition:
        failures.append(name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Peer:
    """A DEALER playing a master or an agent. Every live peer heartbeats while any peer
    waits, so only a peer told to be silent goes silent."""
    live = []

    def __init__(self, context, endpoint, heartbeat=True):
        self.socket = context.socket(zmq.DEALER)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(endpoint)
        self.heartbeat = heartbeat
        Peer.live.append(self)

    def send(self, type_name, **fields):
        self.socket.send(w.message(type_name, **fields))

    def send_raw(self, *frames):
        self.socket.send_multipart(list(frames))

    def next(self, timeout=3.0):
        """(type, fields) of the next message that is not a HEARTBEAT, or None."""
        deadline = time.monotonic() + timeout
        next_beat = 0
        while time.monotonic() < deadline:
            if time.monotonic() >= next_beat:
                for peer in Peer.live:
                    if peer.heartbeat:
                        peer.socket.send(w.message("HEARTBEAT"))
                next_beat = time.monotonic() + H_MS / 2000
            if self.socket.poll(20):
                type_name, fields, _ = w.decode(self.socket.recv())
                if type_name != "HEARTBEAT":
                    return type_name, fields
        return None

    def quiet(self, seconds=0.6):
        """True when nothing but HEARTBEATs arrives for `seconds`."""
        return self.next(seconds) is None

    def close(self):
        Peer.live.remove(self)
        self.socket.close()


def expect(peer, type_name, name, timeout=3.0, **fields):
    got = peer.next(timeout)
    ok = got is not None and got[0] == type_name and all(got[1].get(k.replace("_", "-")) == v
                                                         for k, v in fields.items())
    row(name, ok, f"expected {type_name} {fields}, got {got}")
    return got[1] if got and got[0] == type_name else {}


def expect_error(peer, code, name, timeout=3.0):
    return expect(peer, "ERROR", name + f" (ERROR {code})", timeout, code=code)


def run_body(agents=1, wait_ms=0, **overrides):
    fields = dict(agents=agents, wait_agents_ms=wait_ms, library_name="libc.so",
                  library_sha256=SHA, library=LIBRARY, options={"users": 2, "hits": 1},
                  results_endpoint="tcp://127.0.0.1:9", master_host="conformance")
    fields.update(overrides)
    return fields


class Broker:
    def __init__(self, build):
        self.frontend = f"tcp://127.0.0.1:{free_port()}"
        self.backend = f"tcp://127.0.0.1:{free_port()}"
        self.process = subprocess.Popen(
            [f"{build}/broker/loads-broker", "--frontend", self.frontend, "--backend", self.backend,
             "--heartbeat", f"{H_MS}ms", "--liveness", str(LIVENESS)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.context = zmq.Context()
        probe = self.master()
        for _ in range(50):  # bounded: 50 x 3 s at most, the broker binds in milliseconds
            probe.send("PING")
            if probe.next(0.2):
                break
        probe.close()

    def master(self, heartbeat=True):
        return Peer(self.context, self.frontend, heartbeat)

    def agent(self, agent_id, host="h", pid=1, run_id="", heartbeat=True, libraries=()):
        peer = Peer(self.context, self.backend, heartbeat)
        peer.send("HELLO", agent_id=agent_id, host=host, cores=1, version="conformance",
                  libraries=list(libraries), run_id=run_id, pid=pid)
        return peer

    def pong(self):
        control = self.master()
        control.send("PING")
        got = control.next()
        control.close()
        return got[1] if got else {}

    def agent_state(self, agent_id):
        for info in self.pong().get("agents", []):
            if info[0] == agent_id:
                return info[3]
        return None

    def stop(self):
        for peer in list(Peer.live):
            peer.close()
        self.process.terminate()
        self.process.wait(10)
        self.context.term()


def welcomed(broker, agent_id, **kw):
    peer = broker.agent(agent_id, **kw)
    got = peer.next()
    assert got and got[0] == "WELCOME", got
    return peer


# ---------------------------------------------------------------- §8.1 frontend

def frontend(build):
    b = Broker(build)
    try:
        m = b.master()
        m.send("PING")
        pong = expect(m, "PONG", "any | PING -> PONG")
        row("PONG names protocol 1", pong.get("protocol") == 1, pong)
        m.send("HEARTBEAT")
        row("any | HEARTBEAT -> refresh, no answer", m.quiet())
        m.send("STOP", run_id="no-such-run")
        expect_error(m, w.UNKNOWN_RUN, "any | STOP of an unknown run")
        m.send("PURGE")
        expect(m, "PURGED", "any | PURGE -> PURGED", runs=0)
        m.send("RUN", **run_body(library_sha256="0" * 64))
        expect(m, "RUN-REFUSED", "START | RUN, invalid -> RUN-REFUSED 400", code=400)
        m.send("RUN", **run_body(agents=1))
        expect(m, "RUN-REFUSED", "START | RUN, too few, wait 0 -> RUN-REFUSED 503", code=503)

        # WAITING, then enough idle agents appear.
        m.send("RUN", **run_body(agents=1, wait_ms=20000))
        row("START | RUN, too few, wait > 0 -> held (no answer)", m.quiet(0.5))
        m.send("RUN", **run_body())
        expect_error(m, w.UNEXPECTED, "WAITING | RUN")
        a1 = welcomed(b, "a1")
        job = expect(a1, "JOB", "WAITING | (enough idle agents) -> JOB", index=0, count=1)
        accepted = expect(m, "RUN-ACCEPTED", "WAITING | (enough idle agents) -> RUN-ACCEPTED")
        run_id = accepted.get("run-id")
        row("JOB carries the RUN's library, sha, options and results-endpoint",
            job.get("library") == LIBRARY and job.get("library-sha256") == SHA and
            job.get("options", [None, None])[1] == 2 and
            job.get("results-endpoint") == "tcp://127.0.0.1:9" and job.get("run-id") == run_id, job)
        m.send("RUN", **run_body())
        expect_error(m, w.UNEXPECTED, "RUNNING | RUN")
        m.send("PING")
        expect(m, "PONG", "RUNNING | PING -> PONG")
        m.send("REBALANCE", run_id=run_id, count=1, shares=[["a1", 0]], from_ms=0, lost="x")
        expect(a1, "REBALANCE", "RUNNING | REBALANCE, valid -> to each listed running agent",
               run_id=run_id, count=1)
        row("RUNNING | REBALANCE, valid -> no answer to the master", m.quiet(0.3))
        rows = [[1, 0, 1, [["users.csv", 40]]], [2, 3, 6, []]]
        m.send("REBALANCE", run_id=run_id, count=1, shares=[["a1", 0]], from_ms=0, lost="x",
               rows=rows)
        expect(a1, "REBALANCE", "RUNNING | REBALANCE with rows -> to the agent, rows as sent",
               rows=rows)
        m.send("REBALANCE", run_id=run_id, count=1, shares=[["a1", 0]], rows=[[1, 0, 0, []]])
        expect_error(m, w.MALFORMED, "RUNNING | REBALANCE, rows of stride 0")
        m.send("REBALANCE", run_id=run_id, count=2, shares=[["a1", 0], ["a1", 1]])
        expect_error(m, w.MALFORMED, "RUNNING | REBALANCE, invalid")
        m.send("REBALANCE", run_id="other", count=1, shares=[["a1", 0]])
        expect_error(m, w.UNKNOWN_RUN, "RUNNING | REBALANCE for another run")
        a1.send("JOB-ENDED", run_id=run_id, exit_code=0, signal=0, reason="")
        expect(m, "AGENT-DONE", "RUNNING | (agent ends) -> AGENT-DONE, START after the last",
               run_id=run_id, agent_id="a1", exit_code=0)

        # START again on the same connection: a RUN is accepted.
        m.send("RUN", **run_body())
        expect(a1, "JOB", "START (after the last AGENT-DONE) | RUN, enough idle -> JOB")
        accepted = expect(m, "RUN-ACCEPTED", "START | RUN, enough idle agents -> RUN-ACCEPTED")
        run_id = accepted.get("run-id")
        other = b.master()
        other.send("STOP", run_id=run_id)
        expect(a1, "STOP", "any | STOP -> STOP to the run's busy agents", run_id=run_id)
        expect(other, "STOPPED", "any | STOP -> STOPPED", run_id=run_id, agents=1)
        a1.send("JOB-ENDED", run_id=run_id, exit_code=0, signal=0, reason="stopped")
        expect(m, "AGENT-DONE", "STOP ends with JOB-ENDED -> AGENT-DONE", reason="stopped")

        # The agent has the library now: the next JOB comes without bytes.
        m.send("RUN", **run_body())
        job = expect(a1, "JOB", "RUN, agent has the library -> JOB")
        row("JOB to an agent that has the library has empty bytes", job.get("library") == b"", job)
        run_id = expect(m, "RUN-ACCEPTED", "RUN-ACCEPTED").get("run-id")
        a1.heartbeat = False
        lost = expect(m, "AGENT-LOST", "RUNNING | (agent silent L x H) -> AGENT-LOST",
                      timeout=5, run_id=run_id, agent_id="a1")
        row("AGENT-LOST says why", "no heartbeat" in lost.get("reason", ""), lost)
        a1.close()

        # WAITING, the wait expires.
        m.send("RUN", **run_body(agents=1, wait_ms=400))
        expect(m, "RUN-REFUSED", "WAITING | (wait expires) -> RUN-REFUSED 503", timeout=5, code=503)
        # STOP of a waiting run.
        m.send("RUN", **run_body(agents=1, wait_ms=20000))
        m.quiet(0.3)
        waiting = [r for r in b.pong().get("runs", []) if r[1] == "waiting"]
        row("PONG lists the waiting run", len(waiting) == 1, waiting)
        if waiting:
            other.send("STOP", run_id=waiting[0][0])
            expect(m, "RUN-REFUSED", "STOP of a waiting run -> RUN-REFUSED to its master", code=503)
            expect(other, "STOPPED", "STOP of a waiting run -> STOPPED", agents=0)

        # DISCONNECT and silence stop the run on its agents.
        for how in ("DISCONNECT", "silence"):
            a2 = welcomed(b, "a2-" + how)
            master = b.master()
            master.send("RUN", **run_body())
            expect(a2, "JOB", f"({how}) JOB")
            run_id = expect(master, "RUN-ACCEPTED", f"({how}) RUN-ACCEPTED").get("run-id")
            if how == "DISCONNECT":
                master.send("DISCONNECT", reason="I am gone")
            else:
                master.heartbeat = False
            expect(a2, "STOP", f"RUNNING | {how} -> the run is stopped on its agents",
                   timeout=5, run_id=run_id)
            row(f"RUNNING | {how} -> the run is forgotten",
                all(r[0] != run_id for r in b.pong().get("runs", [])))
            a2.send("JOB-ENDED", run_id=run_id, exit_code=0, signal=0, reason="stopped")
            a2.send("DISCONNECT", reason="done")  # so the next run cannot pick it
            a2.quiet(0.2)
            a2.close()
            master.close()
        master = b.master()
        master.send("RUN", **run_body(agents=1, wait_ms=20000))
        master.quiet(0.3)
        master.send("DISCONNECT", reason="bye")
        master.quiet(0.3)
        row("WAITING | DISCONNECT -> the run is forgotten", b.pong().get("runs") == [])
        m.send("DISCONNECT", reason="nothing to stop")
        row("START | DISCONNECT -> nothing", m.quiet(0.3))

        # Out of place, unknown, other versions, not LOADS.
        m.send("JOB-ENDED", run_id="r", exit_code=0, signal=0, reason="")
        expect_error(m, w.UNEXPECTED, "any | an agent's message on the frontend")
        m.send_raw(w.envelope("NO-SUCH-TYPE", []))
        expect_error(m, w.UNKNOWN_TYPE, "any | unknown type")
        m.send_raw(w.envelope("PING", [], version=2))
        err = expect_error(m, w.VERSION_MISMATCH, "any | another protocol version")
        row("426 names both versions", "1" in err.get("text", "") and "2" in err.get("text", ""), err)
        m.send_raw(b"\x00garbage")
        row("not a LOADS envelope -> dropped without reply", m.quiet(0.3))
        m.send_raw(w.message("PING"), w.message("PING"))
        row("two body frames -> dropped without reply", m.quiet(0.3))
        m.send_raw(w.envelope("STOP", [42]))
        expect_error(m, w.MALFORMED, "any | STOP whose body does not decode")
    finally:
        b.stop()


# ---------------------------------------------------------------- §8.2 backend

def backend(build):
    b = Broker(build)
    try:
        stranger = Peer(b.context, b.backend)
        stranger.heartbeat = False
        stranger.send("HEARTBEAT")
        expect_error(stranger, w.NOT_REGISTERED, "UNKNOWN | HEARTBEAT")
        stranger.send("JOB-ENDED", run_id="r", exit_code=0, signal=0, reason="")
        expect_error(stranger, w.NOT_REGISTERED, "UNKNOWN | JOB-ENDED")
        stranger.send("HELLO", agent_id="")
        expect_error(stranger, w.MALFORMED, "UNKNOWN | HELLO without agent-id")
        stranger.close()

        a = b.agent("idle-1", libraries=[SHA])
        welcome = expect(a, "WELCOME", "UNKNOWN | HELLO, run-id \"\" -> WELCOME")
        row("WELCOME gives the broker's heartbeat and liveness",
            welcome.get("heartbeat-ms") == H_MS and welcome.get("liveness") == LIVENESS, welcome)
        row("... -> IDLE", b.agent_state("idle-1") == "idle")
        a.send("HEARTBEAT")
        row("IDLE | HEARTBEAT -> refresh, no answer", a.quiet(0.3))
        a.send("JOB-ENDED", run_id="unknown", exit_code=0, signal=0, reason="")
        expect_error(a, w.UNEXPECTED, "IDLE | JOB-ENDED")
        a.send("NEED-LIBRARY", run_id="unknown", library_sha256=SHA)
        expect_error(a, w.UNEXPECTED, "IDLE | NEED-LIBRARY")
        a.send("PING")
        expect_error(a, w.UNEXPECTED, "IDLE | a master's message")

        twin = b.agent("idle-1", host="elsewhere", pid=2)
        err = expect_error(twin, w.DUPLICATE, "UNKNOWN | HELLO with a live agent's id, other host")
        row("409 names the id", '"idle-1"' in err.get("text", ""), err)
        twin.close()
        row("the live holder keeps its place", b.agent_state("idle-1") == "idle")

        m = b.master()
        m.send("RUN", **run_body())
        job = expect(a, "JOB", "IDLE | (selected for a run) -> JOB")
        run_id = job.get("run-id")
        row("a JOB to an agent whose HELLO listed the library has no bytes",
            job.get("library") == b"", job)
        expect(m, "RUN-ACCEPTED", "RUN-ACCEPTED")
        row("... -> BUSY", b.agent_state("idle-1") == "busy")
        a.send("HEARTBEAT")
        row("BUSY | HEARTBEAT -> refresh, no answer", a.quiet(0.3))
        a.send("NEED-LIBRARY", run_id=run_id, library_sha256=SHA)
        job = expect(a, "JOB", "BUSY | NEED-LIBRARY -> JOB with bytes", run_id=run_id)
        row("... with bytes", job.get("library") == LIBRARY)
        a.send("NEED-LIBRARY", run_id="other", library_sha256=SHA)
        expect_error(a, w.UNKNOWN_RUN, "BUSY | NEED-LIBRARY for another run")
        a.send("JOB-ENDED", run_id="other", exit_code=0, signal=0, reason="")
        expect_error(a, w.UNKNOWN_RUN, "BUSY | JOB-ENDED for another run")
        m.send("REBALANCE", run_id=run_id, count=1, shares=[["idle-1", 0]])
        expect(a, "REBALANCE", "BUSY | (REBALANCE from its run's master) -> REBALANCE")
        a.send("JOB-ENDED", run_id=run_id, exit_code=0, signal=0, reason="")
        expect(m, "AGENT-DONE", "BUSY | JOB-ENDED for its run -> AGENT-DONE", agent_id="idle-1")
        row("... -> IDLE", b.agent_state("idle-1") == "idle")

        # Reconnects: the same process on a new socket takes its id over.
        again = b.agent("idle-1")  # host "h", pid 1 as before
        expect(again, "WELCOME", "IDLE | HELLO (same host and pid, new socket) -> WELCOME")
        a.send("HEARTBEAT")
        expect_error(a, w.NOT_REGISTERED, "the replaced socket is forgotten")
        a.close()
        m.send("RUN", **run_body())
        run_id = expect(again, "JOB", "JOB").get("run-id")
        expect(m, "RUN-ACCEPTED", "RUN-ACCEPTED")
        again.send("HELLO", agent_id="idle-1", host="h", cores=1, version="c", libraries=[],
                   run_id="", pid=1)
        expect(again, "WELCOME", "BUSY | HELLO (the agent restarted) -> WELCOME")
        expect(m, "AGENT-LOST", "... its run gets AGENT-LOST", run_id=run_id, agent_id="idle-1")
        row("... -> IDLE", b.agent_state("idle-1") == "idle")

        # HELLO naming runs.
        m.send("RUN", **run_body())
        run_id = expect(again, "JOB", "JOB").get("run-id")
        expect(m, "RUN-ACCEPTED", "RUN-ACCEPTED")
        again.send("HELLO", agent_id="idle-1", host="h", cores=1, version="c", libraries=[],
                   run_id=run_id, pid=1)
        expect(again, "WELCOME", "BUSY | HELLO naming its running run -> WELCOME")
        row("... no STOP, still BUSY", again.quiet(0.3) and b.agent_state("idle-1") == "busy")
        again.send("JOB-ENDED", run_id=run_id, exit_code=0, signal=0, reason="")
        expect(m, "AGENT-DONE", "... and its JOB-ENDED still reaches the master")

        orphan = b.agent("orphan", run_id="r-before-restart")
        expect(orphan, "WELCOME", "UNKNOWN | HELLO naming an unknown run -> WELCOME")
        expect(orphan, "STOP", "... -> STOP run-id", run_id="r-before-restart")
        row("... -> BUSY in that run", b.agent_state("orphan") == "busy")
        orphan.send("JOB-ENDED", run_id="r-before-restart", exit_code=0, signal=0, reason="")
        row("BUSY | JOB-ENDED, run unknown -> no answer", orphan.quiet(0.3))
        row("... -> IDLE", b.agent_state("orphan") == "idle")
        for done in (orphan, again):  # gone, so the next run picks the agent it means to
            done.send("DISCONNECT", reason="done")
            done.quiet(0.2)
            done.close()

        sleepy = welcomed(b, "sleepy")
        sleepy.heartbeat = False
        since = time.monotonic()
        newcomer = b.agent("sleepy", host="elsewhere", pid=5)
        expect_error(newcomer, w.DUPLICATE, "UNKNOWN | HELLO, id held by an agent heard from lately")
        got = None
        while time.monotonic() - since < 3:  # one HELLO per interval, as loads-agent retries
            time.sleep(H_MS / 1000)
            newcomer.send("HELLO", agent_id="sleepy", host="elsewhere", cores=1, version="c",
                          libraries=[], run_id="", pid=5)
            got = newcomer.next(1)
            if got and got[0] == "WELCOME":
                break
        row("UNKNOWN | HELLO, id held by an agent silent 3 x H -> WELCOME (the id is taken over)",
            got and got[0] == "WELCOME" and time.monotonic() - since >= 3 * H_MS / 1000, got)
        for peer in (sleepy, newcomer):
            peer.send("DISCONNECT", reason="done")
            peer.quiet(0.2)
            peer.close()
        gone = welcomed(b, "gone")
        gone.send("DISCONNECT", reason="agent shutting down")
        gone.quiet(0.3)
        row("IDLE | DISCONNECT -> forgotten", b.agent_state("gone") is None)
        gone.send("HEARTBEAT")
        expect_error(gone, w.NOT_REGISTERED, "... then UNKNOWN")
        busy = welcomed(b, "busy-gone")
        m.send("RUN", **run_body())
        expect(busy, "JOB", "JOB")
        run_id = expect(m, "RUN-ACCEPTED", "RUN-ACCEPTED").get("run-id")
        busy.send("DISCONNECT", reason="agent shutting down")
        expect(m, "AGENT-LOST", "BUSY | DISCONNECT -> AGENT-LOST", run_id=run_id,
               reason="agent disconnected")
        busy.close()

        silent = welcomed(b, "silent")
        silent.heartbeat = False
        chatty = welcomed(b, "chatty")  # no HEARTBEAT, only messages answered with 405
        chatty.heartbeat = False
        end = time.monotonic() + 1.6  # longer than L x H = 1 s
        while time.monotonic() < end:
            chatty.send("JOB-ENDED", run_id="x", exit_code=0, signal=0, reason="")
            chatty.next(0.1)  # its ERROR 405
            time.sleep(0.1)   # the pace of this agent's messages: 5 per heartbeat interval
        row("IDLE | any message, even one answered with ERROR, is a sign of life",
            b.agent_state("chatty") == "idle", b.agent_state("chatty"))
        deadline = time.monotonic() + 5  # lost after L x H = 1 s, checked each H
        while b.agent_state("silent") != "lost" and time.monotonic() < deadline:
            time.sleep(0.1)  # polling the broker's PING, bounded
        row("IDLE | (silent L x H) -> LOST", b.agent_state("silent") == "lost")
        silent.send("HEARTBEAT")
        expect_error(silent, w.NOT_REGISTERED, "LOST | HEARTBEAT")
        twin = b.agent("silent", host="elsewhere", pid=9)
        expect(twin, "WELCOME", "UNKNOWN | HELLO with a LOST agent's id -> WELCOME (the id is free)")
        silent.send("HELLO", agent_id="silent2", host="h", cores=1, version="c", libraries=[],
                    run_id="", pid=1)
        expect(silent, "WELCOME", "LOST | HELLO -> WELCOME")
    finally:
        b.stop()


# ---------------------------------------------------------------- §8.3 results port

def results(build, source):
    """A real loads-master --agents 1 on a real broker; this script is its one agent and
    the agent's slave: it takes the JOB and sends the results itself."""
    b = Broker(build)
    work = tempfile.mkdtemp(prefix="loads-conformance-")
    try:
        agent = welcomed(b, "conf-agent")
        report = os.path.join(work, "report.json")
        master = subprocess.Popen(
            [f"{build}/master/loads-master", "--broker", b.frontend, "--agents", "1", "-u", "1",
             "--hits", "1", "--server-url", "http://127.0.0.1:9", "--json", report, "-q",
             f"{build}/examples/blog/libblog.so"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        job = expect(agent, "JOB", "the master's RUN reaches this agent as a JOB", timeout=20)
        endpoint, run_id = job.get("results-endpoint"), job.get("run-id")
        push = b.context.socket(zmq.PUSH)
        push.setsockopt(zmq.LINGER, 5000)
        push.connect(endpoint)
        t0 = int(time.time() * 1e6)

        def batch(type_name, seq, sent, events, version=1, run_id=run_id):
            push.send(w.envelope(type_name, w.body(type_name, run_id=run_id, agent_id="conf-agent",
                                                   seq=seq, events_sent=sent, events=events),
                                 version=version))

        hit = dict(name="GET /", url="http://127.0.0.1:9/", method="GET", status=200, error=0,
                   started_us=t0 + 1000, elapsed_us=500, bytes=100)
        push.send(b"\x00not msgpack")                            # malformed: counted
        push.send(w.message("HEARTBEAT"))                        # other type: counted
        push.send(w.envelope("RESULTS", ["r", "a", "not a number", 0, []]))  # bad header
        batch("RESULTS", 1, 1, [], version=2)                    # other version: counted
        histogram = [[500, 1], 0, 500, 500, 500]
        phased_without_phases = [t0, 0, t0, t0 + 500, [], [[
            "GET /", 1, 0, 100, 0, [0] * 9, histogram, histogram, t0, t0 + 500, 1, []]],
            [], [], [0] * 7, [], []]
        push.send(w.envelope("SUMMARY", [run_id, "conf-agent", 1, 1, 1, phased_without_phases]))
        batch("RESULTS", 1, 3, [w.event("startTestRun", at_us=t0),
                                w.event("addHit", (1, 1, 1, 1), **hit),
                                w.event("addHit", (1, 1, 1, 1), **hit)])  # no planned-start-us: 0
        batch("RESULTS", 2, 5, [w.event("incrCounter", (1, 1, 1, 1), test="Any.name", name="c",
                                        value=7),
                                [99, 0, 0, 0, 0, "a kind from the future"]])  # skipped, a gap
        batch("STOP-TEST-RUN", 3, 6, [w.event("stopTestRun", at_us=t0 + 2_000_000)])
        batch("STOP-TEST-RUN", 3, 6, [])  # FINAL | the final repeated: a duplicate
        batch("RESULTS", 4, 7, [w.event("addHit", (1, 1, 1, 1), **hit)])  # FINAL | RESULTS
        batch("RESULTS", 9, 99, [], run_id="another-run")  # any | another run: rejected
        agent.send("JOB-ENDED", run_id=run_id, exit_code=0, signal=0, reason="")
        try:
            out, err = master.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            master.kill()
            out, err = master.communicate()
        row("a skipped event is a gap: the master exits 3", master.returncode == 3,
            f"exit {master.returncode}: {err[-2000:]}")
        data = json.load(open(report)) if os.path.exists(report) else {}
        agents = data.get("agents", [])
        mine = agents[0] if agents else {}
        pick = lambda d, *keys: next((d[k] for k in keys if k in d), None)  # noqa: E731
        row("OPEN | RESULTS -> events replayed, the bad one skipped (5 of 6 received)",
            pick(mine, "eventsReceived", "events_received") == 5, mine)
        row("STOP-TEST-RUN's events-sent is the total", pick(mine, "eventsSent", "events_sent") == 6,
            mine)
        row("the gap is a problem of the report", any("sent 6 events" in p
                                                      for p in data.get("problems", [])),
            data.get("problems"))
        rejected = data.get("rejectedResults", {})
        row("FINAL | RESULTS -> dropped, counted as after the final; the final repeated -> "
            "a duplicate, not after it", rejected.get("afterFinal") == 1, rejected)
        row("any | RESULTS of another run -> dropped, counted", rejected.get("otherRun") == 1,
            rejected)
        row("5 malformed messages counted (garbage, other type, bad header, other version, "
            "a SUMMARY whose phased hits have no phases)",
            pick(data, "malformedResults", "malformed_results") == 5, data.get("malformed_results"))
        summary = data.get("summary", {})
        row("the hits are in the report, not the one after the final", summary.get("requests") == 2,
            summary)
        row("the counter of a test the library does not have is accepted",
            data.get("counters", {}).get("c") == 7, data.get("counters"))
        row("the run spans startTestRun..stopTestRun by their at-us (2 s)",
            abs(summary.get("durationSeconds", 0) - 2.0) < 1e-3, summary.get("durationSeconds"))
        push.close()
    finally:
        b.stop()
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------- the agent (§5.2, §6)

class FakeBroker:
    """A ROUTER playing the broker's backend for one real loads-agent."""

    def __init__(self, context):
        self.socket = context.socket(zmq.ROUTER)
        self.socket.setsockopt(zmq.LINGER, 0)
        port = self.socket.bind_to_random_port("tcp://127.0.0.1")
        self.endpoint = f"tcp://127.0.0.1:{port}"
        self.peer = None
        self.welcomed = False  # heartbeat the agent from its WELCOME on

    def next(self, timeout=3.0, skip_heartbeats=True):
        """The agent's next message; the broker's HEARTBEATs go out meanwhile, as §6 says."""
        deadline = time.monotonic() + timeout
        next_beat = 0
        while time.monotonic() < deadline:
            if self.welcomed and time.monotonic() >= next_beat:
                self.send("HEARTBEAT")
                next_beat = time.monotonic() + 0.1
            if self.socket.poll(20):
                routing, frame = self.socket.recv_multipart()
                type_name, fields, _ = w.decode(frame)
                if type_name == "HEARTBEAT" and skip_heartbeats:
                    continue
                self.peer = routing
                return type_name, fields
        return None

    def send(self, type_name, **fields):
        self.socket.send_multipart([self.peer, w.message(type_name, **fields)])


def agent(build):
    """A real loads-agent against a scripted broker: what it sends, and how each JOB ends
    (the JOB-ENDED table of §5.2)."""
    context = zmq.Context()
    broker = FakeBroker(context)
    work = tempfile.mkdtemp(prefix="loads-conformance-")
    process = subprocess.Popen(
        [f"{build}/agent/loads-agent", "--broker", broker.endpoint, "--id", "conf", "--heartbeat",
         "200ms", "--cache-dir", work + "/cache", "--stop-grace", "5s"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        got = broker.next(10, skip_heartbeats=False)
        hello = got[1] if got and got[0] == "HELLO" else {}
        row("HELLO first, with the agent's id, host, cores, version, pid",
            hello.get("agent-id") == "conf" and hello.get("host") and hello.get("cores", 0) > 0 and
            hello.get("version") and hello.get("pid") == process.pid and hello.get("run-id") == "",
            got)
        row("before WELCOME: nothing but the HELLO", broker.next(0.5, skip_heartbeats=False) is None)
        broker.send("WELCOME", heartbeat_ms=100, liveness=50, version="conformance")
        broker.welcomed = True
        beats, start = 0, time.monotonic()
        while time.monotonic() - start < 1.0:
            if broker.socket.poll(20):
                beats += w.decode(broker.socket.recv_multipart()[1])[0] == "HEARTBEAT"
        row("after WELCOME: HEARTBEAT every heartbeat-ms of the WELCOME (100 ms: 5-15 in 1 s)",
            5 <= beats <= 15, beats)
        broker.send("STOP", run_id="not-mine")
        row("STOP for a run it is not running: ignored", broker.next(0.5) is None)

        job = dict(index=0, count=1, library_name="lib.so", options={"users": 1, "hits": 1},
                   results_endpoint="tcp://127.0.0.1:9", agent_id="conf")
        broker.send("JOB", run_id="j1", library_sha256=SHA, library=b"", **job)
        expect_agent(broker, "NEED-LIBRARY", "JOB without bytes, not cached -> NEED-LIBRARY",
                     run_id="j1", library_sha256=SHA)
        broker.send("STOP", run_id="j1")
        expect_agent(broker, "JOB-ENDED", "STOP while the library is awaited -> JOB-ENDED",
                     run_id="j1", exit_code=0, signal=0, reason="stopped")
        broker.send("JOB", run_id="j2", library_sha256="0" * 64, library=LIBRARY, **job)
        ended = expect_agent(broker, "JOB-ENDED", "bytes not matching the sha256 -> exit code 2",
                             run_id="j2", exit_code=2, signal=0)
        row("... with one sentence why", bool(ended.get("reason")), ended)

        library = open(f"{build}/examples/blog/libblog.so", "rb").read()
        sha = hashlib.sha256(library).hexdigest()
        pull = context.socket(zmq.PULL)
        pull.setsockopt(zmq.LINGER, 0)
        results = f"tcp://127.0.0.1:{pull.bind_to_random_port('tcp://127.0.0.1')}"
        job.update(results_endpoint=results, options={"users": 1, "hits": 1,
                                                      "server-url": "http://127.0.0.1:9"})
        broker.send("JOB", run_id="j3", library_sha256=sha, library=library, **job)
        expect_agent(broker, "JOB-ENDED", "the slave ends its run -> JOB-ENDED 0, 0, \"\"",
                     timeout=30, run_id="j3", exit_code=0, signal=0, reason="")
        job.update(options={"users": 1, "duration-ms": 60000, "server-url": "http://127.0.0.1:9"})
        broker.send("JOB", run_id="j4", library_sha256=sha, library=b"", **job)
        row("JOB without bytes, cached -> no NEED-LIBRARY", broker.next(1.0) is None)
        broker.send("STOP", run_id="j4")
        expect_agent(broker, "JOB-ENDED", "STOP, the slave ends in its grace -> 0, 0, stopped",
                     timeout=15, run_id="j4", exit_code=0, signal=0, reason="stopped")
        finals = 0
        while pull.poll(200):
            finals += w.decode(pull.recv())[0] == "STOP-TEST-RUN"
        row("each slave that ran sent its STOP-TEST-RUN", finals == 2, finals)
        pull.close()

        broker.send("ERROR", code=407, text="send HELLO")
        got = broker.next(1.0)
        row("ERROR 407 -> HELLO again at once", got is not None and got[0] == "HELLO", got)
        broker.send("ERROR", code=409, text="taken")
        start = time.monotonic()
        hellos = 0
        while process.poll() is None and time.monotonic() - start < 20:  # refused for 5.1 s
            got = broker.next(0.5)
            if got and got[0] == "HELLO":
                hellos += 1
                broker.send("ERROR", code=409, text="taken")
        row("ERROR 409 -> HELLO again each interval, then exit code 2",
            process.poll() == 2 and hellos >= 2, f"exit {process.poll()}, {hellos} HELLOs")
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(10)
        broker.socket.close()
        context.term()
        shutil.rmtree(work, ignore_errors=True)


def expect_agent(broker, type_name, name, timeout=5.0, **fields):
    got = broker.next(timeout)
    ok = got is not None and got[0] == type_name and all(got[1].get(k.replace("_", "-")) == v
                                                         for k, v in fields.items())
    row(name, ok, f"expected {type_name} {fields}, got {got}")
    return got[1] if ok else {}


# ---------------------------------------------------------------- appendix A

def appendix(source):
    import appendix_examples
    text = open(os.path.join(source, "proto", "PROTOCOL.md"), encoding="utf-8").read()
    written = text[text.index("#### A.1 "):].strip()
    row("appendix A is what loads_wire builds from the spec's field lists",
        written == appendix_examples.markdown().strip(),
        "regenerate it: tests/conformance/appendix_examples.py --markdown")
    for title, frame in appendix_examples.EXAMPLES:
        row(f"appendix {title} decodes as a LOADS envelope of its type",
            w.decode(frame)[0] == title)


def main(argv):
    if len(argv) != 4 or argv[3] not in ("frontend", "backend", "results", "agent", "appendix"):
        print(__doc__, file=sys.stderr)
        return 2
    build, source, part = argv[1], argv[2], argv[3]
    if part == "frontend":
        frontend(build)
    elif part == "backend":
        backend(build)
    elif part == "results":
        results(build, source)
    elif part == "agent":
        agent(build)
    else:
        appendix(source)
    print(f"{len(failures)} rows failed" if failures else "every row conforms")
    return min(len(failures), 1)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
