#include "inspect/byte_count_inspector.h"

namespace wardgate::inspect {
namespace {

using proxy::Action;
using proxy::CloseCause;
using proxy::Direction;

class ByteCountInspector final : public proxy::Inspector {
 public:
  ByteCountInspector(ByteCountInspectorFactory& factory, std::string service)
      : factory_(factory), service_(std::move(service)) {
    counts_.sessions = 1;
  }
  ~ByteCountInspector() override { factory_.add(service_, counts_); }
  ByteCountInspector(const ByteCountInspector&) = delete;
  ByteCountInspector& operator=(const ByteCountInspector&) = delete;

  Action on_data(Direction direction, std::span<const std::byte> chunk) override {
    (direction == Direction::kFromDevice ? counts_.bytes_from_device : counts_.bytes_to_device) +=
        chunk.size();
    ++counts_.chunks;
    return Action::forward();
  }
  // Counting needs no bytes: everything may take the zero-copy path.
  std::uint64_t opaque_bytes(Direction /*direction*/) override { return kAllOpaque; }
  void on_opaque(Direction direction, std::size_t n) override {
    (direction == Direction::kFromDevice ? counts_.bytes_from_device : counts_.bytes_to_device) +=
        n;
    ++counts_.chunks;
  }
  void on_close(Direction /*direction*/, CloseCause /*cause*/) override {}

 private:
  ByteCountInspectorFactory& factory_;
  std::string service_;
  ServiceTotals counts_;
};

}  // namespace

std::unique_ptr<proxy::Inspector> ByteCountInspectorFactory::create(
    const proxy::SessionInfo& info) {
  return std::make_unique<ByteCountInspector>(*this, info.service);
}

void ByteCountInspectorFactory::add(const std::string& service, const ServiceTotals& session) {
  const std::lock_guard lock(mutex_);
  ServiceTotals& t = totals_[service];
  t.sessions += session.sessions;
  t.bytes_from_device += session.bytes_from_device;
  t.bytes_to_device += session.bytes_to_device;
  t.chunks += session.chunks;
}

std::map<std::string, ServiceTotals> ByteCountInspectorFactory::totals() const {
  const std::lock_guard lock(mutex_);
  return totals_;
}

}  // namespace wardgate::inspect
