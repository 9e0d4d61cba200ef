// The JUnit XML report rendered from the JSON report (docs/json-report.md), for CI
// systems: one testsuite "loads.tests" with one testcase per test (a <failure> or
// <error> with the test's most frequent error messages), and one testsuite
// "loads.thresholds" with one testcase per threshold.
//
// Text from the data is XML-escaped; characters XML 1.0 forbids are dropped.
// Thread-safety: plain function over values; no shared state.
#pragma once

#include <iosfwd>
#include <nlohmann/json_fwd.hpp>

namespace loads {

void writeJunitReport(const nlohmann::ordered_json& report, std::ostream& out);

}  // namespace loads
