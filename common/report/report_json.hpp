// Reading the JSON report (docs/json-report.md) back: the input of every report writer
// (HTML, CSV, JUnit), so a saved run re-renders through the same code as a live one.
// readReport() accepts schema 1 and 2 and hands the renderers the schema-2 shape.
//
// The accessors never throw: a missing field or one of the wrong type reads as zero,
// "" or an empty array/object, so an old or hand-edited report still renders.
// Thread-safety: plain functions over values; no shared state.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loads::report {

using Json = nlohmann::ordered_json;

// A saved report parsed and brought to the current schema, or why it cannot be.
struct ReadReport {
  std::optional<Json> report;  // the schema-2 report; none on error
  std::string error;           // one sentence when `report` is none
};
// Parses `text`: a JSON object with "schema" 1 or 2. Schema 1 goes through
// upgradeReport(); a later schema is refused (its keys may mean something else).
ReadReport readReport(std::string_view text);
// A schema-1 report in the schema-2 shape: snake_case keys of run.options, agents[],
// rebalances[] and malformed_results renamed to camelCase, option values typed
// (numbers, booleans, cycles as arrays), options.run_id moved to run.runId,
// agents[].hits renamed to requests; "schema" becomes 2. A schema-2 report is returned
// as it is.
Json upgradeReport(Json report);

// j[key] when j is an object holding key; otherwise a null value.
const Json& field(const Json& j, std::string_view key);
// field() when it is an array / object; otherwise an empty one.
const Json& arrayField(const Json& j, std::string_view key);
const Json& objectField(const Json& j, std::string_view key);
double number(const Json& j, std::string_view key);
std::int64_t integer(const Json& j, std::string_view key);  // numbers rounded
std::uint64_t count(const Json& j, std::string_view key);   // negatives read as 0
std::string text(const Json& j, std::string_view key);      // numbers and booleans as text
bool flag(const Json& j, std::string_view key);

// The source keys of the per-second series (seconds[].requestsBySource): agents in
// numeric order ("2" before "10"), then "other". Empty for a report without them.
std::vector<std::string> secondSourceKeys(const Json& report);

// Any scalar as text: strings as they are, numbers as JSON writes them, null as "".
std::string scalarText(const Json& value);
// An option's value (run.options) as typed on the command line: cycles ([10, 20]) as
// "10:20", other values as scalarText().
std::string optionText(const Json& value);
// "2023-11-14 22:13:20 UTC" from µs since the epoch; "unknown" for 0.
std::string utcTime(std::int64_t epochUs);
// "%.Nf" of value.
std::string fixed(double value, int decimals);
// What an exit code means (design.md §8).
std::string_view exitCodeMeaning(std::int64_t code);

}  // namespace loads::report
