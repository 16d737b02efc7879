#include "dicom_test_support.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace wardgate::dicom::testing {
namespace {

const char* side(Side s) { return s == Side::kClient ? "client" : "server"; }

template <typename T>
std::string opt(const std::optional<T>& v) {
  return v ? std::to_string(*v) : std::string("-");
}

std::string hex16(std::uint16_t v) {
  std::array<char, 8> text{};
  std::snprintf(text.data(), text.size(), "%04X", v);
  return text.data();
}

void log_associate(std::ostringstream& out, const Associate& a) {
  out << " v=" << a.protocol_version << " called=[" << a.called_ae << "] calling=[" << a.calling_ae
      << "] app=" << a.application_context;
  for (const PresentationContext& pc : a.contexts) {
    out << " pc" << int{pc.id} << "{" << pc.abstract_syntax << " r=" << int{pc.result};
    for (const std::string& ts : pc.transfer_syntaxes) out << " " << ts;
    out << "}";
  }
  const UserInformation& u = a.user;
  out << " max=" << u.max_pdu_length << " impl=" << u.implementation_class_uid << " ver=["
      << u.implementation_version_name << "] async=" << opt(u.max_operations_invoked) << "/"
      << opt(u.max_operations_performed);
  for (const RoleSelection& r : u.role_selections) {
    out << " role{" << r.sop_class_uid << " " << r.scu_role << r.scp_role << "}";
  }
  for (const std::string& e : u.extended_negotiation_sop_classes) out << " ext{" << e << "}";
  if (u.user_identity_type) {
    out << " identity=" << int{*u.user_identity_type} << "/" << u.user_identity_response_requested;
  }
  if (u.user_identity_server_response) out << " identity-response";
}

}  // namespace

std::string data_dir() { return std::string(WARDGATE_SOURCE_DIR) + "/tests/data/dicom"; }

