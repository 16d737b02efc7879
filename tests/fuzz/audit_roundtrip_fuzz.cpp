// Fuzz target: an audit record's whole life with hostile field contents: event -> the store's
// writer (PendingRecord::of, ChainWriter, a signed checkpoint) -> StoreReader -> verify_store ->
// RFC 5424 (export/syslog_format) -> parsed back.
//
// Input: one configuration byte (bits 0-1: the syslog message size, 1 KiB to 64 KiB; bits 2-3:
// how much each value is repeated: 1, 64, 1024 or 16384 times, so that a few input bytes make a
// record of megabytes; each value at most 400 KiB), 8 bytes of event time (nanoseconds since 1970),
// then records [op][length][bytes]: op bits 0-3 pick a key (some not valid SD-NAMEs, one of them
// truncated_fields itself), bits 4-6 what the bytes become (a string; an item of a list; an
// integer; a double; a bool; the device; a string set through set_untrusted(); the action).
// Oracles: the stored record is at most audit::kMaxCanonicalBytes and is the event, or the event
// reduced as audit::fit_for_store() documents (each cut string a prefix of the original in its
// encoding, listed in truncated_fields with its size), or the record-oversized alert for it;
// the reader decodes it; verify finds nothing; the syslog message is within its size and its
// structured data reads back as the stored values (appliance and device cut to 255 bytes at a
// character boundary, the MSG whole or a prefix of the record as its truncated parameter says).
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "audit/event.h"
#include "audit/event_decode.h"
#include "common/metrics.h"
#include "export/syslog_format.h"
#include "fuzz_check.h"
#include "store/chain_writer.h"
#include "store/checkpoint_signer.h"
#include "store/record_queue.h"
#include "store/store_reader.h"
#include "store/store_schema.h"
#include "store/store_verify.h"

