#include "app/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <climits>

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
  EXPECT_EQ(c.proxy.options.connect_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(c.proxy.options.max_connections_per_device, 256u);
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
  const proxy::ProxyOptions& p = c.proxy.options;
  EXPECT_EQ(p.threads, 2u);
  EXPECT_EQ(p.connect_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(p.idle_timeout, std::chrono::seconds(60));
  EXPECT_EQ(c.proxy.drain_timeout, std::chrono::seconds(3));
  EXPECT_EQ(p.max_connections, 500u);
  EXPECT_EQ(p.max_connections_per_device, 50u);
  EXPECT_EQ(p.chunk_bytes, 65536u);
  EXPECT_EQ(p.device_leg.buffer_bytes, 1048576);
  EXPECT_EQ(p.device_leg.congestion_control, "bbr");
  EXPECT_EQ(p.upstream_leg.buffer_bytes, 1048576);  // both legs alike
  EXPECT_EQ(p.upstream_leg.congestion_control, "bbr");
  EXPECT_FALSE(p.zero_copy);
  // What the proxy learns from the interception section.
  EXPECT_EQ(p.listen_port, 16000);
  ASSERT_EQ(p.services.size(), 1u);
  EXPECT_EQ(p.services.at(2575).name, "hl7");
  EXPECT_EQ(p.services.at(2575).protocol, "tcp");
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

// kMinimal plus `extra` members ("\"audit\": {...}").
std::string with(const std::string& extra) {
  return R"({"interception": {"services": [{"name": "dicom", "port": 104}]}, )" + extra + "}";
}

std::string this_host() {
  char buf[HOST_NAME_MAX + 1] = {};
  gethostname(buf, HOST_NAME_MAX);
  return buf;
}

TEST(Config, NewSectionsHaveDefaults) {
  const Config c = parse_config(kMinimal, "test.json");
  EXPECT_EQ(c.appliance_id, this_host());
  EXPECT_EQ(c.audit.options.log, "stderr");
  EXPECT_EQ(c.audit.options.patient_data, audit::PatientDataPolicy::kKeyedHash);
  EXPECT_EQ(c.audit.options.secret_file, "/var/lib/wardgate/audit-secret");
  EXPECT_TRUE(c.devices.empty());
  EXPECT_TRUE(c.dicom.enforce);
  EXPECT_EQ(c.dicom.limits.data_set_peek, 65536u);
  EXPECT_EQ(c.dicom.limits.pdu_slack, 65536u);
  EXPECT_EQ(c.dicom.limits.max_pdu_length, 16777216u);
  EXPECT_EQ(parse_config(with(R"("appliance": {})"), "t").appliance_id, this_host());
}

TEST(Config, ApplianceAuditAndDicomAreRead) {
  const Config c = parse_config(with(R"(
    "appliance": {"id": "wardgate-ct-vlan"},
    "audit": {"log": "/var/log/wardgate/audit.jsonl", "patient_data": "omit",
              "secret_file": "/etc/wardgate/secret"},
    "dicom": {"enforce": false, "peek_bytes": 0, "pdu_slack": 1024, "max_pdu_length": 131072})"),
                                "t");
  EXPECT_EQ(c.appliance_id, "wardgate-ct-vlan");
  EXPECT_EQ(c.audit.options.log, "/var/log/wardgate/audit.jsonl");
  EXPECT_EQ(c.audit.options.patient_data, audit::PatientDataPolicy::kOmit);
  EXPECT_EQ(c.audit.options.secret_file, "/etc/wardgate/secret");
  EXPECT_FALSE(c.dicom.enforce);
  EXPECT_EQ(c.dicom.limits.data_set_peek, 0u);
  EXPECT_EQ(c.dicom.limits.pdu_slack, 1024u);
  EXPECT_EQ(c.dicom.limits.max_pdu_length, 131072u);
  EXPECT_EQ(
      parse_config(with(R"("audit": {"patient_data": "plain"})"), "t").audit.options.patient_data,
      audit::PatientDataPolicy::kPlain);
}

TEST(Config, DevicesAreRead) {
  const Config c = parse_config(with(R"("devices": [
    {"name": "ct-1", "address": "10.1.1.20", "type": "modality",
     "dicom": {"allowed_calling_ae": ["CT01"], "allowed_called_ae": ["PACS", " ARCHIVE "],
               "allowed_sop_classes": ["1.2.840.10008.5.1.4.1.1.2"],
               "allowed_operations": ["C-ECHO", "C-STORE", "C-FIND", "C-MOVE"],
               "allowed_move_destinations": ["CT01"]}},
    {"name": "monitor-3", "address": "10.1.1.30", "type": "monitor"},
    {"name": "ws", "address": "10.1.1.40", "type": "workstation", "dicom": {}}])"),
                                "t");
  ASSERT_EQ(c.devices.size(), 3u);
  const policy::Device& ct = c.devices[0];
  EXPECT_EQ(ct.name, "ct-1");
  EXPECT_EQ(ct.address, 0x0a010114u);
  EXPECT_EQ(ct.type, policy::DeviceType::kModality);
  EXPECT_EQ(ct.dicom.allowed_calling_ae, std::vector<std::string>{"CT01"});
  // AE titles are stored without their non-significant spaces.
  EXPECT_EQ(ct.dicom.allowed_called_ae, (std::vector<std::string>{"PACS", "ARCHIVE"}));
  EXPECT_EQ(ct.dicom.allowed_sop_classes, std::vector<std::string>{"1.2.840.10008.5.1.4.1.1.2"});
  EXPECT_EQ(ct.dicom.allowed_operations,
            (std::vector<std::string>{"C-ECHO", "C-STORE", "C-FIND", "C-MOVE"}));
  EXPECT_EQ(ct.dicom.allowed_move_destinations, std::vector<std::string>{"CT01"});
  EXPECT_EQ(c.devices[1].type, policy::DeviceType::kMonitor);
  EXPECT_EQ(c.devices[1].dicom, policy::DicomRules{});  // no restriction
  EXPECT_EQ(c.devices[2].dicom, policy::DicomRules{});
  // What the proxy builds from it.
  const policy::DeviceRegistry registry(c.devices);
  ASSERT_NE(registry.find(0x0a01011e), nullptr);
  EXPECT_EQ(registry.find(0x0a01011e)->name, "monitor-3");
}

TEST(Config, EmptyRuleListsAllowNothing) {
  const Config c = parse_config(with(R"("devices": [{"name": "d", "address": "10.0.0.1",
      "type": "other", "dicom": {"allowed_move_destinations": []}}])"),
                                "t");
  EXPECT_EQ(c.devices[0].dicom.allowed_move_destinations, std::vector<std::string>{});
  EXPECT_EQ(c.devices[0].dicom.allowed_calling_ae, std::nullopt);
}

