#include "coordinator/publish_curl_transport.h"

#include <curl/curl.h>

#include "absl/strings/str_cat.h"

namespace failover::coordinator {
namespace {

constexpr size_t kMaxAnswer = 1 << 20;

size_t Keep(char* data, size_t size, size_t n, void* out) {
  auto* body = static_cast<std::string*>(out);
  const size_t len = size * n;
  if (body->size() < kMaxAnswer) body->append(data, std::min(len, kMaxAnswer - body->size()));
  return len;
}

std::string HostOf(const std::string& url) {
  const size_t start = url.find("://");
  const size_t from = start == std::string::npos ? 0 : start + 3;
  const size_t end = url.find_first_of("/?#", from);
  const std::string host = url.substr(from, end == std::string::npos ? std::string::npos : end - from);
  const size_t at = host.rfind('@');
  return at == std::string::npos ? host : host.substr(at + 1);
}

}  // namespace

absl::StatusOr<HttpAnswer> CurlPublishTransport::Send(const HttpRequest& req, uint32_t timeout_ms) {
  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  (void)curl_ready;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return absl::InternalError("libcurl init failed");
  curl_slist* headers = nullptr;
  for (const auto& [k, v] : req.headers) headers = curl_slist_append(headers, absl::StrCat(k, ": ", v).c_str());
  HttpAnswer answer;
  curl_easy_setopt(curl, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.c_str());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(req.body.size()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Keep);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer.body);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  const CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &answer.status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  const std::string host = HostOf(req.url);
  if (rc == CURLE_OPERATION_TIMEDOUT)
    return absl::DeadlineExceededError(absl::StrCat(host, ": no answer within ", timeout_ms, " ms"));
  if (rc != CURLE_OK) return absl::UnavailableError(absl::StrCat(host, ": ", curl_easy_strerror(rc)));
  return answer;
}

}  // namespace failover::coordinator
