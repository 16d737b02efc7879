#pragma once
// HL7 v2 parser for the content of one MLLP frame: one message, or a batch (FHS/BHS ... BTS/FTS,
// HL7 v2.5.1 section 2.10.3) split into its messages. Separators come from each MSH (MSH-1,
// MSH-2), never assumed; segments end with \r (\n and \r\n tolerated, noted once per message).
// One pass over the frame: segments are cut once, fields are string_views into the frame, and
// only the fields of Message are decoded (escapes, charset); everything else is counted and
// skipped. The Message handed to the sink is reused from message to message so that its strings
// keep their capacity: steady traffic allocates nothing.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hl7/charset.h"
#include "hl7/model.h"

namespace wardgate::hl7 {

class MessageSink {
 public:
  virtual ~MessageSink() = default;
  virtual void on_message(const Message& message) = 0;
};

// The delimiters of one message (MSH-1, MSH-2); kNoSeparator where MSH-2 has none.
inline constexpr int kNoSeparator = -1;
struct Separators {
  int field = kNoSeparator;
  int component = kNoSeparator;
  int repetition = kNoSeparator;
  int escape = kNoSeparator;
  int subcomponent = kNoSeparator;
};

class MessageParser {
 public:
  // `default_charset`: used when MSH-18 is empty (or unknown); an MSH-18 name.
  explicit MessageParser(std::string_view default_charset);

  // Reports each message of `frame` as soon as it is parsed (memory stays bounded by one
  // message, whatever the number of messages or segments). Returns the first problem that made
  // (part of) the frame unusable; empty if none. A frame in UTF-16 or UTF-32 (MSH-18
  // "UNICODE UTF-16"/"UNICODE UTF-32": delimiters too are two or four bytes) is recognised by its
  // byte order mark or its NUL bytes and read converted to UTF-8 (at most 6 bytes of text per
  // byte of the frame); Message::header and the raw_ fields are then that UTF-8 text.
  std::string parse(std::string_view frame, MessageSink& sink);

 private:
  // A message, segment by segment: its MSH (false, and `error` set, if unusable), each further
  // segment, its end.
  bool begin_message(std::string_view msh, bool in_batch, std::string& error);
  void message_segment(std::string_view segment);
  void end_message(std::size_t size, bool line_feed, MessageSink& sink);
  void parse_pid(std::string_view segment);
  const Charset* resolve(std::string_view name);

  // Reads `frame` once parse() has made it single-byte readable (UTF-16/UTF-32 to UTF-8).
  std::string parse_text(std::string_view frame, MessageSink& sink);

  Charset default_charset_;
  bool has_default_;  // the device has a default_charset: unknown names fall back to it
  Charset utf8_;      // the fallback for unknown names without a default
  Charset ascii_;
  // A UTF-16 or UTF-32 frame: converted to UTF-8 in wide_text_ and read as wide_charset_.
  WideEncoding wide_ = WideEncoding::kNone;
  Charset wide_charset_;
  std::string wide_text_;
  TextConverter converter_;
  Message message_;           // reused; see above
  Acknowledgment spare_ack_;  // message_.ack's strings while no MSA is reported
  std::vector<std::string_view> fields_;
  std::vector<std::string_view> parts_;  // components of one field
  std::string unescaped_;
  // The last MSH-18 resolved (the same value comes again and again on a connection).
  std::string resolved_name_;
  std::optional<Charset> resolved_;
  bool resolved_valid_ = false;
  // The message being parsed.
  Separators sep_;
  const Charset* charset_ = &default_charset_;
  bool clean_ = true;  // no undecodable bytes so far
  bool seen_pid_ = false;
  std::size_t identifiers_ = 0;  // PID-3 repetitions in message_.patient_identifiers
};

}  // namespace wardgate::hl7
