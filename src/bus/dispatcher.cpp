#include "bus/dispatcher.hpp"

#include <boost/json.hpp>

#include "core/log.hpp"

namespace homeostat::bus {
namespace json = boost::json;

namespace {

const core::Logger kLog("dispatch");

// What one target receives for one event: the event's own text unless the target reshapes it.
std::string render_input(const Target& target, const Rule& rule, const json::value& event,
                         const std::string& event_text, int64_t received_ms) {
  if (!target.input_path && !target.input_transformer) {
    return event_text;
  }
  patterns::InputContext context;
  context.rule_name = rule.name;
  context.rule_arn = "homeostat:rule/" + rule.bus + "/" + rule.name;
  context.ingestion_time = core::format_rfc3339(received_ms);
  auto input = patterns::target_input(event, target.input_path, target.input_transformer, context);
  // parse_rule never lets both options through, the one case target_input refuses.
  return input ? std::move(*input) : "null";
}

// Appends one delivery per target of each matched rule.
void add_deliveries(const std::vector<std::shared_ptr<const Rule>>& matched,
                    const store::StoredEvent& e, const std::string& replay, int64_t now_ms,
                    std::vector<store::DeliveryRecord>& out) {
  if (matched.empty()) {
    return;
  }

  // A replayed event says so, in the field EventBridge uses for it.
  std::string text = e.record.json;
  boost::system::error_code ec;
  json::value event = json::parse(text, ec);
  if (ec || !event.is_object()) {
    kLog.error("a stored event is not a JSON object", {{"event_id", e.record.id}});
    return;
  }
  if (!replay.empty()) {
    event.get_object()["replay-name"] = replay;
    text.clear();
    patterns::append_json_text(text, event);
  }

  for (const auto& rule : matched) {
    for (const auto& target : rule->targets) {
      store::DeliveryRecord d;
      d.rule = rule->name;
      d.target = target.id;
      d.bus = e.record.bus;
      d.event_id = e.record.id;
      d.event_seq = e.seq;
      // A replayed event is a new arrival: its maximum event age counts from the replay.
      d.event_received_ms = replay.empty() ? e.received_ms : now_ms;
      d.input = render_input(target, *rule, event, text, e.received_ms);
      d.replay = replay;
      d.due_ms = now_ms;
      d.created_ms = now_ms;
      out.push_back(std::move(d));
    }
  }
}

}  // namespace

Dispatcher::Dispatcher(store::DispatchStore& store, const RuleSet& rules, const core::Clock& clock,
                       DispatcherOptions options, std::function<void()> on_deliveries)
    : store_(store),
      rules_(rules),
      clock_(clock),
      options_(options),
      on_deliveries_(std::move(on_deliveries)) {}

Dispatcher::~Dispatcher() {
  stop();
}

void Dispatcher::start() {
  thread_ = std::thread([this] { run(); });
}

void Dispatcher::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Dispatcher::wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_one();
}

void Dispatcher::run() {
  while (true) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(options_.poll_ms),
                   [&] { return woken_ || stopping_; });
      if (stopping_) {
        break;
      }
      woken_ = false;
    }

    // The live log first, to its end; then a batch of each replay; again while there is work.
    bool busy = true;
    while (busy) {
      busy = match_live();
      if (!busy) {
        busy = match_replays();
      }
      std::lock_guard lock(mu_);
      if (stopping_) {
        busy = false;
      }
    }
    std::lock_guard lock(mu_);
    if (stopping_) {
      break;
    }
  }
  save_live_position();
}

void Dispatcher::save_live_position() {
  // At a stop, the stretch matched since the last save is saved too, so that a restart does not
  // match it again under rules that may have changed.
  if (!live_position_ || *live_position_ == live_saved_position_) {
    return;
  }
  if (auto s = store_.record_matches("live", *live_position_, {}, nullptr); !s.ok()) {
    kLog.error("cannot save the dispatch position", {{"error", s.error().message()}});
    return;
  }
  live_saved_position_ = *live_position_;
}

bool Dispatcher::match_live() {
  if (!live_position_) {
    auto position = store_.dispatch_position("live");
    if (!position) {
      kLog.error("cannot read the dispatch position", {{"error", position.error().message()}});
      return false;
    }
    live_position_ = *position;
  }
  auto events = store_.events_after(*live_position_, options_.batch);
  if (!events) {
    kLog.error("cannot read the log", {{"error", events.error().message()}});
    return false;
  }
  if (events->empty()) {
    return false;
  }

  auto snapshot = rules_.snapshot();
  std::vector<std::shared_ptr<const Rule>> matched;
  std::vector<store::DeliveryRecord> deliveries;
  int64_t now = clock_.now_ms();
  for (const auto& e : *events) {
    if (auto s = snapshot->match(e.record.bus, e.record.json, scratch_, matched); !s.ok()) {
      kLog.error("cannot match a stored event",
                 {{"event_id", e.record.id}, {"error", s.error().message()}});
      continue;
    }
    add_deliveries(matched, e, "", now, deliveries);
  }
  if (deliveries.empty() && now - live_saved_ms_ < 1000) {
    live_position_ = events->back().seq;
    return events->size() == options_.batch;
  }
  if (auto s = store_.record_matches("live", events->back().seq, deliveries, nullptr); !s.ok()) {
    kLog.error("cannot record matches", {{"error", s.error().message()}});
    live_position_.reset();  // read it again: the batch is matched again
    return false;
  }
  live_position_ = events->back().seq;
  live_saved_position_ = *live_position_;
  live_saved_ms_ = now;
  if (!deliveries.empty() && on_deliveries_) {
    on_deliveries_();
  }
  return events->size() == options_.batch;
}

