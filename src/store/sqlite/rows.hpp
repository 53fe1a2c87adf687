// Reading rows of the events table, shared by the store's source files.
#pragma once

#include "store/event_store.hpp"
#include "store/sqlite/connection.hpp"

namespace homeostat::store::sqlite {

// The columns read_event expects, in its order.
inline constexpr const char* kEventColumns =
    "seq, received_ms, id, source, detail_type, time_ms, body, bus";
// The same columns of an events table named `e` in the query.
inline constexpr const char* kEventColumnsOfE =
    "e.seq, e.received_ms, e.id, e.source, e.detail_type, e.time_ms, e.body, e.bus";

inline StoredEvent read_event(const Statement& s) {
  StoredEvent e;
  e.seq = s.column_int(0);
  e.received_ms = s.column_int(1);
  e.record.id = s.column_text(2);
  e.record.source = s.column_text(3);
  e.record.detail_type = s.column_text(4);
  e.record.time_ms = s.column_int(5);
  e.record.json = s.column_text(6);
  e.record.bus = s.column_text(7);
  return e;
}

}  // namespace homeostat::store::sqlite
