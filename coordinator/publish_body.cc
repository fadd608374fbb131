#include "coordinator/publish_body.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "coordinator/run_executor.h"
#include "failover/clock.h"
#include "google/protobuf/util/json_util.h"

namespace failover::coordinator {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

std::string Join(const std::string& base, const std::string& path) {
  return absl::StrCat(absl::StripSuffix(base, "/"), path);
}

// "a | b \| c" -> {"a", "b | c"}.
std::vector<std::string> TableCells(absl::string_view line) {
  line = absl::StripAsciiWhitespace(line);
  line = absl::StripPrefix(line, "|");
  if (absl::EndsWith(line, "|") && !absl::EndsWith(line, "\\|")) line.remove_suffix(1);
  std::vector<std::string> cells;
  std::string cell;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '|') {
      cell += '|';
      ++i;
    } else if (line[i] == '|') {
      cells.push_back(std::string(absl::StripAsciiWhitespace(cell)));
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  cells.push_back(std::string(absl::StripAsciiWhitespace(cell)));
  return cells;
}

bool IsRule(absl::string_view line) {
  return absl::StartsWith(line, "|-") || absl::StartsWith(line, "|:-") || absl::StartsWith(line, "| -");
}

// Cuts UTF-8 text into pieces of at most `max` bytes, never inside a character.
std::vector<std::string> Chunks(const std::string& text, size_t max) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < text.size()) {
    size_t end = std::min(text.size(), at + max);
    while (end < text.size() && end > at && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    out.push_back(text.substr(at, end - at));
    at = end;
  }
  if (out.empty()) out.push_back("");
  return out;
}

std::string Xml(const std::string& s) {
  return absl::StrReplaceAll(s, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

std::string Json(const google::protobuf::Message& m) {
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out);
  return out;
}

Value Str(const std::string& s) {
  Value v;
  v.set_string_value(s);
  return v;
}

Struct* Obj(Struct* s, const std::string& key) { return (*s->mutable_fields())[key].mutable_struct_value(); }
google::protobuf::ListValue* List(Struct* s, const std::string& key) {
  return (*s->mutable_fields())[key].mutable_list_value();
}

// rich_text items of one text piece.
void AddRichText(google::protobuf::ListValue* list, const std::string& piece) {
  Struct* item = list->add_values()->mutable_struct_value();
  (*item->mutable_fields())["type"] = Str("text");
  (*Obj(item, "text")->mutable_fields())["content"] = Str(piece);
}

// One Notion block of `type` per kNotionMaxRichTextItems pieces of `text`.
void AddTextBlocks(std::vector<Value>* out, const std::string& type, const std::string& text,
                   const std::string& language = "") {
  const auto pieces = Chunks(text, kNotionMaxTextChars);
  for (size_t i = 0; i < pieces.size(); i += kNotionMaxRichTextItems) {
    Value v;
    Struct* block = v.mutable_struct_value();
    (*block->mutable_fields())["object"] = Str("block");
    (*block->mutable_fields())["type"] = Str(type);
    Struct* body = Obj(block, type);
    auto* rich = List(body, "rich_text");
    for (size_t j = i; j < pieces.size() && j < i + kNotionMaxRichTextItems; ++j) AddRichText(rich, pieces[j]);
    if (!language.empty()) (*body->mutable_fields())["language"] = Str(language);
    out->push_back(std::move(v));
  }
}

std::string TableText(const MdBlock& b) {
  std::string out;
  for (size_t i = 0; i < b.rows.size(); ++i) {
    std::vector<std::string> cells;
    for (const auto& c : b.rows[i]) cells.push_back(absl::StrReplaceAll(c, {{"|", "\\|"}}));
    absl::StrAppend(&out, "| ", absl::StrJoin(cells, " | "), " |\n");
    if (i == 0) absl::StrAppend(&out, "|", absl::StrJoin(std::vector<std::string>(cells.size(), "---"), "|"), "|\n");
  }
  return std::string(absl::StripSuffix(out, "\n"));
}

HttpRequest Post(const std::string& url, const std::string& body) {
  HttpRequest r;
  r.method = "POST";
  r.url = url;
  r.body = body;
  r.headers.emplace_back("Content-Type", "application/json");
  r.headers.emplace_back("Accept", "application/json");
  return r;
}

void NotionHeaders(const PublishDestination& d, HttpRequest* r) {
  r->headers.emplace_back("Authorization", "Bearer " + d.token);
  r->headers.emplace_back("Notion-Version", kNotionVersion);
}

}  // namespace

