#include "agent/dbus_private_reader.h"

#include <systemd/sd-bus.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "failover/logging.h"

namespace failover::agent {
namespace {

constexpr auto kReconnectPause = std::chrono::seconds(1);
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

DbusPrivateReader::~DbusPrivateReader() {
  std::lock_guard<std::mutex> lock(mu_);
  CloseLocked();
}

uint64_t DbusPrivateReader::reads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reads_;
}

void DbusPrivateReader::CloseLocked() {
  if (bus_ != nullptr) bus_ = sd_bus_close_unref(bus_);
  bus_ = nullptr;
}

absl::Status DbusPrivateReader::ConnectLocked() {
  if (address_.empty()) return absl::UnavailableError("the private socket is not used");
  const auto now = std::chrono::steady_clock::now();
  if (now < retry_after_) return absl::UnavailableError("no connection to systemd's private socket (retrying soon)");
  sd_bus* bus = nullptr;
  int r = sd_bus_new(&bus);
  if (r >= 0) r = sd_bus_set_address(bus, address_.c_str());
  if (r >= 0) r = sd_bus_start(bus);  // peer to peer: no Hello, no bus daemon
  if (r < 0) {
    if (bus != nullptr) sd_bus_unref(bus);
    retry_after_ = now + kReconnectPause;
    return absl::UnavailableError(absl::StrCat("cannot connect to ", address_, ": ", std::strerror(-r)));
  }
  bus_ = bus;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<DbusPrivateReader::Answer>> DbusPrivateReader::Read(const std::vector<Get>& gets,
                                                                               std::chrono::microseconds timeout) {
  std::lock_guard<std::mutex> lock(mu_);
  if (bus_ == nullptr) {
    if (absl::Status s = ConnectLocked(); !s.ok()) return s;
  }
  std::vector<Answer> answers(gets.size());
  Pending pending{&answers, 0};
  std::vector<Slot> slots(gets.size());
  std::vector<sd_bus_slot*> calls(gets.size(), nullptr);
  auto broken = [&](const std::string& why) {
    for (sd_bus_slot* c : calls) sd_bus_slot_unref(c);  // no handler may run after we return
    CloseLocked();  // the next read connects again
    return absl::UnavailableError(absl::StrCat("systemd's private socket: ", why));
  };
  for (size_t i = 0; i < gets.size(); ++i) {
    slots[i] = {&pending, i};
    int r = sd_bus_call_method_async(bus_, &calls[i], "org.freedesktop.systemd1", gets[i].path.c_str(), kPropsIface,
                                     "Get", OnReply, &slots[i], "ss", gets[i].iface, gets[i].name);
    if (r < 0) return broken(absl::StrCat("sending a property read: ", std::strerror(-r)));
    ++pending.left;
  }
  // Our own bound, not sd-bus's 25 s per call: a systemd that does not answer in `timeout` loses
  // this connection, and the caller reads over the bus with what is left of its deadline.
  const auto give_up = std::chrono::steady_clock::now() + timeout;
  while (pending.left > 0) {
    int r = sd_bus_process(bus_, nullptr);
    if (r < 0) return broken(absl::StrCat("reading the replies: ", std::strerror(-r)));
    if (r > 0) continue;
    const auto left = std::chrono::duration_cast<std::chrono::microseconds>(give_up - std::chrono::steady_clock::now());
    if (left.count() <= 0) return broken("systemd did not answer the property reads in time");
    r = sd_bus_wait(bus_, static_cast<uint64_t>(left.count()));
    if (r < 0 && r != -EINTR) return broken(absl::StrCat("waiting for the replies: ", std::strerror(-r)));
  }
  for (sd_bus_slot* c : calls) sd_bus_slot_unref(c);
  ++reads_;
  return answers;
}

}  // namespace failover::agent
