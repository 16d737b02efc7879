// Fuzz target: the DICOM Upper Layer decoder fed both directions as a relay would.
//
// Input: one configuration byte (limits), then records [control][length: 2 bytes LE][bytes]:
//   control bit 0: side (0 client, 1 server); bits 1-2: how the bytes go in:
//     0 one feed() call; 1 like a zero-copy relay: skip() whatever skippable() allows, feed the
//     rest in pieces of (control >> 3) + 1 bytes; 2 end_of_stream(side) (no length, no bytes); 3
//     byte by byte.
// Oracle: a second decoder gets the same bytes, each record in one feed() call, never skipping;
// both must report exactly the same callbacks (completed operations included) and keep the same
// operations open. A violation that loses sync is the last callback; one that does not comes
// right before the command it concerns; an internal error (an exception the decoder turned into a
// violation, "decoder failure: ...") is a finding, not a protocol violation. Any divergence, a
// crash, a sanitizer report or a buffer beyond the caps is a finding. Seeds:
// tests/tools/record-dicom-streams fuzz-seeds.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string>

#include "dicom/decoder.h"
#include "fuzz_check.h"

namespace {

using wardgate::dicom::Side;

using wardgate::fuzz::check;

class Log final : public wardgate::dicom::DecoderCallbacks {
 public:
  std::string text;

  // Every callback but on_command(): nothing after a sync-losing violation, and a command
  // violation is followed by its command.
  void step() {
    check(!lost_sync_, "a callback after a violation that loses sync");
    check(!command_due_, "a command violation not followed by its command");
  }

  void on_associate_request(const wardgate::dicom::Associate& a) override {
    step();
    add("RQ", a);
  }
  void on_associate_accept(const wardgate::dicom::Associate& a) override {
    step();
    add("AC", a);
  }
  void on_associate_reject(const wardgate::dicom::AssociateReject& r) override {
    step();
    text += "RJ" + std::to_string(r.result) + std::to_string(r.source) + std::to_string(r.reason);
  }
  void on_release_request(Side s) override {
    step();
    text += side("RLQ", s);
  }
  void on_release_response(Side s) override {
    step();
    text += side("RLP", s);
  }
  void on_abort(Side s, const wardgate::dicom::Abort& a) override {
    step();
    text += side("AB", s) + std::to_string(a.source) + std::to_string(a.reason);
  }
  void on_command(Side s, const wardgate::dicom::Command& c) override {
    check(!lost_sync_, "a command after a violation that loses sync");
    command_due_ = false;
    text += side("CMD", s) + std::to_string(c.context_id) + "/" + std::to_string(c.command_field) +
            "/" + std::to_string(c.message_id.value_or(0)) + "/" + std::to_string(c.has_data_set) +
            c.affected_sop_instance_uid + "|" + c.error_comment + "\n";
  }
  void on_data_set_identifiers(Side s, std::uint8_t ctx,
                               const wardgate::dicom::DataSetIdentifiers& ids) override {
    step();
    text += side("IDS", s) + std::to_string(ctx) + ids.sop_instance_uid + "|" + ids.patient_id +
            "|" + ids.study_instance_uid + "|" + ids.query_retrieve_level + "|" + ids.note + "|" +
            std::to_string(ids.query_keys.size()) + "\n";
  }
  void on_data_set_end(Side s, std::uint8_t ctx, std::uint64_t bytes) override {
    step();
    text += side("END", s) + std::to_string(ctx) + "/" + std::to_string(bytes) + "\n";
  }
  // Right after its final response's on_command().
  void on_operation(const wardgate::dicom::Operation& op) override {
    step();
    add("OP", op);
  }
  void on_violation(Side s, wardgate::dicom::Violation v, std::string_view detail) override {
    step();
    check(detail.rfind("decoder failure: ", 0) != 0, "internal error reported as a violation");
    if (wardgate::dicom::loses_sync(v)) {
      lost_sync_ = true;
    } else {
      command_due_ = true;
    }
    text += side("VIOLATION", s) + wardgate::dicom::to_string(v) + " " + std::string(detail) + "\n";
  }

 private:
  bool lost_sync_ = false;
  bool command_due_ = false;

