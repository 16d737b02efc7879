// The decoder's ledger of DIMSE operations on recorded associations: each operation is reported
// once, at its final response, with its request's details, data set sizes, identifiers, pending
// responses and times from the caller's clock; however the bytes are chunked; operations still
// open are listed in order.
#include <gtest/gtest.h>

#include <chrono>
#include <sstream>

#include "dicom/spec.h"
#include "dicom_test_support.h"

namespace wardgate::dicom::testing {
namespace {

using std::chrono::steady_clock;

const std::string root_uid = "2.25.329800735698586629295641978511506172918";

std::string describe(const Operation& op) {
  std::ostringstream out;
  out << "OP " << (op.requester == Side::kClient ? "client" : "server") << " id=" << op.message_id
      << " field=" << op.command_field << " sop=" << op.sop_class_uid
      << " inst=" << op.sop_instance_uid << " dest=[" << op.move_destination << "]"
      << " prio=" << (op.priority ? std::to_string(*op.priority) : "-")
      << " bytes=" << op.data_set_bytes << " pending=" << op.pending_responses
      << " ids=" << op.identifiers.sop_instance_uid << "/" << op.identifiers.query_retrieve_level
      << " status="
      << (op.final_response && op.final_response->status
              ? std::to_string(*op.final_response->status)
              : "-");
  return out.str();
}

// Records operations; the clock advances one second each time the decoder reads it.
class Ledger final : public DecoderCallbacks {
 public:
  void on_operation(const Operation& op) override {
    ops.push_back(op);
    log += describe(op) + "\n";
  }
  std::vector<Operation> ops;
  std::string log;
  int clock_reads = 0;
  TimeSource clock() {
    return [this] { return steady_clock::time_point{} + std::chrono::seconds(++clock_reads); };
  }
};

// Feeds the recording in pieces of `piece` bytes (0: each chunk whole), the first `chunks` chunks.
std::string run(const Recording& r, std::size_t piece, std::vector<Operation>* open = nullptr,
                std::size_t chunks = SIZE_MAX) {
  Ledger ledger;
  Decoder decoder(ledger, {}, ledger.clock());
  for (std::size_t i = 0; i < r.size() && i < chunks; ++i) {
    std::span<const std::byte> rest(r[i].bytes);
    while (!rest.empty()) {
      const std::size_t n = piece == 0 ? rest.size() : std::min(piece, rest.size());
      decoder.feed(r[i].side, rest.first(n));
      rest = rest.subspan(n);
    }
  }
  if (open != nullptr) *open = decoder.open_operations();
  return ledger.log;
}

TEST(DicomOperationLedger, StoresCompleteAtTheirResponseWithSizesIdentifiersAndTimes) {
  Ledger ledger;
  Decoder decoder(ledger, {}, ledger.clock());
  for (const Chunk& c : load_recording("store-explicit.rec")) decoder.feed(c.side, c.bytes);
  ASSERT_EQ(ledger.ops.size(), 2U) << ledger.log;
  for (std::uint16_t i = 0; i < 2; ++i) {
    const Operation& op = ledger.ops[i];
    EXPECT_EQ(op.message_id, i + 1);
    EXPECT_EQ(op.command_field, spec::kCStoreRq);
    EXPECT_EQ(op.requester, Side::kClient);
    EXPECT_EQ(op.sop_class_uid, "1.2.840.10008.5.1.4.1.1.2");
    EXPECT_EQ(op.sop_instance_uid, root_uid + ".3." + std::to_string(i + 1));
    EXPECT_EQ(op.data_set_bytes, 8586U);
    EXPECT_EQ(op.pending_responses, 0U);
    ASSERT_TRUE(op.final_response.has_value());
    EXPECT_EQ(op.final_response->status, spec::kStatusSuccess);
    EXPECT_EQ(op.final_response->message_id_responded_to, i + 1);
    // Request and response are two reads of the clock, one second apart.
    EXPECT_EQ(op.ended - op.started, std::chrono::seconds(1));
  }
  EXPECT_EQ(ledger.ops[0].identifiers.sop_instance_uid, root_uid + ".3.1");
  EXPECT_EQ(ledger.ops[0].identifiers.study_instance_uid, root_uid + ".1");
  EXPECT_TRUE(decoder.open_operations().empty());
}

TEST(DicomOperationLedger, FindCountsItsPendingResponsesAndKeepsTheRequestIdentifier) {
  Ledger ledger;
  Decoder decoder(ledger, {}, ledger.clock());
  const Recording r = load_recording("find.rec");
  for (const Chunk& c : r) decoder.feed(c.side, c.bytes);
  ASSERT_EQ(ledger.ops.size(), 1U) << ledger.log;
  const Operation& op = ledger.ops[0];
  EXPECT_EQ(op.command_field, spec::kCFindRq);
  EXPECT_GT(op.pending_responses, 0U);
  EXPECT_EQ(op.identifiers.query_retrieve_level, "STUDY");  // the request's, not a match's
  EXPECT_GT(op.data_set_bytes, 0U);
  EXPECT_EQ(op.final_response->status, spec::kStatusSuccess);
}

TEST(DicomOperationLedger, GetAndTheStoresTheServerRequestsOnTheSameAssociation) {
  const std::string log = run(load_recording("get.rec"), 0);
  // Sub-operations are numbered by the server from 1 too: requester and Message ID tell apart.
  EXPECT_NE(log.find("OP server id=1 field=1 "), std::string::npos) << log;
  EXPECT_NE(log.find("OP server id=2 field=1 "), std::string::npos) << log;
  EXPECT_NE(log.find("OP client id=1 field=16 "), std::string::npos) << log;
  EXPECT_LT(log.find("OP server id=2 "), log.find("OP client id=1 "));  // stores end first
}

TEST(DicomOperationLedger, CancelOpensNothingAndTheFindEndsOnce) {
  const std::string log = run(load_recording("find-cancel.rec"), 0);
  EXPECT_EQ(log.find("OP client id=1 field=32 "), 0U) << log;
  EXPECT_EQ(log.find("OP ", 1), std::string::npos) << log;  // C-CANCEL-RQ is no operation
}

TEST(DicomOperationLedger, OpenOperationsAreListedByRequesterAndMessageId) {
  const Recording r = load_recording("get.rec");
  // Cut the recording before each chunk: what is open then is never reported as completed.
  for (std::size_t cut = 0; cut <= r.size(); ++cut) {
    std::vector<Operation> open;
    const std::string completed = run(r, 0, &open, cut);
    for (std::size_t i = 0; i < open.size(); ++i) {
      EXPECT_FALSE(open[i].final_response.has_value());
      EXPECT_EQ(completed.find(describe(open[i])), std::string::npos);
      if (i > 0) {
        const bool ordered = open[i - 1].requester < open[i].requester ||
                             (open[i - 1].requester == open[i].requester &&
                              open[i - 1].message_id < open[i].message_id);
        EXPECT_TRUE(ordered) << "cut before chunk " << cut;
      }
    }
  }
  std::vector<Operation> open;
  run(r, 0, &open);
  EXPECT_TRUE(open.empty());
}

TEST(DicomOperationLedger, ChunkingChangesNothing) {
  for (const std::string& name : recording_names()) {
    const Recording r = load_recording(name);
    const std::string whole = run(r, 0);
    for (std::size_t piece : {1, 7, 1000}) {
      if (piece == 1 && total_bytes(r) > 256 * 1024) continue;  // byte by byte: small ones only
      EXPECT_EQ(run(r, piece), whole) << name << " in pieces of " << piece;
    }
  }
}

}  // namespace
}  // namespace wardgate::dicom::testing
