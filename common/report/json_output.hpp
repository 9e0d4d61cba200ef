// The JSON report writer: the complete summary of a run, its per-second series and the
// facts about the run (options, thresholds, agents). The only code that writes the
// report's keys; report/report_json.hpp reads them back (schema 1 and 2).
//
// The format is documented field by field in docs/json-report.md and versioned by its
// "schema" field (currently 2): fields are only ever added within a schema version.
//
// Thread-safety: plain functions over values; no shared state.
#pragma once

#include <iosfwd>
#include <nlohmann/json_fwd.hpp>

#include "report/run_facts.hpp"

namespace loads {

struct Snapshot;

inline constexpr int kJsonReportSchema = 2;

// The report of `snapshot` with the facts of `run`. Local runs (no run.distributed) have
// no "agents", "problems", "rebalances" or "malformedResults".
nlohmann::ordered_json jsonReport(const Snapshot& snapshot, const RunFacts& run);
// Writes jsonReport() indented by two spaces, with a trailing newline.
void writeJsonReport(const Snapshot& snapshot, const RunFacts& run, std::ostream& out);

}  // namespace loads
