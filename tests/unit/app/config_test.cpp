#include "app/config.h"

#include <gtest/gtest.h>

namespace wardgate::app {
namespace {

const char* kMinimal = R"({"interception": {"services": [{"name": "dicom", "port": 104}]}})";

// The message of the ConfigError that parsing `text` throws, or "" if it parses.
std::string error_of(const std::string& text) {
  try {
    parse_config(text, "test.json");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(Config, MinimalConfigGetsSaneDefaults) {
  const Config c = parse_config(kMinimal, "test.json");
  EXPECT_EQ(c.log_level, "info");
  ASSERT_EQ(c.interception.services.size(), 1u);
  EXPECT_EQ(c.interception.services[0].port, 104);
  EXPECT_TRUE(c.interception.interfaces.empty());
  EXPECT_EQ(c.interception.listen_port, 15001);
  EXPECT_EQ(c.interception.nft_table, "wardgate");
  EXPECT_EQ(c.proxy.connect_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(c.proxy.max_connections_per_device, 256u);
}

TEST(Config, TheLabConfigurationIsValid) {
  const Config c = load_config_file(WARDGATE_SOURCE_DIR "/lab/wardgate.json");
  EXPECT_EQ(c.interception.interfaces, std::vector<std::string>{"vlan0"});
  EXPECT_EQ(c.interception.services.size(), 3u);
}

TEST(Config, EveryFieldIsRead) {
  const Config c = parse_config(R"({
    "log_level": "debug",
    "interception": {"interfaces": ["vlan0"], "services": [{"name": "hl7", "port": 2575}],
                     "listen_port": 16000, "fwmark": 9, "route_table": 120, "rule_priority": 99,
                     "nft_table": "wg_test"},
    "proxy": {"threads": 2, "connect_timeout_ms": 1500, "idle_timeout_s": 60, "drain_timeout_s": 3,
              "max_connections": 500, "max_connections_per_device": 50, "chunk_bytes": 65536,
              "socket_buffer_bytes": 1048576, "congestion_control": "bbr",
              "zero_copy": false}})",
                                "t");
  EXPECT_EQ(c.log_level, "debug");
  EXPECT_EQ(c.interception.listen_port, 16000);
  EXPECT_EQ(c.interception.fwmark, 9u);
  EXPECT_EQ(c.interception.route_table, 120u);
  EXPECT_EQ(c.interception.rule_priority, 99u);
  EXPECT_EQ(c.interception.nft_table, "wg_test");
  EXPECT_EQ(c.proxy.threads, 2u);
  EXPECT_EQ(c.proxy.connect_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(c.proxy.idle_timeout, std::chrono::seconds(60));
  EXPECT_EQ(c.proxy.drain_timeout, std::chrono::seconds(3));
  EXPECT_EQ(c.proxy.max_connections, 500u);
  EXPECT_EQ(c.proxy.max_connections_per_device, 50u);
  EXPECT_EQ(c.proxy.chunk_bytes, 65536u);
  EXPECT_EQ(c.proxy.socket_buffer_bytes, 1048576u);
  EXPECT_EQ(c.proxy.congestion_control, "bbr");
  EXPECT_FALSE(c.proxy.zero_copy);
}

TEST(Config, UnknownKeysAreRejectedByTheirPath) {
  EXPECT_EQ(
      error_of(R"({"interception": {"services": [{"name": "d", "port": 104}]}, "proxi": {}})"),
      "proxi: unknown key");
  EXPECT_EQ(error_of(R"({"interception": {"services": [{"name": "d", "port": 104}]},
                        "proxy": {"idel_timeout_s": 5}})"),
            "proxy.idel_timeout_s: unknown key");
  EXPECT_EQ(error_of(R"({"interception": {"services": [{"name": "d", "port": 104, "tls": 1}]}})"),
            "interception.services[0].tls: unknown key");
}

TEST(Config, BadValuesAreRejectedWithTheReason) {
  EXPECT_EQ(error_of(R"({"interception": {"services": [{"name": "d", "port": 70000}]}})"),
            "interception.services[0].port: must be an integer from 1 to 65535 (got 70000)");
  EXPECT_EQ(error_of(R"({"interception": {"services": [{"name": "d", "port": "104"}]}})"),
            "interception.services[0].port: must be an integer from 1 to 65535 (got \"104\")");
  EXPECT_EQ(
      error_of(
          R"({"log_level": "loud", "interception": {"services": [{"name": "d", "port": 1}]}})"),
      "log_level: must be one of trace, debug, info, warn, error, critical, off (got \"loud\")");
  EXPECT_EQ(error_of(R"({"interception": {"services": [{"name": "d", "port": 104}],
                                          "interfaces": ["a-very-long-interface-name"]}})"),
            "interception.interfaces[0]: must be an interface name of 1 to 15 letters, digits, "
            "'-', '_' or '.'");
  EXPECT_EQ(error_of(R"({"interception": {"services": [{"name": "d", "port": 104},
                                                       {"name": "e", "port": 104}]}})"),
            "interception.services[1].port: port 104 is listed twice");
  EXPECT_EQ(error_of(R"({"interception": {"services": [{"name": "d", "port": 104}],
                                          "listen_port": 104}})"),
            "interception.listen_port: must differ from every intercepted service port (104 is "
            "service \"d\")");
  EXPECT_EQ(error_of(R"({"interception": {"services": [{"name": "d", "port": 104}]},
                        "proxy": {"max_connections": 10, "max_connections_per_device": 20}})"),
            "proxy.max_connections_per_device: must not exceed proxy.max_connections");
  EXPECT_EQ(error_of(R"({"interception": {"services": [{"name": "d", "port": 104}]},
                        "proxy": {"idle_timeout_s": -1}})"),
            "proxy.idle_timeout_s: must be an integer from 1 to 604800 (got -1)");
}

TEST(Config, MissingRequiredPartsAreNamed) {
  EXPECT_EQ(error_of("{}"), "interception: is required");
  EXPECT_EQ(error_of(R"({"interception": {}})"),
            "interception.services: is required: the TCP ports to intercept");
  EXPECT_EQ(error_of(R"({"interception": {"services": []}})"),
            "interception.services: must be a non-empty array of {\"name\": ..., \"port\": ...}");
  EXPECT_EQ(error_of("[]"), "configuration: must be a JSON object (got [])");
}

TEST(Config, SyntaxErrorsGiveLineAndColumn) {
  const std::string e = error_of("{\n  \"log_level\": \"info\",\n  oops\n}");
  EXPECT_EQ(e.rfind("test.json: not valid JSON at line 3, column 3", 0), 0u) << e;
}

TEST(Config, HostileInputHitsTheCapsWithAClearError) {
  EXPECT_EQ(error_of(std::string(100, '[') + std::string(100, ']')),
            "test.json: nested deeper than 16 levels");
  EXPECT_EQ(error_of(std::string(2u << 20, ' ')),
            "test.json: larger than 1048576 bytes; not a wardgate configuration");
}

TEST(Config, NumbersBeyondAnyTypeAreASyntaxError) {
  EXPECT_EQ(error_of(R"({"proxy": 1e999999})"),
            "test.json: not valid JSON: number overflow parsing '1e999999'");
}

TEST(Config, MissingFileIsAClearError) {
  try {
    load_config_file("/nonexistent/wardgate.json");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/wardgate.json: cannot be read");
  }
}

}  // namespace
}  // namespace wardgate::app