TEST(Config, UnknownKeysInNewSectionsAreRejected) {
  EXPECT_EQ(error_of(with(R"("appliance": {"name": "x"})")), "appliance.name: unknown key");
  EXPECT_EQ(error_of(with(R"("audit": {"syslog": "x"})")), "audit.syslog: unknown key");
  EXPECT_EQ(error_of(with(R"("dicom": {"peek": 1})")), "dicom.peek: unknown key");
  EXPECT_EQ(error_of(with(R"("devices": [{"name": "d", "address": "10.0.0.1", "type": "other",
                                          "mac": "00:11:22:33:44:55"}])")),
            "devices[0].mac: unknown key");
  EXPECT_EQ(error_of(with(R"("devices": [{"name": "d", "address": "10.0.0.1", "type": "other",
                                          "dicom": {"allowed_calling_aes": []}}])")),
            "devices[0].dicom.allowed_calling_aes: unknown key");
}

TEST(Config, BadApplianceAndAuditValues) {
  EXPECT_EQ(error_of(with(R"("appliance": {"id": ""})")),
            "appliance.id: must be 1 to 64 letters, digits, '-', '_' or '.'");
  EXPECT_EQ(error_of(with(R"("appliance": {"id": "ct vlan"})")),
            "appliance.id: must be 1 to 64 letters, digits, '-', '_' or '.'");
  EXPECT_EQ(error_of(with(R"("appliance": "gw")")),
            "appliance: must be a JSON object (got \"gw\")");
  EXPECT_EQ(error_of(with(R"("audit": {"log": "audit.jsonl"})")),
            "audit.log: must be \"stderr\", \"off\" or the absolute path of a file (got "
            "\"audit.jsonl\")");
  EXPECT_EQ(
      error_of(with(R"("audit": {"log": "/var/log/"})")),
      "audit.log: must be \"stderr\", \"off\" or the absolute path of a file (got \"/var/log/\")");
  EXPECT_EQ(
      error_of(with(R"("audit": {"log": "stdout"})")),
      "audit.log: must be \"stderr\", \"off\" or the absolute path of a file (got \"stdout\")");
  EXPECT_EQ(error_of(with(R"("audit": {"patient_data": "hash"})")),
            "audit.patient_data: must be one of plain, keyed-hash, omit (got \"hash\")");
  EXPECT_EQ(error_of(with(R"("audit": {"secret_file": "secret"})")),
            "audit.secret_file: must be the absolute path of a file (got \"secret\")");
  EXPECT_EQ(error_of(with(R"("audit": {"secret_file": 5})")),
            "audit.secret_file: must be a string (got 5)");
}

