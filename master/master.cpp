#include "master/master.hpp"

#include <iostream>

#include "master/broker_commands.hpp"
#include "master/child_driver.hpp"
#include "master/distributed_driver.hpp"
#include "master/follow_loop.hpp"
#include "master/local_driver.hpp"
#include "master/report_files.hpp"
#include "run/test_library.hpp"
#include "stats/aggregate_result.hpp"
#include "util/open_files.hpp"

namespace loads::master {
namespace {

// --list: the tests of the library, one a line.
int listTests(const MasterOptions& options) {
  try {
    TestLibrary library = TestLibrary::load(options.library);
    for (const auto& name : library.testNames()) std::cout << name << "\n";
    return 0;
  } catch (const LoadError& e) {
    std::cerr << "loads-master: " << e.what() << std::endl;
    return 2;
  }
}

}  // namespace

Master::Master(MasterOptions options, Waiter& signals)
    : options_(std::move(options)), signals_(signals) {}

int Master::run() {
  if (!options_.reportFile.empty()) return renderSavedReport(options_);
  if (options_.list) return listTests(options_);
  AggregateOptions aggregateOptions;
  aggregateOptions.maxNames = options_.maxNames;  // --max-names (issue #11)
  AggregateResult result(aggregateOptions);
  if (options_.distributed()) {
    if (isBrokerCommand(options_)) return runBrokerCommand(options_);
    // The results port holds one connection per agent.
    if (const std::uint64_t files = raiseOpenFilesLimit(); files < options_.agents + 64u) {
      std::cerr << "loads-master: the open-files limit is " << files << ", too low for "
                << options_.agents << " agents (one results connection each): raise it (ulimit -n)"
                << std::endl;
    }
    DistributedDriver driver(options_, result, signals_);
    return FollowLoop(options_, driver, result, signals_).run();
  }
  if (options_.inProcess) {  // --in-process: today's runner in this process (gdb)
    LocalDriver driver(options_, result, signals_);
    return FollowLoop(options_, driver, result, signals_).run();
  }
  ChildDriver driver(options_, result, signals_);
  return FollowLoop(options_, driver, result, signals_).run();
}

}  // namespace loads::master
