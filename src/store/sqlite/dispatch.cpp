// SqliteStore as a DispatchStore: dispatch positions, deliveries and their attempts, topic
// messages, API rules and replays (schema version 2, docs/design/storage.md).
#include "store/sqlite/rows.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace homeostat::store {

const char* delivery_state_name(DeliveryState state) {
  switch (state) {
    case DeliveryState::kPending:
      return "pending";
    case DeliveryState::kDelivered:
      return "delivered";
    case DeliveryState::kDead:
      return "dead";
  }
  return "pending";
}

std::optional<DeliveryState> parse_delivery_state(std::string_view name) {
  for (auto s : {DeliveryState::kPending, DeliveryState::kDelivered, DeliveryState::kDead}) {
    if (name == delivery_state_name(s)) {
      return s;
    }
  }
  return std::nullopt;
}

}  // namespace homeostat::store

namespace homeostat::store::sqlite {
namespace {

constexpr const char* kDeliveryColumns =
    "id, rule, target, bus, event_id, event_seq, event_received_ms, input, replay, state, "
    "attempts, due_ms, created_ms, updated_ms, last_error";

DeliveryRecord read_delivery(const Statement& s) {
  DeliveryRecord d;
  d.id = s.column_int(0);
  d.rule = s.column_text(1);
  d.target = s.column_text(2);
  d.bus = s.column_text(3);
  d.event_id = s.column_text(4);
  d.event_seq = s.column_int(5);
  d.event_received_ms = s.column_int(6);
  d.input = s.column_text(7);
  d.replay = s.column_text(8);
  d.state = parse_delivery_state(s.column_text(9)).value_or(DeliveryState::kPending);
  d.attempts = static_cast<int>(s.column_int(10));
  d.due_ms = s.column_int(11);
  d.created_ms = s.column_int(12);
  d.updated_ms = s.column_int(13);
  d.last_error = s.column_text(14);
  return d;
}

constexpr const char* kReplayColumns =
    "name, definition, state, position, end_seq, matched, created_ms, finished_ms";

ReplayRecord read_replay(const Statement& s) {
  ReplayRecord r;
  r.name = s.column_text(0);
  r.definition = s.column_text(1);
  r.state = s.column_text(2);
  r.position = s.column_int(3);
  r.end_seq = s.column_int(4);
  r.matched = s.column_int(5);
  r.created_ms = s.column_int(6);
  r.finished_ms = s.column_int(7);
  return r;
}

// Steps a prepared query to the end, reading each row with `read`.
template <typename T, typename Read>
core::Result<std::vector<T>> read_all(Statement& stmt, Read read) {
  std::vector<T> out;
  while (true) {
    auto row = stmt.step();
    if (!row) {
      return row.error();
    }
    if (!*row) {
      return out;
    }
    out.push_back(read(stmt));
  }
}

}  // namespace

core::Result<int64_t> SqliteStore::dispatch_position(const std::string& consumer) {
  ReadLease db = lease_reader();
  auto stmt = db->prepare("SELECT seq FROM dispatch_positions WHERE consumer = ?1");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, consumer);
  auto row = stmt->step();
  if (!row) {
    return row.error();
  }
  return *row ? stmt->column_int(0) : int64_t{0};
}