Recording load_recording(const std::string& name) {
  std::ifstream in(data_dir() + "/" + name, std::ios::binary);
  const std::vector<char> raw((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
  Recording r;
  std::size_t pos = 0;
  while (pos + 5 <= raw.size()) {
    const auto b = [&](std::size_t i) { return static_cast<std::uint8_t>(raw[pos + i]); };
    const std::size_t n =
        (std::size_t{b(1)} << 24) | (std::size_t{b(2)} << 16) | (std::size_t{b(3)} << 8) | b(4);
    if (pos + 5 + n > raw.size()) return {};
    Chunk c{b(0) == 0 ? Side::kClient : Side::kServer, {}};
    const auto* first = reinterpret_cast<const std::byte*>(raw.data() + pos + 5);
    c.bytes.assign(first, first + n);
    r.push_back(std::move(c));
    pos += 5 + n;
  }
  if (pos != raw.size()) return {};
  return r;
}

std::vector<std::string> recording_names() {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(data_dir())) {
    if (e.path().extension() == ".rec") names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::size_t total_bytes(const Recording& r) {
  std::size_t n = 0;
  for (const Chunk& c : r) n += c.bytes.size();
  return n;
}

void LogCallbacks::on_associate_request(const Associate& rq) {
  std::ostringstream out;
  out << "RQ";
  log_associate(out, rq);
  log += out.str() + "\n";
}

void LogCallbacks::on_associate_accept(const Associate& ac) {
  std::ostringstream out;
  out << "AC";
  log_associate(out, ac);
  log += out.str() + "\n";
}

void LogCallbacks::on_associate_reject(const AssociateReject& rj) {
  log += "RJ result=" + std::to_string(rj.result) + " source=" + std::to_string(rj.source) +
         " reason=" + std::to_string(rj.reason) + "\n";
}

void LogCallbacks::on_release_request(Side from) {
  log += std::string("RELEASE-RQ ") + side(from) + "\n";
}

void LogCallbacks::on_release_response(Side from) {
  log += std::string("RELEASE-RP ") + side(from) + "\n";
}

void LogCallbacks::on_abort(Side from, const Abort& abort) {
  log += std::string("ABORT ") + side(from) + " source=" + std::to_string(abort.source) +
         " reason=" + std::to_string(abort.reason) + "\n";
}

void LogCallbacks::on_command(Side from, const Command& c) {
  std::ostringstream out;
  out << "CMD " << side(from) << " ctx=" << int{c.context_id} << " field=" << hex16(c.command_field)
      << " id=" << opt(c.message_id) << " re=" << opt(c.message_id_responded_to)
      << " status=" << (c.status ? hex16(*c.status) : "-") << " prio=" << opt(c.priority)
      << " data=" << c.has_data_set << " asc=" << c.affected_sop_class_uid
      << " asi=" << c.affected_sop_instance_uid << " rsc=" << c.requested_sop_class_uid
      << " rsi=" << c.requested_sop_instance_uid << " dest=[" << c.move_destination << "]"
      << " sub=" << opt(c.remaining_suboperations) << "/" << opt(c.completed_suboperations) << "/"
      << opt(c.failed_suboperations) << "/" << opt(c.warning_suboperations)
      << " action=" << opt(c.action_type_id) << " event=" << opt(c.event_type_id) << " err=["
      << c.error_comment << "] orig=[" << c.move_originator_ae << "]/"
      << opt(c.move_originator_message_id);
  log += out.str() + "\n";
}

void LogCallbacks::on_data_set_identifiers(Side from, std::uint8_t context_id,
                                           const DataSetIdentifiers& ids) {
  std::ostringstream out;
  out << "IDS " << side(from) << " ctx=" << int{context_id} << " sop=" << ids.sop_class_uid
      << " inst=" << ids.sop_instance_uid << " study=" << ids.study_instance_uid
      << " series=" << ids.series_instance_uid << " pid=" << ids.patient_id
      << " acc=" << ids.accession_number << " mod=" << ids.modality
      << " level=" << ids.query_retrieve_level << " keys=";
  for (const std::string& k : ids.query_keys) out << k << ",";
  out << " note=[" << ids.note << "]";
  log += out.str() + "\n";
}

void LogCallbacks::on_data_set_end(Side from, std::uint8_t context_id, std::uint64_t bytes) {
  data_set_bytes += bytes;
  log += std::string("END ") + side(from) + " ctx=" + std::to_string(context_id) +
         " bytes=" + std::to_string(bytes) + "\n";
}

void LogCallbacks::on_violation(Side from, Violation what, std::string_view detail) {
  ++violations;
  log += std::string("VIOLATION ") + side(from) + " " + to_string(what) + " " +
         std::string(detail) + "\n";
}

RunResult feed_whole(const Recording& r, const DecoderLimits& limits) {
  return feed_pieces(
      r, [] { return SIZE_MAX; }, limits);
}

RunResult feed_skipping(const Recording& r, std::mt19937& rng, const DecoderLimits& limits) {
  LogCallbacks cb;
  Decoder decoder(cb, limits);
  RunResult result;
  std::uniform_int_distribution<std::size_t> size(1, 3000);
  for (const Chunk& c : r) {
    std::span<const std::byte> rest(c.bytes);
    while (!rest.empty()) {
      const std::uint64_t skippable = decoder.skippable(c.side);
      if (skippable > 0) {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(skippable, rest.size()));
        decoder.skip(c.side, n);
        result.skipped += n;
        rest = rest.subspan(n);
        continue;
      }
      const std::size_t n = std::min(size(rng), rest.size());
      decoder.feed(c.side, rest.first(n));
      rest = rest.subspan(n);
      result.max_buffered = std::max(result.max_buffered, decoder.buffered_bytes());
    }
  }
  result.log = cb.log;
  result.violations = cb.violations;
  result.in_sync = decoder.in_sync();
  return result;
}

RunResult feed_split_at(const Recording& r, std::size_t at, const DecoderLimits& limits) {
  LogCallbacks cb;
  Decoder decoder(cb, limits);
  std::size_t offset = 0;
  for (const Chunk& c : r) {
    std::span<const std::byte> bytes(c.bytes);
    if (at > offset && at < offset + bytes.size()) {
      decoder.feed(c.side, bytes.first(at - offset));
      decoder.feed(c.side, bytes.subspan(at - offset));
    } else {
      decoder.feed(c.side, bytes);
    }
    offset += bytes.size();
  }
  RunResult result;
  result.log = cb.log;
  result.violations = cb.violations;
  result.in_sync = decoder.in_sync();
  return result;
}

std::vector<std::byte> bytes_of(std::string_view s) {
  std::vector<std::byte> out;
  for (const char ch : s) out.push_back(static_cast<std::byte>(ch));
  return out;
}

std::vector<std::byte> be16(std::uint16_t v) {
  return {static_cast<std::byte>(v >> 8), static_cast<std::byte>(v & 0xFF)};
}

std::vector<std::byte> be32(std::uint32_t v) {
  return concat({be16(static_cast<std::uint16_t>(v >> 16)), be16(static_cast<std::uint16_t>(v))});
}

std::vector<std::byte> le16(std::uint16_t v) {
  return {static_cast<std::byte>(v & 0xFF), static_cast<std::byte>(v >> 8)};
}

std::vector<std::byte> concat(std::initializer_list<std::vector<std::byte>> parts) {
  std::vector<std::byte> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

std::vector<std::byte> pdu(std::uint8_t type, const std::vector<std::byte>& body) {
  return concat({{static_cast<std::byte>(type), std::byte{0}},
                 be32(static_cast<std::uint32_t>(body.size())),
                 body});
}

std::vector<std::byte> item(std::uint8_t type, const std::vector<std::byte>& value) {
  return concat({{static_cast<std::byte>(type), std::byte{0}},
                 be16(static_cast<std::uint16_t>(value.size())),
                 value});
}

std::vector<std::byte> associate(std::uint8_t type, const std::vector<std::byte>& items) {
  std::vector<std::byte> fixed = concat({be16(1), be16(0)});
  auto ae = [](std::string_view title) {
    std::string t(title);
    t.resize(16, ' ');
    return bytes_of(t);
  };
  fixed = concat({fixed, ae("CALLED"), ae("CALLING"), std::vector<std::byte>(32)});
  return pdu(type, concat({fixed, items}));
}

namespace {
std::vector<std::byte> user_info() {
  return item(0x50, concat({item(0x51, be32(16384)), item(0x52, bytes_of("1.2.3.4"))}));
}
}  // namespace

std::vector<std::byte> echo_rq() {
  const auto pc = item(0x20, concat({{std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0}},
                                     item(0x30, bytes_of("1.2.840.10008.1.1")),
                                     item(0x40, bytes_of("1.2.840.10008.1.2"))}));
  return associate(0x01, concat({item(0x10, bytes_of("1.2.840.10008.3.1.1.1")), pc, user_info()}));
}

std::vector<std::byte> echo_ac() {
  const auto pc = item(0x21, concat({{std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0}},
                                     item(0x40, bytes_of("1.2.840.10008.1.2"))}));
  return associate(0x02, concat({item(0x10, bytes_of("1.2.840.10008.3.1.1.1")), pc, user_info()}));
}

std::vector<std::byte> pdata(std::uint8_t context, std::uint8_t control,
                             const std::vector<std::byte>& fragment) {
  return pdu(0x04, concat({be32(static_cast<std::uint32_t>(fragment.size() + 2)),
                           {static_cast<std::byte>(context), static_cast<std::byte>(control)},
                           fragment}));
}

std::vector<std::byte> element(std::uint16_t group, std::uint16_t elem,
                               const std::vector<std::byte>& value) {
  const auto n = static_cast<std::uint32_t>(value.size());
  return concat({le16(group), le16(elem), le16(static_cast<std::uint16_t>(n)),
                 le16(static_cast<std::uint16_t>(n >> 16)), value});
}

std::vector<std::byte> echo_command(std::uint16_t id) {
  auto uid = bytes_of("1.2.840.10008.1.1");
  uid.push_back(std::byte{0});
  const auto body =
      concat({element(0x0000, 0x0002, uid), element(0x0000, 0x0100, le16(0x0030)),
              element(0x0000, 0x0110, le16(id)), element(0x0000, 0x0800, le16(0x0101))});
  return concat(
      {element(0x0000, 0x0000, concat({le16(static_cast<std::uint16_t>(body.size())), le16(0)})),
       body});
}

}  // namespace wardgate::dicom::testing
