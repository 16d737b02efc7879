#include "dicom/dcmtk_support.h"

#include "dicom/decoder.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <mutex>

#include "dcmtk/dcmdata/dcdict.h"
#include "dcmtk/dcmdata/dcistrmb.h"
#include "dcmtk/dcmdata/dctag.h"
#include "dcmtk/oflog/oflog.h"

namespace wardgate::dicom::dcmtk {
namespace {

// dcmdata logs parse problems to stderr by default; on the data path that would be one line per
// hostile packet. The decoder reports problems itself, so dcmdata's logger is switched off once.
void quiet_logging() {
  static std::once_flag once;
  std::call_once(once,
                 [] { OFLog::getLogger("dcmtk.dcmdata").setLogLevel(OFLogger::OFF_LOG_LEVEL); });
}

DcmTagKey key(std::uint32_t tag) {
  return {static_cast<Uint16>(tag >> 16), static_cast<Uint16>(tag & 0xFFFF)};
}

std::string trim(const char* s, std::size_t n) {
  std::size_t begin = 0;
  while (begin < n && (s[begin] == ' ' || s[begin] == '\0')) ++begin;
  while (n > begin && (s[n - 1] == ' ' || s[n - 1] == '\0')) --n;
  return {s + begin, std::min(n - begin, kMaxValueLength)};
}

}  // namespace

void prepare() {
  quiet_logging();
  (void)dcmDataDict.isDictionaryLoaded();  // the first use loads it
}

std::optional<std::string> read(std::span<const std::byte> bytes, E_TransferSyntax xfer,
                                DcmDataset& out) {
  quiet_logging();
  try {
    DcmInputBufferStream stream;
    stream.setBuffer(bytes.data(), static_cast<offile_off_t>(bytes.size()));
    stream.setEos();
    out.transferInit();
    const OFCondition status = out.read(stream, xfer, EGL_noChange);
    out.transferEnd();
    stream.releaseBuffer();
    if (status.bad()) return std::string(status.text());
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string("DCMTK threw: ") + e.what();
  } catch (...) {
    return std::string("DCMTK threw");
  }
}

std::string string_value(DcmDataset& data, std::uint32_t tag) {
  try {
    OFString value;
    if (data.findAndGetOFStringArray(key(tag), value).bad()) return {};
    return trim(value.c_str(), value.length());
  } catch (...) {
    return {};
  }
}

std::optional<std::uint16_t> u16_value(DcmDataset& data, std::uint32_t tag) {
  try {
    Uint16 value = 0;
    if (data.findAndGetUint16(key(tag), value).bad()) return std::nullopt;
    return value;
  } catch (...) {
    return std::nullopt;
  }
}

std::string keyword(std::uint32_t tag) {
  try {
    DcmTag dcm_tag(key(tag));
    const char* name = dcm_tag.getTagName();
    if (name != nullptr && std::string_view(name) != DcmTag_ERROR_TagName) return name;
  } catch (...) {
  }
  std::array<char, 12> text{};
  std::snprintf(text.data(), text.size(), "(%04X,%04X)", tag >> 16, tag & 0xFFFF);
  return text.data();
}

}  // namespace wardgate::dicom::dcmtk

namespace wardgate::dicom {

// Declared in decoder.h: the decoder's only start-up step is DCMTK's.
void prepare_decoding() { dcmtk::prepare(); }

}  // namespace wardgate::dicom