TEST(Config, BadDicomLimits) {
  EXPECT_EQ(error_of(with(R"("dicom": {"enforce": "yes"})")),
            "dicom.enforce: must be true or false (got \"yes\")");
  EXPECT_EQ(error_of(with(R"("dicom": {"peek_bytes": 2000000})")),
            "dicom.peek_bytes: must be an integer from 0 to 1048576 (got 2000000)");
  EXPECT_EQ(error_of(with(R"("dicom": {"pdu_slack": -1})")),
            "dicom.pdu_slack: must be an integer from 0 to 16777216 (got -1)");
  EXPECT_EQ(error_of(with(R"("dicom": {"max_pdu_length": 4096})")),
            "dicom.max_pdu_length: must be an integer from 16384 to 1073741824 (got 4096)");
}

std::string device_error(const std::string& device_json) {
  return error_of(with(R"("devices": [)" + device_json + "]"));
}

std::string rules_error(const std::string& rules_json) {
  return device_error(R"({"name": "ct-1", "address": "10.1.1.20", "type": "modality", "dicom": )" +
                      rules_json + "}");
}

TEST(Config, BadDevices) {
  EXPECT_EQ(error_of(with(R"("devices": {})")),
            "devices: must be an array of {\"name\", \"address\", \"type\"}");
  EXPECT_EQ(device_error(R"({"address": "10.0.0.1", "type": "other"})"),
            "devices[0].name: is required");
  EXPECT_EQ(device_error(R"({"name": "ct/1", "address": "10.0.0.1", "type": "other"})"),
            "devices[0].name: must be 1 to 64 letters, digits, '-', '_' or '.'");
  EXPECT_EQ(device_error(R"({"name": "d", "type": "other"})"), "devices[0].address: is required");
  EXPECT_EQ(device_error(R"({"name": "d", "address": "10.0.0.256", "type": "other"})"),
            "devices[0].address: must be an IPv4 address such as \"10.1.1.20\" (got "
            "\"10.0.0.256\")");
  EXPECT_EQ(device_error(R"({"name": "d", "address": "10.1.1.0/24", "type": "other"})"),
            "devices[0].address: must be an IPv4 address such as \"10.1.1.20\" (got "
            "\"10.1.1.0/24\")");
  EXPECT_EQ(device_error(R"({"name": "d", "address": "10.0.0.1"})"),
            "devices[0].type: is required: modality, monitor, workstation or other");
  EXPECT_EQ(device_error(R"({"name": "d", "address": "10.0.0.1", "type": "printer"})"),
            "devices[0].type: must be one of modality, monitor, workstation, other (got "
            "\"printer\")");
  EXPECT_EQ(device_error(R"({"name": "d", "address": "10.0.0.1", "type": "other", "dicom": []})"),
            "devices[0].dicom: must be a JSON object (got [])");
}

TEST(Config, DeviceNamesAndAddressesAreUnique) {
  EXPECT_EQ(device_error(R"({"name": "ct-1", "address": "10.1.1.20", "type": "modality"},
                            {"name": "ct-1", "address": "10.1.1.21", "type": "modality"})"),
            "devices[1].name: ct-1 is already the name of devices[0]");
  EXPECT_EQ(device_error(R"({"name": "ct-1", "address": "10.1.1.20", "type": "modality"},
                            {"name": "us-1", "address": "10.1.1.20", "type": "modality"})"),
            "devices[1].address: 10.1.1.20 is already the address of device ct-1");
}

