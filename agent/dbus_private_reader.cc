#include "agent/dbus_private_reader.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "failover/logging.h"

namespace failover::agent {
namespace {

constexpr char kPropsIface[] = "org.freedesktop.DBus.Properties";

// What the handler of one Get fills in; lives on Read's stack (the handlers run only inside the
// drain's sd_bus_process, under the reader's lock, and their slots are gone before Read returns).
struct Pending {
  std::vector<DbusPrivateReader::Answer>* answers;
  std::condition_variable* done;
  bool* answered_ever;
  std::atomic<int>* waiting_reads;  // the read, once answered, waits for mu_ again
  size_t left = 0;
};
struct Slot {
  Pending* pending;
  size_t index;
};

template <typename T>
std::optional<sdbus::Variant> ReadBasic(sd_bus_message* m, char type) {
  T v{};
  if (sd_bus_message_read_basic(m, type, &v) < 0) return std::nullopt;
  return sdbus::Variant(v);
}

// The variant of a Properties.Get reply, for the types a UnitState needs.
std::optional<sdbus::Variant> VariantOf(sd_bus_message* m) {
  char type = 0;
  const char* contents = nullptr;
  if (sd_bus_message_peek_type(m, &type, &contents) <= 0 || type != 'v' || contents == nullptr) return std::nullopt;
  if (sd_bus_message_enter_container(m, 'v', contents) < 0) return std::nullopt;
  switch (contents[0]) {
    case 's': {
      const char* s = nullptr;
      if (sd_bus_message_read_basic(m, 's', &s) < 0 || s == nullptr) return std::nullopt;
      return sdbus::Variant(std::string(s));
    }
    case 't': return ReadBasic<uint64_t>(m, 't');
    case 'u': return ReadBasic<uint32_t>(m, 'u');
    case 'i': return ReadBasic<int32_t>(m, 'i');
    case 'b': {
      int b = 0;
      if (sd_bus_message_read_basic(m, 'b', &b) < 0) return std::nullopt;
      return sdbus::Variant(b != 0);
    }
    default: return std::nullopt;
  }
}

int OnReply(sd_bus_message* m, void* userdata, sd_bus_error*) {
  auto* slot = static_cast<Slot*>(userdata);
  DbusPrivateReader::Answer& a = (*slot->pending->answers)[slot->index];
  try {  // a C callback inside sd_bus_process: nothing may unwind through it
    if (sd_bus_message_is_method_error(m, nullptr)) {
      const sd_bus_error* e = sd_bus_message_get_error(m);
      a.error = sdbus::Error(e && e->name ? e->name : "org.freedesktop.DBus.Error.Failed",
                             e && e->message ? e->message : "error reply");
    } else if (auto v = VariantOf(m)) {
      a.value = std::move(*v);
    } else {
      a.error = sdbus::Error("org.freedesktop.DBus.Error.InvalidSignature",
                             "a property reply of a type the agent does not read");
    }
  } catch (...) {  // out of memory: the property is not read
    a.value.reset();
    try {
      a.error = sdbus::Error("org.freedesktop.DBus.Error.NoMemory", "reading the answer failed");
    } catch (...) {
    }
  }
  if (a.value) *slot->pending->answered_ever = true;  // not sd-bus's own NoReply of a closing connection
  if (--slot->pending->left == 0) {
    ++*slot->pending->waiting_reads;
    slot->pending->done->notify_all();
  }
  return 0;
}

// Whether a read answered in full may have been answered by sd-bus itself: a closing connection
// answers its pending calls with NoReply errors.
bool AnyError(const std::vector<DbusPrivateReader::Answer>& answers) {
  return std::any_of(answers.begin(), answers.end(), [](const DbusPrivateReader::Answer& a) { return a.error; });
}

}  // namespace

DbusPrivateReader::DbusPrivateReader(std::string address, Timing timing)
    : address_(std::move(address)), timing_(timing) {}

DbusPrivateReader::~DbusPrivateReader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ending_ = true;
    CloseLocked();
  }
  Wake();
  if (drain_.joinable()) drain_.join();
  if (wake_fd_ >= 0) close(wake_fd_);
}

