#pragma once
// HL7 v2 parser for the content of one MLLP frame: one message, or a batch (FHS/BHS ... BTS/FTS,
// HL7 v2.5.1 section 2.10.3) split into its messages. Separators come from each MSH (MSH-1,
// MSH-2), never assumed; segments end with \r (\n and \r\n tolerated, noted once per message).
// Only the fields of Message are decoded; everything else is counted and skipped.
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

class MessageParser {
 public:
  // `default_charset`: used when MSH-18 is empty (or unknown); an MSH-18 name.
  explicit MessageParser(std::string_view default_charset);

  // Reports each message of `frame` as soon as it is parsed (memory stays bounded by one
  // message, whatever the number of messages or segments). Returns the first problem that made
  // (part of) the frame unusable; empty if none.
  std::string parse(std::string_view frame, MessageSink& sink);

 private:
  void parse_message(std::string_view text, bool in_batch, MessageSink& sink, std::string& error);

  Charset default_charset_;
  TextConverter converter_;
};

}  // namespace wardgate::hl7