core::Result<std::vector<StoredEvent>> SqliteStore::events_after(int64_t after, size_t limit) {
  ReadLease db = lease_reader();
  auto stmt = db->prepare(std::string("SELECT ") + kEventColumns +
                          " FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, after);
  stmt->bind(2, static_cast<int64_t>(limit));
  return read_all<StoredEvent>(*stmt, read_event);
}

core::Status SqliteStore::record_matches(const std::string& consumer, int64_t position,
                                         std::span<const DeliveryRecord> deliveries,
                                         const ReplayRecord* replay) {
  std::lock_guard lock(write_mu_);
  return write_transaction([&]() -> core::Status {
    auto insert = writer_.prepare(
        "INSERT INTO deliveries (rule, target, bus, event_id, event_seq, event_received_ms, "
        "input, replay, state, attempts, due_ms, created_ms, updated_ms, last_error) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12, '')");
    if (!insert) {
      return insert.error();
    }
    for (const auto& d : deliveries) {
      insert->bind(1, d.rule, true);
      insert->bind(2, d.target, true);
      insert->bind(3, d.bus, true);
      insert->bind(4, d.event_id, true);
      insert->bind(5, d.event_seq);
      insert->bind(6, d.event_received_ms);
      insert->bind(7, d.input, true);
      insert->bind(8, d.replay, true);
      insert->bind(9, delivery_state_name(d.state));
      insert->bind(10, static_cast<int64_t>(d.attempts));
      insert->bind(11, d.due_ms);
      insert->bind(12, d.created_ms);
      if (auto s = insert->run(); !s.ok()) {
        return s;
      }
      insert->reset();
    }

    auto move = writer_.prepare(
        "INSERT INTO dispatch_positions (consumer, seq) VALUES (?1, ?2) "
        "ON CONFLICT (consumer) DO UPDATE SET seq = excluded.seq");
    if (!move) {
      return move.error();
    }
    move->bind(1, consumer);
    move->bind(2, position);
    if (auto s = move->run(); !s.ok()) {
      return s;
    }
    if (replay == nullptr) {
      return {};
    }
    auto progress = writer_.prepare(
        "UPDATE replays SET state = ?2, position = ?3, matched = ?4, finished_ms = ?5 "
        "WHERE name = ?1");
    if (!progress) {
      return progress.error();
    }
    progress->bind(1, replay->name);
    progress->bind(2, replay->state);
    progress->bind(3, replay->position);
    progress->bind(4, replay->matched);
    progress->bind(5, replay->finished_ms);
    return progress->run();
  });
}

core::Result<std::vector<DeliveryRecord>> SqliteStore::due_deliveries(int64_t now_ms,
                                                                      size_t limit) {
  ReadLease db = lease_reader();
  auto stmt = db->prepare(std::string("SELECT ") + kDeliveryColumns +
                          " FROM deliveries WHERE state = 'pending' AND due_ms <= ?1 "
                          "ORDER BY due_ms, id LIMIT ?2");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, now_ms);
  stmt->bind(2, static_cast<int64_t>(limit));
  return read_all<DeliveryRecord>(*stmt, read_delivery);
}

core::Result<std::optional<int64_t>> SqliteStore::next_due_ms() {
  ReadLease db = lease_reader();
  auto stmt = db->prepare("SELECT MIN(due_ms) FROM deliveries WHERE state = 'pending'");
  if (!stmt) {
    return stmt.error();
  }
  auto row = stmt->step();
  if (!row) {
    return row.error();
  }
  if (!*row || stmt->column_is_null(0)) {
    return std::optional<int64_t>();
  }
  return std::optional<int64_t>(stmt->column_int(0));
}

core::Status SqliteStore::record_attempt(const AttemptRecord& a, DeliveryState state,
                                         int64_t due_ms) {
  std::lock_guard lock(write_mu_);
  return write_transaction([&]() -> core::Status {
    // Attempts are numbered over the delivery's life, across redrives, so none is overwritten;
    // the delivery's own count (the retry budget) starts again at each redrive.
    auto insert = writer_.prepare(
        "INSERT INTO delivery_attempts (delivery_id, attempt, at_ms, duration_ms, outcome, detail) "
        "SELECT ?1, COALESCE(MAX(attempt), 0) + 1, ?3, ?4, ?5, ?6 FROM delivery_attempts "
        "WHERE delivery_id = ?1");
    auto update = writer_.prepare(
        "UPDATE deliveries SET state = ?2, attempts = ?3, due_ms = ?4, updated_ms = ?5, "
        "last_error = ?6 WHERE id = ?1");
    if (!insert || !update) {
      return insert ? update.error() : insert.error();
    }
    insert->bind(1, a.delivery_id);
    insert->bind(3, a.at_ms);
    insert->bind(4, a.duration_ms);
    insert->bind(5, a.outcome);
    insert->bind(6, a.detail);
    if (auto s = insert->run(); !s.ok()) {
      return s;
    }
    update->bind(1, a.delivery_id);
    update->bind(2, delivery_state_name(state));
    update->bind(3, static_cast<int64_t>(a.attempt));
    update->bind(4, due_ms);
    update->bind(5, a.at_ms + a.duration_ms);
    update->bind(6, state == DeliveryState::kDelivered ? std::string() : a.detail);
    return update->run();
  });
}

