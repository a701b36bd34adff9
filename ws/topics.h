// ws/topics.h: one shard's topic table (pub/sub), used by the Driver.
//
// Each shard keeps its own map topic -> subscribers (WebSocket pointers of
// that shard only); nothing here is shared between shards. A publish from
// any shard travels as a Publication through the mailboxes to every shard,
// which encodes it once into a SharedFrame that all its subscribers' send
// queues borrow (refcounted, shard-local) instead of copying.
//
// Thread: a TopicTable belongs to one shard's thread. Publication's
// reference count is the only cross-shard state: the last shard to finish
// with it frees it.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ringshard::ws {

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
