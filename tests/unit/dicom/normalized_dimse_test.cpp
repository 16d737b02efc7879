// DIMSE-N messages through the decoder: an MPPS N-CREATE and N-SET, a Storage Commitment
// N-ACTION, and the N-EVENT-REPORT the SCP sends back on the same association (a request from
// the server side, answered by the client). Checks every identifying field of each command set and
// that feeding byte by byte reports exactly what feeding whole PDUs reports.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "normalized_streams.h"

namespace wardgate::dicom::testing {

namespace {

// The CMD and END lines of a log, in order.
std::vector<std::string> commands_and_ends(const std::string& log) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("CMD ") || line.starts_with("END ")) lines.push_back(line);
  }
  return lines;
}

std::string end_line(std::string_view side, int context, std::size_t bytes) {
  return "END " + std::string(side) + " ctx=" + std::to_string(context) +
         " bytes=" + std::to_string(bytes);
}

TEST(DicomNormalizedDimse, MppsAndStorageCommitmentIncludingEventReportFromTheServer) {
  const Recording exchange = normalized_dimse_exchange();
  const RunResult whole = feed_whole(exchange);
  EXPECT_EQ(whole.violations, 0) << whole.log;
  EXPECT_TRUE(whole.in_sync);

  const std::string mpps(kMpps), mi(kMppsInstance), sc(kCommitment), si(kCommitmentInstance);
  const std::string tail = " dest=[] sub=-/-/-/-";
  const std::vector<std::string> expected = {
      "CMD client ctx=1 field=0140 id=1 re=- status=- prio=- data=1 asc=" + mpps + " asi=" + mi +
          " rsc= rsi=" + tail + " action=- event=- err=[] orig=[]/-",
      end_line("client", 1, mpps_create_data_set().size()),
      "CMD server ctx=1 field=8140 id=- re=1 status=0000 prio=- data=0 asc=" + mpps + " asi=" + mi +
          " rsc= rsi=" + tail + " action=- event=- err=[] orig=[]/-",
      "CMD client ctx=1 field=0120 id=2 re=- status=- prio=- data=1 asc= asi= rsc=" + mpps +
          " rsi=" + mi + tail + " action=- event=- err=[] orig=[]/-",
      end_line("client", 1, mpps_set_data_set().size()),
      "CMD server ctx=1 field=8120 id=- re=2 status=0000 prio=- data=0 asc=" + mpps + " asi=" + mi +
          " rsc= rsi=" + tail + " action=- event=- err=[] orig=[]/-",
      "CMD client ctx=3 field=0130 id=3 re=- status=- prio=- data=1 asc= asi= rsc=" + sc +
          " rsi=" + si + tail + " action=1 event=- err=[] orig=[]/-",
      end_line("client", 3, commitment_action_data_set().size()),
      "CMD server ctx=3 field=8130 id=- re=3 status=0000 prio=- data=0 asc=" + sc + " asi=" + si +
          " rsc= rsi=" + tail + " action=1 event=- err=[] orig=[]/-",
      "CMD server ctx=3 field=0100 id=1 re=- status=- prio=- data=1 asc=" + sc + " asi=" + si +
          " rsc= rsi=" + tail + " action=- event=1 err=[] orig=[]/-",
      end_line("server", 3, commitment_event_data_set().size()),
      "CMD client ctx=3 field=8100 id=- re=1 status=0000 prio=- data=0 asc=" + sc + " asi=" + si +
          " rsc= rsi=" + tail + " action=- event=1 err=[] orig=[]/-",
  };
  EXPECT_EQ(commands_and_ends(whole.log), expected) << whole.log;
  // The N-CREATE data set is peeked like any other (Implicit VR LE on context 1).
  EXPECT_NE(whole.log.find("IDS client ctx=1 sop= inst= study= series= pid=PAT-7 acc= mod=CT "),
            std::string::npos)
      << whole.log;
  // The UIDs are reported without their NUL padding (kMpps and kMppsInstance have odd lengths).
  EXPECT_EQ(whole.log.find(std::string(1, '\0')), std::string::npos);
  EXPECT_NE(whole.log.find("RELEASE-RQ client\nRELEASE-RP server\n"), std::string::npos)
      << whole.log;

  const RunResult bytewise = feed_pieces(exchange, [] { return std::size_t{1}; });
  EXPECT_EQ(bytewise.log, whole.log);
  EXPECT_EQ(bytewise.violations, 0);
  EXPECT_TRUE(bytewise.in_sync);
}

TEST(DicomNormalizedDimse, EveryPduSplitIdentically) {
  const Recording exchange = normalized_dimse_exchange();
  const RunResult whole = feed_whole(exchange);
  const std::size_t total = total_bytes(exchange);
  for (std::size_t at = 1; at < total; ++at) {
    const RunResult split = feed_split_at(exchange, at);
    ASSERT_EQ(split.log, whole.log) << "split at " << at;
  }
}

}  // namespace
}  // namespace wardgate::dicom::testing
