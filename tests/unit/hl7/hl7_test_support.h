#pragma once
// Helpers for the HL7 decoder tests: MLLP framing of test messages and a callback log that
// records everything the decoder reports, so runs with different chunkings can be compared.
#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hl7/decoder.h"

namespace wardgate::hl7::testing {

inline std::vector<std::byte> bytes_of(std::string_view s) {
  std::vector<std::byte> out(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) out[i] = static_cast<std::byte>(s[i]);
  return out;
}

// <VT> content <FS><CR>
inline std::string mllp(std::string_view content) {
  return std::string("\x0b") + std::string(content) + "\x1c\r";
}

inline std::string describe(const Message& m) {
  std::string s = m.sending_application + "|" + m.sending_facility + "|" + m.receiving_application +
                  "|" + m.receiving_facility + "|" + m.date_time + "|" + m.security + "|" +
                  m.message_type + "^" + m.trigger_event + "^" + m.message_structure +
                  " id=" + m.control_id + " p=" + m.processing_id + " v=" + m.version +
                  " ack=" + m.accept_ack_type + "/" + m.application_ack_type +
                  " cs=" + m.character_set + "/" + m.charset_used + " pid=";
  for (const auto& pi : m.patient_identifiers) {
    s += pi.id + "@" + pi.assigning_authority + ":" + pi.identifier_type + ",";
  }
  s += " name=" + m.patient_name + " seg=" + std::to_string(m.segment_count) +
       " obx=" + std::to_string(m.obx_count) + " z=" + std::to_string(m.z_segment_count) +
       " size=" + std::to_string(m.size) + (m.in_batch ? " batch" : "");
  if (m.ack) {
    s += std::string(" msa=") + to_string(m.ack->code) + "/" + m.ack->code_text + "/" +
         m.ack->control_id + "/" + m.ack->text + " err=" + std::to_string(m.ack->error_segments) +
         ":" + m.ack->error_code + ":" + m.ack->error_text;
  }
  for (const auto& n : m.notes) s += " note=" + n;
  return s;
}

class LogCallbacks final : public DecoderCallbacks {
 public:
  std::string log;
  std::vector<Message> messages;
  int errors = 0;

  void on_message(Side s, const Message& m) override {
    log += side(s) + "MSG " + describe(m) + "\n";
    messages.push_back(m);
  }
  void on_commit_ack(Side s, bool positive) override {
    log += side(s) + (positive ? "COMMIT-ACK\n" : "COMMIT-NAK\n");
  }
  void on_framing_error(Side s, FramingError kind, std::string_view detail) override {
    ++errors;
    log += side(s) + "ERROR " + to_string(kind) + " " + std::string(detail) + "\n";
  }

 private:
  static std::string side(Side s) { return s == Side::kClient ? "c " : "s "; }
};

// Everything the decoder reports for `stream` fed from `side` in pieces cut at `cuts`
// (ascending offsets), then end_of_stream.
inline std::string run(std::string_view stream, const std::vector<std::size_t>& cuts,
                       DecoderLimits limits = {}, Side side = Side::kClient,
                       std::size_t* max_buffered = nullptr) {
  LogCallbacks cb;
  Decoder d(cb, std::move(limits));
  const std::vector<std::byte> bytes = bytes_of(stream);
  std::size_t pos = 0;
  std::size_t peak = 0;
  for (std::size_t i = 0; i <= cuts.size(); ++i) {
    const std::size_t end = i < cuts.size() ? cuts[i] : bytes.size();
    d.feed(side, std::span<const std::byte>(bytes).subspan(pos, end - pos));
    peak = std::max(peak, d.buffered_bytes());
    pos = end;
  }
  d.end_of_stream(side);
  if (max_buffered != nullptr) *max_buffered = peak;
  return cb.log;
}

inline std::string run_whole(std::string_view stream, DecoderLimits limits = {}) {
  return run(stream, {}, std::move(limits));
}

}  // namespace wardgate::hl7::testing

