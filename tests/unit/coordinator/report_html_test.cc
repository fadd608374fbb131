#include "coordinator/report_html.h"

#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <vector>

#include "coordinator/report_sample.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

TEST(ReportHtml, ASkippedOperationIsARowSayingSkippedAndWhy) {
  v1::Report r = testing::SampleReport();
  testing::AddSkippedStop(&r, "01-restart-sls-bot", "panel", "sls-bot.service", testing::kT0);
  const std::string html = RenderHtml(r);
  EXPECT_NE(html.find("<td>skipped</td>"), std::string::npos);
  EXPECT_NE(html.find("stop skipped: already inactive"), std::string::npos);
}

TEST(ReportHtml, MatchesTheGoldenFileForTheSampleRun) {
  testing::ExpectMatchesGolden("sample-report.html", RenderHtml(testing::SampleReport()));
}

TEST(ReportHtml, IsSelfContainedWithoutAnyUrlScriptOrExternalAsset) {
  const std::string html = RenderHtml(testing::SampleReport());
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_FALSE(std::regex_search(html, std::regex("<script|<link|<img|<iframe|src=|href=|url\\(|@import",
                                                   std::regex::icase)));
  // The probe targets are still shown, as text.
  EXPECT_NE(html.find("http&#58;//10.77.0.11:8080/health"), std::string::npos);
}

TEST(ReportHtml, DrawsATimelineBarPerPhaseOfEachUnit) {
  const std::string html = RenderHtml(testing::SampleReport());
  ASSERT_NE(html.find("<svg id=\"timeline\""), std::string::npos);
  for (const char* bar : {"bar-stopping\" data-host=\"api\"", "bar-down\" data-host=\"api\"",
                          "bar-starting\" data-host=\"api\"", "bar-healthy\" data-host=\"api\"",
                          "bar-down\" data-host=\"cerebro\""})
    EXPECT_NE(html.find(bar), std::string::npos) << bar;
  // cerebro never came back: no starting or healthy bar.
  EXPECT_EQ(html.find("bar-healthy\" data-host=\"cerebro\""), std::string::npos);
}

TEST(ReportHtml, EscapesMarkupInReportText) {
  const std::string html = RenderHtml(testing::SampleReport());
  EXPECT_NE(html.find("&lt;config&gt; &amp; &quot;quoted&quot;"), std::string::npos);
  EXPECT_EQ(html.find("<config>"), std::string::npos);
}

TEST(ReportHtml, DryRunSaysThereIsNoTimeline) {
  v1::Report r = testing::SampleReport();
  r.set_dry_run(true);
  EXPECT_NE(RenderHtml(r).find("no timeline"), std::string::npos);
}

// --- In headless Chromium -----------------------------------------------------------------

struct Png {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> rgb;  // width * height * 3
};

uint32_t Be32(const std::string& s, size_t at) {
  return uint32_t(uint8_t(s[at])) << 24 | uint32_t(uint8_t(s[at + 1])) << 16 | uint32_t(uint8_t(s[at + 2])) << 8 |
         uint32_t(uint8_t(s[at + 3]));
}

