#pragma once
// Byte searches for the framer and the parser, 16 bytes at a time with SSE2 (x86-64's baseline)
// and byte by byte elsewhere. HL7 segments and fields are short: one inline loop beats a memchr
// call per segment or per field, and one pass finds either of two bytes.
#include <bit>
#include <cstddef>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace wardgate::hl7::detail {

// Offset of the first byte equal to `a` or `b` in p[from, n), n if none.
inline std::size_t find_either(const char* p, std::size_t from, std::size_t n, char a, char b) {
  std::size_t i = from;
#if defined(__SSE2__)
  const __m128i va = _mm_set1_epi8(a);
  const __m128i vb = _mm_set1_epi8(b);
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    const auto mask = static_cast<unsigned>(
        _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb))));
    if (mask != 0) return i + static_cast<std::size_t>(std::countr_zero(mask));
  }
#endif
  for (; i < n; ++i) {
    if (p[i] == a || p[i] == b) return i;
  }
  return n;
}

// Calls f(offset) for each byte equal to `c` in p[0, n), in order, while f returns true.
template <class F>
void for_each_byte(const char* p, std::size_t n, char c, F&& f) {
  std::size_t i = 0;
#if defined(__SSE2__)
  const __m128i vc = _mm_set1_epi8(c);
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    for (auto mask = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, vc))); mask != 0;
         mask &= mask - 1) {
      if (!f(i + static_cast<std::size_t>(std::countr_zero(mask)))) return;
    }
  }
#endif
  for (; i < n; ++i) {
    if (p[i] == c && !f(i)) return;
  }
}

}  // namespace wardgate::hl7::detail
