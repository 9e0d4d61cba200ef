// loads-broker's /metrics (docs/metrics.md, "loads-broker").
#include "broker/broker.hpp"
#include "loads/version.hpp"
#include "util/openmetrics.hpp"

namespace loads::broker {

std::string brokerMetricsText(const BrokerStats& s) {
  std::string out;
  MetricsFamily(out, "loads_broker", "info", "The broker: loads version.")
      .sample("_info", metricsLabel("version", LOADS_VERSION), "1");
  MetricsFamily(out, "loads_broker_agents", "gauge",
                "Agents by state (refreshed once per heartbeat interval).")
      .sample("", "state=\"idle\"", s.agentsIdle)
      .sample("", "state=\"busy\"", s.agentsBusy)
      .sample("", "state=\"lost\"", s.agentsLostNow);
  MetricsFamily(out, "loads_broker_runs", "gauge", "Runs by state (waiting for agents, running).")
      .sample("", "state=\"waiting\"", s.runsWaiting)
      .sample("", "state=\"running\"", s.runsRunning);
  MetricsFamily(out, "loads_broker_runs_accepted", "counter", "Runs started on agents.")
      .sample("_total", "", s.runsAccepted);
  MetricsFamily(out, "loads_broker_runs_refused", "counter",
                "Runs refused (not enough agents, ...).")
      .sample("_total", "", s.runsRefused);
  MetricsFamily(out, "loads_broker_agents_lost", "counter", "Agents lost (silent for too long).")
      .sample("_total", "", s.agentsLost);
  MetricsFamily(out, "loads_broker_keys_refused", "counter",
                "CURVE handshakes refused: a key not in --allow-masters/--allow-agents.")
      .sample("_total", "", s.keysRefused);
  MetricsFamily(out, "loads_broker_agent_ids_refused", "counter",
                "HELLOs with an agent id registered under another key.")
      .sample("_total", "", s.agentIdsRefused);
  MetricsFamily(out, "loads_broker_messages", "counter", "Messages received, by socket.")
      .sample("_total", "socket=\"frontend\"", s.messagesFrontend)
      .sample("_total", "socket=\"backend\"", s.messagesBackend);
  MetricsFamily(out, "loads_broker_malformed_messages", "counter",
                "Malformed messages dropped or answered 400, by socket.")
      .sample("_total", "socket=\"frontend\"", s.malformedFrontend)
      .sample("_total", "socket=\"backend\"", s.malformedBackend);
  MetricsFamily(out, "loads_broker_errors_sent", "counter", "ERROR replies sent.")
      .sample("_total", "", s.errorsSent);
  MetricsFamily(out, "loads_broker_connections_cut", "counter",
                "Peers cut for an unfinished message.")
      .sample("_total", "", s.connectionsCut);
  out += "# EOF\n";
  return out;
}

}  // namespace loads::broker
