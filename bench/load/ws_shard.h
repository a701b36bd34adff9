// bench/load/ws_shard.h: the per-thread engine of ringshard-load's
// WebSocket modes (see ws_load.h for what they do): what every thread
// shares (WsPlan), one client connection (WsConn), and the shard handler
// that drives a thread's connections (WsShard). Private to bench/load.
//
// Thread: a WsShard and its WsConns live on one engine shard; WsPlan's
// atomics are how the shards agree on the fan-out phases (everyone joined,
// publishers done, every member complete).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bench/load/load_options.h"
#include "bench/load/load_run.h"
#include "bench/load/ws_session.h"
#include "engine/connection.h"
#include "engine/shard.h"
#include "http/response_parser.h"
#include "tls/client.h"
#include "ws/deflate.h"
#include "ws/reader.h"

namespace ringshard::load {

// CLOCK_MONOTONIC in nanoseconds.
uint64_t monotonic_ns();

// Shared by every shard; the atomics coordinate the fan-out phases.
struct WsPlan {
  LoadOptions opt;
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  WsUpgrade upgrade;
  ws::Opcode op = ws::Opcode::kText;
  std::string payload;          // echo: the message
  std::string frame;            // echo without deflate: the masked frame, sent by reference
  std::string join;             // fan-out: the join_channel message
  std::string message_prefix;   // fan-out: how a publication starts, and each
                                // delivery the server makes of it
  std::shared_ptr<const tls::ClientContext> tls;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;          // echo in duration mode
  double interval_ns = 0;       // fan-out --rate: between two publications of one publisher
  unsigned threads = 1;
  unsigned members = 0;         // fan-out: subscribers + publishers
  // Fan-out phases.
  std::atomic<unsigned> joined{0};
  std::atomic<uint64_t> publish_start_ns{0};  // set when the last member joined
  std::atomic<unsigned> publishers_left{0};
  std::atomic<uint64_t> published{0};         // final once publishers_left is 0
  std::atomic<unsigned> shards_complete{0};
  std::atomic<uint64_t> last_delivery_ns{0};
  std::atomic<bool> deliveries_done{false};
  std::atomic<bool> aborted{false};           // a thread gave up (server unreachable)
  std::atomic<unsigned> shards_stopped{0};    // echo: shards done sending
  double cpu_start = -1, cpu_end = -1;        // --server-pid
  std::mutex mu;
  std::condition_variable cv;
  unsigned shards_done = 0;
};

enum class Role : uint8_t { kEcho, kSubscriber, kPublisher };
enum class Phase : uint8_t { kIdle, kUpgrading, kJoining, kOpen, kClosing };

struct WsConn {
  engine::Connection* conn = nullptr;
  unsigned index = 0;      // global connection number
  unsigned publisher = 0;  // kPublisher: its number
  Role role = Role::kEcho;
  Phase phase = Phase::kIdle;
  bool lost = false;       // fan-out: gone after set-up
  bool pending = false;    // connecting, upgrading or joining (counts in pending_)
  // The message being received.
  ws::Opcode op = ws::Opcode::kText;
  bool compressed = false;
  bool bad = false;
  uint64_t msg_bytes = 0;
  std::string msg;         // fan-out text, or an inflated message
  WsHandshakeReader handshake;
  ws::FrameReader reader;
  std::unique_ptr<ws::Deflater> deflater;
  std::unique_ptr<ws::Inflater> inflater;
  // Echo and publishers: send times of the messages in flight.
  std::vector<uint64_t> sent_at;
  size_t sent_head = 0;
  uint64_t seq = 0;           // messages sent (publisher: the next sequence number)
  uint64_t next_send_ns = 0;  // publisher at --rate
  bool finished = false;      // publisher: done publishing
  // Fan-out receipts: the next sequence number due from each publisher.
  std::vector<uint64_t> expect;
  uint64_t received = 0, duplicates = 0, gaps = 0;

  unsigned in_flight() const { return static_cast<unsigned>(sent_at.size() - sent_head); }
  uint64_t unique() const { return received - duplicates; }
  void clear_in_flight() {
    sent_at.clear();
    sent_head = 0;
  }
};

class WsShard final : public engine::ConnectionHandler, public ws::FrameReader::Sink {
 public:
  // `conns`: this thread's share; `quota`: echo messages to send (0: until
  // the plan's end time).
  WsShard(engine::Shard& shard, WsPlan& plan, std::vector<WsConn>&& conns, uint64_t quota);

  // On the shard's thread, once the engine runs: opens the connections.
  void start();

  LoadResult result;  // read once the shard is done

  // Connection events.
  void on_open(engine::Connection& conn) override;
  void on_connect_failed(engine::Connection& conn, int error) override;
  void on_data(engine::Connection& conn, std::span<const char> data) override;
  void on_peer_closed(engine::Connection& conn) override;
  void on_timeout(engine::Connection& conn) override;
  void on_close(engine::Connection& conn) override;

  // Server frames of the connection being read (cur_).
  bool on_message_begin(ws::Opcode op, bool compressed) override;
  bool on_message_data(std::span<char> data) override;
  bool on_message_end() override;
  bool on_control(ws::Opcode op, std::span<char> payload) override;

 private:
  // Echo.
  bool sending() const;
  void send_echo(WsConn& c);
  void echoed(WsConn& c, bool ok);

  // Fan-out.
  void chat_message(WsConn& c, std::string_view m);
  void delivery(WsConn& c, std::string_view m);
  void publish(WsConn& c, uint64_t intended);
  bool may_publish(const WsConn& c, uint64_t t) const;
  void acknowledged(WsConn& c, uint64_t t);
  void finish_publisher(WsConn& c);
  uint64_t fanout_tick(uint64_t t);
  void tally();

  // Connections and the run.
  void upgraded(WsConn& c);
  void open_some();
  void settled(WsConn& c);
  bool open(WsConn& c);
  void forget(WsConn& c);
  void drop(WsConn& c);
  void send_close(WsConn& c);
  bool gave_up() const;
  uint64_t tick();
  void check_done();

  engine::Shard& shard_;
  WsPlan& plan_;
  std::unique_ptr<engine::Transport> transport_;  // before conns_: outlives them
  std::vector<WsConn> conns_;
  std::vector<WsConn*> publishers_;
  uint64_t quota_;
  WsFramer framer_;
  http::ParsedResponse scratch_;
  std::string text_;        // a publication being built
  WsConn* cur_ = nullptr;   // the connection whose frames are being read
  size_t next_open_ = 0;
  size_t pending_ = 0;      // connections opening, upgrading or joining
  size_t setup_failures_in_row_ = 0;
  uint64_t issued_ = 0;
  bool reopen_ = false;
  bool stopping_ = false;
  bool done_ = false;
  uint64_t stopped_at_ = 0;
  // Fan-out.
  bool publishing_ = false;
  bool total_known_ = false;
  bool complete_ = false;
  uint64_t publish_start_ = 0;
  uint64_t total_ = 0;
  size_t satisfied_ = 0;    // members with every publication
  uint64_t last_delivery_ns_ = 0;
  uint64_t last_progress_ns_ = 0;
};

}  // namespace ringshard::load
