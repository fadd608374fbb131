// EventStream over a real in-process gRPC server: a message the client cannot read must end the
// stream with an error, never leave the client waiting.
#include "failover/event_stream.h"

#include <chrono>

#include "failover/v1/coordinator.grpc.pb.h"
#include "gtest/gtest.h"

namespace failover {
namespace {

// Run streams one good event, then `bad` (if set), then a last one, then OK.
class StreamingService final : public v1::Coordinator::CallbackService {
 public:
  explicit StreamingService(std::string bad) : bad_(std::move(bad)) {}
  grpc::ServerWriteReactor<v1::RunEvent>* Run(grpc::CallbackServerContext*, const v1::RunRequest*) override {
    using Stream = EventStream<v1::RunEvent>;
    return Stream::Start([this](Stream::Sink& sink) {
      v1::RunEvent e;
      e.set_message("first");
      sink.Push(e);
      if (!bad_.empty()) {
        e.set_message(bad_);
        sink.Push(e);
      }
      e.set_message("last");
      sink.Push(e);
      return grpc::Status::OK;
    });
  }

 private:
  std::string bad_;
};

struct Read {
  grpc::Status status;
  std::vector<std::string> messages;
  std::chrono::milliseconds took;
};

Read ReadAll(const std::string& bad) {
  StreamingService service(bad);
  grpc::ServerBuilder builder;
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  auto stub = v1::Coordinator::NewStub(server->InProcessChannel(grpc::ChannelArguments()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  const auto t0 = std::chrono::steady_clock::now();
  auto reader = stub->Run(&ctx, v1::RunRequest());
  Read r;
  v1::RunEvent e;
  while (reader->Read(&e)) r.messages.push_back(e.message());
  r.status = reader->Finish();
  r.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  server->Shutdown();
  return r;
}

TEST(EventStream, DeliversEveryMessageAndTheWorkersStatus) {
  Read r = ReadAll("");
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_EQ(r.messages, (std::vector<std::string>{"first", "last"}));
}

TEST(EventStream, AMessageWithInvalidUtf8EndsTheStreamWithAnErrorInsteadOfAHang) {
  Read r = ReadAll(std::string("bad \xff\xfe byte"));
  EXPECT_EQ(r.status.error_code(), grpc::StatusCode::INTERNAL) << r.status.error_message();
  EXPECT_NE(r.status.error_message().find("could not send an event"), std::string::npos) << r.status.error_message();
  EXPECT_EQ(r.messages, (std::vector<std::string>{"first"})) << "nothing after the bad message";
  EXPECT_LT(r.took.count(), 5000);
}

}  // namespace
}  // namespace failover