TEST(Config, BadDicomRules) {
  const std::string ae =
      "must be an AE title: 1 to 16 printable ASCII characters, no backslash, not only spaces";
  EXPECT_EQ(rules_error(R"({"allowed_calling_ae": "CT01"})"),
            "devices[0].dicom.allowed_calling_ae: must be an array (got \"CT01\")");
  EXPECT_EQ(rules_error(R"({"allowed_calling_ae": ["CT01", "ABCDEFGHIJKLMNOPQ"]})"),
            "devices[0].dicom.allowed_calling_ae[1]: " + ae + " (got \"ABCDEFGHIJKLMNOPQ\")");
  EXPECT_EQ(rules_error(R"({"allowed_called_ae": [""]})"),
            "devices[0].dicom.allowed_called_ae[0]: " + ae + " (got \"\")");
  EXPECT_EQ(rules_error(R"({"allowed_called_ae": ["    "]})"),
            "devices[0].dicom.allowed_called_ae[0]: " + ae + " (got \"    \")");
  EXPECT_EQ(rules_error(R"({"allowed_called_ae": ["PA\\CS"]})"),
            "devices[0].dicom.allowed_called_ae[0]: " + ae + " (got \"PA\\\\CS\")");
  EXPECT_EQ(rules_error(R"({"allowed_called_ae": ["PA\nCS"]})"),
            "devices[0].dicom.allowed_called_ae[0]: " + ae + " (got \"PA\\nCS\")");
  EXPECT_EQ(rules_error(R"({"allowed_called_ae": ["PAC\u00c9"]})"),
            "devices[0].dicom.allowed_called_ae[0]: " + ae + " (got \"PAC\xc3\x89\")");
  EXPECT_EQ(rules_error(R"({"allowed_move_destinations": [42]})"),
            "devices[0].dicom.allowed_move_destinations[0]: " + ae + " (got 42)");
  EXPECT_EQ(rules_error(R"({"allowed_calling_ae": ["CT01", " CT01 "]})"),
            "devices[0].dicom.allowed_calling_ae[1]: CT01 is listed twice");
  // The longest AE title; spaces inside are significant.
  EXPECT_EQ(rules_error(R"({"allowed_calling_ae": ["ABCDEFGHIJKLMNOP", "CT 01"]})"), "");
}

TEST(Config, BadSopClassUidsAndOperations) {
  const std::string uid =
      "must be a UID: up to 64 digits and dots, no empty component, no leading zero in a "
      "component";
  for (const char* bad : {"", "1.2.", ".1.2", "1..2", "1.02.3", "1.2.a", "1.2.840 "}) {
    EXPECT_EQ(rules_error(std::string(R"({"allowed_sop_classes": [")") + bad + "\"]}"),
              "devices[0].dicom.allowed_sop_classes[0]: " + uid + " (got \"" + bad + "\")");
  }
  const std::string uid65 = "1." + std::string(63, '2');
  EXPECT_EQ(rules_error(R"({"allowed_sop_classes": [")" + uid65 + "\"]}")
                .rfind("devices[0].dicom.allowed_sop_classes[0]: must be a UID", 0),
            0u);
  EXPECT_EQ(rules_error(R"({"allowed_sop_classes": ["1.0.2", ")" + uid65.substr(1) + "\"]}")
                .rfind("devices[0].dicom.allowed_sop_classes[1]: must be a UID", 0),
            0u);
  EXPECT_EQ(rules_error(R"({"allowed_sop_classes": ["1.2.840.10008.1.1", "0.1"]})"), "");
  EXPECT_EQ(rules_error(R"({"allowed_operations": ["C-ECHO", "C-CANCEL"]})"),
            "devices[0].dicom.allowed_operations[1]: must be one of C-ECHO, C-STORE, C-FIND, "
            "C-MOVE, C-GET, N-CREATE, N-SET, N-ACTION, N-EVENT-REPORT, N-GET, N-DELETE (got "
            "\"C-CANCEL\")");
  EXPECT_EQ(rules_error(R"({"allowed_operations": ["c-echo"]})")
                .rfind("devices[0].dicom.allowed_operations[0]: must be one of", 0),
            0u);
  EXPECT_EQ(rules_error(R"({"allowed_operations": ["C-STORE", "C-STORE"]})"),
            "devices[0].dicom.allowed_operations[1]: C-STORE is listed twice");
}

std::string hl7_rules_error(const std::string& rules_json) {
  return device_error(R"({"name": "mon-1", "address": "10.1.1.30", "type": "monitor", "hl7": )" +
                      rules_json + "}");
}