std::vector<MdBlock> ParseMarkdownBlocks(const std::string& markdown) {
  std::vector<MdBlock> out;
  const std::vector<std::string> lines = absl::StrSplit(markdown, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    absl::string_view line = absl::StripTrailingAsciiWhitespace(lines[i]);
    if (line.empty()) continue;
    MdBlock b;
    if (absl::StartsWith(line, "```")) {
      b.kind = MdBlockKind::kCode;
      std::vector<std::string> body;
      for (++i; i < lines.size() && !absl::StartsWith(lines[i], "```"); ++i) body.push_back(lines[i]);
      b.text = absl::StrJoin(body, "\n");
    } else if (line[0] == '#') {
      const size_t hashes = line.find_first_not_of('#');
      b.kind = MdBlockKind::kHeading;
      b.level = static_cast<int>(std::min<size_t>(3, hashes == absl::string_view::npos ? line.size() : hashes));
      b.text = std::string(absl::StripAsciiWhitespace(line.substr(std::min(line.size(), hashes))));
    } else if (line[0] == '|') {
      b.kind = MdBlockKind::kTable;
      for (; i < lines.size() && absl::StartsWith(lines[i], "|"); ++i)
        if (!IsRule(lines[i])) b.rows.push_back(TableCells(lines[i]));
      --i;
    } else if (absl::StartsWith(line, "- ") || absl::StartsWith(line, "* ")) {
      b.kind = MdBlockKind::kBullet;
      b.text = std::string(line.substr(2));
    } else {
      b.text = std::string(line);
    }
    out.push_back(std::move(b));
  }
  return out;
}

std::string PublishTitle(const PublishDestination& d, const v1::Report& r) {
  return absl::StrReplaceAll(d.title_template, {{"{run_id}", r.run_id()},
                                                {"{outcome}", OutcomeName(r.outcome())},
                                                {"{services}", absl::StrJoin(r.services(), ", ")},
                                                {"{started}", FormatUnixUs(r.started_at_unix_us())}});
}

std::string ConfluenceStorage(const std::vector<MdBlock>& blocks) {
  std::string out;
  bool in_list = false;
  for (const MdBlock& b : blocks) {
    if (in_list && b.kind != MdBlockKind::kBullet) absl::StrAppend(&out, "</ul>");
    if (!in_list && b.kind == MdBlockKind::kBullet) absl::StrAppend(&out, "<ul>");
    in_list = b.kind == MdBlockKind::kBullet;
    switch (b.kind) {
      case MdBlockKind::kHeading: absl::StrAppend(&out, "<h", b.level, ">", Xml(b.text), "</h", b.level, ">"); break;
      case MdBlockKind::kParagraph: absl::StrAppend(&out, "<p>", Xml(b.text), "</p>"); break;
      case MdBlockKind::kBullet: absl::StrAppend(&out, "<li>", Xml(b.text), "</li>"); break;
      case MdBlockKind::kCode: absl::StrAppend(&out, "<pre>", Xml(b.text), "</pre>"); break;
      case MdBlockKind::kTable:
        absl::StrAppend(&out, "<table><tbody>");
        for (size_t i = 0; i < b.rows.size(); ++i) {
          const char* cell = i == 0 ? "th" : "td";
          absl::StrAppend(&out, "<tr>");
          for (const auto& c : b.rows[i]) absl::StrAppend(&out, "<", cell, ">", Xml(c), "</", cell, ">");
          absl::StrAppend(&out, "</tr>");
        }
        absl::StrAppend(&out, "</tbody></table>");
        break;
    }
  }
  if (in_list) absl::StrAppend(&out, "</ul>");
  return out;
}

HttpRequest ConfluenceCreatePage(const PublishDestination& d, const std::string& title, const std::string& storage) {
  Struct s;
  (*s.mutable_fields())["type"] = Str("page");
  (*s.mutable_fields())["title"] = Str(title);
  (*Obj(&s, "space")->mutable_fields())["key"] = Str(d.space_key);
  if (!d.ancestor_id.empty())
    (*List(&s, "ancestors")->add_values()->mutable_struct_value()->mutable_fields())["id"] = Str(d.ancestor_id);
  Struct* st = Obj(Obj(&s, "body"), "storage");
  (*st->mutable_fields())["value"] = Str(storage);
  (*st->mutable_fields())["representation"] = Str("storage");
  HttpRequest r = Post(Join(d.url, "/rest/api/content"), Json(s));
  r.headers.emplace_back("Authorization", d.user.empty() ? "Bearer " + d.token
                                                         : "Basic " + absl::Base64Escape(d.user + ":" + d.token));
  return r;
}

