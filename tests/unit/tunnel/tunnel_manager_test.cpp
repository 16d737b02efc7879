#include "tunnel/tunnel_manager.h"

#include <gtest/gtest.h>

namespace wardgate::tunnel {
namespace {

struct DiscardingSink : audit::AuditSink {
  void record(audit::Event) override {}
};

TunnelConfig config_for(const std::string& interface) {
  TunnelConfig c;
  c.interface = interface;
  return c;
}

// The manager's state is in the registry from construction on (before up(), nothing runs), one
// series per interface, so two managers share the families.
TEST(TunnelManager, RegistersItsMetricsPerInterface) {
  DiscardingSink sink;
  common::MetricsRegistry metrics;
  common::ManualClock clock;
  const TunnelManager a(config_for("wg0"), "ward-7", sink, metrics, clock);
  const TunnelManager b(config_for("wg1"), "ward-7", sink, metrics, clock);
  const std::string text = metrics.render();
  for (const char* line : {
           "# TYPE wardgate_tunnel_backend_info gauge\n",
           "wardgate_tunnel_backend_up{interface=\"wg0\"} 0\n",
           "wardgate_tunnel_backend_up{interface=\"wg1\"} 0\n",
           "wardgate_tunnel_backend_failures_total{interface=\"wg0\"} 0\n",
           "wardgate_tunnel_backend_recoveries_total{interface=\"wg1\"} 0\n",
           "wardgate_tunnel_polls_total{interface=\"wg0\"} 0\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "in:\n" << text;
  }
}

}  // namespace
}  // namespace wardgate::tunnel
