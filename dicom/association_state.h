#pragma once
// The association as seen by a passive observer of both directions (PS3.8 9.2, 7.1-7.3): which PDU
// each side may send next, and what A-ASSOCIATE-RQ/AC negotiated (accepted presentation contexts
// and their transfer syntaxes, each side's maximum PDU length).
//
// Because the two directions are fed independently, a PDU a side sent before it saw the other
// side's A-ABORT or A-RELEASE-RQ is still legal: only what a side does after its own A-ABORT,
// A-RELEASE-RQ or A-RELEASE-RP is held against it.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dicom/decoder.h"
#include "dicom/failure.h"
#include "dicom/model.h"
#include "dicom/transfer_syntax.h"

namespace wardgate::dicom {

struct AcceptedContext {
  std::uint8_t id = 0;
  std::string abstract_syntax;  // as the A-ASSOCIATE-RQ proposed it
  std::string transfer_syntax;
  DataSetCoding coding = DataSetCoding::kUnknown;
};

class AssociationState {
 public:
  // Whether `from` may send a PDU of `type` now (checked on the header, before any body byte).
  std::optional<Failure> admit(Side from, std::uint8_t type) const;
  // Largest P-DATA-TF length `from` may send: what the receiving side announced plus the slack,
  // never beyond the absolute cap (which also applies when the receiver announced 0, unlimited).
  std::uint32_t max_pdu_length(Side from, const DecoderLimits& limits) const;

  void request(const Associate& rq);
  // Checks that every accepted context was proposed; records the accepted ones.
  std::optional<Failure> accept(const Associate& ac);
  void reject() { phase_ = Phase::kRejected; }
  void release_request(Side from) { released_[index(from)] = true; }
  void release_response(Side from) { responded_[index(from)] = true; }
  void abort(Side from) { aborted_[index(from)] = true; }

  const std::vector<AcceptedContext>& accepted() const { return accepted_; }
  const AcceptedContext* context(std::uint8_t id) const;

 private:
  enum class Phase : std::uint8_t { kAwaitingRequest, kAwaitingResponse, kEstablished, kRejected };
  static std::size_t index(Side s) { return s == Side::kClient ? 0 : 1; }

  Phase phase_ = Phase::kAwaitingRequest;
  std::array<bool, 2> released_{};    // sent A-RELEASE-RQ
  std::array<bool, 2> responded_{};   // sent A-RELEASE-RP
  std::array<bool, 2> aborted_{};     // sent A-ABORT
  std::uint32_t client_max_pdu_ = 0;  // from the RQ: what the client receives
  std::uint32_t server_max_pdu_ = 0;  // from the AC: what the server receives
  std::array<bool, 256> proposed_{};
  std::vector<std::pair<std::uint8_t, std::string>> abstract_syntaxes_;  // as proposed, by id
  std::vector<AcceptedContext> accepted_;
};

}  // namespace wardgate::dicom
