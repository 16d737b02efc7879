// The decoder on real associations recorded between DCMTK tools (tests/data/dicom/*.rec, made by
// tests/tools/record-dicom-streams): what it reports for each, and that any chunking (whole,
// split at every offset, byte by byte, random), zero-copy skipping and garbage afterwards change
// nothing before the garbage.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <sstream>

#include "dicom_test_support.h"

namespace wardgate::dicom::testing {
namespace {

const std::string root_uid = "2.25.329800735698586629295641978511506172918";
const std::string ct_ids = "sop=1.2.840.10008.5.1.4.1.1.2 inst=" + root_uid +
                           ".3.1 study=" + root_uid + ".1 series=" + root_uid +
                           ".2 pid=PID0001 acc=ACC0001 mod=CT";

std::vector<std::string> lines(const std::string& log) {
  std::vector<std::string> out;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::size_t count(const std::string& log, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

// Fed whole: no violation, and the log for the tests below.
std::string clean_log(const std::string& name) {
  const Recording r = load_recording(name);
  EXPECT_FALSE(r.empty()) << name;
  const RunResult result = feed_whole(r);
  EXPECT_EQ(result.violations, 0) << name << "\n" << result.log;
  EXPECT_TRUE(result.in_sync) << name;
  return result.log;
}

TEST(DicomRecordings, AllPresentAndSmall) {
  const auto names = recording_names();
  EXPECT_GE(names.size(), 15U);
  std::size_t total = 0;
  for (const std::string& name : names) {
    const Recording r = load_recording(name);
    ASSERT_FALSE(r.empty()) << name;
    total += total_bytes(r);
  }
  EXPECT_LT(total, 2U * 1024 * 1024);
}

TEST(DicomRecordings, Echo) {
  const auto l = lines(clean_log("echo.rec"));
  ASSERT_EQ(l.size(), 6U);
  EXPECT_NE(l[0].find("RQ v=1 called=[ANY-SCP] calling=[ECHOSCU] app=1.2.840.10008.3.1.1.1 "
                      "pc1{1.2.840.10008.1.1 r=0 1.2.840.10008.1.2} max=16384"),
            std::string::npos)
      << l[0];
  EXPECT_NE(l[1].find("AC v=1"), std::string::npos);
  EXPECT_NE(l[1].find("pc1{ r=0 1.2.840.10008.1.2}"), std::string::npos);
  EXPECT_NE(l[2].find("CMD client ctx=1 field=0030 id=1 "), std::string::npos) << l[2];
  EXPECT_NE(l[3].find("CMD server ctx=1 field=8030 id=- re=1 status=0000 "), std::string::npos);
  EXPECT_EQ(l[4], "RELEASE-RQ client");
  EXPECT_EQ(l[5], "RELEASE-RP server");
}

TEST(DicomRecordings, EchoAbort) {
  const auto l = lines(clean_log("echo-abort.rec"));
  ASSERT_FALSE(l.empty());
  EXPECT_EQ(l.back(), "ABORT client source=0 reason=0");
}

TEST(DicomRecordings, Rejected) {
  auto l = lines(clean_log("reject-refused.rec"));
  ASSERT_EQ(l.size(), 2U);
  EXPECT_EQ(l[1], "RJ result=1 source=1 reason=1");  // permanent, service user, no reason
  l = lines(clean_log("reject-called-ae.rec"));
  ASSERT_EQ(l.size(), 2U);
  EXPECT_EQ(l[1], "RJ result=1 source=1 reason=7");  // called AE title not recognized
}

TEST(DicomRecordings, StoreTwoImagesExplicitLittle) {
  const std::string log = clean_log("store-explicit.rec");
  EXPECT_EQ(count(log, "CMD client ctx=1 field=0001 "), 2U);
  EXPECT_EQ(count(log, "IDS client ctx=1 " + ct_ids + " level= keys= note=[]"), 1U) << log;
  EXPECT_EQ(count(log, "inst=" + root_uid + ".3.2 "), 1U);
  EXPECT_EQ(count(log, "END client ctx=1 bytes=8586"), 2U);
  EXPECT_EQ(count(log, "field=8001 id=- re=1 status=0000"), 1U);
  EXPECT_EQ(count(log, "field=8001 id=- re=2 status=0000"), 1U);
  // Order: each data set is announced by its command and answered after it ended.
  EXPECT_LT(log.find("field=0001 id=1"), log.find("IDS client"));
  EXPECT_LT(log.find("END client"), log.find("field=8001"));
}

TEST(DicomRecordings, StoreInEveryPeekableTransferSyntax) {
  for (const char* name : {"store-implicit.rec", "store-big-endian.rec", "store-rle.rec",
                           "store-small-pdu.rec", "store-all-contexts.rec"}) {
    const std::string log = clean_log(name);
    EXPECT_EQ(count(log, ct_ids + " level= keys= note=[]"), 1U) << name << "\n" << log;
    EXPECT_EQ(count(log, "END client"), 1U) << name;
  }
  EXPECT_NE(clean_log("store-big-endian.rec").find("pc1{ r=0 1.2.840.10008.1.2.2}"),
            std::string::npos);
  // RLE: encapsulated pixel data after the identifiers, never parsed.
  EXPECT_NE(clean_log("store-rle.rec").find("pc1{ r=0 1.2.840.10008.1.2.5}"), std::string::npos);
  EXPECT_NE(clean_log("store-small-pdu.rec").find("max=4096"), std::string::npos);
  EXPECT_GE(count(clean_log("store-all-contexts.rec"), " r=0 "), 200U);
}

TEST(DicomRecordings, StoreDeflatedIsCountedNotPeeked) {
  const std::string log = clean_log("store-deflated.rec");
  EXPECT_NE(log.find("note=[deflated transfer syntax 1.2.840.10008.1.2.1.99: data set not peeked]"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("END client ctx=1 bytes=8504"), std::string::npos);
}

TEST(DicomRecordings, UserIdentityKeepsNoSecret) {
  const Recording r = load_recording("store-user-identity.rec");
  std::string raw;
  for (const Chunk& c : r)
    raw.append(reinterpret_cast<const char*>(c.bytes.data()), c.bytes.size());
  ASSERT_NE(raw.find("s3cret-PASSWORD-never-logged"), std::string::npos);  // it is on the wire
  const std::string log = clean_log("store-user-identity.rec");
  EXPECT_NE(log.find("identity=2/0"), std::string::npos) << log;  // user name and password
  EXPECT_EQ(log.find("s3cret"), std::string::npos);
  EXPECT_EQ(log.find("alice"), std::string::npos);
}

TEST(DicomRecordings, ServerAbortsDuringStore) {
  const auto l = lines(clean_log("store-abort-during.rec"));
  ASSERT_FALSE(l.empty());
  EXPECT_EQ(l.back(), "ABORT server source=0 reason=0");
}

TEST(DicomRecordings, FindStudy) {
  const std::string log = clean_log("find.rec");
  EXPECT_NE(log.find("IDS client ctx=1 sop= inst= study= series= pid= acc= mod= level=STUDY "
                     "keys=StudyDate,AccessionNumber,QueryRetrieveLevel,PatientName,PatientID,"
                     "StudyInstanceUID, note=[]"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("CMD server ctx=1 field=8020 id=- re=1 status=FF00"), std::string::npos);
  EXPECT_NE(log.find("pid=PID0001 acc=ACC0001 mod= level=STUDY"), std::string::npos);
  EXPECT_NE(log.find("field=8020 id=- re=1 status=0000 prio=- data=0"), std::string::npos);
}

TEST(DicomRecordings, FindCancelled) {
  const std::string log = clean_log("find-cancel.rec");
  EXPECT_NE(log.find("CMD client ctx=1 field=0FFF id=- re=1"), std::string::npos) << log;
  EXPECT_NE(log.find("level=IMAGE keys=SOPInstanceUID,QueryRetrieveLevel,StudyInstanceUID,"
                     "SeriesInstanceUID,"),
            std::string::npos);
}

TEST(DicomRecordings, GetWithStoreSubOperationsOnTheSameAssociation) {
  const std::string log = clean_log("get.rec");
  EXPECT_GE(count(log, " role{"), 100U);  // getscu offers the SCP role for storage classes
  EXPECT_NE(log.find("CMD client ctx=1 field=0010 id=1"), std::string::npos);
  EXPECT_EQ(count(log, "CMD server ctx=33 field=0001 "), 2U);  // C-STORE-RQ from the SCP
  EXPECT_EQ(count(log, "CMD client ctx=33 field=8001 "), 2U);  // answered by the SCU
  EXPECT_EQ(count(log, "IDS server ctx=33 " + ct_ids), 1U);
  EXPECT_NE(
      log.find("field=8010 id=- re=1 status=0000 prio=- data=0 asc=1.2.840.10008.5.1.4.1.2.2.3 "
               "asi= rsc= rsi= dest=[] sub=-/2/0/0"),
      std::string::npos);
}

TEST(DicomRecordings, MoveAndItsSubAssociation) {
  const std::string log = clean_log("move.rec");
  EXPECT_NE(log.find("CMD client ctx=3 field=0021 id=1 re=- status=- prio=0 data=1 "
                     "asc=1.2.840.10008.5.1.4.1.2.2.2 asi= rsc= rsi= dest=[MOVESCU]"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("sub=1/1/0/0"), std::string::npos);
  const std::string sub = clean_log("move-suboperations.rec");
  EXPECT_EQ(count(sub, "CMD client ctx=31 field=0001 "), 2U) << sub;
  EXPECT_EQ(count(sub, "END client ctx=31 bytes=8586"), 2U);
}

TEST(DicomRecordings, MoveSubOperationStoresNameTheRetrieveThatCausedThem) {
  // dcmqrscp's C-STORE-RQs on the sub-association carry the C-MOVE's requester and Message ID
  // (PS3.7 9.1.1.1): MOVESCU's C-MOVE-RQ was Message ID 1 (move.rec).
  const std::string sub = clean_log("move-suboperations.rec");
  EXPECT_EQ(count(sub, "field=0001 "), 2U) << sub;
  EXPECT_EQ(count(sub, "orig=[MOVESCU]/1\n"), 2U) << sub;
  // Nothing else carries them: not the responses, not the C-MOVE itself.
  EXPECT_EQ(count(sub, "orig=[]/-\n"), count(sub, "CMD ") - 2) << sub;
  EXPECT_EQ(count(clean_log("move.rec"), "orig=[MOVESCU]"), 0U);
}

// ---- grinding ----------------------------------------------------------------------------

class DicomGrind : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    recording_ = load_recording(GetParam());
    ASSERT_FALSE(recording_.empty());
    reference_ = feed_whole(recording_);
    ASSERT_EQ(reference_.violations, 0) << reference_.log;
  }
  Recording recording_;
  RunResult reference_;
};

TEST_P(DicomGrind, ByteByByte) {
  const RunResult r = feed_pieces(recording_, [] { return std::size_t{1}; });
  EXPECT_EQ(r.log, reference_.log);
}

TEST_P(DicomGrind, RandomChunks) {
  for (const unsigned seed : {1U, 2U, 3U, 4U, 5U}) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<std::size_t> small(1, 7);
    std::uniform_int_distribution<std::size_t> large(1, 5000);
    const bool tiny = seed % 2 == 0;
    const RunResult r = feed_pieces(recording_, [&] { return tiny ? small(rng) : large(rng); });
    EXPECT_EQ(r.log, reference_.log) << "seed " << seed;
  }
}

TEST_P(DicomGrind, SplitAtEveryOffset) {
  // Every offset of small recordings; of larger ones the first 3000 bytes (the association
  // and the first messages) and then every 61st.
  const std::size_t n = total_bytes(recording_);
  for (std::size_t at = 1; at < n; at += (n <= 4096 || at < 3000) ? 1 : 61) {
    const RunResult r = feed_split_at(recording_, at);
    ASSERT_EQ(r.log, reference_.log) << "split at " << at;
  }
}

TEST_P(DicomGrind, GarbageAppendedGivesOneViolationAtTheEnd) {
  for (const Side side : {Side::kClient, Side::kServer}) {
    for (const std::string_view garbage : {std::string_view("\xde\xad\xbe\xef\x00\x01\x02\x03", 8),
                                           std::string_view("GET / HTTP/1.1\r\n\r\n"),
                                           std::string_view("\x04\x00\xff\xff\xff\xff\x00", 7)}) {
      Recording r = recording_;
      r.push_back(Chunk{side, bytes_of(garbage)});
      const RunResult result = feed_whole(r);
      EXPECT_EQ(result.violations, 1) << result.log;
      EXPECT_FALSE(result.in_sync);
      ASSERT_EQ(result.log.compare(0, reference_.log.size(), reference_.log), 0) << result.log;
      const auto tail = lines(result.log.substr(reference_.log.size()));
      ASSERT_EQ(tail.size(), 1U);
      EXPECT_EQ(tail[0].rfind("VIOLATION ", 0), 0U) << tail[0];
      // Byte by byte, the same.
      EXPECT_EQ(feed_pieces(r, [] { return std::size_t{1}; }).log, result.log);
    }
  }
}

TEST_P(DicomGrind, SkippingWhatIsSkippableChangesNothing) {
  for (const std::uint32_t peek :
       {std::uint32_t{64 * 1024}, std::uint32_t{512}, std::uint32_t{64}}) {
    DecoderLimits limits;
    limits.data_set_peek = peek;
    const RunResult fed = feed_whole(recording_, limits);
    for (const unsigned seed : {7U, 8U, 9U}) {
      std::mt19937 rng(seed);
      const RunResult skipped = feed_skipping(recording_, rng, limits);
      EXPECT_EQ(skipped.log, fed.log) << "peek " << peek << " seed " << seed;
      // Images (8 KiB data sets) leave bytes to skip; query identifiers are too small for that.
      const bool images = GetParam().find("store") == 0 || GetParam().find("get") == 0 ||
                          GetParam().find("move-sub") == 0;
      if (peek <= 512 && images) {
        EXPECT_GT(skipped.skipped, 0U) << "peek " << peek;
      }
    }
  }
}

TEST_P(DicomGrind, MemoryStaysSmall) {
  const RunResult r = feed_pieces(recording_, [] { return std::size_t{4096}; });
  // Real traffic: the largest buffered thing is an A-ASSOCIATE-RQ or a peek prefix (< 64 KiB).
  EXPECT_LE(r.max_buffered, 64U * 1024);
}

std::vector<std::string> all_recordings() { return recording_names(); }

INSTANTIATE_TEST_SUITE_P(DicomRecorded, DicomGrind, ::testing::ValuesIn(all_recordings()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param.substr(0, param.param.size() - 4);
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

// ---- peek prefix truncation ----------------------------------------------------------------

TEST(DicomRecordings, TruncatedPeekKeepsTheAttributesBeforeTheCut) {
  const Recording r = load_recording("store-explicit.rec");
  const auto field = [](const std::string& log, const std::string& key) {
    const std::size_t at = log.find("IDS client");
    const std::size_t k = log.find(" " + key + "=", at);
    const std::size_t end = log.find(' ', k + 1);
    return log.substr(k + key.size() + 2, end - k - key.size() - 2);
  };
  const std::string full = feed_whole(r).log;
  bool saw_partial = false;
  for (std::uint32_t peek = 8; peek <= 600; peek += 8) {
    DecoderLimits limits;
    limits.data_set_peek = peek;
    const RunResult result = feed_whole(r, limits);
    ASSERT_EQ(result.violations, 0);
    std::size_t present = 0;
    for (const char* key : {"sop", "inst", "study", "series", "pid", "acc", "mod"}) {
      const std::string value = field(result.log, key);
      // Each attribute is either whole or absent, never cut.
      EXPECT_TRUE(value.empty() || value == field(full, key)) << peek << " " << key;
      present += value.empty() ? 0 : 1;
    }
    if (present > 0 && present < 7) {
      saw_partial = true;
      EXPECT_NE(result.log.find("note=[peek prefix of " + std::to_string(peek) + " bytes ends"),
                std::string::npos)
          << result.log;
    }
    EXPECT_NE(result.log.find("END client ctx=1 bytes=8586"), std::string::npos);
  }
  EXPECT_TRUE(saw_partial);
}

}  // namespace
}  // namespace wardgate::dicom::testing