uint64_t DbusPrivateReader::reads() const { return reads_; }

bool DbusPrivateReader::connected() {
  std::lock_guard<std::mutex> lock(mu_);
  return bus_ != nullptr;
}

void DbusPrivateReader::Wake() {
  if (wake_fd_ < 0) return;
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
}

absl::Status DbusPrivateReader::ConnectLocked() {
  if (bus_ != nullptr) return absl::OkStatus();
  if (address_.empty()) return absl::UnavailableError("the private socket is not used");
  if (std::chrono::steady_clock::now() < retry_after_)
    return absl::UnavailableError("no connection to systemd's private socket (retrying soon)");
  if (wake_fd_ < 0) wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) return absl::UnavailableError(absl::StrCat("eventfd: ", std::strerror(errno)));
  sd_bus* bus = nullptr;
  int r = sd_bus_new(&bus);
  if (r >= 0) r = sd_bus_set_address(bus, address_.c_str());
  if (r >= 0) r = sd_bus_start(bus);  // peer to peer: no Hello, no bus daemon
  if (r < 0) {
    if (bus != nullptr) sd_bus_unref(bus);
    retry_after_ = std::chrono::steady_clock::now() + timing_.pause_after_refusal;
    return absl::UnavailableError(absl::StrCat("cannot connect to ", address_, ": ", std::strerror(-r)));
  }
  bus_ = bus;
  answered_ever_ = false;
  if (!drain_.joinable()) drain_ = std::thread([this] { Drain(); });
  return absl::OkStatus();
}

void DbusPrivateReader::CloseLocked() {
  if (bus_ == nullptr) return;
  // Reads still waiting hold slots (and so references) on it: they unref them when they wake.
  sd_bus_close_unref(bus_);
  bus_ = nullptr;
  ++generation_;
  answered_.notify_all();
}

namespace {

// How long poll may sleep: until sd-bus's own next timeout (absolute CLOCK_MONOTONIC µs, or
// UINT64_MAX for none) or `idle_until`, whichever comes first; -1 for neither.
int WaitMs(sd_bus* bus, std::optional<std::chrono::steady_clock::time_point> idle_until) {
  int64_t wait_ms = -1;
  uint64_t until_us = UINT64_MAX;
  if (sd_bus_get_timeout(bus, &until_us) > 0 && until_us != UINT64_MAX) {
    timespec now{};
    clock_gettime(CLOCK_MONOTONIC, &now);
    const uint64_t now_us = uint64_t(now.tv_sec) * 1000000 + uint64_t(now.tv_nsec) / 1000;
    wait_ms = until_us <= now_us ? 0 : static_cast<int64_t>((until_us - now_us + 999) / 1000);
  }
  if (idle_until) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*idle_until - std::chrono::steady_clock::now());
    const int64_t idle_ms = std::max<int64_t>(0, left.count());
    wait_ms = wait_ms < 0 ? idle_ms : std::min(wait_ms, idle_ms);
  }
  return static_cast<int>(std::min<int64_t>(wait_ms, 60000));
}

}  // namespace

