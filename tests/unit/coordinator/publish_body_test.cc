// The publish request builders (publish_body.cc): the documented shapes, Notion's limits, JSON escaping.
#include "coordinator/publish_body.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "coordinator/report_markdown.h"
#include "coordinator/report_sample.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace failover::coordinator {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using google::protobuf::Struct;
using google::protobuf::Value;

Struct ParseJson(const std::string& body) {
  Struct s;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(body, &s).ok()) << body.substr(0, 300);
  return s;
}

const Value& At(const Struct& s, const std::string& key) { return s.fields().at(key); }

PublishDestination Dest(PublishKind kind) {
  PublishDestination d;
  d.name = "dest";
  d.kind = kind;
  d.url = "https://example.test/base/";
  d.space_key = "OPS";
  d.ancestor_id = "4242";
  d.parent_page_id = "parent-1";
  d.token = "tok-secret";
  return d;
}

std::string Header(const HttpRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

TEST(PublishBody, TheReportMarkdownBecomesHeadingsTablesAndBullets) {
  auto blocks = ParseMarkdownBlocks("# Title `x`\n\n| A | B |\n|---|---|\n| 1 | a \\| b |\n\n- note one\n_(none)_\n");
  ASSERT_EQ(blocks.size(), 4u);
  EXPECT_EQ(blocks[0].kind, MdBlockKind::kHeading);
  EXPECT_EQ(blocks[0].level, 1);
  EXPECT_EQ(blocks[0].text, "Title `x`");
  ASSERT_EQ(blocks[1].kind, MdBlockKind::kTable);
  ASSERT_EQ(blocks[1].rows.size(), 2u) << "the rule line is not a row";
  EXPECT_EQ(blocks[1].rows[1][1], "a | b") << "an escaped pipe stays in its cell";
  EXPECT_EQ(blocks[2].kind, MdBlockKind::kBullet);
  EXPECT_EQ(blocks[3].kind, MdBlockKind::kParagraph);
}

TEST(PublishBody, ConfluenceCreateContentHasTheDocumentedShapeAndEscapesTheStorageXhtml) {
  const v1::Report r = testing::SampleReport();
  const std::string storage = ConfluenceStorage(ParseMarkdownBlocks(RenderMarkdown(r)));
  EXPECT_THAT(storage, HasSubstr("<h2>Operations executed</h2><table><tbody><tr><th>Started</th>"));
  EXPECT_THAT(storage, HasSubstr("&lt;config&gt; &amp; &quot;quoted&quot; | 'pipe'"));
  HttpRequest req = ConfluenceCreatePage(Dest(PublishKind::kConfluence), "Report " + r.run_id(), storage);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "https://example.test/base/rest/api/content");
  EXPECT_EQ(Header(req, "Authorization"), "Bearer tok-secret");
  EXPECT_EQ(Header(req, "Content-Type"), "application/json");
  Struct body = ParseJson(req.body);
  EXPECT_EQ(At(body, "type").string_value(), "page");
  EXPECT_EQ(At(body, "title").string_value(), "Report " + r.run_id());
  EXPECT_EQ(At(At(body, "space").struct_value(), "key").string_value(), "OPS");
  EXPECT_EQ(At(At(body, "ancestors").list_value().values(0).struct_value(), "id").string_value(), "4242");
  const Struct& st = At(At(body, "body").struct_value(), "storage").struct_value();
  EXPECT_EQ(At(st, "representation").string_value(), "storage");
  EXPECT_EQ(At(st, "value").string_value(), storage) << "the XHTML survives JSON escaping unchanged";
}

TEST(PublishBody, ConfluenceWithAUserSendsBasicAuthAndWithoutAnAncestorSendsNone) {
  PublishDestination d = Dest(PublishKind::kConfluence);
  d.user = "bot@example.com";
  d.ancestor_id.clear();
  HttpRequest req = ConfluenceCreatePage(d, "t", "<p>x</p>");
  EXPECT_EQ(Header(req, "Authorization"), "Basic " + absl::Base64Escape("bot@example.com:tok-secret"));
  EXPECT_EQ(ParseJson(req.body).fields().count("ancestors"), 0u);
}

