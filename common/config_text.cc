#include "failover/config_text.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace failover {
namespace {

// Length of the valid UTF-8 sequence at text[i], or 0 if it is not one.
size_t SequenceLength(std::string_view text, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) n = 3, lo = 0xA0;
  else if (c == 0xED) n = 3, hi = 0x9F;  // no UTF-16 surrogates
  else if (c >= 0xE1 && c <= 0xEF) n = 3;
  else if (c == 0xF0) n = 4, lo = 0x90;
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else if (c == 0xF4) n = 4, hi = 0x8F;  // nothing past U+10FFFF
  else return 0;
  if (i + n > text.size()) return 0;
  if (b(i + 1) < lo || b(i + 1) > hi) return 0;
  for (size_t k = 2; k < n; ++k)
    if (b(i + k) < 0x80 || b(i + k) > 0xBF) return 0;
  return n;
}

}  // namespace

size_t FirstInvalidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const size_t n = SequenceLength(text, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

absl::Status CheckConfigText(std::string_view text, const std::string& path) {
  if (text.size() > kMaxConfigBytes)
    return absl::InvalidArgumentError(absl::StrCat(path, ": the config is ", text.size(), " bytes; the limit is ",
                                                   kMaxConfigBytes, " bytes (1 MiB): shorten it"));
  const size_t bad = FirstInvalidUtf8(text);
  if (bad == std::string_view::npos) return absl::OkStatus();
  const size_t line = 1 + std::count(text.begin(), text.begin() + bad, '\n');
  const size_t line_start = text.rfind('\n', bad == 0 ? 0 : bad - 1);
  const size_t column = line_start == std::string_view::npos || bad == 0 ? bad + 1 : bad - line_start;
  return absl::InvalidArgumentError(absl::StrCat(
      path, ":", line, ": invalid UTF-8 (byte 0x", absl::Hex(static_cast<unsigned char>(text[bad]), absl::kZeroPad2),
      " at column ", column, "): save the config as UTF-8"));
}

}  // namespace failover
