// ws/topics.h: one shard's topic table (pub/sub), used by the Driver.
//
// Each shard keeps its own map topic -> subscribers (WebSocket pointers of
// that shard only); nothing here is shared between shards. A publish from
// any shard travels as a Publication through the mailboxes to every shard,
// which encodes it once into a SharedFrame that all its subscribers' send
// queues borrow (refcounted, shard-local) instead of copying.
//
// Topic listeners (WsServer::add_topic_listener) are code, not sockets:
// the list for a topic is found once per publish, on the publishing shard,
// and travels in the Publication, so a shard finds its listeners without a
// lookup of its own, whether or not it has subscribers.
//
// Thread: a TopicTable belongs to one shard's thread. Publication's
// reference count is the only cross-shard state that changes: the last
// shard to finish with it frees it. The listener lists it points to are
// built before the engine starts and only read afterwards.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ringshard::engine {
class Shard;
}

namespace ringshard::ws {

// Code that receives every message published to one topic, on every shard
// (see WsServer::add_topic_listener). The payload view is valid during the
// call.
using TopicListener = std::function<void(engine::Shard& shard, std::string_view payload)>;
using TopicListeners = std::vector<TopicListener>;

class WebSocket;

struct Topic {
  std::string_view name;  // the map's key (nodes do not move)
  std::vector<WebSocket*> subscribers;
};

// A subscription as its WebSocket records it: the topic and where the
// socket sits in topic->subscribers.
struct TopicRef {
  Topic* topic;
  uint32_t index;
};

// A message on its way to every shard. Allocated once per publish.
struct Publication {
  std::atomic<uint32_t> refs;  // shards that have not delivered it yet
  bool text;
  std::string topic;
  std::string payload;
  // The topic's listeners (owned by the WsServer), null when it has none.
  const TopicListeners* listeners = nullptr;
};

struct TopicTable {
  // Transparent lookup by string_view (no allocation to find a topic).
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, Topic, Hash, std::equal_to<>> topics;

  Topic* find(std::string_view name);
  bool subscribe(WebSocket& ws, std::string_view name);
  bool unsubscribe(WebSocket& ws, std::string_view name);
  bool subscribed(const WebSocket& ws, std::string_view name) const;
  void unsubscribe_all(WebSocket& ws);

 private:
  void remove_from(Topic& t, uint32_t index);
};

}  // namespace ringshard::ws