namespace {

namespace audit = wardgate::audit;
namespace store = wardgate::store;
namespace exporter = wardgate::exporter;
using wardgate::fuzz::check;

constexpr std::array<std::string_view, 16> kKeys = {
    "sending_application",
    "notes",
    "patient_name",
    "calling_ae",
    "client_implementation_version",
    "server_implementation_class_uid_x",  // longer than an SD-NAME may be
    "bad key",                            // not an SD-NAME: SP
    "k=v",                                // not an SD-NAME: '='
    "text",
    audit::kTruncatedKey,
    "query_keys",
    "detail",
    "n",
    "elapsed_s",
    "error_comment",
    "message_id",
};

// A fresh store every kRecordsPerStore inputs keeps the file small.
constexpr std::uint64_t kRecordsPerStore = 64;

class Store {
 public:
  Store() {
    // tmpfs when there is one: the store syncs every commit, which a disk makes the slowest part.
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm")
                                           ? "/dev/shm"
                                           : std::filesystem::temp_directory_path();
    std::string tmpl = (base / "wg-audit-fuzz-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    signer_ = std::make_unique<store::CheckpointSigner>((dir_ / "key").string());
    open();
  }
  ~Store() {
    close();
    std::filesystem::remove_all(dir_);
  }
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Writes `record` as the store's writer does, in its own transaction with a checkpoint.
  std::uint64_t write(const store::PendingRecord& record) {
    if (chain_->next_seq() > kRecordsPerStore) {
      close();
      std::filesystem::remove(path());
      std::filesystem::remove(path() + "-wal");
      std::filesystem::remove(path() + "-shm");
      open();
    }
    db_->exec("BEGIN IMMEDIATE");
    chain_->append(record);
    chain_->flush();
    chain_->save_zone();
    chain_->sign_checkpoint();
    db_->exec("COMMIT");
    return chain_->last_seq();
  }
  store::StoreReader& reader() { return *reader_; }
  std::string path() const { return (dir_ / "audit.db").string(); }

 private:
  void open() {
    db_ = std::make_unique<store::Database>(path(), store::Database::Mode::kReadWrite);
    store::write_meta(*db_, store::kMetaPublicKey, store::format_public_key(signer_->public_key()));
    chain_ = std::make_unique<store::ChainWriter>(
        *db_, *signer_, store::ChainWriter::Schedule{0, {}}, checkpoints_);
    reader_ = std::make_unique<store::StoreReader>(path(), "gw-fuzz");
  }
  void close() {
    reader_.reset();
    chain_.reset();
    db_.reset();
  }

  std::filesystem::path dir_;
  wardgate::common::MetricsRegistry metrics_;
  wardgate::common::Counter& checkpoints_ =
      metrics_.counter("wardgate_fuzz_checkpoints_total", "Checkpoints signed.");
  std::unique_ptr<store::CheckpointSigner> signer_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<store::ChainWriter> chain_;
  std::unique_ptr<store::StoreReader> reader_;
};

// Values are repeated up to 400 KiB: one of control bytes (2.4 MB encoded) or three of text make
// a record too long for the store, and the target stays quick enough to fuzz.
constexpr std::size_t kMaxValueBytes = std::size_t{400} * 1024;

std::string repeated(std::string_view bytes, std::size_t times) {
  times = std::min(
      times, std::max<std::size_t>(1, kMaxValueBytes / std::max<std::size_t>(1, bytes.size())));
  std::string out;
  out.reserve(bytes.size() * times);
  for (std::size_t i = 0; i < times; ++i) out += bytes;
  return out;
}

template <typename T>
T from_bytes(std::string_view b) {
  T v{};
  std::memcpy(&v, b.data(), std::min(sizeof v, b.size()));
  return v;
}

audit::Event event_of(const std::uint8_t* data, std::size_t size, std::size_t& syslog_bytes) {
  audit::Event e;
  e.appliance_id = "gw-fuzz";
  e.device = "10.1.1.20";
  e.category = "hl7";
  e.action = "message";
  if (size < 9) return e;
  const std::uint8_t config = data[0];
  syslog_bytes = std::array<std::size_t, 4>{1024, 8192, 32768, 65536}[config & 3];
  const std::size_t times = std::array<std::size_t, 4>{1, 64, 1024, 16384}[(config >> 2) & 3];
  e.time = std::chrono::system_clock::time_point(std::chrono::system_clock::duration(
      from_bytes<std::int64_t>({reinterpret_cast<const char*>(data + 1), 8})));
  e.outcome = static_cast<audit::Outcome>((config >> 4) & 3);
  e.severity = static_cast<audit::Severity>((config >> 6) & 3);
  std::size_t pos = 9;
  while (pos + 2 <= size) {
    const std::uint8_t op = data[pos];
    const std::size_t n = std::min<std::size_t>(data[pos + 1], size - pos - 2);
    const std::string_view bytes(reinterpret_cast<const char*>(data + pos + 2), n);
    pos += 2 + n;
    const std::string_view key = kKeys[op & 15];
    switch ((op >> 4) & 7) {
      case 0:
        e.fields.set(key, repeated(bytes, times));
        break;
      case 1: {
        const audit::FieldValue* v = e.fields.find(key);
        const auto* old = v != nullptr ? std::get_if<std::vector<std::string>>(v) : nullptr;
        std::vector<std::string> list = old != nullptr ? *old : std::vector<std::string>{};
        list.resize(list.size() + std::min<std::size_t>(times, 4096), std::string(bytes));
        e.fields.set(key, std::move(list));
        break;
      }
      case 2:
        if ((op & 0x80) != 0) {
          e.fields.set(key, from_bytes<std::int64_t>(bytes));
        } else {
          e.fields.set(key, from_bytes<std::uint64_t>(bytes));
        }
        break;
      case 3:
        e.fields.set(key, from_bytes<double>(bytes));
        break;
      case 4:
        e.fields.set(key, !bytes.empty() && bytes[0] != 0);
        break;
      case 5:
        e.device = repeated(bytes, times);
        break;
      case 6:
        e.fields.set_untrusted(key, repeated(bytes, times));
        break;
      default:
        e.action = repeated(bytes, (op & 0x80) != 0 ? times : 1);
        break;
    }
  }
  return e;
}

// The JSON string of `s` as to_json writes it, without the quotes.
std::string encoded(const std::string& s) {
  audit::Event e;
  e.fields.set("s", s);
  const std::string j = audit::to_json(e);
  constexpr std::string_view kBefore = R"("fields":{"s":")";
  const std::size_t begin = j.find(kBefore) + kBefore.size();
  const std::size_t end = j.find(R"("},"outcome")", begin);
  return j.substr(begin, end - begin);
}

