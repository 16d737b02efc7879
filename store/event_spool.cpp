#include "store/event_spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "audit/event_decode.h"
#include "store/store_schema.h"

namespace wardgate::store {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSuffix = ".event";

std::string errno_text() { return std::strerror(errno); }

void write_all(int fd, const std::string& text, const fs::path& file) {
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw StoreError(file.string() + ": cannot write: " + errno_text());
    done += static_cast<std::size_t>(n);
  }
}

void sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

// "<unix microseconds, 20 digits>-<pid>-<sequence>.event": sorts in the order written within one
// process, and by time across processes.
std::string next_name(const audit::Event& event) {
  static std::atomic<unsigned> sequence{0};
  std::array<char, 96> buf{};
  std::snprintf(buf.data(), buf.size(), "%020lld-%d-%06u%s",
                static_cast<long long>(audit::to_unix_us(event.time)), static_cast<int>(::getpid()),
                sequence.fetch_add(1) % 1000000U, kSuffix);
  return buf.data();
}

}  // namespace

std::filesystem::path spool_directory_for(const std::string& store_path) {
  return store_path + ".spool";
}

void EventSpool::put(const audit::Event& event) const {
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec) throw StoreError(directory_.string() + ": cannot create the spool: " + ec.message());
  ::chmod(directory_.c_str(), 0700);
  const fs::path file = directory_ / next_name(event);
  const fs::path temp = file.string() + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw StoreError(temp.string() + ": cannot create: " + errno_text());
  try {
    // What the store will keep: an event too long for a spool file would be set aside unread.
    const std::string canonical = audit::to_json(event);
    write_all(fd,
              audit::fits_store(event, canonical) ? canonical
                                                  : audit::to_json(audit::fit_for_store(event)),
              temp);
    if (::fsync(fd) != 0) throw StoreError(temp.string() + ": cannot sync: " + errno_text());
  } catch (...) {
    ::close(fd);
    ::unlink(temp.c_str());
    throw;
  }
  ::close(fd);
  if (::rename(temp.c_str(), file.c_str()) != 0) {
    const std::string why = errno_text();
    ::unlink(temp.c_str());
    throw StoreError(file.string() + ": cannot rename into place: " + why);
  }
  sync_directory(directory_);
}

std::vector<SpooledEvent> EventSpool::take(std::vector<std::string>* problems) const {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::directory_iterator it(directory_, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    if (p.extension() == kSuffix && it->is_regular_file()) files.push_back(p);
  }
  std::sort(files.begin(), files.end());
  if (files.size() > kMaxPerTake) files.resize(kMaxPerTake);

  const auto set_aside = [problems](const fs::path& file, const std::string& why) {
    std::error_code ignored;
    fs::rename(file, file.string() + ".bad", ignored);
    if (problems != nullptr)
      problems->push_back(file.string() + ": " + why + " (set aside as .bad)");
  };
  std::vector<SpooledEvent> out;
  for (const auto& file : files) {
    const auto size = fs::file_size(file, ec);
    if (ec) continue;  // removed meanwhile
    if (size > audit::kMaxCanonicalBytes) {
      set_aside(file, "larger than an event may be");
      continue;
    }
    std::ifstream in(file, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    std::string error;
    auto event = audit::event_from_json(text.str(), &error);
    if (!event) {
      set_aside(file, "not an audit event: " + error);
      continue;
    }
    out.push_back({file, std::move(*event)});
  }
  return out;
}

void EventSpool::done(const SpooledEvent& spooled) const {
  std::error_code ignored;
  fs::remove(spooled.file, ignored);
}

}  // namespace wardgate::store
