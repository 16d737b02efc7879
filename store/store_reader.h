#pragma once
// The store's read side for exporters: committed records after a sequence number and the
// destinations' cursors, on a read-only connection of its own (WAL: readers never block the
// writer). Thread-safe.
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "store/record_source.h"
#include "store/store_schema.h"

namespace wardgate::store {

class StoreReader {
 public:
  // Throws StoreError if the store cannot be opened (start-up). `appliance_id` names the
  // appliance in the alert that stands in for a record that cannot be decoded.
  StoreReader(const std::string& path, std::string appliance_id);

  // Records with after < seq <= committed_seq (at most `max`, and at most 10000).
  std::vector<StoredRecord> read_after(std::uint64_t after, std::size_t max,
                                       std::uint64_t committed_seq, std::error_code& ec);
  std::uint64_t load_cursor(std::string_view destination);

 private:
  std::string appliance_id_;
  std::mutex mutex_;
  std::unique_ptr<Database> db_;
};

}  // namespace wardgate::store