TEST(Config, Hl7RulesAndSettings) {
  const Config c = parse_config(with(R"("devices": [{"name": "mon-1", "address": "10.1.1.30",
      "type": "monitor", "hl7": {"allowed_message_types": ["ORU^R01", "ADT", "QRY^*"],
      "allowed_receiving_applications": ["HL7ENGINE", "LIS^1.2.3^ISO"],
      "default_charset": "GB 18030"}}], "hl7": {"enforce": true, "max_message_size": 65536,
      "ack_timeout_s": 5})"),
                                "test.json");
  ASSERT_EQ(c.devices.size(), 1u);
  const policy::Hl7Rules& r = c.devices[0].hl7;
  EXPECT_EQ(r.allowed_message_types, (std::vector<std::string>{"ORU^R01", "ADT", "QRY^*"}));
  EXPECT_EQ(r.allowed_receiving_applications,
            (std::vector<std::string>{"HL7ENGINE", "LIS^1.2.3^ISO"}));
  EXPECT_EQ(r.default_charset, "GB 18030");
  EXPECT_TRUE(c.hl7.enforce);
  EXPECT_EQ(c.hl7.limits.max_message_size, 65536u);
  EXPECT_EQ(c.hl7.ack_timeout, std::chrono::seconds(5));
}

TEST(Config, Hl7DefaultsAuditOnly) {
  const Config c = parse_config(kMinimal, "test.json");
  EXPECT_FALSE(c.hl7.enforce);
  EXPECT_EQ(c.hl7.limits.max_message_size, 1024u * 1024u);
  EXPECT_EQ(c.hl7.ack_timeout, std::chrono::seconds(30));
}

TEST(Config, BadHl7Rules) {
  const std::string type =
      "must be a message type and trigger such as \"ORU^R01\", or \"ADT\" / \"ADT^*\" for "
      "every trigger of a type";
  EXPECT_EQ(hl7_rules_error(R"({"allowed_message_types": ["ORU^R01", "ORU_R01"]})"),
            "devices[0].hl7.allowed_message_types[1]: " + type + " (got \"ORU_R01\")");
  EXPECT_EQ(hl7_rules_error(R"({"allowed_message_types": ["*"]})"),
            "devices[0].hl7.allowed_message_types[0]: " + type + " (got \"*\")");
  EXPECT_EQ(hl7_rules_error(R"({"allowed_message_types": ["ORU^R01", "ORU^R01"]})"),
            "devices[0].hl7.allowed_message_types[1]: ORU^R01 is listed twice");
  EXPECT_EQ(hl7_rules_error(R"({"allowed_receiving_applications": ["A|B"]})"),
            "devices[0].hl7.allowed_receiving_applications[0]: must be an MSH-5 value or its "
            "first component: 1 to 227 printable characters, no '|' (got \"A|B\")");
  EXPECT_EQ(hl7_rules_error(R"({"default_charset": "KLINGON"})"),
            "devices[0].hl7.default_charset: must be an MSH-18 character set such as \"ASCII\", "
            "\"8859/1\", \"UNICODE UTF-8\", \"GB 18030\" (got \"KLINGON\")");
  EXPECT_EQ(hl7_rules_error(R"({"allowed_types": []})"),
            "devices[0].hl7.allowed_types: unknown key");
  EXPECT_EQ(error_of(with(R"("hl7": {"max_message_size": 10})")),
            "hl7.max_message_size: must be an integer from 1024 to 268435456 (got 10)");
  EXPECT_EQ(hl7_rules_error(R"({"allowed_message_types": []})"), "");  // allows nothing
}

TEST(Config, TheTunnelSectionIsReadByTheTunnelModule) {
  EXPECT_FALSE(parse_config(kMinimal, "t").tunnel);
  ASSERT_TRUE(parse_config(with(R"("tunnel": {})"), "t").tunnel);
  EXPECT_EQ(error_of(with(R"("tunnel": {"backend": "wg"})")),
            "tunnel.backend: must be one of auto, kernel, uapi (got \"wg\")");
}

TEST(Config, MissingFileIsAClearError) {
  try {
    load_config_file("/nonexistent/wardgate.json");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "/nonexistent/wardgate.json: cannot be read");
  }
}

