// Reading the JSON report (docs/json-report.md) back: the input of every report writer
// (HTML, CSV, JUnit), so a saved run re-renders through the same code as a live one.
//
// The accessors never throw: a missing field or one of the wrong type reads as zero,
// "" or an empty array/object, so an old or hand-edited report still renders.
// Thread-safety: plain functions over values; no shared state.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace loads::report {

using Json = nlohmann::ordered_json;

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
// "2023-11-14 22:13:20 UTC" from µs since the epoch; "unknown" for 0.
std::string utcTime(std::int64_t epochUs);
// "%.Nf" of value.
std::string fixed(double value, int decimals);
// What an exit code means (design.md §8).
std::string_view exitCodeMeaning(std::int64_t code);

}  // namespace loads::report
