#include "coordinator/publish_worker.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/report_html.h"
#include "coordinator/report_markdown.h"
#include "failover/logging.h"

namespace failover::coordinator {
namespace {

const PublishDestination* Find(const std::vector<PublishDestination>& all, const std::string& name) {
  for (const auto& d : all)
    if (d.name == name) return &d;
  return nullptr;
}

}  // namespace

Publisher::Publisher(HistoryStore* history, DestinationsFn destinations, PublishTransport* transport, Clock* clock)
    : history_(history), destinations_(std::move(destinations)), transport_(transport), clock_(clock) {}

Publisher::~Publisher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  attempted_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void Publisher::Start() { worker_ = std::thread([this] { Worker(); }); }

void Publisher::Worker() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    wake_ = false;
    lock.unlock();
    RunDue();
    const std::chrono::milliseconds idle = UntilNextDue();
    lock.lock();
    // Sleeps until the next pending publish is due or Enqueue wakes it: an idle coordinator does
    // not read the outbox (it used to, 5 times a second).
    cv_.wait_for(lock, idle, [this] { return wake_ || stopping_; });
  }
}

absl::StatusOr<OutboxEntry> Publisher::Enqueue(const std::string& run_id, const PublishDestination& d) {
  OutboxEntry e = NewOutboxEntry(run_id, d, clock_->NowUnixUs());
  auto id = history_->AddPublish(e);
  if (!id.ok()) return id.status();
  e.id = *id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
  return e;
}

absl::StatusOr<OutboxEntry> Publisher::WaitFirstAttempt(int64_t id, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (true) {
    uint64_t seen = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen = attempts_recorded_;
    }
    auto e = history_->GetPublish(id);
    if (!e.ok() || e->attempts > 0 || e->state != v1::PUBLISH_PENDING) return e;
    // Woken when the worker records an attempt (of any entry), not by polling the outbox.
    std::unique_lock<std::mutex> lock(mu_);
    if (!attempted_cv_.wait_until(lock, until, [&] { return attempts_recorded_ != seen || stopping_; })) {
      lock.unlock();
      return history_->GetPublish(id);
    }
    if (stopping_) return e;
  }
}

std::chrono::milliseconds Publisher::UntilNextDue() {
  // Bounded, so a clock step or an entry another process added is seen within a minute.
  constexpr std::chrono::milliseconds kMaxIdle{60'000};
  auto next = history_->NextPublishDueUs();
  if (!next.ok()) return std::chrono::milliseconds(1000);  // RunDue has logged why; look again soon
  if (*next == 0) return kMaxIdle;
  const int64_t ms = (*next - clock_->NowUnixUs() + 999) / 1000;
  return std::chrono::milliseconds(std::clamp<int64_t>(ms, 0, kMaxIdle.count()));
}

void Publisher::RunDue() {
  auto log = GetLogger("publish");
  auto due = history_->DuePublishes(clock_->NowUnixUs());
  if (!due.ok()) {
    log->error("publish outbox not read (pending publishes wait): {}", due.status().message());
    return;
  }
  const std::vector<PublishDestination> all = destinations_();
  for (OutboxEntry& e : *due) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    const PublishDestination* d = Find(all, e.destination);
    absl::Status result = d == nullptr ? absl::NotFoundError("destination gone") : Attempt(*d, &e);
    e = AfterAttempt(std::move(e), result, d, clock_->NowUnixUs());
    const std::string what = absl::StrCat("publish ", e.id, " of run ", e.run_id, " to ", e.destination);
    if (e.state == v1::PUBLISH_DELIVERED)
      log->info("{}: delivered after {} attempt(s){}", what, e.attempts, e.page_url.empty() ? "" : ": " + e.page_url);
    else
      log->warn("{}: {} (attempt {}): {}", what, e.state == v1::PUBLISH_FAILED ? "FAILED" : "not delivered yet, will retry",
                e.attempts, Redact(e.last_error));
    if (absl::Status s = history_->UpdatePublish(e); !s.ok())
      log->error("{}: outcome not recorded (it is attempted again): {}", what, s.message());
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++attempts_recorded_;
    }
    attempted_cv_.notify_all();
  }
}