TEST(Config, AuditExportDestinations) {
  const Config c = parse_config(with(R"("audit": {"export": [
      {"name": "siem", "host": "siem.hospital.example", "client_cert": "/etc/wardgate/c.pem",
       "client_key": "/etc/wardgate/c.key", "ca_bundle": "/etc/wardgate/ca.pem",
       "pinned_sha256": "AB:CD:EF:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89",
       "server_name": "siem.hospital.example"},
      {"name": "atna", "transport": "tls", "host": "10.2.2.50", "format": "atna",
       "client_cert": "/c", "client_key": "/k", "ca_bundle": "/ca", "crl_file": "/crl"},
      {"name": "legacy", "transport": "udp", "host": "10.2.2.51", "facility": "local4"}]})"),
                                "t");
  ASSERT_EQ(c.audit.exports.size(), 3U);
  const auto& siem = c.audit.exports[0];
  EXPECT_EQ(siem.transport.kind, exporter::TransportKind::kTls);
  EXPECT_EQ(siem.transport.port, 6514);
  EXPECT_EQ(siem.format, exporter::ExportFormat::kRfc5424);
  EXPECT_EQ(siem.syslog.facility, exporter::Facility::kLogAudit);
  EXPECT_EQ(siem.syslog.max_message_bytes, 8192U);
  EXPECT_EQ(siem.transport.pinned_sha256,
            "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
  const auto& atna = c.audit.exports[1];
  EXPECT_EQ(atna.syslog.facility, exporter::Facility::kAuthPriv);
  EXPECT_EQ(atna.syslog.max_message_bytes, 32768U);
  EXPECT_EQ(atna.transport.tls.crl_file, "/crl");
  const auto& legacy = c.audit.exports[2];
  EXPECT_EQ(legacy.transport.port, 514);
  EXPECT_EQ(legacy.syslog.facility, exporter::Facility::kLocal4);
  // What the exporters learn from outside their section.
  EXPECT_EQ(siem.appliance_id, c.appliance_id);
  EXPECT_FALSE(siem.syslog.sw_version.empty());
  EXPECT_TRUE(parse_config(kMinimal, "t").audit.exports.empty());
}

TEST(Config, AuditExportErrorsNameTheKey) {
  const std::string tls = R"("client_cert": "/c", "client_key": "/k", "ca_bundle": "/ca")";
  EXPECT_EQ(error_of(with(R"("audit": {"export": {}})")),
            "audit.export: must be an array of syslog destinations");
  EXPECT_EQ(error_of(with(R"("audit": {"export": [{"name": "s", "host": "h"}]})")),
            "audit.export[0].client_cert: is required with transport tls (mutual "
            "authentication)");
  EXPECT_EQ(error_of(with(R"("audit": {"export": [{"name": "s", "transport": "tcp",
            "host": "h", "ca_bundle": "/ca"}]})")),
            "audit.export[0].ca_bundle: is only for transport tls");
  EXPECT_EQ(error_of(with(R"("audit": {"export": [{"name": "s", "transport": "relp",
            "host": "h"}]})")),
            "audit.export[0].transport: must be one of udp, tcp, tls (got \"relp\")");
  EXPECT_EQ(error_of(with(R"("audit": {"export": [{"name": "s", )" + tls + R"(}]})")),
            "audit.export[0].host: is required: the collector's host name or IP address "
            "(got \"\")");
  EXPECT_EQ(error_of(with(R"("audit": {"export": [{"name": "s", "host": "h", "pinned_sha256":
            "abc", )" + tls +
                          R"(}]})")),
            "audit.export[0].pinned_sha256: must be 64 hex digits (a SHA-256 fingerprint), got 3");
  EXPECT_EQ(error_of(with(R"("audit": {"export": [{"name": "s", "host": "h", "client_cert":
            "c.pem", "client_key": "/k", "ca_bundle": "/ca"}]})")),
            "audit.export[0].client_cert: must be the absolute path of a file (got \"c.pem\")");
  EXPECT_EQ(error_of(with(R"("audit": {"export": [{"name": "s", "host": "h", "format": "atna",
            "facility": "local0", )" +
                          tls + R"(}]})")),
            "audit.export[0].facility: must be authpriv with format atna (DICOM PS3.15 A.6: "
            "facility 10)");
  EXPECT_EQ(error_of(with(R"("audit": {"export": [{"name": "s", "transport": "udp", "host": "h"},
            {"name": "s", "transport": "udp", "host": "h2"}]})")),
            "audit.export[1].name: destination \"s\" is listed twice");
  EXPECT_EQ(error_of(with(R"("audit": {"export": [{"name": "s", "transport": "udp", "host": "h",
            "max_unconfirmed": 0}]})")),
            "audit.export[0].max_unconfirmed: must be an integer from 1 to 10000000 (got 0)");
  EXPECT_EQ(error_of(with(R"("audit": {"export": [{"name": "s", "transport": "udp", "host": "h",
            "colour": 1}]})")),
            "audit.export[0].colour: unknown key");
}

}  // namespace
}  // namespace wardgate::app

