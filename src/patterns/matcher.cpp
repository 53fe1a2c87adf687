#include "patterns/matcher.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace homeostat::patterns {
namespace ondemand = simdjson::ondemand;

namespace {

constexpr uint32_t kNone = UINT32_MAX;
constexpr size_t kMinSteps = 4'000'000;
constexpr size_t kStepsPerByte = 256;

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using Targets = std::vector<uint32_t>;
using StringMap = std::unordered_map<std::string, Targets, StringHash, std::equal_to<>>;

// Prefixes (or suffixes) of one length, so a value needs one lookup per distinct length.
struct Affixes {
  size_t length = 0;
  StringMap by_text;
};

// The key names of every pattern path, as a tree: the event walk follows it to know which
// keys to read and which subtrees to skip.
struct KeyNode {
  std::vector<std::pair<std::string, uint32_t>> children;  // sorted by key
  uint32_t path = kNone;                                   // set when a pattern path ends here
};

// A condition the hash maps cannot index, with the state it leads to.
struct Checked {
  Condition condition;
  uint32_t target;
};

// Exact strings: most groups hold one or two (the rest of a rule after its distinguishing
// field), so a short list is searched in place and only a long one gets a hash map.
class ExactStrings {
 public:
  static constexpr size_t kFew = 8;

  const Targets* find(std::string_view s) const {
    if (many_) {
      auto it = many_->find(s);
      return it == many_->end() ? nullptr : &it->second;
    }
    for (const auto& [text, targets] : few_) {
      if (text == s) {
        return &targets;
      }
    }
    return nullptr;
  }

  Targets& at(const std::string& s) {
    if (!many_ && few_.size() == kFew) {
      many_ = std::make_unique<StringMap>();
      for (auto& [text, targets] : few_) {
        many_->emplace(std::move(text), std::move(targets));
      }
      few_.clear();
      few_.shrink_to_fit();
    }
    if (many_) {
      return (*many_)[s];
    }
    for (auto& [text, targets] : few_) {
      if (text == s) {
        return targets;
      }
    }
    return few_.emplace_back(s, Targets{}).second;
  }

  size_t size() const { return many_ ? many_->size() : few_.size(); }
  size_t bytes() const;

 private:
  std::vector<std::pair<std::string, Targets>> few_;
  std::unique_ptr<StringMap> many_;
};

// Numeric ranges of one group, for stabbing queries: sorted by lower bound, in blocks that
// remember their highest upper bound. A value looks only at ranges that start at or below it,
// and skips every block whose ranges all end below it, so thresholds and narrow buckets alike
// cost about the ranges that match plus a few blocks, not one check per rule.
class NumericIndex {
 public:
  void add(const NumericRange& r, uint32_t target) {
    Entry e{r.has_low ? r.low : -INFINITY, r.has_high ? r.high : INFINITY, r.low_inclusive,
            r.high_inclusive, target};
    entries_.push_back(e);
  }

  // Sorts and builds the blocks; call once, after every add.
  void seal() {
    std::sort(entries_.begin(), entries_.end(),
              [](const Entry& a, const Entry& b) { return a.low < b.low; });
    block_high_.clear();
    for (size_t i = 0; i < entries_.size(); i += kBlock) {
      double high = -INFINITY;
      for (size_t j = i; j < std::min(entries_.size(), i + kBlock); ++j) {
        high = std::max(high, entries_[j].high);
      }
      block_high_.push_back(high);
    }
  }

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }

  // Appends the targets of every range that holds `x` (numeric matching covers +/-5e9 only).
  void find(double x, std::vector<uint32_t>& out) const {
    if (std::abs(x) > 5.0e9) {
      return;
    }
    auto end = std::upper_bound(entries_.begin(), entries_.end(), x,
                                [](double v, const Entry& e) { return v < e.low; });
    size_t n = static_cast<size_t>(end - entries_.begin());
    for (size_t b = 0; b * kBlock < n; ++b) {
      if (block_high_[b] < x) {
        continue;
      }
      for (size_t j = b * kBlock; j < std::min(n, (b + 1) * kBlock); ++j) {
        const Entry& e = entries_[j];
        bool above = x > e.low || (x == e.low && e.low_inclusive);
        bool below = x < e.high || (x == e.high && e.high_inclusive);
        if (above && below) {
          out.push_back(e.target);
        }
      }
    }
  }

