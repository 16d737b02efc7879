#include "audit/logging_sink_queue.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "audit/logging_sink.h"

namespace wardgate::audit {
namespace {

// A destination that blocks every write until opened, as stderr does when it is a pipe nobody
// reads.
class BlockedSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  void open() {
    {
      const std::lock_guard lock(gate_mutex_);
      open_ = true;
    }
    gate_.notify_all();
  }
  std::vector<std::string> lines() {
    const std::lock_guard lock(lines_mutex_);
    return lines_;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    {
      std::unique_lock lock(gate_mutex_);
      gate_.wait(lock, [this] { return open_; });
    }
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    std::string line(formatted.data(), formatted.size());
    if (!line.empty() && line.back() == '\n') line.pop_back();
    const std::lock_guard lock(lines_mutex_);
    lines_.push_back(std::move(line));
  }
  void flush_() override {}

 private:
  std::mutex gate_mutex_;
  std::condition_variable gate_;
  bool open_ = false;
  std::mutex lines_mutex_;
  std::vector<std::string> lines_;
};

Event operation(int n) {
  Event e = make_event("gw", "ct-1", "dicom", "operation", Outcome::kSuccess, Severity::kInfo);
  e.time = std::chrono::system_clock::time_point(std::chrono::seconds(1'795'000'000));
  e.fields.set("n", n);
  return e;
}

// Runs `work` on another thread; true if it finished within a generous bound (it does not wait
// on the destination at all, so only a blocking implementation misses it). If it did not, the
// destination is opened so that the stuck call ends and the test can report.
template <typename F>
bool finishes(F work, BlockedSink& target) {
  std::promise<void> done;
  auto finished = done.get_future();
  std::thread runner([&] {
    work();
    done.set_value();
  });
  const bool in_time = finished.wait_for(std::chrono::seconds(20)) == std::future_status::ready;
  if (!in_time) target.open();
  runner.join();
  return in_time;
}

TEST(LoggingSink, ABlockedDestinationNeverStallsTheRecorderAndDropsAreCountedThenReported) {
  const auto target = std::make_shared<BlockedSink>();
  common::MetricsRegistry metrics;
  constexpr int kEvents = 1000;
  auto sink = std::make_unique<LoggingSink>(
      target, LoggingSinkOptions{.queue_lines = 8, .appliance_id = "gw", .metrics = &metrics});
  ASSERT_TRUE(finishes(
      [&] {
        for (int i = 0; i < kEvents; ++i) sink->record(operation(i));
      },
      *target))
      << "record() waited on a blocked destination";
  const std::uint64_t dropped = sink->dropped();
  // At most the queue and the batch the writer is stuck on (a queue's worth) got through.
  EXPECT_GE(dropped, static_cast<std::uint64_t>(kEvents - 2 * 8));
  EXPECT_EQ(metrics.value("wardgate_audit_log_lines_dropped_total"), static_cast<double>(dropped));

  target->open();
  ASSERT_TRUE(sink->flush());
  const auto lines = target->lines();
  ASSERT_EQ(lines.size(), kEvents - dropped + 1) << "the kept lines and one drop report";
  EXPECT_EQ(lines.front(), to_json(operation(0)));
  // The report follows the first batch that went through again: one line, the others are events.
  std::vector<nlohmann::json> reports;
  for (const auto& line : lines) {
    auto j = nlohmann::json::parse(line);
    if (j["action"] == "log-lines-dropped") reports.push_back(std::move(j));
  }
  ASSERT_EQ(reports.size(), 1u);
  const auto& report = reports[0];
  EXPECT_EQ(report["appliance"], "gw");
  EXPECT_EQ(report["fields"]["lines_dropped"], dropped);
  EXPECT_TRUE(report["fields"].contains("first_dropped"));
  // Recovered: new lines go through again, without another report.
  sink->record(operation(kEvents));
  ASSERT_TRUE(sink->flush());
  EXPECT_EQ(target->lines().back(), to_json(operation(kEvents)));
  EXPECT_EQ(target->lines().size(), lines.size() + 1);
}

TEST(LoggingSink, EndsWithinItsGraceEvenIfTheDestinationNeverTakesALine) {
  const auto target = std::make_shared<BlockedSink>();
  LoggingSinkOptions options;
  options.queue_lines = 4;
  auto sink = std::make_unique<LoggingSink>(target, options);
  EXPECT_TRUE(finishes(
      [&] {
        sink->record(operation(1));
        sink->record(operation(2));
        sink.reset();
      },
      *target));
  target->open();  // the abandoned writer ends too
}

TEST(QueuedSink, TheOperationalLogNeverWaitsOnItsDestination) {
  const auto target = std::make_shared<BlockedSink>();
  auto logger = std::make_shared<spdlog::logger>("ops-test", queued_sink(target, 4));
  logger->set_pattern("%l %v");
  logger->flush_on(spdlog::level::trace);
  const bool logged = finishes(
      [&] {
        for (int i = 0; i < 500; ++i) logger->warn("session {} refused", i);
      },
      *target);
  target->open();
  ASSERT_TRUE(logged) << "a log call waited on a blocked destination";
  const auto reports = [&] {
    std::vector<std::string> out;
    for (const auto& line : target->lines()) {
      if (line.find("log lines dropped") != std::string::npos) out.push_back(line);
    }
    return out;
  };
  for (int i = 0; i < 500 && reports().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(reports().size(), 1u);
  EXPECT_EQ(target->lines().front(), "warning session 0 refused")
      << "formatted with the logger's pattern";
  EXPECT_EQ(target->lines().size(),
            500 - std::stoul(reports()[0].substr(reports()[0].find(" warning ") + 9)) + 1)
      << "every line written or counted";
}

}  // namespace
}  // namespace wardgate::audit