namespace wardgate::app {
namespace {

std::string with_store(const std::string& store) {
  return R"({"interception": {"services": [{"name": "dicom", "port": 104}]}, "audit": {"store": )" +
         store + "}}";
}

TEST(Config, AuditStoreDefaults) {
  const Config c = parse_config(kMinimal, "test.json");
  EXPECT_EQ(c.audit.store.path, "/var/lib/wardgate/audit.db");
  EXPECT_EQ(c.audit.store.retention, std::chrono::hours(184 * 24));
  EXPECT_EQ(c.audit.store.group_commit, std::chrono::milliseconds(50));
  EXPECT_EQ(c.audit.store.checkpoint_every_records, 10000u);
  EXPECT_EQ(c.audit.store.checkpoint_every, std::chrono::seconds(60));
  EXPECT_EQ(c.audit.store.signing_key_file, "/var/lib/wardgate/audit-signing-key");
  EXPECT_EQ(c.audit.store.on_failure, store::FailureMode::kFailOpen);
  EXPECT_EQ(c.audit.store.min_free_bytes, 256ull << 20);
}

TEST(Config, AuditStoreIsRead) {
  const Config c = parse_config(with_store(R"({"path": "/data/audit.db", "retention_days": 365,
      "group_commit_ms": 10, "checkpoint_every_records": 500, "checkpoint_every_s": 0,
      "signing_key_file": "/data/key", "on_failure": "fail-closed", "min_free_mb": 1024})"),
                                "t");
  EXPECT_EQ(c.audit.store.path, "/data/audit.db");
  EXPECT_EQ(c.audit.store.retention, std::chrono::hours(365 * 24));
  EXPECT_EQ(c.audit.store.group_commit, std::chrono::milliseconds(10));
  EXPECT_EQ(c.audit.store.checkpoint_every_records, 500u);
  EXPECT_EQ(c.audit.store.checkpoint_every, std::chrono::seconds(0));
  EXPECT_EQ(c.audit.store.signing_key_file, "/data/key");
  EXPECT_EQ(c.audit.store.on_failure, store::FailureMode::kFailClosed);
  EXPECT_EQ(c.audit.store.min_free_bytes, 1024ull << 20);
  EXPECT_EQ(parse_config(with(R"("audit": {"log": "off"})"), "t").audit.options.log, "off");
}

TEST(Config, BadAuditStoreValuesNameTheirKey) {
  EXPECT_EQ(error_of(with_store(R"({"path": "audit.db"})")),
            "audit.store.path: must be the absolute path of a file (got \"audit.db\")");
  EXPECT_EQ(
      error_of(with_store(R"({"on_failure": "fail-sometimes"})")),
      "audit.store.on_failure: must be one of fail-open, fail-closed (got \"fail-sometimes\")");
  EXPECT_NE(error_of(with_store(R"({"retention_days": 0})")).find("audit.store.retention_days"),
            std::string::npos);
  EXPECT_NE(
      error_of(with_store(R"({"group_commit_ms": 5000})")).find("audit.store.group_commit_ms"),
      std::string::npos);
  EXPECT_EQ(error_of(with_store(R"({"checkpoint_every_records": 0, "checkpoint_every_s": 0})")),
            "audit.store.checkpoint_every_s: and checkpoint_every_records cannot both be 0: "
            "records would never be signed");
  EXPECT_NE(error_of(with_store(R"({"signing_key": "/k"})")).find("audit.store.signing_key"),
            std::string::npos);
  EXPECT_NE(error_of(with_store(R"("x")")).find("audit.store"), std::string::npos);
}

}  // namespace
}  // namespace wardgate::app

namespace wardgate::app {
namespace {

TEST(Config, AuditStoreOptionsFollowTheConfiguration) {
  const Config c = parse_config(
      R"({"interception": {"services": [{"name": "dicom", "port": 104}]},
          "appliance": {"id": "gw-7"},
          "audit": {"store": {"path": "/data/a.db", "retention_days": 200, "group_commit_ms": 20,
                              "checkpoint_every_records": 500, "checkpoint_every_s": 30,
                              "signing_key_file": "/data/k", "on_failure": "fail-closed",
                              "min_free_mb": 64}}})",
      "t");
  const store::StoreOptions& o = c.audit.store;
  EXPECT_EQ(o.path, "/data/a.db");
  EXPECT_EQ(o.signing_key_file, "/data/k");
  EXPECT_EQ(o.appliance_id, "gw-7");
  EXPECT_EQ(o.group_commit, std::chrono::milliseconds(20));
  EXPECT_EQ(o.checkpoint_every_records, 500u);
  EXPECT_EQ(o.checkpoint_every, std::chrono::seconds(30));
  EXPECT_EQ(o.retention, std::chrono::hours(200 * 24));
  EXPECT_EQ(o.on_failure, store::FailureMode::kFailClosed);
  EXPECT_EQ(o.min_free_bytes, 64ull << 20);
  EXPECT_EQ(parse_config(kMinimal, "t").audit.store.on_failure, store::FailureMode::kFailOpen);
}

}  // namespace
}  // namespace wardgate::app

