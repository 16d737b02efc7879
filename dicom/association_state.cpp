#include "dicom/association_state.h"

#include <algorithm>

#include "dicom/spec.h"

namespace wardgate::dicom {
namespace {

const char* side_name(Side s) { return s == Side::kClient ? "requestor" : "acceptor"; }

Failure unexpected(std::uint8_t type, Side from, const char* why) {
  return Failure{Violation::kUnexpectedPdu,
                 std::string(spec::pdu_name(type)) + " from the " + side_name(from) + " " + why};
}

}  // namespace

std::optional<Failure> AssociationState::admit(Side from, std::uint8_t type) const {
  const std::size_t self = index(from);
  const std::size_t other = 1 - self;
  if (aborted_[self]) return unexpected(type, from, "after its own A-ABORT");
  if (responded_[self]) return unexpected(type, from, "after its own A-RELEASE-RP");
  switch (type) {
    case spec::kAssociateRq:
      if (from == Side::kServer) return unexpected(type, from, "(only the requestor sends it)");
      if (phase_ != Phase::kAwaitingRequest) {
        return unexpected(type, from,
                          "after an association was already requested on this connection");
      }
      return std::nullopt;
    case spec::kAssociateAc:
    case spec::kAssociateRj:
      if (from == Side::kClient) return unexpected(type, from, "(only the acceptor sends it)");
      if (phase_ != Phase::kAwaitingResponse) {
        return unexpected(type, from, "without a pending A-ASSOCIATE-RQ");
      }
      return std::nullopt;
    case spec::kPDataTf:
    case spec::kReleaseRq:
      if (phase_ == Phase::kAwaitingRequest || phase_ == Phase::kAwaitingResponse) {
        return unexpected(type, from, "before the association was accepted");
      }
      if (phase_ == Phase::kRejected) {
        return unexpected(type, from, "after the association was rejected");
      }
      if (released_[self]) return unexpected(type, from, "after its own A-RELEASE-RQ");
      return std::nullopt;
    case spec::kReleaseRp:
      if (phase_ != Phase::kEstablished || !released_[other]) {
        return unexpected(type, from, "without a pending A-RELEASE-RQ");
      }
      return std::nullopt;
    case spec::kAbort:
      return std::nullopt;
    default:
      return Failure{Violation::kUnknownPduType, "unknown PDU type"};
  }
}

std::uint32_t AssociationState::max_pdu_length(Side from, const DecoderLimits& limits) const {
  // PS3.8 D.1: the maximum a side announces is what it is prepared to receive.
  const std::uint32_t announced = from == Side::kClient ? server_max_pdu_ : client_max_pdu_;
  if (phase_ != Phase::kEstablished || announced == 0) return limits.max_pdu_length;
  const std::uint64_t allowed = std::uint64_t{announced} + limits.pdu_slack;
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(allowed, limits.max_pdu_length));
}

void AssociationState::request(const Associate& rq) {
  phase_ = Phase::kAwaitingResponse;
  client_max_pdu_ = rq.user.max_pdu_length;
  for (const PresentationContext& pc : rq.contexts) {
    proposed_[pc.id] = true;
    abstract_syntaxes_.emplace_back(pc.id, pc.abstract_syntax);
  }
}

std::optional<Failure> AssociationState::accept(const Associate& ac) {
  for (const PresentationContext& pc : ac.contexts) {
    if (pc.result != spec::kPresentationContextAccepted) continue;
    if (!proposed_[pc.id]) {
      return Failure{Violation::kMalformedPdu, "A-ASSOCIATE-AC accepts presentation context " +
                                                   std::to_string(pc.id) +
                                                   ", which the A-ASSOCIATE-RQ did not propose"};
    }
    if (pc.transfer_syntaxes.size() != 1) {
      return Failure{Violation::kMalformedPdu, "A-ASSOCIATE-AC accepts presentation context " +
                                                   std::to_string(pc.id) + " with " +
                                                   std::to_string(pc.transfer_syntaxes.size()) +
                                                   " transfer syntaxes (exactly one expected)"};
    }
  }
  phase_ = Phase::kEstablished;
  server_max_pdu_ = ac.user.max_pdu_length;
  for (const PresentationContext& pc : ac.contexts) {
    if (pc.result != spec::kPresentationContextAccepted) continue;
    AcceptedContext c;
    c.id = pc.id;
    for (const auto& [id, uid] : abstract_syntaxes_) {
      if (id == pc.id) c.abstract_syntax = uid;  // the last proposal of the id, like proposed_
    }
    c.transfer_syntax = pc.transfer_syntaxes.front();
    c.coding = classify_transfer_syntax(c.transfer_syntax);
    accepted_.push_back(std::move(c));
  }
  return std::nullopt;
}

const AcceptedContext* AssociationState::context(std::uint8_t id) const {
  for (const AcceptedContext& c : accepted_) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

}  // namespace wardgate::dicom
