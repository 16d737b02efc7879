// Byte streams of a DIMSE-N exchange (MPPS N-CREATE and N-SET, Storage Commitment N-ACTION and
// the N-EVENT-REPORT the SCP sends back), shared by the decoder and the inspector tests.
#include <gtest/gtest.h>

#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "normalized_streams.h"

namespace wardgate::dicom::testing {

namespace {

constexpr std::string_view kImplicitLe = "1.2.840.10008.1.2";
constexpr std::string_view kCtImage = "1.2.840.10008.5.1.4.1.1.2";

// A UI value padded to even length with a NUL (PS3.5 6.2).
std::vector<std::byte> uid(std::string_view value) {
  auto v = bytes_of(value);
  if (v.size() % 2 != 0) v.push_back(std::byte{0});
  return v;
}

// A text value padded to even length with a space.
std::vector<std::byte> text(std::string_view value) {
  auto v = bytes_of(value);
  if (v.size() % 2 != 0) v.push_back(std::byte{' '});
  return v;
}

std::vector<std::byte> context_rq(int id, std::string_view abstract) {
  return item(0x20, concat({{static_cast<std::byte>(id), std::byte{0}, std::byte{0}, std::byte{0}},
                            item(0x30, bytes_of(abstract)),
                            item(0x40, bytes_of(kImplicitLe))}));
}

std::vector<std::byte> context_ac(int id) {
  return item(0x21, concat({{static_cast<std::byte>(id), std::byte{0}, std::byte{0}, std::byte{0}},
                            item(0x40, bytes_of(kImplicitLe))}));
}

std::vector<std::byte> user_information() {
  return item(0x50, concat({item(0x51, be32(16384)), item(0x52, bytes_of("1.2.3.4"))}));
}

// An Implicit VR LE command set with its group length; elements in ascending tag order.
struct CommandSet {
  std::uint16_t field = 0;
  std::optional<std::uint16_t> message_id;
  std::optional<std::uint16_t> responded_to;
  bool data_set = false;
  std::optional<std::uint16_t> status;
  std::string affected_class, requested_class, affected_instance, requested_instance;
  std::optional<std::uint16_t> event_type;
  std::optional<std::uint16_t> action_type;

  static CommandSet request(std::uint16_t field, std::uint16_t id) {
    CommandSet c;
    c.field = field;
    c.message_id = id;
    c.data_set = true;
    return c;
  }
  static CommandSet response(std::uint16_t field, std::uint16_t responded_to) {
    CommandSet c;
    c.field = field;
    c.responded_to = responded_to;
    c.status = 0;
    return c;
  }
  CommandSet& affected(std::string_view sop_class, std::string_view instance) {
    affected_class = sop_class;
    affected_instance = instance;
    return *this;
  }
  CommandSet& requested(std::string_view sop_class, std::string_view instance) {
    requested_class = sop_class;
    requested_instance = instance;
    return *this;
  }
  CommandSet& action(std::uint16_t id) {
    action_type = id;
    return *this;
  }
  CommandSet& event(std::uint16_t id) {
    event_type = id;
    return *this;
  }