namespace wardgate::app {
namespace {

TEST(Config, PublishedServicesAreProxiedAndAPortMeansOneProtocol) {
  const Config c = parse_config(R"({"interception": {"services": [{"name": "d", "port": 104,
    "protocol": "dicom"}]}, "devices": [{"name": "ct", "address": "10.1.1.20", "type": "modality",
    "published_services": [{"name": "storescp", "port": 11113, "protocol": "dicom"}]}]})",
                                "test.json");
  ASSERT_EQ(c.proxy.options.services.count(11113), 1U);
  EXPECT_EQ(c.proxy.options.services.at(11113).protocol, "dicom");
  EXPECT_EQ(c.proxy.options.services.at(11113).name, "storescp");
  EXPECT_EQ(error_of(R"({"interception": {"services": [{"name": "d", "port": 104,
    "protocol": "dicom"}]}, "devices": [{"name": "mon", "address": "10.1.1.30", "type": "monitor",
    "published_services": [{"name": "adt", "port": 104, "protocol": "hl7"}]}]})"),
            "devices[0].published_services[0].protocol: port 104 is dicom already (service d)");
}

}  // namespace
}  // namespace wardgate::app

namespace wardgate::app {
namespace {

// A gateway for 192.168.1.0/24 with a tunnel; `extra` adds top-level sections.
std::string gateway_with_tunnel(const std::string& advertised, const std::string& extra) {
  return R"({"interception": {"interfaces": ["vlan0"], "services": [{"name": "d", "port": 104}]},
    "gateway": {"vlan_prefix": "192.168.1.0/24", "gateway_address": "192.168.1.1",
                "core_networks": ["10.2.2.0/24"]},
    "devices": [{"name": "ct", "address": "192.168.1.20", "type": "modality"}],
    "tunnel": {)" +
         advertised + "}" + extra + "}";
}

std::vector<std::string> advertised(const Config& c) {
  std::vector<std::string> out;
  for (const auto& n : c.tunnel->advertised_networks) out.push_back(n.to_string());
  return out;
}

TEST(Config, TheTunnelAdvertisesThePrefixTheCoreSeesTheVlanUnder) {
  // Without NAT the VLAN prefix itself, also when nothing is listed.
  EXPECT_EQ(advertised(parse_config(gateway_with_tunnel("", ""), "t")),
            std::vector<std::string>{"192.168.1.0/24"});
  // With NAT the mapped prefix: listed VLAN networks follow the mapping, host part kept.
  const std::string nat = R"(, "nat": {"mapped_prefix": "10.250.3.0/24"})";
  EXPECT_EQ(advertised(parse_config(gateway_with_tunnel("", nat), "t")),
            std::vector<std::string>{"10.250.3.0/24"});
  EXPECT_EQ(advertised(parse_config(gateway_with_tunnel(R"("advertised_networks": ["192.168.1.0/24",
                                     "192.168.1.16/28", "172.16.0.0/16"])",
                                                        nat),
                                    "t")),
            (std::vector<std::string>{"10.250.3.0/24", "10.250.3.16/28", "172.16.0.0/16"}));
}

TEST(Config, AGatewayConfigurationThatCannotWorkIsRefusedByItsKey) {
  const std::string base = gateway_with_tunnel("", "");
  EXPECT_NE(error_of(gateway_with_tunnel("", R"(, "nat": {"mapped_prefix": "10.2.2.0/24"})"))
                .find("nat.mapped_prefix"),
            std::string::npos);
  EXPECT_NE(error_of(gateway_with_tunnel("", R"(, "nat": {"mapped_prefix": "10.250.0.0/16"})"))
                .find("nat.mapped_prefix"),
            std::string::npos);
  EXPECT_EQ(error_of(base), "");
}

}  // namespace
}  // namespace wardgate::app
