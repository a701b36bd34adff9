#include "ws/topics.h"

#include "ws/websocket.h"

namespace ringshard::ws {

Topic* TopicTable::find(std::string_view name) {
  auto it = topics.find(name);
  return it == topics.end() ? nullptr : &it->second;
}

bool TopicTable::subscribed(const WebSocket& ws, std::string_view name) const {
  for (const TopicRef& ref : ws.topics_) {
    if (ref.topic->name == name) return true;
  }
  return false;
}

bool TopicTable::subscribe(WebSocket& ws, std::string_view name) {
  if (subscribed(ws, name)) return false;
  auto it = topics.find(name);
  if (it == topics.end()) {
    it = topics.emplace(std::string(name), Topic{}).first;
    it->second.name = it->first;
  }
  Topic& t = it->second;
  ws.topics_.push_back(TopicRef{&t, static_cast<uint32_t>(t.subscribers.size())});
  t.subscribers.push_back(&ws);
  return true;
}

// Removes the subscriber at `index` by moving the last one into its place
// (and telling that one its new index); a topic left empty is dropped.
void TopicTable::remove_from(Topic& t, uint32_t index) {
  const uint32_t last = static_cast<uint32_t>(t.subscribers.size() - 1);
  if (index != last) {
    WebSocket* moved = t.subscribers[last];
    t.subscribers[index] = moved;
    for (TopicRef& r : moved->topics_) {
      if (r.topic == &t) {
        r.index = index;
        break;
      }
    }
  }
  t.subscribers.pop_back();
  if (t.subscribers.empty()) topics.erase(topics.find(t.name));
}

bool TopicTable::unsubscribe(WebSocket& ws, std::string_view name) {
  auto& refs = ws.topics_;
  for (size_t i = 0; i < refs.size(); ++i) {
    if (refs[i].topic->name != name) continue;
    Topic* t = refs[i].topic;
    const uint32_t index = refs[i].index;
    refs[i] = refs.back();
    refs.pop_back();
    remove_from(*t, index);
    return true;
  }
  return false;
}

void TopicTable::unsubscribe_all(WebSocket& ws) {
  while (!ws.topics_.empty()) {
    TopicRef ref = ws.topics_.back();
    ws.topics_.pop_back();
    remove_from(*ref.topic, ref.index);
  }
}

}  // namespace ringshard::ws