 private:
  static constexpr size_t kBlock = 32;
  struct Entry {
    double low;
    double high;
    bool low_inclusive;
    bool high_inclusive;
    uint32_t target;
  };
  std::vector<Entry> entries_;
  std::vector<double> block_high_;
};

// What a group needs beyond exact strings; absent for most groups.
struct GroupExtras {
  std::unordered_map<double, Targets> numbers;
  Targets on_true, on_false, on_null;
  StringMap folded;  // equals-ignore-case, keys folded
  std::vector<Affixes> prefixes, suffixes, folded_prefixes, folded_suffixes;
  std::vector<Checked> checked;  // anything-but, cidr and wildcard: one check each
  NumericIndex numeric;
  Targets if_present;  // {"exists": true}
  Targets if_absent;   // {"exists": false}
  bool needs_fold = false;
};

// The transitions out of one state that read the values at one path.
struct Group {
  uint32_t path = 0;  // the key node where the path ends
  uint32_t slot = 0;  // the path's id: where the event walk puts its values
  ExactStrings exact;
  std::unique_ptr<GroupExtras> extras;

  GroupExtras& more() {
    if (!extras) {
      extras = std::make_unique<GroupExtras>();
    }
    return *extras;
  }
};

struct State {
  std::vector<Group> groups;
  std::vector<uint32_t> accepts;  // rule ids completed here
  // Key nodes that are proper prefixes of a path read at or below this state: the arrays
  // whose element choice can still matter for what this state leads to.
  std::vector<uint32_t> arrays_below;
};

// One scalar found by the event walk, with the array elements it came from.
struct Found {
  ScalarView value;
  uint32_t trail_begin = 0;
  uint32_t trail_end = 0;
};

// An element of an array of objects: which array (its key node and nesting level) and which
// element.
struct TrailEntry {
  uint32_t key_node;
  uint32_t level;
  uint32_t index;
};

}  // namespace

struct Matcher::Impl {
  std::vector<KeyNode> keys{1};  // keys[0] is the top of the event
  std::vector<State> states{1};  // states[0] is the root
  size_t paths = 0;
  size_t rules = 0;
  size_t alternatives = 0;

  uint32_t intern_path(const std::vector<std::string>& path);
  uint32_t child_for(uint32_t state, const Field& field);
  void add_condition(Group& group, const Condition& c, uint32_t target);
  void compute_arrays_below();

  // Compile time only: the state after (state, path, conditions), and each state's parent.
  std::unordered_map<std::string, uint32_t> compiled;
  std::vector<uint32_t> parents{kNone};
};

struct MatchScratch::Impl {
  simdjson::ondemand::parser parser;
  std::string buffer;  // the event, copied with simdjson's padding behind it

  std::vector<std::vector<Found>> found;  // by path id
  std::vector<uint32_t> touched;          // path ids with values, to clear
  std::vector<TrailEntry> trail;          // the walk's current array elements
  std::vector<TrailEntry> trails;         // every Found's trail, back to back

  std::vector<TrailEntry> chosen;    // array elements fixed by the values taken so far
  std::vector<uint32_t> pending;     // states to visit, a stack shared by the recursion
  std::vector<uint32_t> state_seen;  // epoch per state, for visits with no array choice
  std::vector<uint32_t> rule_seen;   // epoch per rule
  std::unordered_set<std::string> seen_with_arrays;
  std::string key;
  std::string folded;
  uint32_t epoch = 0;
};

