#!/usr/bin/env python3
"""The example external runner reads PROTOCOL.md §10's command line whatever its values
begin with: a Z85 key (the run key's public halves), an agent id or an --arg may begin
with "-", which argparse alone took for an option (the runner exited 2 on about one run
in 40 of a CURVE fleet). Unknown options are still ignored.
  parse_test.py SOURCE_DIR"""
import os
import sys

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(sys.argv[1], "examples", "python_runner"))
import loads_runner  # noqa: E402

os.environ["LOADS_RESULTS_CLIENT_SECRET"] = "secret"
args = loads_runner.parse([
    "--library", "/cache/lib.so", "--run-id", "r1", "--agent-id", "-agent",
    "--results", "tcp://127.0.0.1:1", "--index", "1", "--count", "2", "--users", "5",
    "--hits", "7", "--duration-ms", "0", "--threads", "0", "--control-fd", "3",
    "--arg", "-x=1", "--arg", "y=2",
    "--results-server-key", "-rv[=k", "--results-client-key", "--a.b",
    "--some-later-option", "--ring-fd", "4"])
expected = {"agent_id": "-agent", "results_server_key": "-rv[=k", "results_client_key": "--a.b",
            "arg": ["-x=1", "y=2"], "users": 5, "hits": 7, "index": 1, "count": 2,
            "control_fd": 3, "secret": "secret"}
wrong = {k: (getattr(args, k), v) for k, v in expected.items() if getattr(args, k) != v}
if wrong:
    sys.exit(f"parse_test: read wrong (got, expected): {wrong}")
print("parse_test: every value read, whatever it begins with")