  static std::string side(const char* what, Side s) {
    return std::string(what) + (s == Side::kClient ? "c " : "s ");
  }
  void add(const char* what, const wardgate::dicom::Operation& op) {
    text += side(what, op.requester) + std::to_string(op.message_id) + "/" +
            std::to_string(op.command_field) + "/" + std::to_string(op.data_set_bytes) + "/" +
            std::to_string(op.pending_responses) + "/" + op.identifiers.sop_instance_uid + "/" +
            std::to_string(op.final_response ? op.final_response->status.value_or(0) : 0) + "\n";
  }
  void add(const char* what, const wardgate::dicom::Associate& a) {
    text += std::string(what) + a.called_ae + "|" + a.calling_ae + "|" +
            std::to_string(a.contexts.size()) + "|" + std::to_string(a.user.max_pdu_length) + "\n";
  }
};

wardgate::dicom::DecoderLimits limits_for(std::uint8_t config) {
  wardgate::dicom::DecoderLimits limits;
  static constexpr std::array<std::uint32_t, 4> kPeeks = {64 * 1024, 512, 64, 0};
  limits.data_set_peek = kPeeks[config & 3];
  if ((config & 4) != 0) limits.max_command_set = 256;
  if ((config & 8) != 0) limits.max_associate_pdu = 1024;
  if ((config & 16) != 0) limits.max_pdu_length = 8192;
  if ((config & 32) != 0) limits.max_outstanding_operations = 2;
  if ((config & 64) != 0) limits.max_items = 16;
  if ((config & 128) != 0) limits.pdu_slack = 0;
  return limits;
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's entry point
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const wardgate::dicom::DecoderLimits limits = limits_for(data[0]);
  const std::size_t cap =
      2 * (std::size_t{limits.max_associate_pdu} + limits.max_command_set + limits.data_set_peek);
  Log scripted_log;
  Log plain_log;
  wardgate::dicom::Decoder scripted(scripted_log, limits);
  wardgate::dicom::Decoder plain(plain_log, limits);

  std::size_t pos = 1;
  while (pos < size) {
    const std::uint8_t control = data[pos++];
    const Side side = (control & 1) != 0 ? Side::kServer : Side::kClient;
    const int op = (control >> 1) & 3;
    if (op == 2) {
      scripted.end_of_stream(side);
      plain.end_of_stream(side);
      continue;
    }
    if (size - pos < 2) break;
    const std::size_t want = data[pos] | (std::size_t{data[pos + 1]} << 8);
    pos += 2;
    const std::size_t n = std::min(want, size - pos);
    const auto* bytes = reinterpret_cast<const std::byte*>(data + pos);
    std::span<const std::byte> chunk(bytes, n);
    pos += n;

    plain.feed(side, chunk);
    if (op == 0) {
      scripted.feed(side, chunk);
    } else if (op == 3) {
      for (std::size_t i = 0; i < n; ++i) scripted.feed(side, chunk.subspan(i, 1));
    } else {
      const std::size_t piece = (control >> 3) + 1;
      while (!chunk.empty()) {
        const std::uint64_t skippable = scripted.skippable(side);
        if (skippable > 0) {
          const auto k = static_cast<std::size_t>(std::min<std::uint64_t>(skippable, chunk.size()));
          scripted.skip(side, k);
          chunk = chunk.subspan(k);
          continue;
        }
        const std::size_t k = std::min(piece, chunk.size());
        scripted.feed(side, chunk.first(k));
        chunk = chunk.subspan(k);
        check(scripted.buffered_bytes() <= cap, "buffered beyond the caps");
      }
    }
    check(scripted.buffered_bytes() <= cap && plain.buffered_bytes() <= cap,
          "buffered beyond the caps");
    check(scripted.in_sync() || scripted.skippable(side) == UINT64_MAX,
          "out of sync but not everything skippable");
  }
  if (scripted_log.text != plain_log.text) {
    std::fprintf(stderr, "--- scripted\n%s--- plain\n%s", scripted_log.text.c_str(),
                 plain_log.text.c_str());
    check(false, "chunking or skipping changed what was reported");
  }
  check(scripted.in_sync() == plain.in_sync(), "in_sync differs");
  // Operations still open: the same, within the cap, none with a final response.
  const auto open = scripted.open_operations();
  std::string open_text;
  for (const auto& op : open) {
    check(!op.final_response, "an open operation with a final response");
    open_text += std::to_string(op.message_id) + "/" + std::to_string(op.data_set_bytes) + " ";
  }
  std::string plain_open_text;
  for (const auto& op : plain.open_operations()) {
    plain_open_text +=
        std::to_string(op.message_id) + "/" + std::to_string(op.data_set_bytes) + " ";
  }
  check(open.size() <= limits.max_outstanding_operations, "more open operations than the cap");
  check(open_text == plain_open_text, "chunking or skipping changed the open operations");
  return 0;
}
