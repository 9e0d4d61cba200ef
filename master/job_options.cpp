#include "master/job_options.hpp"

namespace loads::master {

proto::JobOptions jobOptions(const MasterOptions& o, std::size_t cycle,
                             std::chrono::milliseconds scheduleLead) {
  proto::JobOptions job;
  for (const auto& t : o.tests) job.tests += (job.tests.empty() ? "" : ",") + t;
  const bool scheduled = o.run.rate || o.run.userStages;
  const CycleShape shape =
      scheduled ? CycleShape{o.run.userCycles.at(0), 0} : cycleShape(o.run, cycle);
  job.users = static_cast<std::uint32_t>(shape.users);
  job.hits = o.run.hitCycles.empty() ? 0 : shape.hits;
  job.durationMs = o.run.duration ? static_cast<std::uint64_t>(o.run.duration->count()) : 0;
  job.serverUrl = o.run.user.serverUrl;
  job.threads = o.run.threads;
  job.args = {"ramp-ms=" + std::to_string(o.run.ramp.count()),
              "stop-timeout-ms=" + std::to_string(o.run.stopTimeout.count()),
              "timeout-ms=" + std::to_string(o.run.user.requestTimeout.count()),
              std::string("insecure=") + (o.run.user.insecure ? "true" : "false"),
              "results=" + o.results};
  if (o.run.rate) {
    job.rateStages = formatStages(o.run.rate->stages());
    job.rateStart = o.run.rate->start();
    job.maxUsers = o.run.maxUsers;
  }
  if (o.run.userStages) job.userStages = formatStages(o.run.userStages->stages());
  if (o.run.rate || o.run.userStages) {
    // Time 0 of the schedule for every slave: far enough ahead for jobs to reach them.
    job.startAtUs = std::chrono::duration_cast<std::chrono::microseconds>(
                        (std::chrono::system_clock::now() + scheduleLead).time_since_epoch())
                        .count();
  }
  return job;
}

}  // namespace loads::master
