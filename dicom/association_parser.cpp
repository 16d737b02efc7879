#include "dicom/association_parser.h"

#include <array>
#include <bitset>
#include <cstdio>
#include <string>

#include "dicom/spec.h"
#include "dicom/wire.h"

namespace wardgate::dicom {
namespace {

struct Item {
  std::uint8_t type = 0;
  std::size_t offset = 0;  // of the item header within the PDU body
  std::span<const std::byte> value;
};

std::string hex(std::uint8_t v) {
  std::array<char, 8> text{};
  std::snprintf(text.data(), text.size(), "0x%02X", v);
  return text.data();
}

Failure malformed(std::string detail) {
  return Failure{Violation::kMalformedPdu, std::move(detail)};
}

// Text fields: UIDs may be padded with a NUL, AE titles and names with spaces (PS3.8 9.3.2,
// PS3.5 9.1); neither padding is part of the value.
std::string text(std::span<const std::byte> bytes) {
  std::size_t n = bytes.size();
  while (n > 0 && (bytes[n - 1] == std::byte{' '} || bytes[n - 1] == std::byte{0})) --n;
  return {reinterpret_cast<const char*>(bytes.data()), n};
}

// Walks a run of items (PS3.8 9.3.2: type, reserved, 2-byte length, value), counting each one
// against the limit shared by the whole PDU.
class ItemWalker {
 public:
  ItemWalker(std::span<const std::byte> body, std::size_t begin, std::size_t end,
             std::size_t& count, std::size_t max_items)
      : body_(body), pos_(begin), end_(end), count_(count), max_items_(max_items) {}

  // False at the end of the run, or with `failure` set.
  bool next(Item& out, std::optional<Failure>& failure) {
    if (pos_ == end_) return false;
    if (end_ - pos_ < spec::kItemHeaderLength) {
      failure = malformed("item header at byte " + std::to_string(spec::kPduHeaderLength + pos_) +
                          " overruns its PDU");
      return false;
    }
    const std::byte* p = body_.data() + pos_;
    const std::uint8_t type = wire::u8(p);
    const std::uint16_t length = wire::be16(p + 2);
    if (length > end_ - pos_ - spec::kItemHeaderLength) {
      failure = malformed("item " + hex(type) + " at byte " +
                          std::to_string(spec::kPduHeaderLength + pos_) + " claims " +
                          std::to_string(length) + " bytes, overrunning its enclosing " +
                          (end_ == body_.size() ? "PDU" : "item"));
      return false;
    }
    if (++count_ > max_items_) {
      failure = Failure{Violation::kTooManyItems,
                        "more than " + std::to_string(max_items_) + " items in one PDU"};
      return false;
    }
    out.type = type;
    out.offset = pos_;
    out.value = body_.subspan(pos_ + spec::kItemHeaderLength, length);
    pos_ += spec::kItemHeaderLength + length;
    return true;
  }

  // The range of an item's value, to walk its sub-items.
  std::size_t begin_of(const Item& item, std::size_t skip) const {
    return item.offset + spec::kItemHeaderLength + skip;
  }
  std::size_t end_of(const Item& item) const {
    return item.offset + spec::kItemHeaderLength + item.value.size();
  }

