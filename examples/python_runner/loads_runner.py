#!/usr/bin/python3
"""An external loads runner in Python: proto/PROTOCOL.md §10 is all it knows.

    loads-agent --broker tcp://coordinator:7781 --slave-binary examples/python_runner/loads_runner.py

The agent starts it for each job with the job's options on the command line. It runs
its share of the users, each making HTTP GETs of the job's --server-url (one GET per
hit), and streams every TestResult call to the master's results port as LOADS events
(§5.3), ending with STOP-TEST-RUN. The test library the master sent (--library) is not
loaded: this runner's test is the function `hit` below. It needs Debian's python3-zmq
and python3-msgpack and nothing from loads.

Exit codes as §10 says: 0 the run ended (also after a STOP), 2 unusable options,
3 results not delivered.
"""

import argparse
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request

import msgpack
import zmq

TEST = "PythonRunner.test_get"
FLUSH_BYTES, FLUSH_SECONDS = 64 * 1024, 0.05  # §5.3: flush at 64 KiB or every 50 ms
stopping = threading.Event()


def now_us():
    return time.time_ns() // 1000


def users_for_agent(total, index, count):
    """§5.1: agent i of n runs total // n users, plus one when i < total % n."""
    return total // count + (1 if index < total % count else 0)


class Results:
    """Events packed as §5.3 says, sent in batches from the main thread only."""

    def __init__(self, args):
        self.run_id, self.agent_id = args.run_id, args.agent_id
        self.context = zmq.Context()
        self.push = self.context.socket(zmq.PUSH)
        self.push.setsockopt(zmq.LINGER, 10000)   # STOP-TEST-RUN gets 10 s to leave
        self.push.setsockopt(zmq.SNDTIMEO, 10000)  # a batch the socket does not take in 10 s
        if args.results_server_key:  # §9.3: the run key, its secret from the environment
            self.push.curve_serverkey = args.results_server_key.encode()
            self.push.curve_publickey = args.results_client_key.encode()
            self.push.curve_secretkey = args.secret.encode()
        self.push.connect(args.results)
        self.lock = threading.Lock()
        self.events, self.size, self.seq, self.sent = [], 0, 0, 0
        self.undelivered = 0

    def add(self, kind, status, *args):
        event = [kind, *status, *args]
        with self.lock:
            self.events.append(event)
            self.size += len(msgpack.packb(event))

    def due(self):
        with self.lock:
            return self.size >= FLUSH_BYTES

    def flush(self, final=False):
        with self.lock:
            events, self.events, self.size = self.events, [], 0
        if not events and not final:
            return
        self.seq += 1
        self.sent += len(events)
        body = [self.run_id, self.agent_id, self.seq, self.sent, events]
        frame = msgpack.packb(["LOADS", 1, "STOP-TEST-RUN" if final else "RESULTS", body],
                              use_bin_type=True)
        try:
            self.push.send(frame)
        except zmq.Again:
            self.undelivered += 1

    def close(self):
        self.push.close()  # waits up to LINGER for what is queued
        self.context.term()