// The size of `s` in the canonical encoding, counted independently of the encoder
// (docs/audit-events.md): '"' '\\' and \b \f \n \r \t take 2 bytes, other control bytes 6
// (\u00xx), a byte that is not UTF-8 3 (U+FFFD).
std::size_t encoded_length(std::string_view s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const std::size_t len = audit::utf8_sequence_length(s, i);
      n += len == 0 ? 3 : len;
      i += len == 0 ? 1 : len;
      continue;
    }
    const bool short_escape =
        c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t';
    n += short_escape ? 2 : c < 0x20 ? 6 : 1;
    ++i;
  }
  return n;
}

// Whether `now` (stored, decoded) is `was` (recorded) or a cut of it, in their encodings; sets
// `cut`. Only the start of `was` is encoded: a stored value is never longer than that.
bool prefix_of(const std::string& was, const std::string& now, bool& cut) {
  const std::string stored = encoded(now);
  cut = stored.size() < encoded_length(was);
  if (!cut && stored.size() != encoded_length(was)) return false;
  return encoded(was.substr(0, std::min(was.size(), now.size() + 4))).starts_with(stored);
}

std::string value_json(const audit::FieldValue& v) {
  audit::Event e;
  e.fields.set("v", v);
  return audit::to_json(e);
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t len = audit::utf8_sequence_length(s, i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

// The stored event against what was recorded: equal, or reduced as documented.
void check_reduction(const audit::Event& original, const audit::Event& stored) {
  if (stored.action == "record-oversized" && stored.category == "audit" &&
      original.action != "record-oversized") {
    const audit::FieldValue* bytes = stored.fields.find("original_bytes");
    check(bytes != nullptr && std::get<std::uint64_t>(*bytes) > audit::kMaxCanonicalBytes,
          "record-oversized for a record that fits");
    return;
  }
  check(encoded(stored.category) == encoded(original.category), "category changed");
  check(encoded(stored.action) == encoded(original.action), "action changed");
  check(encoded(stored.device) == encoded(original.device), "device changed");
  check(stored.time == std::chrono::floor<std::chrono::microseconds>(original.time),
        "time changed");
  const bool listed_before = original.fields.find(audit::kTruncatedKey) != nullptr;
  const auto* marks = stored.fields.find(audit::kTruncatedKey);
  const auto* list = marks != nullptr ? std::get_if<std::vector<std::string>>(marks) : nullptr;
  const auto mark_of = [&](const std::string& key) -> std::string {
    if (list == nullptr) return {};
    for (const auto& m : *list) {
      if (m.starts_with(key + ":")) return m.substr(key.size() + 1);
    }
    return {};
  };
  for (const auto& f : original.fields) {
    if (f.key == audit::kTruncatedKey) continue;
    const audit::FieldValue* after = stored.fields.find(f.key);
    check(after != nullptr, "a field was dropped");
    const std::string mark = mark_of(f.key);
    if (const auto* s = std::get_if<std::string>(&f.value)) {
      const auto* t = std::get_if<std::string>(after);
      check(t != nullptr, "a string changed type");
      bool cut = false;
      check(prefix_of(*s, *t, cut), "a stored string is not the original or a prefix of it");
      if (!cut) continue;
      check(!mark.empty(), "a cut string is not listed in truncated_fields");
      if (!listed_before) check(mark == std::to_string(s->size()), "wrong original size");
    } else if (const auto* l = std::get_if<std::vector<std::string>>(&f.value)) {
      const auto* m = std::get_if<std::vector<std::string>>(after);
      check(m != nullptr && m->size() <= l->size(), "a list grew or changed type");
      bool any_cut = m->size() < l->size();
      for (std::size_t i = 0; i < m->size(); ++i) {
        bool cut = false;
        check(prefix_of((*l)[i], (*m)[i], cut),
              "a stored list item is not a prefix of the original");
        any_cut = any_cut || cut;
      }
      if (any_cut) check(!mark.empty(), "a cut list is not listed in truncated_fields");
    } else {
      // Decoding may change the type (an integral double comes back as an integer), never the
      // encoding.
      check(value_json(f.value) == value_json(*after), "a number or bool changed");
    }
  }
}

// --- RFC 5424 read back ---------------------------------------------------------------------

struct Param {
  std::string name;
  std::string value;
};
struct Element {
  std::string id;
  std::vector<Param> params;
};
struct Parsed {
  unsigned pri = 0;
  std::string timestamp;
  std::vector<Element> sd;
  bool has_msg = false;
  std::string msg;
};

Parsed parse_rfc5424(std::string_view m) {
  Parsed p;
  check(m.size() > 4 && m[0] == '<', "no PRI");
  const std::size_t gt = m.find('>');
  check(gt != std::string_view::npos && gt <= 4, "bad PRI");
  std::from_chars(m.data() + 1, m.data() + gt, p.pri);
  check(m.substr(gt + 1, 2) == "1 ", "not version 1");
  std::size_t pos = gt + 3;
  // TIMESTAMP HOSTNAME APP-NAME PROCID MSGID: five fields of PRINTUSASCII.
  for (int field = 0; field < 5; ++field) {
    const std::size_t sp = m.find(' ', pos);
    check(sp != std::string_view::npos && sp > pos, "header field missing");
    for (std::size_t i = pos; i < sp; ++i) {
      const auto c = static_cast<unsigned char>(m[i]);
      check(c >= 33 && c <= 126, "header field not PRINTUSASCII");
    }
    if (field == 0) p.timestamp = std::string(m.substr(pos, sp - pos));
    pos = sp + 1;
  }
  check(pos < m.size(), "no structured data");
  if (m[pos] == '-') {
    ++pos;
  } else {
    while (pos < m.size() && m[pos] == '[') {
      Element e;
      ++pos;
      const std::size_t id_end = m.find_first_of(" ]", pos);
      check(id_end != std::string_view::npos, "unterminated SD-ID");
      e.id = std::string(m.substr(pos, id_end - pos));
      pos = id_end;
      while (pos < m.size() && m[pos] == ' ') {
        ++pos;
        const std::size_t eq = m.find('=', pos);
        check(eq != std::string_view::npos && m.substr(eq, 2) == "=\"", "bad SD-PARAM");
        Param param{std::string(m.substr(pos, eq - pos)), {}};
        pos = eq + 2;
        while (true) {
          check(pos < m.size(), "unterminated PARAM-VALUE");
          const char c = m[pos];
          if (c == '"') break;
          check(c != ']', "unescaped ] in PARAM-VALUE");
          if (c == '\\' && pos + 1 < m.size() &&
              (m[pos + 1] == '"' || m[pos + 1] == '\\' || m[pos + 1] == ']')) {
            param.value += m[pos + 1];
            pos += 2;
          } else {
            param.value += c;
            ++pos;
          }
        }
        ++pos;
        e.params.push_back(std::move(param));
      }
      check(pos < m.size() && m[pos] == ']', "unterminated SD-ELEMENT");
      ++pos;
      p.sd.push_back(std::move(e));
    }
  }
  if (pos < m.size()) {
    check(m.substr(pos, 4) == " \xef\xbb\xbf", "MSG without SP and BOM");
    p.has_msg = true;
    p.msg = std::string(m.substr(pos + 4));
  }
  return p;
}

std::string_view utf8_prefix(std::string_view s, std::size_t cap) {
  if (s.size() <= cap) return s;
  std::size_t end = cap;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xc0) == 0x80) --end;
  return s.substr(0, end);
}