MatchScratch::MatchScratch() : impl_(std::make_unique<Impl>()) {}
MatchScratch::~MatchScratch() = default;

Matcher::Matcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Matcher::~Matcher() = default;

// ---------------------------------------------------------------------------------------------
// Compiling

namespace {

// A byte string that is equal for equal condition lists, so alternatives that share a field
// share the state after it.
void append_key(std::string& out, std::string_view s) {
  out += std::to_string(s.size());
  out.push_back(':');
  out.append(s);
}

std::string conditions_key(const std::vector<Condition>& conditions) {
  std::string key;
  for (const auto& c : conditions) {
    key += std::to_string(static_cast<int>(c.op));
    key.push_back('|');
    append_key(key, c.text);
    key += std::to_string(static_cast<int>(c.scalar.kind));
    append_key(key, c.scalar.text);
    key += std::to_string(c.scalar.number) + (c.scalar.boolean ? "t" : "f");
    for (const auto& s : c.scalars) {
      key += std::to_string(static_cast<int>(s.kind));
      append_key(key, s.text);
      key += std::to_string(s.number);
    }
    for (const auto& t : c.texts) {
      append_key(key, t);
    }
    for (const auto& w : c.wildcards) {
      key += std::to_string(w.parts.size());
      for (const auto& p : w.parts) {
        append_key(key, p);
      }
    }
    const auto& r = c.range;
    key += std::to_string(r.low) + std::to_string(r.high) + std::to_string(r.has_low) +
           std::to_string(r.has_high) + std::to_string(r.low_inclusive) +
           std::to_string(r.high_inclusive);
    key.append(reinterpret_cast<const char*>(c.cidr.network.data()), c.cidr.network.size());
    key += std::to_string(c.cidr.prefix_bits) + (c.cidr.ipv6 ? "6" : "4");
    key += c.exists ? "E" : "e";
    key.push_back(';');
  }
  return key;
}

void add_affix(std::vector<Affixes>& list, const std::string& text, uint32_t target) {
  auto it = std::find_if(list.begin(), list.end(),
                         [&](const Affixes& a) { return a.length == text.size(); });
  if (it == list.end()) {
    list.push_back(Affixes{text.size(), {}});
    it = list.end() - 1;
  }
  it->by_text[text].push_back(target);
}

}  // namespace

uint32_t Matcher::Impl::intern_path(const std::vector<std::string>& path) {
  uint32_t node = 0;
  for (const auto& key : path) {
    auto& children = keys[node].children;
    auto it =
        std::lower_bound(children.begin(), children.end(), key,
                         [](const auto& entry, const std::string& k) { return entry.first < k; });
    if (it != children.end() && it->first == key) {
      node = it->second;
      continue;
    }
    auto next = static_cast<uint32_t>(keys.size());
    children.insert(it, {key, next});
    keys.emplace_back();
    node = next;
  }
  if (keys[node].path == kNone) {
    keys[node].path = static_cast<uint32_t>(paths++);
  }
  return node;
}

void Matcher::Impl::add_condition(Group& g, const Condition& c, uint32_t target) {
  using Op = Condition::Op;
  if (c.op == Op::kExact && c.scalar.kind == Scalar::Kind::kString) {
    g.exact.at(c.scalar.text).push_back(target);
    return;
  }
  GroupExtras& group = g.more();
  switch (c.op) {
    case Op::kExact:
      switch (c.scalar.kind) {
        case Scalar::Kind::kString:
          break;
        case Scalar::Kind::kNumber:
          group.numbers[c.scalar.number].push_back(target);
          break;
        case Scalar::Kind::kBool:
          (c.scalar.boolean ? group.on_true : group.on_false).push_back(target);
          break;
        case Scalar::Kind::kNull:
          group.on_null.push_back(target);
          break;
      }
      break;
    case Op::kPrefix:
      add_affix(group.prefixes, c.text, target);
      break;
    case Op::kSuffix:
      add_affix(group.suffixes, c.text, target);
      break;
    case Op::kEqualsIgnoreCase:
      group.folded[c.text].push_back(target);
      group.needs_fold = true;
      break;
    case Op::kPrefixIgnoreCase:
      add_affix(group.folded_prefixes, c.text, target);
      group.needs_fold = true;
      break;
    case Op::kSuffixIgnoreCase:
      add_affix(group.folded_suffixes, c.text, target);
      group.needs_fold = true;
      break;
    case Op::kExists:
      (c.exists ? group.if_present : group.if_absent).push_back(target);
      break;
    case Op::kNumeric:
      group.numeric.add(c.range, target);
      break;
    default:
      group.checked.push_back(Checked{c, target});
      break;
  }
}