uint8_t Paeth(int a, int b, int c) {
  const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return uint8_t(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

// Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes) into RGB.
bool DecodePng(const std::string& data, Png* png) {
  if (data.size() < 33 || data.compare(1, 3, "PNG") != 0) return false;
  std::string idat;
  int channels = 0;
  for (size_t at = 8; at + 12 <= data.size();) {
    const uint32_t len = Be32(data, at);
    const std::string type = data.substr(at + 4, 4);
    if (type == "IHDR") {
      png->width = Be32(data, at + 8);
      png->height = Be32(data, at + 12);
      if (data[at + 16] != 8 || data[at + 20] != 0) return false;  // 8-bit, not interlaced
      channels = data[at + 17] == 6 ? 4 : data[at + 17] == 2 ? 3 : 0;
    } else if (type == "IDAT") {
      idat += data.substr(at + 8, len);
    }
    at += 12 + len;
  }
  if (channels == 0) return false;
  const size_t stride = size_t(png->width) * channels;
  std::vector<uint8_t> raw((stride + 1) * png->height);
  uLongf raw_len = raw.size();
  if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK) return false;
  std::vector<uint8_t> prev(stride, 0), cur(stride);
  for (uint32_t y = 0; y < png->height; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    for (size_t i = 0; i < stride; ++i) {
      const int a = i >= size_t(channels) ? cur[i - channels] : 0, b = prev[i],
                c = i >= size_t(channels) ? prev[i - channels] : 0;
      const uint8_t x = raw[y * (stride + 1) + 1 + i];
      cur[i] = uint8_t(filter == 0 ? x : filter == 1 ? x + a : filter == 2 ? x + b : filter == 3 ? x + (a + b) / 2
                                                                                                  : x + Paeth(a, b, c));
    }
    for (uint32_t px = 0; px < png->width; ++px)
      for (int ch = 0; ch < 3; ++ch) png->rgb.push_back(cur[px * channels + ch]);
    prev = cur;
  }
  return true;
}

int CountColour(const Png& png, uint8_t r, uint8_t g, uint8_t b) {
  int n = 0;
  for (size_t i = 0; i + 2 < png.rgb.size(); i += 3)
    n += std::abs(png.rgb[i] - r) <= 3 && std::abs(png.rgb[i + 1] - g) <= 3 && std::abs(png.rgb[i + 2] - b) <= 3;
  return n;
}

std::string Chromium() {
  const auto [rc, path] = testing::RunCommand("command -v chromium");
  return rc == 0 ? "chromium" : "";
}

// Debian's chromium, headless, no network: it loads only the local file.
std::string ChromiumCommand(const std::string& dir, const std::string& args) {
  return "timeout 120 chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir='" + dir +
         "/profile' --window-size=1200,900 " + args + " 2>'" + dir + "/chromium.log'";
}

TEST(ReportHtmlInChromium, DrawsTheTimelineBarsInTheBarColours) {
  ASSERT_FALSE(Chromium().empty()) << "chromium not found: install Debian's chromium (deploy/install-deps.sh) to run "
                                      "this test";
  const std::string dir = ::testing::TempDir() + "/fo-html-chromium";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  testing::WriteFile(dir + "/report.html", RenderHtml(testing::SampleReport()));
  const std::string url = "file://" + dir + "/report.html";

  const auto [dom_rc, dom] = testing::RunCommand(ChromiumCommand(dir, "--dump-dom '" + url + "'"));
  ASSERT_EQ(dom_rc, 0) << "chromium --dump-dom failed; see " << dir << "/chromium.log";
  int bars = 0;
  for (size_t at = dom.find("<rect class=\"bar "); at != std::string::npos; at = dom.find("<rect class=\"bar ", at + 1))
    ++bars;
  EXPECT_EQ(bars, 8)
      << "api: stopping, down, starting, healthy; cerebro: stopping, down; users: the API's two unavailable windows";

  const std::string shot = dir + "/timeline.png";
  const auto [shot_rc, ignored] = testing::RunCommand(ChromiumCommand(dir, "--screenshot='" + shot + "' '" + url + "'"));
  ASSERT_EQ(shot_rc, 0) << "chromium --screenshot failed; see " << dir << "/chromium.log";
  std::ifstream in(shot, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  Png png;
  ASSERT_TRUE(DecodePng(bytes.str(), &png)) << shot << " is not an 8-bit RGB(A) PNG";
  EXPECT_EQ(png.width, 1200u);
  EXPECT_EQ(png.height, 900u);
  // Each bar is at least 2 x 18 px; the colours are the report's own (kDown, kStarting, kHealthy, kStopping).
  EXPECT_GT(CountColour(png, 0xd9, 0x53, 0x4f), 500) << "no red 'down' bar drawn in " << shot;
  EXPECT_GT(CountColour(png, 0xf0, 0xad, 0x4e), 500) << "no amber 'starting' bar drawn in " << shot;
  EXPECT_GT(CountColour(png, 0x5c, 0xb8, 0x5c), 500) << "no green 'healthy' bar drawn in " << shot;
  EXPECT_GT(CountColour(png, 0x6c, 0x8e, 0xbf), 30) << "no blue 'stopping' bar drawn in " << shot;
  if (const char* keep = std::getenv("FO_KEEP_SCREENSHOT")) std::filesystem::copy_file(
      shot, keep, std::filesystem::copy_options::overwrite_existing);
}

TEST(ReportHtml, MatchesTheGoldenFileForARunWithGates) {
  testing::ExpectMatchesGolden("sample-gates-report.html", RenderHtml(testing::SampleReportWithGates()));
}

TEST(ReportHtml, ShowsTheGatesTableWithPassedAndFailedMarked) {
  const std::string html = RenderHtml(testing::SampleReportWithGates());
  EXPECT_NE(html.find("<h2>Gates (before → after)</h2>"), std::string::npos);
  EXPECT_NE(html.find("<td>monitor-guard</td><td>panel</td><td class=\"bad\">FAILED</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("<td>api-port</td><td>api</td><td class=\"good\">PASSED</td>"), std::string::npos) << html;
  EXPECT_NE(html.find("FORCED: started with --force"), std::string::npos);
}

}  // namespace
}  // namespace failover::coordinator