core::Result<std::optional<DeliveryRecord>> SqliteStore::get_delivery(int64_t id) {
  ReadLease db = lease_reader();
  auto stmt =
      db->prepare(std::string("SELECT ") + kDeliveryColumns + " FROM deliveries WHERE id = ?1");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, id);
  auto rows = read_all<DeliveryRecord>(*stmt, read_delivery);
  if (!rows) {
    return rows.error();
  }
  return rows->empty() ? std::optional<DeliveryRecord>() : std::optional(rows->front());
}

core::Result<std::vector<DeliveryRecord>> SqliteStore::list_deliveries(const DeliveryQuery& q) {
  std::string sql = std::string("SELECT ") + kDeliveryColumns + " FROM deliveries WHERE 1 = 1";
  if (q.rule) sql += " AND rule = ?1";
  if (q.event_id) sql += " AND event_id = ?2";
  if (q.state) sql += " AND state = ?3";
  if (q.before_id) sql += " AND id < ?4";
  sql += " ORDER BY id DESC LIMIT ?5";
  ReadLease db = lease_reader();
  auto stmt = db->prepare(sql);
  if (!stmt) {
    return stmt.error();
  }
  if (q.rule) stmt->bind(1, *q.rule);
  if (q.event_id) stmt->bind(2, *q.event_id);
  if (q.state) stmt->bind(3, delivery_state_name(*q.state));
  if (q.before_id) stmt->bind(4, *q.before_id);
  stmt->bind(5, static_cast<int64_t>(q.limit));
  return read_all<DeliveryRecord>(*stmt, read_delivery);
}

core::Result<std::vector<AttemptRecord>> SqliteStore::list_attempts(int64_t delivery_id) {
  ReadLease db = lease_reader();
  auto stmt = db->prepare(
      "SELECT delivery_id, attempt, at_ms, duration_ms, outcome, detail FROM delivery_attempts "
      "WHERE delivery_id = ?1 ORDER BY attempt");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, delivery_id);
  return read_all<AttemptRecord>(*stmt, [](const Statement& s) {
    return AttemptRecord{s.column_int(0),  static_cast<int>(s.column_int(1)),
                         s.column_int(2),  s.column_int(3),
                         s.column_text(4), s.column_text(5)};
  });
}

core::Result<int64_t> SqliteStore::redrive(const RedriveFilter& filter, int64_t now_ms) {
  std::lock_guard lock(write_mu_);
  int64_t changed = 0;
  auto status = write_transaction([&]() -> core::Status {
    std::string sql =
        "UPDATE deliveries SET state = 'pending', attempts = 0, due_ms = ?1, updated_ms = ?1 "
        "WHERE state = 'dead'";
    if (filter.rule) sql += " AND rule = ?2";
    if (!filter.ids.empty()) sql += " AND id = ?3";
    auto stmt = writer_.prepare(sql);
    if (!stmt) {
      return stmt.error();
    }
    // One statement per id keeps the SQL fixed; redrives are small and rare.
    std::vector<int64_t> ids = filter.ids.empty() ? std::vector<int64_t>{0} : filter.ids;
    for (int64_t id : ids) {
      stmt->bind(1, now_ms);
      if (filter.rule) stmt->bind(2, *filter.rule);
      if (!filter.ids.empty()) stmt->bind(3, id);
      if (auto s = stmt->run(); !s.ok()) {
        return s;
      }
      changed += writer_.changes();
      stmt->reset();
    }
    return {};
  });
  if (!status.ok()) {
    return status.error();
  }
  return changed;
}

