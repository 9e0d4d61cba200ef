#!/usr/bin/env python3
"""deploy/grafana/loads.json: every panel query names only metrics that loads-master and
loads-broker expose, as docs/metrics.md lists them (tests/report/metrics_text_test checks
that list against the writers). Usage: grafana_test.py DASHBOARD.json docs/metrics.md"""
import json, re, sys

dashboard = json.load(open(sys.argv[1]))
docs = open(sys.argv[2]).read()
documented = set(re.findall(r"^\| `(loads_[a-z_]+)`", docs, re.M))
# A documented histogram exposes _bucket, _count and _sum.
exposed = set(documented)
for name in documented:
    exposed |= {name + "_bucket", name + "_count", name + "_sum"}
functions = {"sum", "by", "rate", "irate", "increase", "histogram_quantile", "le", "without",
             "avg", "max", "min", "count", "on", "ignoring", "topk", "bottomk", "delta", "idelta"}
problems, queries = [], 0
for panel in dashboard["panels"]:
    for target in panel.get("targets", []):
        expr = target["expr"]
        queries += 1
        bare = re.sub(r'"[^"]*"', '""', expr)              # label values
        bare = re.sub(r"\{[^}]*\}", "", bare)               # label matchers
        bare = re.sub(r"\[[^\]]*\]", "", bare)              # ranges
        bare = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", bare)  # grouping labels
        names = {n for n in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", bare)}
        metrics = {n for n in names if n.startswith("loads_")}
        others = names - metrics - functions - {"name", "outcome", "kind", "socket", "state", "phase", "quantile", "test"}
        if not metrics:
            problems.append(f"panel '{panel['title']}': query '{expr}' names no loads metric")
        for m in sorted(metrics - exposed):
            problems.append(f"panel '{panel['title']}': {m} is not exposed (docs/metrics.md)")
        for o in sorted(others):
            problems.append(f"panel '{panel['title']}': '{o}' in '{expr}' is neither a metric nor a known function")
if queries == 0:
    problems.append("the dashboard has no queries")
if problems:
    print("FAIL:\n  " + "\n  ".join(problems))
    sys.exit(1)
print(f"ok: {queries} queries over {len(dashboard['panels'])} panels name only exposed metrics")
