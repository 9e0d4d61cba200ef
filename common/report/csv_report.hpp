// CSV reports rendered from the JSON report (docs/json-report.md): per request name
// (`--csv PREFIX` writes PREFIX_requests.csv) and per second (PREFIX_seconds.csv).
//
// RFC 4180 quoting (fields with a comma, quote or line break are quoted, quotes
// doubled); lines end in "\n"; latencies are integer µs as in the JSON report.
// Thread-safety: plain functions over values; no shared state.
#pragma once

#include <iosfwd>
#include <nlohmann/json_fwd.hpp>

namespace loads {

// One row per request name, then a row named "total" for every request merged.
void writeRequestsCsv(const nlohmann::ordered_json& report, std::ostream& out);
// One row per second of the series, ascending.
void writeSecondsCsv(const nlohmann::ordered_json& report, std::ostream& out);

}  // namespace loads