bool valid_sd_name(std::string_view name) {
  if (name.empty() || name.size() > 32) return false;
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 33 || c > 126 || c == '=' || c == ']' || c == '"') return false;
  }
  return true;
}

// One field read back from its SD-PARAM text equals the stored value.
bool same_value(const audit::FieldValue& v, const std::string& text) {
  return std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return x == text;
        } else if constexpr (std::is_same_v<T, bool>) {
          return text == (x ? "true" : "false");
        } else if constexpr (std::is_same_v<T, double>) {
          if (x != x) return text == "nan" || text == "-nan";
          double back = 0;
          const auto r = std::from_chars(text.data(), text.data() + text.size(), back);
          return r.ec == std::errc{} && (back == x || (text == "inf" || text == "-inf"));
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          return false;  // lists are compared item by item
        } else {
          T back{};
          const auto r = std::from_chars(text.data(), text.data() + text.size(), back);
          return r.ec == std::errc{} && r.ptr == text.data() + text.size() && back == x;
        }
      },
      v);
}

void check_syslog(const store::StoredRecord& r, std::size_t max_bytes) {
  exporter::SyslogOptions options;
  options.max_message_bytes = max_bytes;
  const std::string m = exporter::format_rfc5424(r, options);
  check(m.size() <= max_bytes, "syslog message longer than its maximum");
  const Parsed p = parse_rfc5424(m);
  const audit::Event& e = r.event;
  check(p.pri == exporter::syslog_pri(options.facility, exporter::syslog_severity(e.severity)),
        "PRI");
  check(p.timestamp == audit::format_time(e.time), "TIMESTAMP differs from the record's time");
  const std::string pen = std::to_string(options.enterprise_number);
  const Element* core = nullptr;
  const Element* fields = nullptr;
  for (const auto& el : p.sd) {
    for (const auto& param : el.params) {
      check(valid_utf8(param.value), "PARAM-VALUE is not UTF-8");
    }
    if (el.id == "wardgate@" + pen) core = &el;
    if (el.id == "wardgateFields@" + pen) fields = &el;
  }
  if (core == nullptr) {
    check(p.sd.empty() && !p.has_msg, "core structured data missing");
    return;  // only the absurdly long header case, documented
  }
  std::string truncated;
  const auto param = [&](std::string_view name) -> std::string {
    for (const auto& x : core->params) {
      if (x.name == name) return x.value;
    }
    return "<absent>";
  };
  check(param("seq") == std::to_string(r.seq), "seq");
  check(param("appliance") == utf8_prefix(e.appliance_id, exporter::kMaxHostname), "appliance");
  check(param("device") == utf8_prefix(e.device, exporter::kMaxHostname), "device");
  check(param("category") == e.category && param("action") == e.action, "category or action");
  check(param("outcome") == audit::to_string(e.outcome), "outcome");
  check(param("severity") == audit::to_string(e.severity), "severity");
  truncated = param("truncated");
  check(truncated == "<absent>" || truncated == "fields" || truncated == "fields,msg",
        "unknown truncated");
  if (fields != nullptr) {
    check(truncated == "<absent>", "fields present but said truncated");
    std::size_t i = 0;
    for (const auto& f : e.fields) {
      if (!valid_sd_name(f.key)) continue;
      if (const auto* list = std::get_if<std::vector<std::string>>(&f.value)) {
        for (const auto& item : *list) {
          check(i < fields->params.size() && fields->params[i].name == f.key &&
                    fields->params[i].value == item,
                "list field read back differs");
          ++i;
        }
      } else {
        check(i < fields->params.size() && fields->params[i].name == f.key &&
                  same_value(f.value, fields->params[i].value),
              "field read back differs");
        ++i;
      }
    }
    check(i == fields->params.size(), "more parameters than fields");
  } else {
    check(truncated != "<absent>" || e.fields.empty(), "fields dropped without saying so");
  }
  if (truncated == "fields,msg") {
    check(!p.has_msg || r.canonical.starts_with(p.msg), "cut MSG is not a prefix of the record");
  } else {
    check(p.has_msg && p.msg == r.canonical, "MSG differs from the record");
  }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): libFuzzer's entry point
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Store s;
  std::size_t syslog_bytes = exporter::kDefaultMessageBytes;
  const audit::Event event = event_of(data, size, syslog_bytes);

  const store::PendingRecord pending = store::PendingRecord::of(event);
  check(pending.canonical().size() <= audit::kMaxCanonicalBytes,
        "the writer would store a record longer than the reader accepts");
  const std::uint64_t seq = s.write(pending);

  std::error_code ec;
  const auto records = s.reader().read_after(seq - 1, 1, seq, ec);
  check(!ec && records.size() == 1 && records[0].seq == seq, "record not read back");
  const store::StoredRecord& r = records[0];
  check(r.canonical == pending.canonical(), "read back other bytes than written");
  check(r.event.action != "record-unreadable" || event.action == "record-unreadable",
        "the reader cannot decode a record the writer stored");
  check(audit::to_json(r.event) == r.canonical, "decoded record does not re-encode to itself");
  check(r.event.appliance_id == pending.part(0) && r.event.device == pending.part(1) &&
            r.event.category == pending.part(2) && r.event.action == pending.part(3),
        "columns differ from the record");
  check_reduction(event, r.event);

  store::VerifyOptions options;
  options.from_seq = seq;
  options.to_seq = seq;
  const store::VerifyReport report = store::verify_store(s.path(), options);
  check(report.intact() && report.records == 1, "verify reports wardgate's own record");

  check_syslog(r, syslog_bytes);
  return 0;
}