 private:
  std::span<const std::byte> body_;
  std::size_t pos_;
  std::size_t end_;
  std::size_t& count_;
  std::size_t max_items_;
};

std::optional<Failure> parse_presentation_context(std::span<const std::byte> body,
                                                  const ItemWalker& outer, const Item& item,
                                                  bool accept, std::size_t& count,
                                                  const DecoderLimits& limits,
                                                  PresentationContext& pc) {
  if (item.value.size() < spec::kPresentationContextFixedLength) {
    return malformed("presentation context item of " + std::to_string(item.value.size()) +
                     " bytes, shorter than its fixed fields");
  }
  pc.id = wire::u8(item.value.data());
  if (accept) pc.result = wire::u8(item.value.data() + spec::kPresentationContextResultOffset);
  ItemWalker sub(body, outer.begin_of(item, spec::kPresentationContextFixedLength),
                 outer.end_of(item), count, limits.max_items);
  Item s;
  std::optional<Failure> failure;
  bool abstract_seen = false;
  while (sub.next(s, failure)) {
    if (s.type == spec::kAbstractSyntax && !accept) {
      if (abstract_seen) {
        return malformed("presentation context " + std::to_string(pc.id) +
                         " carries more than one abstract syntax");
      }
      abstract_seen = true;
      pc.abstract_syntax = text(s.value);
    } else if (s.type == spec::kTransferSyntax) {
      pc.transfer_syntaxes.push_back(text(s.value));
    }
  }
  return failure;
}

std::optional<Failure> parse_user_information(std::span<const std::byte> body,
                                              const ItemWalker& outer, const Item& item,
                                              bool accept, std::size_t& count,
                                              const DecoderLimits& limits, UserInformation& user) {
  ItemWalker sub(body, outer.begin_of(item, 0), outer.end_of(item), count, limits.max_items);
  Item s;
  std::optional<Failure> failure;
  while (sub.next(s, failure)) {
    const std::byte* v = s.value.data();
    const std::size_t n = s.value.size();
    switch (s.type) {
      case spec::kMaximumLength:
        if (n != spec::kMaximumLengthItemLength) {
          return malformed("maximum length item of " + std::to_string(n) + " bytes, not 4");
        }
        user.max_pdu_length = wire::be32(v);
        break;
      case spec::kImplementationClassUid:
        user.implementation_class_uid = text(s.value);
        break;
      case spec::kImplementationVersionName:
        user.implementation_version_name = text(s.value);
        break;
      case spec::kAsynchronousOperationsWindow:
        if (n != spec::kAsynchronousOperationsWindowItemLength) {
          return malformed("asynchronous operations window item of " + std::to_string(n) +
                           " bytes, not 4");
        }
        user.max_operations_invoked = wire::be16(v);
        user.max_operations_performed = wire::be16(v + 2);
        break;
      case spec::kRoleSelection: {  // PS3.7 D.3.3.4: UID length (2), UID, SCU role, SCP role
        const std::size_t uid_length = n >= 2 ? wire::be16(v) : n;
        if (n < 2 || n != 2 + uid_length + 2) {
          return malformed("SCP/SCU role selection item of " + std::to_string(n) +
                           " bytes is inconsistent with its UID length");
        }
        RoleSelection role;
        role.sop_class_uid = text(s.value.subspan(2, uid_length));
        role.scu_role = wire::u8(v + 2 + uid_length) != 0;
        role.scp_role = wire::u8(v + 3 + uid_length) != 0;
        user.role_selections.push_back(std::move(role));
        break;
      }
      case spec::kSopClassExtendedNegotiation: {  // PS3.7 D.3.3.5: UID length (2), UID, info
        const std::size_t uid_length = n >= 2 ? wire::be16(v) : n;
        if (n < 2 || uid_length > n - 2) {
          return malformed("SOP class extended negotiation item of " + std::to_string(n) +
                           " bytes is inconsistent with its UID length");
        }
        user.extended_negotiation_sop_classes.push_back(text(s.value.subspan(2, uid_length)));
        break;
      }
      case spec::kUserIdentityRq: {
        // PS3.7 D.3.3.7.1: type (1), positive response requested (1), primary field length (2),
        // primary field, secondary field length (2), secondary field. The fields are the
        // credential: their lengths are checked, their bytes never copied.
        if (accept) break;
        if (n < 4) return malformed("user identity item of " + std::to_string(n) + " bytes");
        const std::size_t primary = wire::be16(v + 2);
        std::size_t end = 4 + primary;
        if (end > n) return malformed("user identity primary field overruns its item");
        if (end < n) {
          if (n - end < 2) return malformed("user identity secondary field length truncated");
          end += 2 + std::size_t{wire::be16(v + end)};
          if (end > n) return malformed("user identity secondary field overruns its item");
        }
        user.user_identity_type = wire::u8(v);
        user.user_identity_response_requested = wire::u8(v + 1) != 0;
        break;
      }
      case spec::kUserIdentityAc: {  // PS3.7 D.3.3.7.2: response length (2), response
        if (!accept) break;
        if (n < 2 || std::size_t{wire::be16(v)} > n - 2) {
          return malformed("user identity server response overruns its item");
        }
        user.user_identity_server_response = true;
        break;
      }
      default:  // sub-items not understood are skipped, 0x57 among them (forward compatible)
        break;
    }
  }
  return failure;
}

}  // namespace

std::optional<Failure> parse_associate(std::span<const std::byte> body, bool accept,
                                       const DecoderLimits& limits, Associate& out) {
  const char* const pdu = accept ? "A-ASSOCIATE-AC" : "A-ASSOCIATE-RQ";
  if (body.size() < spec::kAssociateFixedLength) {
    return malformed(std::string(pdu) + " of " + std::to_string(body.size()) +
                     " bytes, shorter than its fixed fields");
  }
  out = Associate{};
  out.protocol_version = wire::be16(body.data() + spec::kProtocolVersionOffset);
  out.called_ae = text(body.subspan(spec::kCalledAeOffset, spec::kAeTitleLength));
  out.calling_ae = text(body.subspan(spec::kCallingAeOffset, spec::kAeTitleLength));

  std::size_t count = 0;
  std::bitset<256> ids;
  ItemWalker items(body, spec::kAssociateFixedLength, body.size(), count, limits.max_items);
  Item item;
  std::optional<Failure> failure;
  while (!failure && items.next(item, failure)) {
    switch (item.type) {
      case spec::kApplicationContext:
        out.application_context = text(item.value);
        break;
      case spec::kPresentationContextRq:
      case spec::kPresentationContextAc: {
        if ((item.type == spec::kPresentationContextAc) != accept) {
          return malformed(std::string(pdu) + " carries a presentation context item of type " +
                           hex(item.type));
        }
        if (out.contexts.size() == limits.max_presentation_contexts) {
          return Failure{Violation::kTooManyContexts,
                         std::string(pdu) + " carries more than " +
                             std::to_string(limits.max_presentation_contexts) +
                             " presentation contexts"};
        }
        PresentationContext pc;
        failure = parse_presentation_context(body, items, item, accept, count, limits, pc);
        if (failure) return failure;
        if (ids.test(pc.id)) {
          return malformed("presentation context id " + std::to_string(pc.id) +
                           " appears twice in the " + pdu);
        }
        ids.set(pc.id);
        out.contexts.push_back(std::move(pc));
        break;
      }
      case spec::kUserInformation:
        failure = parse_user_information(body, items, item, accept, count, limits, out.user);
        break;
      default:  // items of other types are skipped (forward compatible)
        break;
    }
  }
  return failure;
}

AssociateReject parse_reject(std::span<const std::byte> body) {
  AssociateReject rj;
  rj.result = wire::u8(body.data() + spec::kRejectResultOffset);
  rj.source = wire::u8(body.data() + spec::kRejectSourceOffset);
  rj.reason = wire::u8(body.data() + spec::kRejectReasonOffset);
  return rj;
}

Abort parse_abort(std::span<const std::byte> body) {
  Abort abort;
  abort.source = wire::u8(body.data() + spec::kAbortSourceOffset);
  abort.reason = wire::u8(body.data() + spec::kAbortReasonOffset);
  return abort;
}

}  // namespace wardgate::dicom