std::vector<Value> NotionBlocks(const std::vector<MdBlock>& blocks) {
  std::vector<Value> out;
  for (const MdBlock& b : blocks) {
    switch (b.kind) {
      case MdBlockKind::kHeading: AddTextBlocks(&out, absl::StrCat("heading_", b.level), b.text); break;
      case MdBlockKind::kParagraph: AddTextBlocks(&out, "paragraph", b.text); break;
      case MdBlockKind::kBullet: AddTextBlocks(&out, "bulleted_list_item", b.text); break;
      case MdBlockKind::kCode: AddTextBlocks(&out, "code", b.text, "plain text"); break;
      case MdBlockKind::kTable: AddTextBlocks(&out, "code", TableText(b), "markdown"); break;
    }
  }
  return out;
}

HttpRequest NotionCreatePage(const PublishDestination& d, const std::string& title, const std::vector<Value>& blocks) {
  Struct s;
  (*Obj(&s, "parent")->mutable_fields())["page_id"] = Str(d.parent_page_id);
  auto* title_list = List(Obj(Obj(&s, "properties"), "title"), "title");
  for (const auto& piece : Chunks(title, kNotionMaxTextChars)) {
    Struct* item = title_list->add_values()->mutable_struct_value();
    (*Obj(item, "text")->mutable_fields())["content"] = Str(piece);
    if (title_list->values_size() == 1) break;  // one title piece is enough
  }
  auto* children = List(&s, "children");
  for (size_t i = 0; i < blocks.size() && i < kNotionMaxBlocksPerRequest; ++i) *children->add_values() = blocks[i];
  HttpRequest r = Post(Join(d.url, "/v1/pages"), Json(s));
  NotionHeaders(d, &r);
  return r;
}

HttpRequest NotionAppendBlocks(const PublishDestination& d, const std::string& page_id, const std::vector<Value>& blocks,
                               size_t from) {
  Struct s;
  auto* children = List(&s, "children");
  for (size_t i = from; i < blocks.size() && i < from + kNotionMaxBlocksPerRequest; ++i)
    *children->add_values() = blocks[i];
  HttpRequest r = Post(Join(d.url, absl::StrCat("/v1/blocks/", page_id, "/children")), Json(s));
  r.method = "PATCH";
  NotionHeaders(d, &r);
  return r;
}

HttpRequest WebhookPost(const PublishDestination& d, const std::string& run_id, const std::string& title,
                        const std::string& markdown, const std::string& html) {
  Struct s;
  for (auto [k, v] : {std::pair<const char*, const std::string*>{"run_id", &run_id}, {"title", &title},
                      {"markdown", &markdown}, {"html", &html}})
    (*s.mutable_fields())[k] = Str(*v);
  HttpRequest r = Post(d.url, Json(s));
  if (!d.token.empty()) r.headers.emplace_back("Authorization", "Bearer " + d.token);
  return r;
}

absl::StatusOr<PublishedPage> ParsePublishAnswer(PublishKind kind, const std::string& body) {
  if (kind == PublishKind::kWebhook) return PublishedPage{};
  Struct s;
  if (!google::protobuf::util::JsonStringToMessage(body, &s).ok())
    return absl::InvalidArgumentError("the answer is not JSON: " + body.substr(0, 120));
  const auto& f = s.fields();
  auto text = [](const google::protobuf::Map<std::string, Value>& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? std::string() : it->second.string_value();
  };
  PublishedPage page;
  page.id = text(f, "id");
  if (page.id.empty()) return absl::InvalidArgumentError("the answer has no page id: " + body.substr(0, 120));
  if (kind == PublishKind::kNotion) {
    page.url = text(f, "url");
  } else if (auto links = f.find("_links"); links != f.end()) {
    const auto& l = links->second.struct_value().fields();
    if (!text(l, "webui").empty()) page.url = text(l, "base") + text(l, "webui");
  }
  return page;
}

}  // namespace failover::coordinator