def hit(url, timeout):
    """One GET: (status, error kind of §5.3, bytes)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, 0, len(response.read())
    except urllib.error.HTTPError as e:
        return e.code, 0, len(e.read())
    except (TimeoutError, OSError) as e:
        refused = isinstance(getattr(e, "reason", e), ConnectionRefusedError)
        return 0, 1 if refused else 8, 0


def run_user(results, args, user_id, active):
    """Hits of one user until --hits or --duration-ms ends it (both 0: one hit)."""
    deadline = time.monotonic() + args.duration_ms / 1000 if args.duration_ms else None
    limit = args.hits or (0 if deadline else 1)
    url = (args.server_url or "http://127.0.0.1:8080").rstrip("/") + "/"
    number = 0
    while not stopping.is_set() and (limit == 0 or number < limit):
        if deadline and time.monotonic() >= deadline:
            break
        number += 1
        status = (args.hits, active(), number, user_id)
        results.add(2, status, TEST)                          # startTest
        started = time.monotonic()
        started_us = now_us()
        code, error, size = hit(url, args.timeout)
        elapsed = int((time.monotonic() - started) * 1e6)
        results.add(9, status, "GET /", url, "GET", code, error, started_us, elapsed, size, 0)
        if code == 200:
            results.add(4, status, TEST)                      # addSuccess
        else:
            results.add(5, status, TEST, "AssertionError", f"GET {url}: {code or 'no response'}",
                        __file__, 0)                          # addFailure
        results.add(3, status, TEST, elapsed)                 # stopTest


def parse(argv):
    parser = argparse.ArgumentParser(description="an external loads runner (PROTOCOL.md §10)")
    for name in ("--library", "--run-id", "--agent-id", "--results"):
        parser.add_argument(name, required=True)
    for name, default in (("--index", 0), ("--count", 1), ("--users", 1), ("--hits", 0),
                          ("--duration-ms", 0), ("--threads", 0), ("--control-fd", -1)):
        parser.add_argument(name, type=int, default=default)
    for name in ("--tests", "--server-url", "--results-server-key", "--results-client-key"):
        parser.add_argument(name, default="")
    parser.add_argument("--arg", action="append", default=[])
    for name in ("--rate-stages", "--stages"):  # schedules: not in this small runner
        parser.add_argument(name, default="")
    # §10 gives each value as its own argument, and a value may begin with "-" (a Z85 key
    # can): argparse would take it for an option. So each known option is joined to its value.
    known = {o for action in parser._actions for o in action.option_strings if action.nargs != 0}
    joined, rest = [], list(argv)
    while rest:
        option = rest.pop(0)
        joined.append(f"{option}={rest.pop(0)}" if option in known and rest else option)
    args, unknown = parser.parse_known_args(joined)  # §10: options may be added later
    if unknown:
        print(f"loads_runner.py: ignoring {' '.join(unknown)}", file=sys.stderr)
    args.secret = os.environ.pop("LOADS_RESULTS_CLIENT_SECRET", "")
    if args.count < 1 or bool(args.results_server_key) != bool(args.secret):
        raise ValueError("--count must be >= 1, and --results-server-key needs "
                         "$LOADS_RESULTS_CLIENT_SECRET")
    if args.rate_stages or args.stages:
        raise ValueError("this runner runs closed-model jobs only (no --rate or --stages)")
    args.timeout = 30.0
    for arg in args.arg:
        name, _, value = arg.partition("=")
        if name == "timeout-ms":
            args.timeout = int(value) / 1000
    return args


def main(argv):
    # §10: the runner starts with SIGTERM and SIGINT blocked; take them from now on.
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    try:
        args = parse(argv)
    except (ValueError, SystemExit) as e:
        print(f"loads_runner.py: {e}", file=sys.stderr)
        return 2
    results = Results(args)
    users = users_for_agent(args.users, args.index, args.count)
    running = [0]
    lock = threading.Lock()

    def user(user_id):
        with lock:
            running[0] += 1
        try:
            run_user(results, args, user_id, lambda: running[0])
        finally:
            with lock:
                running[0] -= 1

    results.add(0, (0, 0, 0, 0), now_us())                    # startTestRun, at-us
    # User mix 1 (PROTOCOL.md §5.1): this agent's users are k = index, index + count, ...
    # of the whole run, with the ids k + 1.
    threads = [threading.Thread(target=user, args=(args.index + i * args.count + 1,))
               for i in range(users)]
    for t in threads:
        t.start()
    last_flush = time.monotonic()
    while any(t.is_alive() for t in threads):
        time.sleep(0.01)  # the sender's tick: flush by size, or every 50 ms
        if results.due() or time.monotonic() - last_flush >= FLUSH_SECONDS:
            results.flush()
            last_flush = time.monotonic()
    results.add(1, (0, 0, 0, 0), now_us())                    # stopTestRun, at-us
    results.flush(final=True)
    results.close()
    return 3 if results.undelivered else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
