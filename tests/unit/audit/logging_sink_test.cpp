#include "audit/logging_sink.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "audit/memory_sink.h"

namespace wardgate::audit {
namespace {

Event event(std::string action, std::int64_t n = 0) {
  Event e;
  e.time = std::chrono::system_clock::time_point(std::chrono::seconds(1'795'000'000));
  e.appliance_id = "gw";
  e.device = "10.1.1.20";
  e.category = "dicom";
  e.action = std::move(action);
  e.fields.set("n", n);
  return e;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(LoggingSink, WritesOneCanonicalJsonLinePerEvent) {
  std::ostringstream out;
  LoggingSink sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  sink.record(event("association-accepted", 1));
  sink.record(event("association-released", 2));
  EXPECT_EQ(sink.recorded(), 2u);
  ASSERT_TRUE(sink.flush());
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], to_json(event("association-accepted", 1)));
  EXPECT_EQ(lines[1], to_json(event("association-released", 2)));
}

TEST(LoggingSink, NeverWritesToTheOperationalLog) {
  std::ostringstream operational;
  const auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>(
      "ops", std::make_shared<spdlog::sinks::ostream_sink_mt>(operational)));
  std::ostringstream audit_out;
  {
    LoggingSink sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(audit_out));
    sink.record(event("operation"));
  }
  spdlog::set_default_logger(previous);
  EXPECT_TRUE(operational.str().empty()) << operational.str();
  EXPECT_EQ(lines_of(audit_out.str()).size(), 1u);
  // Not registered, so several sinks (and the operational "wardgate" logger) coexist.
  EXPECT_EQ(spdlog::get("audit"), nullptr);
}

TEST(LoggingSink, ConcurrentRecordsGiveWholeLines) {
  std::ostringstream out;
  LoggingSink sink(std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  constexpr int kThreads = 4;
  constexpr int kEach = 500;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&sink, t] {
      for (int i = 0; i < kEach; ++i) sink.record(event("operation", t * kEach + i));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(sink.recorded(), static_cast<std::uint64_t>(kThreads * kEach));
  ASSERT_TRUE(sink.flush());
  const auto lines = lines_of(out.str());
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * kEach));
  std::set<std::string> distinct(lines.begin(), lines.end());
  EXPECT_EQ(distinct.size(), lines.size());
  for (const auto& line : lines) {
    ASSERT_EQ(line.front(), '{');
    ASSERT_EQ(line.back(), '}');
  }
}

class LoggingSinkFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("wardgate-audit-log-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(LoggingSinkFile, AppendsToAFileCreatedWithMode0640) {
  const std::string path = (dir_ / "audit.jsonl").string();
  {
    LoggingSink sink(path);
    sink.record(event("association-accepted"));
  }
  {
    LoggingSink sink(path);  // a restart appends
    sink.record(event("association-released"));
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  EXPECT_EQ(st.st_mode & 0777, 0640 & ~mask) << std::oct << (st.st_mode & 0777);
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const auto lines = lines_of(text.str());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], to_json(event("association-released")));
}

TEST_F(LoggingSinkFile, AnUnwritablePathIsAClearError) {
  const std::string path = (dir_ / "missing-dir" / "audit.jsonl").string();
  try {
    LoggingSink sink(path);
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              path + ": cannot open the audit log: No such file or directory");
  }
}

TEST(MemorySink, KeepsEveryEvent) {
  MemorySink sink;
  AuditSink& as_interface = sink;
  as_interface.record(event("a"));
  as_interface.record(event("b"));
  const auto events = sink.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].action, "b");
}

}  // namespace
}  // namespace wardgate::audit
