// The `audit.export` section read on its own (export/export_section.h): each destination is a
// value that a re-read compares equal to until something in it changes.
#include <gtest/gtest.h>

#include "common/json_reader.h"
#include "export/export_section.h"

namespace wardgate::exporter {
namespace {

std::vector<ExporterOptions> exports_of(const std::string& section) {
  const auto doc = common::parse_json(section, "test.json");
  return read_export_section(&doc);
}

std::string error_of(const std::string& section) {
  try {
    exports_of(section);
  } catch (const common::ConfigError& e) {
    return e.what();
  }
  return "";
}

const char* kTwo = R"([
  {"name": "siem", "host": "10.2.2.50", "client_cert": "/c", "client_key": "/k",
   "ca_bundle": "/ca"},
  {"name": "legacy", "transport": "udp", "host": "10.2.2.51", "facility": "local4"}])";

TEST(ExportConfig, AbsentSectionIsNoDestination) {
  EXPECT_TRUE(read_export_section(nullptr).empty());
}

TEST(ExportConfig, ADestinationReReadComparesEqualUntilItChanges) {
  const auto first = exports_of(kTwo);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(exports_of(kTwo), first);
  std::string changed = kTwo;
  changed.replace(changed.find("local4"), 6, "local5");
  const auto second = exports_of(changed);
  EXPECT_EQ(second[0], first[0]);
  EXPECT_NE(second[1], first[1]);
  EXPECT_EQ(second[1].syslog.facility, Facility::kLocal5);
  const auto doc = common::parse_json(
      R"({"name": "legacy", "transport": "udp", "host": "10.2.2.51", "facility": "local4"})", "t");
  EXPECT_EQ(read_export_destination(doc, "audit.export[1]"), first[1]);
}

TEST(ExportConfig, AtnaTakesFacilityAuthprivAndLargeMessages) {
  const std::string tls = R"("client_cert": "/c", "client_key": "/k", "ca_bundle": "/ca")";
  const auto atna = exports_of(R"([{"name": "a", "host": "h", "format": "atna", )" + tls + "}]");
  EXPECT_EQ(atna[0].format, ExportFormat::kAtna);
  EXPECT_EQ(atna[0].syslog.facility, Facility::kAuthPriv);
  EXPECT_EQ(atna[0].syslog.max_message_bytes, 32768u);
  EXPECT_EQ(error_of(R"([{"name": "a", "host": "h", "format": "atna", "facility": "audit", )" +
                     tls + "}]"),
            "audit.export[0].facility: must be authpriv with format atna (DICOM PS3.15 A.6: "
            "facility 10)");
  EXPECT_EQ(error_of(R"([{"name": "a", "host": "h", "format": "atna",
                         "max_message_bytes": 8192, )" +
                     tls + "}]"),
            "audit.export[0].max_message_bytes: must be at least 32768 with format atna (DICOM "
            "PS3.15 A.6)");
  EXPECT_EQ(error_of(R"([{"name": "a", "transport": "udp", "host": "h", "facility": "kern"}])"),
            "audit.export[0].facility: must be one of auth, authpriv, audit, local0, local1, "
            "local2, local3, local4, local5, local6, local7 (got \"kern\")");
}

}  // namespace
}  // namespace wardgate::exporter