core::Status SqliteStore::publish(const std::string& topic, int64_t delivery_id,
                                  const std::string& message, int64_t now_ms) {
  std::lock_guard lock(write_mu_);
  return write_transaction([&]() -> core::Status {
    auto stmt = writer_.prepare(
        "INSERT INTO topic_messages (topic, delivery_id, message, published_ms) "
        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (delivery_id) DO NOTHING");
    if (!stmt) {
      return stmt.error();
    }
    stmt->bind(1, topic);
    stmt->bind(2, delivery_id);
    stmt->bind(3, message);
    stmt->bind(4, now_ms);
    return stmt->run();
  });
}

core::Result<std::vector<TopicMessage>> SqliteStore::topic_messages(const std::string& topic,
                                                                    int64_t after_seq,
                                                                    size_t limit) {
  ReadLease db = lease_reader();
  auto stmt = db->prepare(
      "SELECT seq, topic, delivery_id, message, published_ms FROM topic_messages "
      "WHERE topic = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, topic);
  stmt->bind(2, after_seq);
  stmt->bind(3, static_cast<int64_t>(limit));
  return read_all<TopicMessage>(*stmt, [](const Statement& s) {
    return TopicMessage{s.column_int(0), s.column_text(1), s.column_int(2), s.column_text(3),
                        s.column_int(4)};
  });
}

core::Status SqliteStore::put_rule(const std::string& name, const std::string& definition,
                                   int64_t now_ms) {
  std::lock_guard lock(write_mu_);
  return write_transaction([&]() -> core::Status {
    auto stmt = writer_.prepare(
        "INSERT INTO rules (name, definition, updated_ms) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (name) DO UPDATE SET definition = excluded.definition, "
        "updated_ms = excluded.updated_ms");
    if (!stmt) {
      return stmt.error();
    }
    stmt->bind(1, name);
    stmt->bind(2, definition);
    stmt->bind(3, now_ms);
    return stmt->run();
  });
}

core::Status SqliteStore::delete_rule(const std::string& name) {
  std::lock_guard lock(write_mu_);
  return write_transaction([&]() -> core::Status {
    auto stmt = writer_.prepare("DELETE FROM rules WHERE name = ?1");
    if (!stmt) {
      return stmt.error();
    }
    stmt->bind(1, name);
    if (auto s = stmt->run(); !s.ok()) {
      return s;
    }
    if (writer_.changes() == 0) {
      return core::Error(core::ErrorCode::kNotFound, "no rule named " + name);
    }
    return {};
  });
}

core::Result<std::vector<std::pair<std::string, std::string>>> SqliteStore::list_rules() {
  ReadLease db = lease_reader();
  auto stmt = db->prepare("SELECT name, definition FROM rules ORDER BY name");
  if (!stmt) {
    return stmt.error();
  }
  return read_all<std::pair<std::string, std::string>>(
      *stmt, [](const Statement& s) { return std::make_pair(s.column_text(0), s.column_text(1)); });
}

core::Status SqliteStore::create_replay(const ReplayRecord& r) {
  std::lock_guard lock(write_mu_);
  return write_transaction([&]() -> core::Status {
    auto stmt = writer_.prepare(std::string("INSERT INTO replays (") + kReplayColumns +
                                ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
                                "ON CONFLICT (name) DO NOTHING");
    if (!stmt) {
      return stmt.error();
    }
    stmt->bind(1, r.name);
    stmt->bind(2, r.definition);
    stmt->bind(3, r.state);
    stmt->bind(4, r.position);
    stmt->bind(5, r.end_seq);
    stmt->bind(6, r.matched);
    stmt->bind(7, r.created_ms);
    stmt->bind(8, r.finished_ms);
    if (auto s = stmt->run(); !s.ok()) {
      return s;
    }
    if (writer_.changes() == 0) {
      return core::Error(core::ErrorCode::kAlreadyExists, "a replay named " + r.name + " exists");
    }
    return {};
  });
}

core::Result<std::optional<ReplayRecord>> SqliteStore::get_replay(const std::string& name) {
  ReadLease db = lease_reader();
  auto stmt =
      db->prepare(std::string("SELECT ") + kReplayColumns + " FROM replays WHERE name = ?1");
  if (!stmt) {
    return stmt.error();
  }
  stmt->bind(1, name);
  auto rows = read_all<ReplayRecord>(*stmt, read_replay);
  if (!rows) {
    return rows.error();
  }
  return rows->empty() ? std::optional<ReplayRecord>() : std::optional(rows->front());
}

core::Result<std::vector<ReplayRecord>> SqliteStore::list_replays() {
  ReadLease db = lease_reader();
  auto stmt = db->prepare(std::string("SELECT ") + kReplayColumns +
                          " FROM replays ORDER BY created_ms DESC, name");
  if (!stmt) {
    return stmt.error();
  }
  return read_all<ReplayRecord>(*stmt, read_replay);
}

core::Result<int64_t> SqliteStore::last_seq() {
  ReadLease db = lease_reader();
  auto stmt = db->prepare("SELECT COALESCE(MAX(seq), 0) FROM events");
  if (!stmt) {
    return stmt.error();
  }
  auto row = stmt->step();
  if (!row) {
    return row.error();
  }
  return stmt->column_int(0);
}

}  // namespace homeostat::store::sqlite
