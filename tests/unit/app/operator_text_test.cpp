// What an operator may type into an audited command: printable UTF-8 that every reader of the
// record (CSV, SIEM, RFC 5424) takes as it is.
#include "app/operator_text.h"

#include <gtest/gtest.h>

namespace wardgate::app {
namespace {

TEST(OperatorText, AcceptsPrintableUtf8AndRefusesWhatAReaderCouldMisread) {
  EXPECT_EQ(check_operator_text("change 4711: PACS migration", 500, "--text"), "");
  EXPECT_EQ(check_operator_text("Störung am CT – Hersteller vor Ort", 500, "--text"), "");
  EXPECT_NE(check_operator_text("", 500, "--text").find("--text is required"), std::string::npos);
  EXPECT_NE(check_operator_text(std::string(501, 'x'), 500, "--text").find("at most 500"),
            std::string::npos);
  for (const std::string bad : {"tab\there", "cr\rlf", "a \"quote\"", "back\\slash", "del\x7f",
                                "bad utf-8 \xc3", "overlong \xc0\xaf"}) {
    EXPECT_NE(check_operator_text(bad, 500, "--text"), "") << bad;
  }
}

TEST(OperatorText, NamesTheOperatorFromSudoFirst) {
  ::setenv("SUDO_USER", "alice", 1);
  ::setenv("LOGNAME", "root", 1);
  EXPECT_EQ(operator_name(), "alice");
  ::unsetenv("SUDO_USER");
  EXPECT_EQ(operator_name(), "root");
}

}  // namespace
}  // namespace wardgate::app
