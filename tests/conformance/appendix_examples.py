"""The example messages of PROTOCOL.md appendix A, built with loads_wire from the spec.

`python3 appendix_examples.py` prints the appendix's entries (title, value, hex); the
conformance suite checks that the appendix in PROTOCOL.md still says exactly this, and
tests/proto/appendix_test.cpp that proto/ decodes and re-encodes each byte for byte.
"""

import hashlib
import json

import loads_wire as w

LIBRARY = b"\x7fELF"
SHA = hashlib.sha256(LIBRARY).hexdigest()
T0 = 1_700_000_000_000_000  # 2023-11-14T22:13:20Z in us
DATA = b"id\n1\n"  # a data file shipped with --include
DATA_SHA = hashlib.sha256(DATA).hexdigest()
OPTIONS = {"users": 10, "hits": 5, "server-url": "http://127.0.0.1:8080", "user-mix": 2,
           "params": {"tenant": "acme"}, "files": [["users.csv", DATA_SHA, len(DATA)]]}

EXAMPLES = [
    ("HEARTBEAT", w.message("HEARTBEAT")),
    ("ERROR", w.message("ERROR", code=409, text='agent id "a1" is taken')),
    ("HELLO", w.message("HELLO", agent_id="a1", host="h1", cores=8, version="0.1.0",
                        libraries=[SHA], run_id="", pid=4242)),
    ("WELCOME", w.message("WELCOME", heartbeat_ms=1000, liveness=5, version="0.1.0",
                                max_message_size=64 << 20)),
    ("RUN", w.message("RUN", agents=2, wait_agents_ms=0, library_name="libt.so",
                      library_sha256=SHA, library=LIBRARY, options=OPTIONS,
                      results_endpoint="tcp://127.0.0.1:5555", master_host="laptop",
                      files=[DATA])),
    ("RUN-ACCEPTED", w.message("RUN-ACCEPTED", run_id="r1",
                               agents=[["a1", "h1", 0], ["a2", "h2", 1]])),
    ("JOB", w.message("JOB", run_id="r1", index=1, count=2, library_name="libt.so",
                      library_sha256=SHA, library=b"", options=OPTIONS,
                      results_endpoint="tcp://127.0.0.1:5555", agent_id="a2")),
    ("JOB-ENDED", w.message("JOB-ENDED", run_id="r1", exit_code=-1, signal=15,
                            reason="stopped by SIGTERM")),
    ("AGENT-DONE", w.message("AGENT-DONE", run_id="r1", agent_id="a2", host="h2", exit_code=0,
                             signal=0, reason="")),
    ("RESULTS", w.message("RESULTS", run_id="r1", agent_id="a2", seq=1, events_sent=3, events=[
        w.event("startTestRun", at_us=T0),
        w.event("startTest", (5, 1, 1, 6), test="Blog.test_home"),
        w.event("addHit", (5, 1, 1, 6), name="GET /", url="http://127.0.0.1:8080/",
                method="GET", status=200, error=0, started_us=T0 + 1000, elapsed_us=850,
                bytes=512, planned_start_us=0)])),
    ("STOP-TEST-RUN", w.message("STOP-TEST-RUN", run_id="r1", agent_id="a2", seq=2,
                                events_sent=5, events=[
        w.event("stopTest", (5, 1, 1, 6), test="Blog.test_home", elapsed_us=900),
        w.event("stopTestRun", at_us=T0 + 2_000_000)])),
    # The same calls (and a success, a counter and a unique feeder's claim) folded: 8 events
    # in one SUMMARY.
    ("SUMMARY", w.message("SUMMARY", run_id="r1", agent_id="a2", seq=1, events_sent=8, events=8,
                          summary=[
        T0, T0 + 2_000_000, T0 + 1000, T0 + 1850,
        [["Blog.test_home", 1, 1, 1, 0, 0, 0, 0, 0, [[900, 1], 0, 900, 900, 900]]],
        [["GET /", 1, 0, 512, 0, [0] * 9, [[850, 1], 0, 850, 850, 850],
          [[850, 1], 0, 850, 850, 850], T0 + 1000, T0 + 1850, 0, []]],
        [[0, 200, 1]],
        [[0, "articles", 3, 1]],
        [0, 0, 0, 0, 0, 0, 0],
        [],
        [[T0 // 1_000_000, 1, 0, 0, 0, 1, [[850, 1], 0, 850, 850, 850]]],
        [["users.csv", 0, 16, False]]])),
]


def markdown():
    """The body of appendix A as PROTOCOL.md holds it."""
    out = []
    for i, (title, frame) in enumerate(EXAMPLES, 1):
        value = json.dumps(w.decode(frame)[2], default=lambda b: f"bin:{b.hex()}")
        out.append(f"#### A.{i} {title}\n\nBody: `{value}`\n\n```hex")
        text = frame.hex()
        out.extend(text[k:k + 76] for k in range(0, len(text), 76))
        out.append("```\n")
    return "\n".join(out)


def main():
    for title, frame in EXAMPLES:
        print(f"{title}: {w.decode(frame)[2]!r}")
        print(frame.hex())


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["--markdown"]:
        print(markdown())
    else:
        main()