TEST(PublishBody, NotionBlocksKeepEveryTextUnderTwoThousandCharactersAndAppendBeyondAHundredBlocks) {
  std::string md = "# Big\n\n" + std::string(4500, 'x') + "\n";
  for (int i = 0; i < 150; ++i) md += absl::StrCat("- bullet ", i, " ñ\n");
  const auto blocks = NotionBlocks(ParseMarkdownBlocks(md));
  ASSERT_EQ(blocks.size(), 152u);
  for (const Value& b : blocks) {
    const Struct& s = b.struct_value();
    const std::string type = At(s, "type").string_value();
    for (const Value& t : At(At(s, type).struct_value(), "rich_text").list_value().values())
      EXPECT_LE(At(At(t.struct_value(), "text").struct_value(), "content").string_value().size(), kNotionMaxTextChars);
  }
  EXPECT_EQ(At(At(blocks[1].struct_value(), "paragraph").struct_value(), "rich_text").list_value().values_size(), 3)
      << "4500 characters: three rich_text pieces";
  HttpRequest create = NotionCreatePage(Dest(PublishKind::kNotion), "Report \"x\"", blocks);
  EXPECT_EQ(create.method, "POST");
  EXPECT_EQ(create.url, "https://example.test/base/v1/pages");
  EXPECT_EQ(Header(create, "Authorization"), "Bearer tok-secret");
  EXPECT_EQ(Header(create, "Notion-Version"), "2022-06-28");
  Struct body = ParseJson(create.body);
  EXPECT_EQ(At(At(body, "parent").struct_value(), "page_id").string_value(), "parent-1");
  const Struct& title = At(At(body, "properties").struct_value(), "title").struct_value();
  EXPECT_EQ(At(At(At(title, "title").list_value().values(0).struct_value(), "text").struct_value(), "content")
                .string_value(),
            "Report \"x\"");
  EXPECT_EQ(At(body, "children").list_value().values_size(), 100);
  HttpRequest append = NotionAppendBlocks(Dest(PublishKind::kNotion), "page-9", blocks, 100);
  EXPECT_EQ(append.method, "PATCH");
  EXPECT_EQ(append.url, "https://example.test/base/v1/blocks/page-9/children");
  EXPECT_EQ(At(ParseJson(append.body), "children").list_value().values_size(), 52);
}

TEST(PublishBody, NotionTablesBecomeMarkdownCodeBlocks) {
  const auto blocks = NotionBlocks(ParseMarkdownBlocks("| A | B |\n|---|---|\n| 1 | x \\| y |\n"));
  ASSERT_EQ(blocks.size(), 1u);
  const Struct& code = At(blocks[0].struct_value(), "code").struct_value();
  EXPECT_EQ(At(code, "language").string_value(), "markdown");
  EXPECT_EQ(At(At(At(code, "rich_text").list_value().values(0).struct_value(), "text").struct_value(), "content")
                .string_value(),
            "| A | B |\n|---|---|\n| 1 | x \\| y |");
}

TEST(PublishBody, TheWebhookCarriesRunIdTitleMarkdownAndHtml) {
  PublishDestination d = Dest(PublishKind::kWebhook);
  d.url = "http://127.0.0.1:9/hook";
  d.token.clear();
  HttpRequest req = WebhookPost(d, "run-1", "T", "# md \"q\"\n", "<html></html>");
  EXPECT_EQ(req.url, "http://127.0.0.1:9/hook");
  EXPECT_EQ(Header(req, "Authorization"), "") << "no token configured, none sent";
  Struct body = ParseJson(req.body);
  EXPECT_EQ(At(body, "run_id").string_value(), "run-1");
  EXPECT_EQ(At(body, "title").string_value(), "T");
  EXPECT_EQ(At(body, "markdown").string_value(), "# md \"q\"\n");
  EXPECT_EQ(At(body, "html").string_value(), "<html></html>");
}

TEST(PublishBody, TheTitleTemplateNamesRunOutcomeAndServices) {
  PublishDestination d;
  d.title_template = "{run_id} {outcome} [{services}]";
  v1::Report r = testing::SampleReport();
  EXPECT_EQ(PublishTitle(d, r), r.run_id() + " ABORTED [sls-api, sls-bot]");
}

TEST(PublishBody, AnswersGiveThePageIdAndUrlOrAClearError) {
  auto conf = ParsePublishAnswer(PublishKind::kConfluence,
                                 R"({"id":"98765","_links":{"base":"https://w.test/wiki","webui":"/spaces/OPS/pages/98765"}})");
  ASSERT_TRUE(conf.ok()) << conf.status();
  EXPECT_EQ(conf->id, "98765");
  EXPECT_EQ(conf->url, "https://w.test/wiki/spaces/OPS/pages/98765");
  auto notion = ParsePublishAnswer(PublishKind::kNotion, R"({"object":"page","id":"p-1","url":"https://notion.so/p1"})");
  ASSERT_TRUE(notion.ok());
  EXPECT_EQ(notion->url, "https://notion.so/p1");
  EXPECT_FALSE(ParsePublishAnswer(PublishKind::kNotion, "<html>").ok());
  EXPECT_FALSE(ParsePublishAnswer(PublishKind::kConfluence, "{}").ok());
  EXPECT_TRUE(ParsePublishAnswer(PublishKind::kWebhook, "").ok());
}

}  // namespace
}  // namespace failover::coordinator