bool Dispatcher::match_replays() {
  auto replays = store_.list_replays();
  if (!replays) {
    kLog.error("cannot list replays", {{"error", replays.error().message()}});
    return false;
  }
  bool busy = false;
  for (const auto& r : *replays) {
    if (r.state == "running") {
      busy |= match_replay(r);
    }
  }
  return busy;
}

bool Dispatcher::match_replay(store::ReplayRecord replay) {
  auto request = parse_replay_definition(replay.definition);
  if (!request) {
    kLog.error("a stored replay cannot be read",
               {{"replay", replay.name}, {"error", request.error().message()}});
    return false;
  }
  size_t limit = static_cast<size_t>(
      std::min<int64_t>(static_cast<int64_t>(options_.batch),
                        std::max<int64_t>(replay.end_seq - replay.position, 0)));
  std::vector<store::StoredEvent> events;
  bool at_end = limit == 0;
  if (limit > 0) {
    auto read = store_.events_after(replay.position, limit);
    if (!read) {
      kLog.error("cannot read the log", {{"error", read.error().message()}});
      return false;
    }
    events = std::move(*read);
    // Events stored after the replay began are not its business.
    at_end = events.size() < limit || std::erase_if(events, [&](const store::StoredEvent& e) {
                                        return e.seq > replay.end_seq;
                                      }) > 0;
  }

  auto snapshot = rules_.snapshot();
  std::vector<std::shared_ptr<const Rule>> matched;
  std::vector<store::DeliveryRecord> deliveries;
  int64_t now = clock_.now_ms();
  for (const auto& e : events) {
    if (e.record.bus != request->bus || e.record.time_ms < request->since_ms ||
        e.record.time_ms >= request->until_ms) {
      continue;
    }
    if (!snapshot->match(e.record.bus, e.record.json, scratch_, matched).ok()) {
      continue;
    }
    if (request->rule) {
      std::erase_if(matched, [&](const auto& rule) { return rule->name != *request->rule; });
    }
    add_deliveries(matched, e, replay.name, now, deliveries);
  }

  // Done when the end it began with is reached (or the log holds nothing more).
  bool done = at_end || events.empty() || events.back().seq >= replay.end_seq;
  replay.position = done ? replay.end_seq : events.back().seq;
  replay.matched += static_cast<int64_t>(deliveries.size());
  if (done) {
    replay.state = "done";
    replay.finished_ms = now;
  }
  if (auto s = store_.record_matches("replay:" + replay.name, replay.position, deliveries, &replay);
      !s.ok()) {
    kLog.error("cannot record replay matches", {{"error", s.error().message()}});
    return false;
  }
  if (done) {
    kLog.info("replay done", {{"replay", replay.name}, {"deliveries", replay.matched}});
  }
  if (!deliveries.empty() && on_deliveries_) {
    on_deliveries_();
  }
  return !done;
}

core::Result<store::ReplayRecord> Dispatcher::start_replay(const ReplayRequest& request) {
  auto end = store_.last_seq();
  if (!end) {
    return end.error();
  }
  json::object definition{{"name", request.name},
                          {"bus", request.bus},
                          {"since_ms", request.since_ms},
                          {"until_ms", request.until_ms}};
  if (request.rule) {
    definition["rule"] = *request.rule;
  }
  store::ReplayRecord r;
  r.name = request.name;
  r.definition = json::serialize(definition);
  r.state = "running";
  r.position = 0;
  r.end_seq = *end;
  r.created_ms = clock_.now_ms();
  if (auto s = store_.create_replay(r); !s.ok()) {
    return s.error();
  }
  kLog.info("replay started", {{"replay", r.name}, {"end_seq", r.end_seq}});
  wake();
  return r;
}

core::Result<ReplayRequest> Dispatcher::parse_replay_definition(const std::string& text) {
  boost::system::error_code ec;
  auto v = json::parse(text, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  if (o == nullptr || !o->contains("name") || !o->contains("bus") || !o->contains("since_ms") ||
      !o->contains("until_ms")) {
    return core::Error(core::ErrorCode::kInvalidArgument, "not a replay definition");
  }
  ReplayRequest r;
  r.name = std::string(o->at("name").as_string());
  r.bus = std::string(o->at("bus").as_string());
  r.since_ms = o->at("since_ms").to_number<int64_t>();
  r.until_ms = o->at("until_ms").to_number<int64_t>();
  if (const auto* rule = o->if_contains("rule")) {
    r.rule = std::string(rule->as_string());
  }
  return r;
}

}  // namespace homeostat::bus