  std::vector<std::byte> bytes() const {
    std::vector<std::byte> body;
    const auto add = [&](std::uint16_t elem, const std::vector<std::byte>& value) {
      body = concat({body, element(0x0000, elem, value)});
    };
    if (!affected_class.empty()) add(0x0002, uid(affected_class));
    if (!requested_class.empty()) add(0x0003, uid(requested_class));
    add(0x0100, le16(field));
    if (message_id) add(0x0110, le16(*message_id));
    if (responded_to) add(0x0120, le16(*responded_to));
    add(0x0800, le16(data_set ? 0x0000 : 0x0101));
    if (status) add(0x0900, le16(*status));
    if (!affected_instance.empty()) add(0x1000, uid(affected_instance));
    if (!requested_instance.empty()) add(0x1001, uid(requested_instance));
    if (event_type) add(0x1002, le16(*event_type));
    if (action_type) add(0x1008, le16(*action_type));
    const auto n = static_cast<std::uint32_t>(body.size());
    return concat({element(0x0000, 0x0000,
                           concat({le16(static_cast<std::uint16_t>(n)),
                                   le16(static_cast<std::uint16_t>(n >> 16))})),
                   body});
  }
};

}  // namespace

// The data sets of the exchange, so that the tests can check their sizes.
std::vector<std::byte> mpps_create_data_set() {
  return concat({element(0x0008, 0x0060, text("CT")), element(0x0010, 0x0020, text("PAT-7")),
                 element(0x0040, 0x0252, text("IN PROGRESS"))});
}
std::vector<std::byte> mpps_set_data_set() { return element(0x0040, 0x0252, text("COMPLETED")); }
std::vector<std::byte> commitment_action_data_set() {
  return concat({element(0x0008, 0x1195, uid("1.2.3.99.1")),
                 element(0x0008, 0x1199, std::vector<std::byte>(40, std::byte{0x11}))});
}
std::vector<std::byte> commitment_event_data_set() {
  return concat({element(0x0008, 0x1195, uid("1.2.3.99.1")),
                 element(0x0008, 0x1199, std::vector<std::byte>(52, std::byte{0x22}))});
}

// Association (MPPS on context 1, Storage Commitment Push Model on context 3, and with
// `with_ct_storage` CT Image Storage on context 5, all Implicit VR LE; calling AE "CALLING").
Recording normalized_association(bool with_ct_storage) {
  auto rq_items = concat({item(0x10, bytes_of("1.2.840.10008.3.1.1.1")), context_rq(1, kMpps),
                          context_rq(3, kCommitment)});
  auto ac_items =
      concat({item(0x10, bytes_of("1.2.840.10008.3.1.1.1")), context_ac(1), context_ac(3)});
  if (with_ct_storage) {
    rq_items = concat({rq_items, context_rq(5, kCtImage)});
    ac_items = concat({ac_items, context_ac(5)});
  }
  return {{Side::kClient, associate(0x01, concat({rq_items, user_information()}))},
          {Side::kServer, associate(0x02, concat({ac_items, user_information()}))}};
}

// The whole exchange: association, N-CREATE, N-SET, N-ACTION from the client, N-EVENT-REPORT
// from the server (its own Message ID 1, the same number as the client's N-CREATE), release.
Recording normalized_dimse_exchange() {
  Recording r = normalized_association(false);
  const auto add = [&](Side side, std::vector<std::byte> bytes) {
    r.push_back({side, std::move(bytes)});
  };
  add(Side::kClient,
      pdata(1, 3, CommandSet::request(0x0140, 1).affected(kMpps, kMppsInstance).bytes()));
  add(Side::kClient, pdata(1, 2, mpps_create_data_set()));
  add(Side::kServer,
      pdata(1, 3, CommandSet::response(0x8140, 1).affected(kMpps, kMppsInstance).bytes()));
  add(Side::kClient,
      pdata(1, 3, CommandSet::request(0x0120, 2).requested(kMpps, kMppsInstance).bytes()));
  add(Side::kClient, pdata(1, 2, mpps_set_data_set()));
  add(Side::kServer,
      pdata(1, 3, CommandSet::response(0x8120, 2).affected(kMpps, kMppsInstance).bytes()));
  add(Side::kClient, pdata(3, 3,
                           CommandSet::request(0x0130, 3)
                               .requested(kCommitment, kCommitmentInstance)
                               .action(1)
                               .bytes()));
  add(Side::kClient, pdata(3, 2, commitment_action_data_set()));
  add(Side::kServer, pdata(3, 3,
                           CommandSet::response(0x8130, 3)
                               .affected(kCommitment, kCommitmentInstance)
                               .action(1)
                               .bytes()));
  add(Side::kServer, pdata(3, 3,
                           CommandSet::request(0x0100, 1)
                               .affected(kCommitment, kCommitmentInstance)
                               .event(1)
                               .bytes()));
  add(Side::kServer, pdata(3, 2, commitment_event_data_set()));
  add(Side::kClient, pdata(3, 3,
                           CommandSet::response(0x8100, 1)
                               .affected(kCommitment, kCommitmentInstance)
                               .event(1)
                               .bytes()));
  add(Side::kClient, pdu(0x05, std::vector<std::byte>(4)));
  add(Side::kServer, pdu(0x06, std::vector<std::byte>(4)));
  return r;
}

}  // namespace wardgate::dicom::testing