uint32_t Matcher::Impl::child_for(uint32_t state, const Field& field) {
  uint32_t key_node = intern_path(field.path);
  auto& groups = states[state].groups;
  auto it = std::find_if(groups.begin(), groups.end(),
                         [&](const Group& g) { return g.path == key_node; });
  if (it == groups.end()) {
    groups.emplace_back();
    groups.back().path = key_node;
    groups.back().slot = keys[key_node].path;
    it = groups.end() - 1;
  }
  std::string key = std::to_string(state) + "/" + std::to_string(key_node) + "/" +
                    conditions_key(field.conditions);
  if (auto known = compiled.find(key); known != compiled.end()) {
    return known->second;
  }

  // A new state; note `it` may dangle once states grows, so find the group again.
  auto next = static_cast<uint32_t>(states.size());
  size_t group_index = it - groups.begin();
  states.emplace_back();
  parents.push_back(state);
  Group& group = states[state].groups[group_index];
  compiled.emplace(std::move(key), next);
  for (const auto& c : field.conditions) {
    add_condition(group, c, next);
  }
  return next;
}

void Matcher::Impl::compute_arrays_below() {
  // The key nodes strictly above each key node, the top excluded (it is never an array).
  std::vector<std::vector<uint32_t>> above(keys.size());
  for (uint32_t k = 0; k < keys.size(); ++k) {
    for (const auto& [name, child] : keys[k].children) {
      above[child] = above[k];
      if (k != 0) {
        above[child].push_back(k);
      }
    }
  }

  // States are created after their parents, so one backward pass has merged every child into
  // a state before it reaches it.
  for (size_t s = states.size(); s-- > 0;) {
    auto& mine = states[s].arrays_below;
    for (const auto& g : states[s].groups) {
      mine.insert(mine.end(), above[g.path].begin(), above[g.path].end());
    }
    std::sort(mine.begin(), mine.end());
    mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
    mine.shrink_to_fit();
    if (parents[s] != kNone) {
      auto& theirs = states[parents[s]].arrays_below;
      theirs.insert(theirs.end(), mine.begin(), mine.end());
    }
  }
  compiled.clear();
  parents.clear();
  parents.shrink_to_fit();
}

std::shared_ptr<const Matcher> Matcher::compile(std::span<const Pattern> patterns) {
  auto impl = std::make_unique<Impl>();
  impl->rules = patterns.size();

  // Fields that many alternatives share go first, so those alternatives share the states
  // after them and fan out only at the field that tells them apart. 10,000 rules that differ
  // in the alarm name alone become one shared chain and one 10,000-way lookup at its end.
  std::unordered_map<std::string, size_t> uses;
  auto field_key = [](const Field& f) {
    return dotted(f.path) + "\n" + conditions_key(f.conditions);
  };
  for (const auto& pattern : patterns) {
    for (const auto& alt : pattern.alternatives) {
      for (const auto& field : alt.fields) {
        ++uses[field_key(field)];
      }
    }
  }

  std::vector<std::pair<size_t, const Field*>> order;
  for (uint32_t rule = 0; rule < patterns.size(); ++rule) {
    for (const auto& alt : patterns[rule].alternatives) {
      order.clear();
      for (const auto& field : alt.fields) {
        order.emplace_back(uses[field_key(field)], &field);
      }
      std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second->path < b.second->path;
      });
      uint32_t state = 0;
      for (const auto& [count, field] : order) {
        state = impl->child_for(state, *field);
      }
      auto& accepts = impl->states[state].accepts;
      if (accepts.empty() || accepts.back() != rule) {
        accepts.push_back(rule);
      }
      ++impl->alternatives;
    }
  }
  impl->compute_arrays_below();
  for (auto& state : impl->states) {
    for (auto& group : state.groups) {
      if (group.extras) {
        group.extras->numeric.seal();
      }
    }
  }
  return std::shared_ptr<const Matcher>(new Matcher(std::move(impl)));
}

