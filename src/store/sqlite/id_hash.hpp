// Hashing event ids, and the in-memory table that answers "may this id be stored already?".
//
// The hash is part of the on-disk format: the index file stores it (by_id.id_hash), so it must
// never change without a new index format (see docs/design/storage.md).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace homeostat::store::sqlite {

// A 64-bit hash of an event id: FNV-1a over the bytes, then a finaliser that spreads every input
// bit over the whole word (FNV alone leaves the low bits weak). Never 0, which IdSeqTable uses to
// mark an empty slot. Stored in SQLite as the int64 with the same bits.
inline uint64_t id_hash(std::string_view id) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : id) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h == 0 ? 1 : h;
}

inline int64_t id_hash_sql(std::string_view id) {
  return static_cast<int64_t>(id_hash(id));
}

// A hash table from id hash to the seq of the last event stored with that hash: open
// addressing, linear probing, 16 bytes a slot, at most half full. It is a hint, checked against
// the database on every hit: a miss proves the id is not stored (every stored event's hash is in
// the table), a hit only names a row to compare. Entries are never removed; an entry whose event
// retention has removed costs one extra lookup when its hash comes again.
// Not thread-safe.
class IdSeqTable {
 public:
  // Returns the seq recorded for this hash, or 0 when there is none (seqs start at 1).
  int64_t find(uint64_t hash) const {
    if (slots_.empty()) {
      return 0;
    }
    for (size_t i = hash & mask_;; i = (i + 1) & mask_) {
      if (slots_[i].hash == hash) {
        return slots_[i].seq;
      }
      if (slots_[i].hash == 0) {
        return 0;
      }
    }
  }

  // Records seq for hash, replacing what was there.
  void put(uint64_t hash, int64_t seq) {
    if ((size_ + 1) * 2 > slots_.size()) {
      grow();
    }
    if (place(slots_, mask_, hash, seq)) {
      ++size_;
    }
  }

  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    int64_t seq = 0;
  };

  // Returns true when the hash took a new slot.
  static bool place(std::vector<Slot>& slots, size_t mask, uint64_t hash, int64_t seq) {
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
      if (slots[i].hash == hash) {
        slots[i].seq = seq;
        return false;
      }
      if (slots[i].hash == 0) {
        slots[i] = {hash, seq};
        return true;
      }
    }
  }

  void grow() {
    std::vector<Slot> bigger(slots_.empty() ? 1024 : slots_.size() * 2);
    const size_t mask = bigger.size() - 1;
    for (const Slot& s : slots_) {
      if (s.hash != 0) {
        place(bigger, mask, s.hash, s.seq);
      }
    }
    slots_.swap(bigger);
    mask_ = mask;
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace homeostat::store::sqlite
