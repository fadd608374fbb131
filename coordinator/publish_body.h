// The requests that publish a report, as the destinations document them (pure: no HTTP here;
// publish_worker sends them through a PublishTransport):
// - Confluence "create content": POST {url}/rest/api/content, JSON {type: "page", title,
//   space: {key}, ancestors: [{id}] (optional), body: {storage: {value: XHTML, representation: "storage"}}},
//   Authorization Bearer (or Basic user:token);
// - Notion "create a page": POST {url}/v1/pages with Authorization Bearer and Notion-Version,
//   JSON {parent: {page_id}, properties: {title: {title: [{text: {content}}]}}, children: [blocks]},
//   at most 100 blocks per request (the rest appended with PATCH {url}/v1/blocks/{page id}/children)
//   and at most 2000 characters per rich_text content;
// - webhook: POST {url}, JSON {run_id, title, markdown, html}.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "coordinator/publish_config.h"
#include "failover/v1/report.pb.h"
#include "google/protobuf/struct.pb.h"

namespace failover::coordinator {

inline constexpr char kNotionVersion[] = "2022-06-28";
inline constexpr size_t kNotionMaxBlocksPerRequest = 100;
inline constexpr size_t kNotionMaxTextChars = 2000;
inline constexpr size_t kNotionMaxRichTextItems = 100;

struct HttpRequest {
  std::string method;  // "POST" or "PATCH"
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;  // may hold the token: never log them
  std::string body;                                          // JSON
};

// The report's Markdown (RenderMarkdown) as blocks.
enum class MdBlockKind { kHeading, kParagraph, kBullet, kTable, kCode };
struct MdBlock {
  MdBlockKind kind = MdBlockKind::kParagraph;
  int level = 0;     // headings: 1..3
  std::string text;  // heading, paragraph, bullet, code
  std::vector<std::vector<std::string>> rows;  // tables: the header row first, cells unescaped
};
std::vector<MdBlock> ParseMarkdownBlocks(const std::string& markdown);

// The page title from the destination's template.
std::string PublishTitle(const PublishDestination& d, const v1::Report& report);

// Confluence storage format (XHTML) of the blocks: headings, paragraphs, lists, tables.
std::string ConfluenceStorage(const std::vector<MdBlock>& blocks);
HttpRequest ConfluenceCreatePage(const PublishDestination& d, const std::string& title, const std::string& storage);

// Notion block objects of the blocks (tables as code blocks holding the Markdown table), every
// rich_text content at most kNotionMaxTextChars characters.
std::vector<google::protobuf::Value> NotionBlocks(const std::vector<MdBlock>& blocks);
// The create request with blocks [0, kNotionMaxBlocksPerRequest) ...
HttpRequest NotionCreatePage(const PublishDestination& d, const std::string& title,
                             const std::vector<google::protobuf::Value>& blocks);
// ... and the append of blocks [from, from + kNotionMaxBlocksPerRequest) to the page.
HttpRequest NotionAppendBlocks(const PublishDestination& d, const std::string& page_id,
                               const std::vector<google::protobuf::Value>& blocks, size_t from);

HttpRequest WebhookPost(const PublishDestination& d, const std::string& run_id, const std::string& title,
                        const std::string& markdown, const std::string& html);

// Where the destination put the page, from its 2xx answer: Confluence {id, _links: {base, webui}},
// Notion {id, url}; a webhook's answer is not read. INVALID_ARGUMENT when the answer lacks the id.
struct PublishedPage {
  std::string id;
  std::string url;
};
absl::StatusOr<PublishedPage> ParsePublishAnswer(PublishKind kind, const std::string& body);

}  // namespace failover::coordinator