size_t ExactStrings::bytes() const {
  size_t b = few_.capacity() * sizeof(few_[0]);
  for (const auto& [text, targets] : few_) {
    b += targets.capacity() * sizeof(uint32_t) + (text.size() > 15 ? text.capacity() + 1 : 0);
  }
  if (many_) {
    b += many_->bucket_count() * sizeof(void*);
    for (const auto& [text, targets] : *many_) {
      b += sizeof(std::pair<const std::string, Targets>) + 2 * sizeof(void*) +
           targets.capacity() * sizeof(uint32_t) + (text.size() > 15 ? text.capacity() + 1 : 0);
    }
  }
  return b;
}

MatcherStats Matcher::stats() const {
  MatcherStats s;
  s.rules = impl_->rules;
  s.alternatives = impl_->alternatives;
  s.states = impl_->states.size();
  s.paths = impl_->paths;
  size_t bytes =
      impl_->keys.capacity() * sizeof(KeyNode) + impl_->states.capacity() * sizeof(State);
  auto map_bytes = [](const StringMap& m) {
    size_t b = m.bucket_count() * sizeof(void*);
    for (const auto& [k, v] : m) {
      b += sizeof(std::pair<const std::string, Targets>) + 2 * sizeof(void*) + v.capacity() * 4 +
           (k.size() > 15 ? k.capacity() + 1 : 0);
    }
    return b;
  };
  for (const auto& st : impl_->states) {
    bytes += st.groups.capacity() * sizeof(Group) + st.accepts.capacity() * 4 +
             st.arrays_below.capacity() * 4;
    for (const auto& group : st.groups) {
      s.transitions += group.exact.size();
      bytes += group.exact.bytes();
      if (!group.extras) {
        continue;
      }
      const GroupExtras& g = *group.extras;
      s.transitions += g.numbers.size() + g.on_true.size() + g.on_false.size() + g.on_null.size() +
                       g.folded.size() + g.checked.size() + g.numeric.size() + g.if_present.size() +
                       g.if_absent.size();
      bytes += sizeof(GroupExtras) + map_bytes(g.folded) + g.numbers.size() * 64 +
               g.checked.size() * sizeof(Checked);
      for (const auto* list : {&g.prefixes, &g.suffixes, &g.folded_prefixes, &g.folded_suffixes}) {
        for (const auto& a : *list) {
          s.transitions += a.by_text.size();
          bytes += sizeof(Affixes) + map_bytes(a.by_text);
        }
      }
    }
  }
  for (const auto& k : impl_->keys) {
    bytes += k.children.capacity() * sizeof(std::pair<std::string, uint32_t>);
  }
  s.approximate_bytes = bytes;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Matching

namespace {

// Walks one event with simdjson On-Demand, recording the scalars at pattern paths.
class Walker {
 public:
  Walker(const Matcher::Impl& m, MatchScratch::Impl& s) : m_(m), s_(s) {}

  simdjson::error_code object(ondemand::object obj, uint32_t node) {
    const auto& children = m_.keys[node].children;
    for (auto field_result : obj) {
      ondemand::field field;
      std::string_view key;
      if (auto e = std::move(field_result).get(field); e) {
        return e;
      }
      if (auto e = field.unescaped_key().get(key); e) {
        return e;
      }
      uint32_t child = find(children, key);
      if (child == kNone) {
        continue;  // no pattern reads this subtree; On-Demand skips it unread
      }
      if (auto e = value(field.value(), child, 0); e) {
        return e;
      }
    }
    return simdjson::SUCCESS;
  }

 private:
  static uint32_t find(const std::vector<std::pair<std::string, uint32_t>>& children,
                       std::string_view key) {
    if (children.size() <= 8) {
      for (const auto& [name, child] : children) {
        if (name == key) {
          return child;
        }
      }
      return kNone;
    }
    auto it =
        std::lower_bound(children.begin(), children.end(), key,
                         [](const auto& entry, std::string_view k) { return entry.first < k; });
    return it != children.end() && it->first == key ? it->second : kNone;
  }

  void record(uint32_t node, ScalarView v) {
    uint32_t path = m_.keys[node].path;
    if (path == kNone) {
      return;
    }
    auto& list = s_.found[path];
    if (list.empty()) {
      s_.touched.push_back(path);
    }

    // Only arrays above this path keep elements apart; an array at the path itself is a list
    // of values for it.
    auto begin = static_cast<uint32_t>(s_.trails.size());
    for (const auto& t : s_.trail) {
      if (t.key_node != node) {
        s_.trails.push_back(t);
      }
    }
    list.push_back(Found{v, begin, static_cast<uint32_t>(s_.trails.size())});
  }

  simdjson::error_code value(ondemand::value v, uint32_t node, uint32_t level) {
    ondemand::json_type type;
    if (auto e = v.type().get(type); e) {
      return e;
    }
    bool deeper = !m_.keys[node].children.empty();
    switch (type) {
      case ondemand::json_type::object: {
        if (!deeper) {
          return simdjson::SUCCESS;  // an object is not a value; skip it
        }
        ondemand::object obj;
        if (auto e = v.get_object().get(obj); e) {
          return e;
        }
        return object(obj, node);
      }
      case ondemand::json_type::array: {
        ondemand::array array;
        if (auto e = v.get_array().get(array); e) {
          return e;
        }
        uint32_t index = 0;
        for (auto element_result : array) {
          ondemand::value element;
          if (auto e = element_result.get(element); e) {
            return e;
          }
          s_.trail.push_back(TrailEntry{node, level, index++});
          auto e = value(element, node, level + 1);
          s_.trail.pop_back();
          if (e) {
            return e;
          }
        }
        return simdjson::SUCCESS;
      }
      case ondemand::json_type::string: {
        std::string_view text;
        if (auto e = v.get_string().get(text); e) {
          return e;
        }
        record(node, ScalarView{Scalar::Kind::kString, text, 0.0, false});
        return simdjson::SUCCESS;
      }
      case ondemand::json_type::number: {
        double number = 0;
        if (auto e = v.get_double().get(number); e) {
          return e;
        }
        record(node, ScalarView{Scalar::Kind::kNumber, {}, number == 0.0 ? 0.0 : number, false});
        return simdjson::SUCCESS;
      }
      case ondemand::json_type::boolean: {
        bool b = false;
        if (auto e = v.get_bool().get(b); e) {
          return e;
        }
        record(node, ScalarView{Scalar::Kind::kBool, {}, 0.0, b});
        return simdjson::SUCCESS;
      }
      case ondemand::json_type::null: {
        bool is_null = false;
        if (auto e = v.is_null().get(is_null); e || !is_null) {
          return e ? e : simdjson::INCORRECT_TYPE;  // "nul", "nulx": the type looked only at 'n'
        }
        record(node, ScalarView{Scalar::Kind::kNull, {}, 0.0, false});
        return simdjson::SUCCESS;
      }
    }
    return simdjson::SUCCESS;
  }

  const Matcher::Impl& m_;
  MatchScratch::Impl& s_;
};

// Walks the states from the root for one walked event.
class Visitor {
 public:
  Visitor(const Matcher::Impl& m, MatchScratch::Impl& s, std::vector<uint32_t>& out, size_t budget)
      : m_(m), s_(s), out_(out), budget_(budget) {}

  // True when the walk stopped because it used up its budget of steps.
  bool exhausted() const { return budget_ == 0; }

  void visit(uint32_t id) {
    const State& state = m_.states[id];
    if (budget_ == 0 || !first_visit(id, state)) {
      return;
    }
    --budget_;
    for (uint32_t rule : state.accepts) {
      if (s_.rule_seen[rule] != s_.epoch) {
        s_.rule_seen[rule] = s_.epoch;
        out_.push_back(rule);
      }
    }
    for (const auto& group : state.groups) {
      take(group);
    }
  }

 private:
  // False when this state was already visited with the same array elements fixed (as far as
  // they matter below it): a second visit could only find the same rules.
  bool first_visit(uint32_t id, const State& state) {
    std::string& key = s_.key;
    key.clear();
    for (const auto& c : s_.chosen) {
      if (std::binary_search(state.arrays_below.begin(), state.arrays_below.end(), c.key_node)) {
        key.append(reinterpret_cast<const char*>(&c), sizeof(c));
      }
    }
    if (key.empty()) {
      if (s_.state_seen[id] == s_.epoch) {
        return false;
      }
      s_.state_seen[id] = s_.epoch;
      return true;
    }
    key.append(reinterpret_cast<const char*>(&id), sizeof(id));
    return s_.seen_with_arrays.insert(key).second;
  }

  bool compatible(const Found& f) const {
    for (uint32_t i = f.trail_begin; i < f.trail_end; ++i) {
      const TrailEntry& t = s_.trails[i];
      for (const auto& c : s_.chosen) {
        if (c.key_node == t.key_node && c.level == t.level && c.index != t.index) {
          return false;
        }
      }
    }
    return true;
  }

  static void add(std::vector<uint32_t>& pending, const Targets& targets) {
    pending.insert(pending.end(), targets.begin(), targets.end());
  }

  static void add_affixes(std::vector<uint32_t>& pending, const std::vector<Affixes>& list,
                          std::string_view text, bool prefix) {
    for (const auto& a : list) {
      if (a.length > text.size()) {
        continue;
      }
      auto part = prefix ? text.substr(0, a.length) : text.substr(text.size() - a.length);
      if (auto it = a.by_text.find(part); it != a.by_text.end()) {
        add(pending, it->second);
      }
    }
  }

  // Appends the states one value leads to through `group`.
  void targets_for(const Group& g, const ScalarView& v) {
    auto& pending = s_.pending;
    if (v.kind == Scalar::Kind::kString) {
      if (const Targets* t = g.exact.find(v.text)) {
        add(pending, *t);
      }
    }
    if (!g.extras) {
      return;
    }
    const GroupExtras& group = *g.extras;
    switch (v.kind) {
      case Scalar::Kind::kString: {
        add_affixes(pending, group.prefixes, v.text, true);
        add_affixes(pending, group.suffixes, v.text, false);
        if (group.needs_fold) {
          s_.folded.assign(v.text);
          for (char& ch : s_.folded) {
            ch = (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
          }
          if (auto it = group.folded.find(std::string_view(s_.folded)); it != group.folded.end()) {
            add(pending, it->second);
          }
          add_affixes(pending, group.folded_prefixes, s_.folded, true);
          add_affixes(pending, group.folded_suffixes, s_.folded, false);
        }
        break;
      }
      case Scalar::Kind::kNumber:
        if (auto it = group.numbers.find(v.number); it != group.numbers.end()) {
          add(pending, it->second);
        }
        group.numeric.find(v.number, pending);
        break;
      case Scalar::Kind::kBool:
        add(pending, v.boolean ? group.on_true : group.on_false);
        break;
      case Scalar::Kind::kNull:
        add(pending, group.on_null);
        break;
    }
    for (const auto& c : group.checked) {
      if (c.condition.matches(v)) {
        pending.push_back(c.target);
      }
    }
    add(pending, group.if_present);
  }

  void take(const Group& group) {
    const auto& values = s_.found[group.slot];
    if (values.empty()) {
      if (group.extras) {
        for (uint32_t t : group.extras->if_absent) {
          visit(t);
        }
      }
      return;
    }
    for (const auto& f : values) {
      if (budget_ == 0) {
        return;
      }
      --budget_;
      if (!compatible(f)) {
        continue;
      }
      size_t begin = s_.pending.size();
      targets_for(group, f.value);
      size_t end = s_.pending.size();
      if (begin == end) {
        continue;
      }

      // The value's array elements hold for everything reached through it.
      size_t mark = s_.chosen.size();
      s_.chosen.insert(s_.chosen.end(), s_.trails.begin() + f.trail_begin,
                       s_.trails.begin() + f.trail_end);
      for (size_t i = begin; i < end; ++i) {
        visit(s_.pending[i]);
      }
      s_.chosen.resize(mark);
      s_.pending.resize(begin);
    }
  }

  const Matcher::Impl& m_;
  MatchScratch::Impl& s_;
  std::vector<uint32_t>& out_;
  size_t budget_;  // steps left: state visits and values tried
};

}  // namespace

core::Status Matcher::match(std::string_view event_json, MatchScratch& scratch,
                            std::vector<uint32_t>& out) const {
  auto& s = scratch.impl();
  const Impl& m = *impl_;
  out.clear();

  // Fresh per-event state; arrays sized to this matcher, epochs instead of clearing.
  for (uint32_t path : s.touched) {
    s.found[path].clear();
  }
  s.touched.clear();
  s.trail.clear();
  s.trails.clear();
  s.chosen.clear();
  s.pending.clear();
  if (!s.seen_with_arrays.empty()) {
    s.seen_with_arrays.clear();
  }
  if (s.found.size() < m.paths) {
    s.found.resize(m.paths);
  }
  if (s.state_seen.size() < m.states.size() || s.rule_seen.size() < m.rules ||
      s.epoch == UINT32_MAX) {
    s.state_seen.assign(std::max(s.state_seen.size(), m.states.size()), 0);
    s.rule_seen.assign(std::max(s.rule_seen.size(), m.rules), 0);
    s.epoch = 0;
  }
  ++s.epoch;

  // Walk the event; simdjson needs padding after the text.
  s.buffer.reserve(event_json.size() + simdjson::SIMDJSON_PADDING);
  s.buffer.assign(event_json);
  ondemand::document doc;
  ondemand::object top;
  auto fail = [](const char* what) { return core::Error(core::ErrorCode::kInvalidArgument, what); };
  if (s.parser.iterate(s.buffer.data(), s.buffer.size(), s.buffer.capacity()).get(doc) ||
      doc.get_object().get(top)) {
    return fail("the event is not a JSON object");
  }
  Walker walker(m, s);
  if (walker.object(top, 0) != simdjson::SUCCESS) {
    return fail("the event is not valid JSON");
  }

  // Arrays of objects that patterns combine can make the walk grow faster than the event; a
  // budget in proportion to the event's size (and never below four million steps) bounds it.
  Visitor visitor(m, s, out, std::max<size_t>(kMinSteps, kStepsPerByte * event_json.size()));
  visitor.visit(0);
  if (visitor.exhausted()) {
    out.clear();
    return core::Error(
        core::ErrorCode::kTooLarge,
        "the event's arrays combine in too many ways for these patterns (more "
        "than " +
            std::to_string(std::max<size_t>(kMinSteps, kStepsPerByte * event_json.size())) +
            " steps)");
  }
  std::sort(out.begin(), out.end());
  return {};
}

}  // namespace homeostat::patterns
