#include "app/bypass_record.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "app/operator_text.h"
#include "audit/event_decode.h"

namespace wardgate::app {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMarker = "bypass.active";

}  // namespace

std::string check_bypass_request(const BypassRequest& request) {
  if (request.minutes < 1 || request.minutes > kMaxBypassMinutes) {
    return "--minutes must be 1 to " + std::to_string(kMaxBypassMinutes);
  }
  if (request.reason.empty()) return "--reason is required: say why inspection is bypassed";
  return check_operator_text(request.reason, kMaxBypassReason, "--reason");
}

audit::Event bypass_started_event(const std::string& appliance_id, const ActiveBypass& bypass,
                                  const std::vector<std::string>& interfaces) {
  audit::Event e = audit::make_event(appliance_id, "appliance", "gateway", "bypass-started",
                                     audit::Outcome::kWarning, audit::Severity::kAlert);
  e.time = bypass.started;
  e.fields.set("reason", bypass.reason);
  e.fields.set("by", bypass.by);
  e.fields.set("until", audit::format_time(bypass.until));
  e.fields.set(
      "minutes",
      static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::minutes>(bypass.until - bypass.started).count()));
  e.fields.set("interfaces", interfaces);
  return e;
}

audit::Event bypass_ended_event(const std::string& appliance_id, const ActiveBypass& bypass,
                                std::chrono::system_clock::time_point at, const std::string& how,
                                const std::string& ended_by) {
  audit::Event e = audit::make_event(appliance_id, "appliance", "gateway", "bypass-ended",
                                     audit::Outcome::kSuccess, audit::Severity::kNotice);
  e.time = at;
  e.fields.set("how", how);
  if (!ended_by.empty()) e.fields.set("by", ended_by);
  e.fields.set("reason", bypass.reason);
  e.fields.set("started", audit::format_time(bypass.started));
  e.fields.set("started_by", bypass.by);
  return e;
}

void write_active_bypass(const fs::path& spool_dir, const ActiveBypass& bypass) {
  std::error_code ec;
  fs::create_directories(spool_dir, ec);
  const fs::path file = spool_dir / kMarker;
  const fs::path temp = file.string() + ".tmp";
  const nlohmann::json j{{"started_us", audit::to_unix_us(bypass.started)},
                         {"until_us", audit::to_unix_us(bypass.until)},
                         {"reason", bypass.reason},
                         {"by", bypass.by}};
  {
    std::ofstream out(temp, std::ios::trunc);
    out << j.dump() << "\n";
    out.flush();
    if (!out) throw std::runtime_error(temp.string() + ": cannot write");
  }
  if (const int fd = ::open(temp.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  fs::rename(temp, file, ec);
  if (ec) throw std::runtime_error(file.string() + ": cannot rename into place: " + ec.message());
}

std::optional<ActiveBypass> read_active_bypass(const fs::path& spool_dir, std::string* error) {
  const fs::path file = spool_dir / kMarker;
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  try {
    const auto j = nlohmann::json::parse(text.str());
    ActiveBypass b;
    b.started = audit::from_unix_us(j.at("started_us").get<std::int64_t>());
    b.until = audit::from_unix_us(j.at("until_us").get<std::int64_t>());
    b.reason = j.at("reason").get<std::string>();
    b.by = j.at("by").get<std::string>();
    return b;
  } catch (const std::exception& e) {
    if (error != nullptr) *error = file.string() + ": unreadable (" + e.what() + ")";
    return std::nullopt;
  }
}

void clear_active_bypass(const fs::path& spool_dir) {
  std::error_code ignored;
  fs::remove(spool_dir / kMarker, ignored);
}

}  // namespace wardgate::app