absl::StatusOr<std::string> Publisher::Send(const PublishDestination& d, const HttpRequest& req) {
  auto answer = transport_->Send(req, d.timeout_ms);
  if (!answer.ok()) return absl::UnavailableError(Redact(std::string(answer.status().message())));
  if (answer->status < 200 || answer->status > 299)
    return absl::UnavailableError(Redact(absl::StrCat(PublishKindName(d.kind), " answered HTTP ", answer->status, " to ",
                                                      req.method, ": ", answer->body.substr(0, 200))));
  return answer->body;
}

absl::Status Publisher::Attempt(const PublishDestination& d, OutboxEntry* e) {
  auto report = history_->Get(e->run_id);
  if (!report.ok()) return report.status();
  const std::string md = RenderMarkdown(*report);
  const std::string title = PublishTitle(d, *report);
  switch (d.kind) {
    case PublishKind::kWebhook: {
      auto body = Send(d, WebhookPost(d, e->run_id, title, md, RenderHtml(*report)));
      return body.ok() ? absl::OkStatus() : body.status();
    }
    case PublishKind::kConfluence: {
      auto body = Send(d, ConfluenceCreatePage(d, title, ConfluenceStorage(ParseMarkdownBlocks(md))));
      if (!body.ok()) return body.status();
      auto page = ParsePublishAnswer(d.kind, *body);
      if (!page.ok()) return page.status();
      e->page_id = page->id;
      e->page_url = page->url;
      return absl::OkStatus();
    }
    case PublishKind::kNotion: return AttemptNotion(d, *report, md, e);
  }
  return absl::InternalError("unknown destination kind");
}

// Creates the page once (first 100 blocks), then appends the rest 100 at a time; progress is saved
// after each request so a retry continues where this attempt stopped.
absl::Status Publisher::AttemptNotion(const PublishDestination& d, const v1::Report& r, const std::string& md,
                                      OutboxEntry* e) {
  const auto blocks = NotionBlocks(ParseMarkdownBlocks(md));
  if (e->page_id.empty()) {
    auto body = Send(d, NotionCreatePage(d, PublishTitle(d, r), blocks));
    if (!body.ok()) return body.status();
    auto page = ParsePublishAnswer(d.kind, *body);
    if (!page.ok()) return page.status();
    e->page_id = page->id;
    e->page_url = page->url;
    e->blocks_sent = static_cast<uint32_t>(std::min(blocks.size(), kNotionMaxBlocksPerRequest));
    (void)history_->UpdatePublish(*e);
  }
  while (e->blocks_sent < blocks.size()) {
    auto body = Send(d, NotionAppendBlocks(d, e->page_id, blocks, e->blocks_sent));
    if (!body.ok()) return body.status();
    e->blocks_sent = static_cast<uint32_t>(std::min(blocks.size(), e->blocks_sent + kNotionMaxBlocksPerRequest));
    (void)history_->UpdatePublish(*e);
  }
  return absl::OkStatus();
}

absl::StatusOr<OutboxEntry> Publisher::Request(const std::string& run_id, const std::string& destination,
                                               const std::string& who, std::chrono::milliseconds wait) {
  auto log = GetLogger("publish");
  const std::vector<PublishDestination> all = destinations_();
  const PublishDestination* d = Find(all, destination);
  if (d == nullptr) {
    std::vector<std::string> names;
    for (const auto& x : all) names.push_back(x.name);
    const std::string why = absl::StrCat(
        "--publish \"", destination, "\" is not a destination of this coordinator (",
        names.empty() ? "its config declares none: add a publish: list to the coordinator's --config"
                      : "configured: " + absl::StrJoin(names, ", "),
        "); destinations and their URLs come only from the coordinator's config");
    log->warn("[audit] publish by {} refused: {}", who, Redact(why));
    return absl::InvalidArgumentError(why);
  }
  auto report = history_->Get(run_id);
  if (!report.ok()) {
    log->warn("[audit] publish by {} to {} refused: {}", who, d->name, report.status().message());
    return report.status();
  }
  auto e = Enqueue(report->run_id(), *d);
  if (!e.ok()) return e.status();
  log->info("[audit] publish {} of run {} to {} ({}) requested by {}", e->id, e->run_id, d->name,
            PublishKindName(d->kind), who);
  return WaitFirstAttempt(e->id, wait);
}

}  // namespace failover::coordinator