namespace wardgate::hl7::testing {

inline constexpr std::string_view kOru =
    "MSH|^~\\&|MONITOR|ICU^1.2.3^ISO|HIS|HOSP|20240101120000||ORU^R01^ORU_R01|MSG0001|P|2.5.1"
    "|||AL|NE||UNICODE UTF-8\r"
    "PID|1||12345^^^HOSP^MR~998877^^^NATION^NI||Doe^John^Q||19700101|M\r"
    "OBR|1|||8867-4^Heart rate^LN\r"
    "OBX|1|NM|8867-4^Heart rate^LN||72|/min|||||F\r"
    "OBX|2|NM|8310-5^Body temperature^LN||36.9|Cel|||||F\r"
    "ZXT|custom|data\r";
inline constexpr std::string_view kAdt =
    "MSH|^~\\&|ADT1|GOOD HEALTH HOSPITAL|GHH LAB|GHH|198808181126|SECURITY|ADT^A01^ADT_A01|"
    "MSG00001|P|2.5\r"
    "EVN|A01|198808181123\r"
    "PID|1||PATID1234^5^M11^ADT1^MR~123456789^^^USSSA^SS||EVERYMAN^ADAM^A^III||19610615|M\r"
    "PV1|1|I|2000^2012^01\r";
inline constexpr std::string_view kOrm =
    "MSH|^~\\&|RIS|RAD|CT01|RAD|20240102083000||ORM^O01|ORD7|P|2.3\r"
    "PID|||55^^^RIS||Smith^Anna\r"
    "ORC|NW|A1\r"
    "OBR|1|A1||CTHEAD^CT head\r";
inline constexpr std::string_view kAckAa =
    "MSH|^~\\&|HIS|HOSP|MONITOR|ICU|20240101120001||ACK^R01^ACK|A0001|P|2.5.1\r"
    "MSA|AA|MSG0001\r";
inline constexpr std::string_view kAckAe =
    "MSH|^~\\&|HIS|HOSP|MONITOR|ICU|20240101120001||ACK^R01^ACK|A0002|P|2.5.1\r"
    "MSA|AE|MSG0002|Error\r"
    "ERR||PID^1^3|204^Unknown key identifier^HL70357|E\r"
    "ERR||PID^1^5|101^Required field missing^HL70357|E\r";
inline constexpr std::string_view kBatch =
    "FHS|^~\\&|LAB|HOSP|||20240101\r"
    "BHS|^~\\&|LAB|HOSP|||20240101\r"
    "MSH|^~\\&|LAB|HOSP|HIS|HOSP|20240101||ORU^R01|B1|P|2.5\r"
    "PID|||1^^^H||A^B\r"
    "OBX|1|ST|X||one\r"
    "MSH|^~\\&|LAB|HOSP|HIS|HOSP|20240101||ORU^R01|B2|P|2.5\r"
    "PID|||2^^^H||C^D\r"
    "BTS|2\r"
    "FTS|1\r";
// 张三 in GB 18030, and a facility name (北京, B1 B1 BE A9) to check that MSH fields before
// MSH-18 are split with double-byte rules.
inline constexpr std::string_view kGb18030 =
    "MSH|^~\\&|HIS|\xb1\xb1\xbe\xa9|PACS|RAD|20240103||ADT^A08|GB1|P|2.4||||||GB 18030\r"
    "PID|||778^^^HIS||\xd5\xc5^\xc8\xfd\r";

// Recorded-style traffic: a patient monitor's vital signs (IHE PCD-01 ORU^R01, about 1 KiB,
// UTF-8, PID-3 with two identifiers) and the HIS's acknowledgement; an ADT^A08 from a Windows
// sender (\r\n terminators, ISO 8859-1, escapes); a lab result whose patient has no PID-3.
inline constexpr std::string_view kVitals =
    "MSH|^~\\&|PHILIPS_MX800^0001A1B2C3D4^EUI-64|ICU^1.2.276.0.7230010.3.1^ISO|HIS|GENERAL "
    "HOSPITAL|20240101120301||ORU^R01^ORU_R01|MON0000000017|P|2.5.1|||AL|NE||UNICODE UTF-8\r"
    "PID|1||04000017^^^HOSP^MR~700000017^^^NATION^NI||M\xc3\xbcller^Hans^Peter^^Dr.||19650312|M|||"
    "Hauptstr. 1^^Berlin^^10115^DE\r"
    "PV1|1|I|ICU^BED17^1^GENERAL HOSPITAL||||1234^Smith^John|||||||||||V0000017\r"
    "OBR|1|ORD0000017|FIL0000017|182777000^monitoring of patient^SCT|||20240101120301|||||||||||"
    "||||20240101120301|||F\r"
    "OBX|1|NM|8867-4^Heart rate^LN||77|/min^/min^UCUM|60-100|N|||F\r"
    "OBX|2|NM|8480-6^Systolic blood pressure^LN||117|mm[Hg]^mm[Hg]^UCUM|90-140|N|||F\r"
    "OBX|3|NM|8462-4^Diastolic blood pressure^LN||77|mm[Hg]^mm[Hg]^UCUM|60-90|N|||F\r"
    "OBX|4|NM|8478-0^Mean blood pressure^LN||87|mm[Hg]^mm[Hg]^UCUM|70-105|N|||F\r"
    "OBX|5|NM|59408-5^SpO2^LN||97|%^%^UCUM|94-100|N|||F\r"
    "OBX|6|NM|9279-1^Respiratory rate^LN||12|/min^/min^UCUM|12-20|N|||F\r"
    "OBX|7|NM|8310-5^Body temperature^LN||38|Cel^Cel^UCUM|36-38|N|||F\r"
    "OBX|8|NM|19889-5^End tidal CO2^LN||32|mm[Hg]^mm[Hg]^UCUM|35-45|L|||F\r";
inline constexpr std::string_view kVitalsAck =
    "MSH|^~\\&|HIS|GENERAL HOSPITAL|PHILIPS_MX800^0001A1B2C3D4^EUI-64|ICU^1.2.276.0.7230010.3.1^ISO"
    "|20240101120302||ACK^R01^ACK|HIS000451|P|2.5.1||||||UNICODE UTF-8\r"
    "MSA|AA|MON0000000017\r";
inline constexpr std::string_view kAdtWindows =
    "MSH|^~\\&|ADT\\T\\BILLING|ST. MARY\\S\\S|RIS|RAD|20240105093000||ADT^A08^ADT_A01|A8-99|P|2.4"
    "||||||8859/1\r\n"
    "EVN|A08|20240105093000\r\n"
    "PID|1||55501^^^STM^PI||Fran\xe7ois^Ren\xe9\\E\\Jr^^^^^L||19801224|M\r\n"
    "NTE|1||first line\\.br\\second line\r\n"
    "PV1|1|O|RAD^^^STM\r\n";
inline constexpr std::string_view kLabNoPid3 =
    "MSH|^~\\&|LIS|LAB|HIS|HOSP|20240106070000||ORU^R01|L77|P|2.3\r"
    "PID|1||||Unknown^Patient\r"
    "OBR|1||S1|GLU^Glucose\r"
    "OBX|1|NM|GLU^Glucose||5.4|mmol/L|3.9-5.8||||F\r"
    "ZLB|extra\r";

}  // namespace wardgate::hl7::testing
