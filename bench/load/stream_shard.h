// bench/load/stream_shard.h: the engine side of ringshard-load --ws-stream
// (stream_load.h says what it measures): what the run shares with the
// shard (StreamPlan), one subscriber, the connection the creates go out on,
// the create in flight, and the shard handler that drives them all.
// Private to bench/load.
//
// Thread: everything here lives on the run's one engine shard; StreamPlan's
// mutex and condition variable only tell run_stream_load() that it is over.
#pragma once

#include <sys/socket.h>

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "bench/load/load_options.h"
#include "bench/load/load_run.h"
#include "bench/load/response_reader.h"
#include "bench/load/ws_session.h"
#include "engine/connection.h"
#include "engine/shard.h"
#include "http/response_parser.h"
#include "tls/client.h"
#include "ws/reader.h"

namespace ringshard::load {

inline constexpr uint32_t kNoEvent = ~uint32_t{0};

// Set up by run_stream_load(), read-only while the shard runs.
struct StreamPlan {
  LoadOptions opt;
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  WsUpgrade upgrade;
  std::string create;  // the create request, encoded once
  std::shared_ptr<const tls::ClientContext> tls;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;  // the shard has closed everything: result is final
};

enum class SubPhase : uint8_t { kIdle, kUpgrading, kOpen, kClosing };

struct Subscriber {
  engine::Connection* conn = nullptr;
  uint32_t index = 0;
  SubPhase phase = SubPhase::kIdle;
  bool pending = false;   // connecting or upgrading (counted in pending_)
  bool lost = false;      // gone after timing began: misses every later event
  bool skip = false;      // the message being read is not one to look at
  uint32_t last_event = kNoEvent;  // the latest event it got
  std::string msg;
  WsHandshakeReader handshake;
  ws::FrameReader reader;
};

// The connection the creates go out on.
struct Poster {
  engine::Connection* conn = nullptr;
  bool open = false;        // connected (and TLS handshake done)
  bool send_on_open = false;  // a create waits for it to open
  ResponseReader reader;
  std::string body;         // the answer's body (keep_body)
};

// The create in flight and its event.
struct Event {
  bool active = false;
  bool answered = false;
  uint32_t index = 0;       // creates sent before it
  uint64_t sent_ns = 0;
  std::string id;           // from the answer
  uint64_t waiting = 0;     // open subscribers that have not got it
  uint64_t got = 0;
};

// Set-up (connect and upgrade every subscriber), settling, timing the
// creates one by one, closing.
enum class Stage : uint8_t { kSetup, kSettling, kTiming, kStopping };

class StreamShard final : public engine::ConnectionHandler, public ws::FrameReader::Sink {
 public:
  StreamShard(engine::Shard& shard, StreamPlan& plan);
  // On the shard's thread, once the engine runs: opens the subscribers.
  void start();

  LoadResult result;  // read once the run is done

  void on_open(engine::Connection& conn) override;
  void on_connect_failed(engine::Connection& conn, int error) override;
  void on_data(engine::Connection& conn, std::span<const char> data) override;
  void on_peer_closed(engine::Connection& conn) override;
  void on_timeout(engine::Connection& conn) override;
  void on_close(engine::Connection& conn) override;

  // Frames of the subscriber being read (cur_).
  bool on_message_begin(ws::Opcode op, bool /*compressed*/) override;
  bool on_message_data(std::span<char> data) override;
  bool on_message_end() override;
  bool on_control(ws::Opcode op, std::span<char> payload) override;

 private:
  static Subscriber& sub(engine::Connection& conn) { return *static_cast<Subscriber*>(conn.context()); }

  // --- set-up --------------------------------------------------------------

  void open_some();
  void open(Subscriber& s);
  void upgraded(Subscriber& s);
  void settled(Subscriber& s);

  // The subscriber's connection is gone for us.
  void forget(Subscriber& s);

  // A subscriber stops receiving: during set-up it is opened again; once
  // timing began it misses the rest.
  void lose(Subscriber& s);
  void drop(Subscriber& s);
  bool gave_up() const;

  // --- creates and events ---------------------------------------------------

  void open_poster();

  // The creates' connection is gone; a create on it (or waiting for it to
  // open) failed.
  void poster_gone(engine::Connection& conn);
  void send_create();
  void poster_data(engine::Connection& conn, std::string_view in);

  // The create's answer is complete.
  void answered(const ResponseReader::Outcome& o);
  void create_failed(int status);

  // A text message at a subscriber: the timed event, or something else.
  void message(Subscriber& s, std::string_view m);

  // The current event reached subscriber s at `at`. False for a repeat.
  bool arrived(Subscriber& s, uint64_t at);
  void finish_event();
  void next_create();

  // --- the run ----------------------------------------------------------------

  void stop(std::string why);
  uint64_t tick();

  // Deadlines while timing: the event's --timeout, the answer's, the
  // creates' connection's. Returns the next one.
  uint64_t timing_tick(uint64_t t);
  void check_done();

  engine::Shard& shard_;
  StreamPlan& plan_;
  std::unique_ptr<engine::Transport> transport_;  // before the connections: outlives them
  std::vector<Subscriber> subs_;
  Poster poster_;
  WsFramer framer_;
  http::ParsedResponse scratch_;
  Subscriber* cur_ = nullptr;  // whose frames are being read
  Stage stage_ = Stage::kSetup;
  Event event_;
  // Sightings of a timed event before the create's answer, by id.
  std::unordered_map<std::string, std::vector<std::pair<uint32_t, uint64_t>>> unclaimed_;
  size_t unclaimed_count_ = 0;
  std::unordered_set<std::string> finished_ids_;
  std::string refusal_;        // why the last upgrade failed
  std::string failed_answer_;  // the start of the last failed create's answer
  size_t next_open_ = 0;
  size_t pending_ = 0;         // subscribers connecting or upgrading
  size_t open_ = 0;            // subscribers open
  size_t setup_failures_in_row_ = 0;
  bool reopen_ = false;
  bool done_ = false;
  uint32_t sent_ = 0;          // creates sent
  unsigned failed_in_row_ = 0;
  unsigned silent_in_row_ = 0;
  uint64_t read_ns_ = 0;       // when the bytes being handled were read
  uint64_t due_ns_ = 0;        // a create waits for its connection since
  uint64_t start_ns_ = 0, settle_until_ = 0, timing_ns_ = 0, last_event_ns_ = 0;
  double cpu_start_ = -1;      // --server-pid at the first create
};

}  // namespace ringshard::load
