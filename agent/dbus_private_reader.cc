#include "agent/dbus_private_reader.h"

#include <systemd/sd-bus.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "failover/logging.h"

namespace failover::agent {
namespace {

constexpr auto kReconnectPause = std::chrono::seconds(1);  // after a connect that failed
constexpr char kPropsIface[] = "org.freedesktop.DBus.Properties";

// What the handler of one Get fills in; lives on Read's stack (the handlers run only inside its
// sd_bus_process calls, and their slots are gone before it returns).
struct Pending {
  std::vector<DbusPrivateReader::Answer>* answers;
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
  --slot->pending->left;
  return 0;
}

}  // namespace

DbusPrivateReader::DbusPrivateReader(std::string address) : address_(std::move(address)) {}

uint64_t DbusPrivateReader::reads() const { return reads_; }

absl::StatusOr<sd_bus*> DbusPrivateReader::Connect() {
  if (address_.empty()) return absl::UnavailableError("the private socket is not used");
  if (std::chrono::steady_clock::now() < retry_after_.load())
    return absl::UnavailableError("no connection to systemd's private socket (retrying soon)");
  sd_bus* bus = nullptr;
  int r = sd_bus_new(&bus);
  if (r >= 0) r = sd_bus_set_address(bus, address_.c_str());
  if (r >= 0) r = sd_bus_start(bus);  // peer to peer: no Hello, no bus daemon
  if (r < 0) {
    if (bus != nullptr) sd_bus_unref(bus);
    retry_after_ = std::chrono::steady_clock::now() + kReconnectPause;
    return absl::UnavailableError(absl::StrCat("cannot connect to ", address_, ": ", std::strerror(-r)));
  }
  return bus;
}

absl::StatusOr<std::vector<DbusPrivateReader::Answer>> DbusPrivateReader::Read(const std::vector<Get>& gets,
                                                                               std::chrono::microseconds timeout) {
  // A connection per read, closed at its end: systemd sends every unit and job signal to every
  // private connection, whether or not it subscribed, so a connection kept open between reads
  // would pile them up in PID 1 (its write queue) and in front of the next read's replies.
  // Connecting costs ~0.2 ms; concurrent reads each have their own.
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  auto connected = Connect();
  if (!connected.ok()) return connected.status();
  sd_bus* bus = *connected;
  std::vector<Answer> answers(gets.size());
  Pending pending{&answers, 0};
  std::vector<Slot> slots(gets.size());
  std::vector<sd_bus_slot*> calls(gets.size(), nullptr);
  auto end = [&](absl::Status why) -> absl::StatusOr<std::vector<Answer>> {
    for (sd_bus_slot* c : calls) sd_bus_slot_unref(c);  // no handler runs after this
    sd_bus_close_unref(bus);
    if (!why.ok()) return why;
    ++reads_;
    return std::move(answers);
  };
  for (size_t i = 0; i < gets.size(); ++i) {
    slots[i] = {&pending, i};
    int r = sd_bus_call_method_async(bus, &calls[i], "org.freedesktop.systemd1", gets[i].path.c_str(), kPropsIface,
                                     "Get", OnReply, &slots[i], "ss", gets[i].iface, gets[i].name);
    if (r < 0) return end(absl::UnavailableError(absl::StrCat("sending a property read: ", std::strerror(-r))));
    ++pending.left;
  }
  // Our own bound, checked on every pass (signals arriving meanwhile are processed and dropped):
  // a systemd that does not answer in `timeout` ends the read; sd-bus's 25 s never applies.
  while (pending.left > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(give_up - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return end(absl::DeadlineExceededError(absl::StrCat("systemd did not answer the property reads within ",
                                                          timeout.count() / 1000, " ms")));
    int r = sd_bus_process(bus, nullptr);
    if (r < 0) return end(absl::UnavailableError(absl::StrCat("reading the replies: ", std::strerror(-r))));
    if (r > 0) continue;
    r = sd_bus_wait(bus, static_cast<uint64_t>(left.count()));
    if (r < 0 && r != -EINTR) return end(absl::UnavailableError(absl::StrCat("waiting: ", std::strerror(-r))));
  }
  // systemd hung up with our calls in flight (it re-executes): sd-bus answered them itself.
  if (sd_bus_is_open(bus) <= 0) return end(absl::UnavailableError("systemd closed the connection during the read"));
  return end(absl::OkStatus());
}

}  // namespace failover::agent
