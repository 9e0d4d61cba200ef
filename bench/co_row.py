# One row of bench/co_accuracy.sh from a loads JSON report: requests, dropped, corrected
# and uncorrected p99/p99.9 in ms ("-" for corrected when no hit had a planned start).
import json, sys
j = json.load(open(sys.argv[1])); a = j["allRequests"]; c = a["latencyCorrectedUs"]; u = a["latencyUs"]
ms = lambda v: "%.1f" % (v / 1000)
planned = a.get("planned", 0) > 0
print("%-11s %10d %10d %12s %12s %10s %10s" % (sys.argv[2], a["requests"], j["summary"]["droppedHits"],
      ms(c["p99"]) if planned else "-", ms(c["p99.9"]) if planned else "-", ms(u["p99"]), ms(u["p99.9"])))