void DbusPrivateReader::Drain() {
  constexpr int kBatch = 64;  // messages processed per hold of mu_: a flood does not shut reads out
  std::unique_lock<std::mutex> lock(mu_);
  while (!ending_) {
    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {-1, 0, 0}};
    int wait_ms = -1;
    if (bus_ != nullptr) {
      // Replies reach their reads' handlers; signals match nothing and are dropped.
      int r = 0, done = 0;
      while (done < kBatch && (r = sd_bus_process(bus_, nullptr)) > 0) ++done;
      if (r < 0 || sd_bus_is_open(bus_) <= 0) {
        // Hung up before answering anything: systemd refused us (credentials, its connection
        // limit); do not knock again at once.
        if (!answered_ever_) retry_after_ = std::chrono::steady_clock::now() + timing_.pause_after_refusal;
        GetLogger("agent")->info("systemd's private socket closed ({}); the next read connects again",
                                 r < 0 ? std::strerror(-r) : "hung up");
        CloseLocked();
        continue;
      }
      std::optional<std::chrono::steady_clock::time_point> idle_until;
      if (in_flight_ == 0) {
        idle_until = last_used_ + timing_.idle_close;
        if (std::chrono::steady_clock::now() >= *idle_until) {
          CloseLocked();  // the agent idles: PID 1 keeps no signals queued for it
          continue;
        }
      }
      fds[1] = {sd_bus_get_fd(bus_), static_cast<short>(sd_bus_get_events(bus_)), 0};
      wait_ms = done == kBatch ? 0 : WaitMs(bus_, idle_until);  // more may be queued: let reads in first
    }
    lock.unlock();
    // std::mutex is not fair: under a flood the drain would take mu_ straight back. Reads waiting
    // for it go first (bounded: a read holds mu_ only to send its calls).
    for (int spins = 0; waiting_reads_.load() > 0 && spins < 1000; ++spins) std::this_thread::yield();
    (void)poll(fds, fds[1].fd >= 0 ? 2 : 1, wait_ms);
    if (fds[0].revents & POLLIN) {
      uint64_t n = 0;
      (void)!read(wake_fd_, &n, sizeof(n));
    }
    lock.lock();
  }
}

absl::StatusOr<std::vector<DbusPrivateReader::Answer>> DbusPrivateReader::Read(const std::vector<Get>& gets,
                                                                               std::chrono::microseconds timeout) {
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  ++waiting_reads_;
  std::unique_lock<std::mutex> lock(mu_);
  --waiting_reads_;
  if (absl::Status s = ConnectLocked(); !s.ok()) return s;
  const uint64_t generation = generation_;
  // The handlers run in the drain's sd_bus_process, under mu_, and only while the slots live:
  // these stay on this stack.
  std::vector<Answer> answers(gets.size());
  Pending pending{&answers, &answered_, &answered_ever_, &waiting_reads_, 0};
  std::vector<Slot> slots(gets.size());
  std::vector<sd_bus_slot*> calls(gets.size(), nullptr);
  ++in_flight_;
  auto end = [&](absl::Status why) -> absl::StatusOr<std::vector<Answer>> {
    for (sd_bus_slot* c : calls) sd_bus_slot_unref(c);  // no handler runs after this
    last_used_ = std::chrono::steady_clock::now();
    if (--in_flight_ == 0) Wake();  // the drain's idle clock starts now
    if (!why.ok()) return why;
    ++reads_;
    return std::move(answers);
  };
  for (size_t i = 0; i < gets.size(); ++i) {
    slots[i] = {&pending, i};
    int r = sd_bus_call_method_async(bus_, &calls[i], "org.freedesktop.systemd1", gets[i].path.c_str(), kPropsIface,
                                     "Get", OnReply, &slots[i], "ss", gets[i].iface, gets[i].name);
    if (r < 0) {
      CloseLocked();
      Wake();
      return end(absl::UnavailableError(absl::StrCat("sending a property read: ", std::strerror(-r))));
    }
    ++pending.left;
  }
  Wake();  // the drain sends what the socket did not take at once and reads the answers
  answered_.wait_until(lock, give_up, [&] { return pending.left == 0 || generation_ != generation; });
  if (pending.left == 0 && !calls.empty()) --waiting_reads_;  // counted by the last answer's handler
  const bool closed = generation_ != generation;
  if (pending.left == 0 && !(closed && AnyError(answers))) return end(absl::OkStatus());
  if (closed)  // systemd hung up (it re-executes, or refused us), or another read timed out
    return end(absl::UnavailableError("systemd closed the connection during the read"));
  // systemd did not answer in `timeout` (sd-bus's 25 s never applies). The connection goes (its
  // late answers meet no read), and reads use the bus for a while: one that hangs here once is
  // not waited on again by every read.
  CloseLocked();
  retry_after_ = std::chrono::steady_clock::now() + timing_.pause_after_timeout;
  Wake();
  return end(absl::DeadlineExceededError(
      absl::StrCat("systemd did not answer the property reads within ", timeout.count() / 1000, " ms")));
}

}  // namespace failover::agent
