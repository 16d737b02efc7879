#pragma once
// Audit events written by short-lived commands while the daemon owns the store's single writer
// (the hash chain's head lives in the writer's memory, so a second writer would fork the chain
// and raise a false tamper alarm). `wardgate bypass` puts its events here; `wardgate run`
// records them into the store and removes each file only after the store committed it, so an
// event survives a crash of either process and is never recorded twice.
//
// One event per file, named by time and a sequence so that names sort in the order written;
// each file is written to a temporary name, fsynced and renamed, so a reader never sees half an
// event.
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "audit/event.h"

namespace wardgate::store {

// The spool beside a store file: "<store path>.spool".
std::filesystem::path spool_directory_for(const std::string& store_path);

struct SpooledEvent {
  std::filesystem::path file;
  audit::Event event;
};

class EventSpool {
 public:
  // At most this many pending files are read per take() (a flood of files cannot stall the
  // daemon), and a file larger than audit::kMaxCanonicalBytes is set aside unread.
  static constexpr std::size_t kMaxPerTake = 256;

  explicit EventSpool(std::filesystem::path directory) : directory_(std::move(directory)) {}

  // Durably adds one event; creates the directory (0700) if needed. Throws StoreError naming the
  // file on failure.
  void put(const audit::Event& event) const;

  // The pending events, oldest first. A file that is not an event (damaged, foreign) is renamed
  // to "<name>.bad" and reported in `problems`, never retried and never deleted.
  std::vector<SpooledEvent> take(std::vector<std::string>* problems = nullptr) const;

  // Removes a file take() returned, once its event is committed.
  void done(const SpooledEvent& spooled) const;

  const std::filesystem::path& directory() const { return directory_; }

 private:
  std::filesystem::path directory_;
};

}  // namespace wardgate::store
