#include "dicom/command_decoder.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <vector>

#include "dicom/dcmtk_support.h"
#include "dicom/element_scanner.h"
#include "dicom/spec.h"

namespace wardgate::dicom {
namespace {

Failure undecodable(std::string detail) {
  return Failure{Violation::kCommandUndecodable, std::move(detail)};
}

}  // namespace

std::optional<Failure> decode_command(std::span<const std::byte> bytes, std::uint8_t context_id,
                                      Command& out) {
  // Validate the element structure first, so DCMTK only ever reads whole, flat elements. Elements
  // outside group 0000 have no place in a command set (PS3.7 6.3.1); they are left out.
  ElementScanner scanner(bytes, ElementEncoding::kImplicitLittle);
  TopLevelElement element;
  bool foreign = false;
  std::vector<std::uint32_t> tags;
  while (scanner.next(element)) {
    tags.push_back(element.tag);
    if ((element.tag >> 16) != 0x0000) {
      foreign = true;
    } else if (element.undefined_length) {
      return undecodable("command element with undefined length at byte " +
                         std::to_string(element.offset));
    }
  }
  if (scanner.stop() != ElementScanner::Stop::kEnd) {
    return undecodable(std::string(scanner.stop() == ElementScanner::Stop::kTruncated
                                       ? "command set ends inside the element at byte "
                                       : "malformed command element at byte ") +
                       std::to_string(scanner.offset()));
  }
  // Two values for one element: the receiver may act on the other one than wardgate checked.
  std::optional<Failure> irregular;
  std::sort(tags.begin(), tags.end());
  if (const auto twice = std::adjacent_find(tags.begin(), tags.end()); twice != tags.end()) {
    std::array<char, 16> tag{};
    std::snprintf(tag.data(), tag.size(), "(%04X,%04X)", *twice >> 16, *twice & 0xFFFF);
    irregular = Failure{Violation::kDuplicateCommandElement,
                        std::string("command element ") + tag.data() + " appears twice"};
  }
  std::vector<std::byte> filtered;
  std::span<const std::byte> input = bytes;
  if (foreign) {
    ElementScanner again(bytes, ElementEncoding::kImplicitLittle);
    while (again.next(element)) {
      if ((element.tag >> 16) != 0x0000) continue;
      const auto* first = bytes.data() + element.offset;
      filtered.insert(filtered.end(), first, first + element.length);
    }
    input = filtered;
  }

  DcmDataset data;
  if (auto error = dcmtk::read(input, EXS_LittleEndianImplicit, data)) {
    return undecodable("DCMTK could not read the command set: " + *error);
  }
  const auto field = dcmtk::u16_value(data, spec::kCommandFieldTag);
  if (!field) return undecodable("command set without a Command Field (0000,0100)");

  out = Command{};
  out.context_id = context_id;
  out.command_field = *field;
  out.message_id = dcmtk::u16_value(data, spec::kMessageId);
  out.message_id_responded_to = dcmtk::u16_value(data, spec::kMessageIdBeingRespondedTo);
  out.status = dcmtk::u16_value(data, spec::kStatus);
  out.priority = dcmtk::u16_value(data, spec::kPriority);
  const auto data_set_type = dcmtk::u16_value(data, spec::kCommandDataSetType);
  out.has_data_set = data_set_type.has_value() && *data_set_type != spec::kNoDataSet;
  out.affected_sop_class_uid = dcmtk::string_value(data, spec::kAffectedSopClassUid);
  out.affected_sop_instance_uid = dcmtk::string_value(data, spec::kAffectedSopInstanceUid);
  out.requested_sop_class_uid = dcmtk::string_value(data, spec::kRequestedSopClassUid);
  out.requested_sop_instance_uid = dcmtk::string_value(data, spec::kRequestedSopInstanceUid);
  out.move_destination = dcmtk::string_value(data, spec::kMoveDestination);
  out.remaining_suboperations = dcmtk::u16_value(data, spec::kNumberOfRemainingSuboperations);
  out.completed_suboperations = dcmtk::u16_value(data, spec::kNumberOfCompletedSuboperations);
  out.failed_suboperations = dcmtk::u16_value(data, spec::kNumberOfFailedSuboperations);
  out.warning_suboperations = dcmtk::u16_value(data, spec::kNumberOfWarningSuboperations);
  out.action_type_id = dcmtk::u16_value(data, spec::kActionTypeId);
  out.event_type_id = dcmtk::u16_value(data, spec::kEventTypeId);
  out.error_comment = dcmtk::string_value(data, spec::kErrorComment);
  out.move_originator_ae = dcmtk::string_value(data, spec::kMoveOriginatorAeTitle);
  out.move_originator_message_id = dcmtk::u16_value(data, spec::kMoveOriginatorMessageId);
  // Every request but C-CANCEL-RQ carries a Message ID (PS3.7 9.3, 10.3).
  if (!irregular && !out.message_id && !spec::is_response(out.command_field) &&
      out.command_field != spec::kCCancelRq) {
    irregular = Failure{Violation::kMissingMessageId, "request without a Message ID (0000,0110)"};
  }
  return irregular;
}

}  // namespace wardgate::dicom
