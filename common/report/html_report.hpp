// The HTML report: one self-contained page (inline CSS and SVG charts; no scripts, fonts
// or network) rendered from the JSON report, readable on a phone and a laptop.
//
// Input is the JSON report (docs/json-report.md) as written by loads-master --json, so
// `loads-master --report run.json --html run.html` re-renders old runs with this same
// code. Every text from the data is HTML-escaped. Output is deterministic (no clock).
// Thread-safety: plain function over values; no shared state.
#pragma once

#include <iosfwd>
#include <nlohmann/json_fwd.hpp>

namespace loads {

void writeHtmlReport(const nlohmann::ordered_json& report, std::ostream& out);

}  // namespace loads
