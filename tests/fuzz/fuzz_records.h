#pragma once
// The input format the protocol fuzz targets share: a relay's view of one connection, as
// records [control][length: 2 bytes LE][bytes]:
//   control bit 0: side (0 client/device, 1 server); bits 1-2: how the bytes go in: 0 in one
//   call; 1 in pieces of (control >> 3) + 1 bytes; 2 the side ends (no length, no bytes); 3 byte
//   by byte.
// for_each_record() calls `feed(side, whole, pieces)` per record with the record's bytes and the
// pieces a relay would have read them in, or `end(side)`.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace wardgate::fuzzing {

struct Record {
  bool server = false;
  bool end = false;
  std::span<const std::byte> bytes;
  std::vector<std::span<const std::byte>> pieces;
};

template <typename OnRecord>
void for_each_record(const std::uint8_t* data, std::size_t size, OnRecord&& on_record) {
  std::size_t pos = 0;
  while (pos < size) {
    const std::uint8_t control = data[pos++];
    Record r;
    r.server = (control & 1) != 0;
    const int op = (control >> 1) & 3;
    if (op == 2) {
      r.end = true;
      on_record(r);
      continue;
    }
    if (size - pos < 2) break;
    const std::size_t want = data[pos] | (std::size_t{data[pos + 1]} << 8);
    pos += 2;
    const std::size_t n = std::min(want, size - pos);
    r.bytes = std::span(reinterpret_cast<const std::byte*>(data + pos), n);
    pos += n;
    const std::size_t piece = op == 0 ? (n == 0 ? 1 : n) : op == 3 ? 1 : (control >> 3) + 1;
    for (auto rest = r.bytes; !rest.empty();) {
      const std::size_t k = std::min(piece, rest.size());
      r.pieces.push_back(rest.first(k));
      rest = rest.subspan(k);
    }
    on_record(r);
  }
}

}  // namespace wardgate::fuzzing
