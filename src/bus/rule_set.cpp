#include "bus/rule_set.hpp"

#include <algorithm>
#include <functional>
#include <set>

namespace homeostat::bus {

core::Status RuleSnapshot::match(const std::string& bus, std::string_view event_json,
                                 patterns::MatchScratch& scratch,
                                 std::vector<std::shared_ptr<const Rule>>& out) const {
  out.clear();
  auto it = buses_.find(bus);
  if (it == buses_.end()) {
    return {};
  }
  std::vector<uint32_t> ids;
  if (auto s = it->second.matcher->match(event_json, scratch, ids); !s.ok()) {
    return s;
  }
  for (uint32_t id : ids) {
    out.push_back(it->second.rules[id]);
  }
  return {};
}

std::shared_ptr<const Rule> RuleSnapshot::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const Rule>> RuleSnapshot::all() const {
  std::vector<std::shared_ptr<const Rule>> out;
  for (const auto& [name, rule] : by_name_) {
    out.push_back(rule);
  }
  return out;
}

RuleSet::RuleSet() : current_(std::make_shared<RuleSnapshot>()) {}

namespace {

// Finds a cycle of bus targets (a rule on bus a forwards to b, one on b forwards to a, ...),
// which would pass events around for ever. Disabled rules count too: enabling one must not be
// able to close a loop. Returns the cycle as "a -> b -> a", or "" when there is none.
std::string bus_cycle(const std::map<std::string, std::shared_ptr<const Rule>>& rules) {
  std::map<std::string, std::set<std::string>> edges;
  for (const auto& [name, rule] : rules) {
    for (const auto& t : rule->targets) {
      if (t.kind == Target::Kind::kBus) {
        edges[rule->bus].insert(t.bus);
      }
    }
  }
  std::map<std::string, int> state;  // 1: on the current path, 2: done
  std::vector<std::string> path;
  std::function<std::string(const std::string&)> visit = [&](const std::string& bus) {
    state[bus] = 1;
    path.push_back(bus);
    for (const auto& next : edges[bus]) {
      if (state[next] == 1) {
        std::string cycle;
        auto from = std::find(path.begin(), path.end(), next);
        for (auto it = from; it != path.end(); ++it) {
          cycle += *it + " -> ";
        }
        return cycle + next;
      }
      if (state[next] == 0) {
        if (auto found = visit(next); !found.empty()) {
          return found;
        }
      }
    }
    state[bus] = 2;
    path.pop_back();
    return std::string();
  };
  std::vector<std::string> starts;
  starts.reserve(edges.size());
  for (const auto& [bus, next] : edges) {
    starts.push_back(bus);
  }
  for (const auto& bus : starts) {
    if (state[bus] == 0) {
      if (auto found = visit(bus); !found.empty()) {
        return found;
      }
    }
  }
  return "";
}

core::Status refuse_cycles(const std::map<std::string, std::shared_ptr<const Rule>>& rules) {
  if (auto cycle = bus_cycle(rules); !cycle.empty()) {
    return core::Error(core::ErrorCode::kInvalidArgument,
                       "bus targets would forward events in a loop: " + cycle);
  }
  return {};
}

}  // namespace

void RuleSet::publish(std::map<std::string, std::shared_ptr<const Rule>> rules) {
  // Compile outside the lock would race with another writer; rule changes are rare and a
  // compile of thousands of rules takes milliseconds, so it is done under it.
  auto next = std::make_shared<RuleSnapshot>();
  std::map<std::string, std::vector<patterns::Pattern>> patterns;
  for (const auto& [name, rule] : rules) {
    if (!rule->enabled) {
      continue;
    }
    auto& bus = next->buses_[rule->bus];
    bus.rules.push_back(rule);
    patterns[rule->bus].push_back(rule->pattern);
  }
  for (auto& [name, bus] : next->buses_) {
    bus.matcher = patterns::Matcher::compile(patterns[name]);
  }
  next->by_name_ = std::move(rules);
  current_ = std::move(next);
}

core::Status RuleSet::reset(std::vector<Rule> file_rules, std::vector<Rule> api_rules) {
  std::map<std::string, std::shared_ptr<const Rule>> rules;
  for (auto* list : {&file_rules, &api_rules}) {
    for (auto& r : *list) {
      std::string name = r.name;
      if (!rules.emplace(name, std::make_shared<const Rule>(std::move(r))).second) {
        return core::Error(core::ErrorCode::kAlreadyExists,
                           "two rules are named " + name + " (" + rules[name]->origin + ")");
      }
    }
  }
  if (auto s = refuse_cycles(rules); !s.ok()) {
    return s;
  }
  std::lock_guard lock(mu_);
  publish(std::move(rules));
  return {};
}

core::Status RuleSet::reload_files(std::vector<Rule> file_rules) {
  std::lock_guard lock(mu_);
  std::map<std::string, std::shared_ptr<const Rule>> rules;
  for (const auto& [name, rule] : current_->by_name_) {
    if (rule->origin == "api") {
      rules.emplace(name, rule);
    }
  }
  for (auto& r : file_rules) {
    std::string name = r.name;
    auto made = std::make_shared<const Rule>(std::move(r));
    if (!rules.emplace(name, made).second) {
      return core::Error(core::ErrorCode::kAlreadyExists,
                         made->origin.substr(5) + ": name: a rule named " + name +
                             " already exists (" + rules[name]->origin + ")");
    }
  }
  if (auto s = refuse_cycles(rules); !s.ok()) {
    return s;
  }
  publish(std::move(rules));
  return {};
}

core::Status RuleSet::put(Rule rule) {
  std::lock_guard lock(mu_);
  auto rules = current_->by_name_;
  if (auto it = rules.find(rule.name); it != rules.end() && it->second->origin != "api") {
    return core::Error(core::ErrorCode::kAlreadyExists, "the rule " + rule.name + " comes from " +
                                                            it->second->origin.substr(5) +
                                                            "; change it there");
  }
  std::string name = rule.name;
  rules[name] = std::make_shared<const Rule>(std::move(rule));
  if (auto s = refuse_cycles(rules); !s.ok()) {
    return s;
  }
  publish(std::move(rules));
  return {};
}

core::Status RuleSet::remove(const std::string& name) {
  std::lock_guard lock(mu_);
  auto rules = current_->by_name_;
  auto it = rules.find(name);
  if (it == rules.end()) {
    return core::Error(core::ErrorCode::kNotFound, "no rule named " + name);
  }
  if (it->second->origin != "api") {
    return core::Error(
        core::ErrorCode::kPermissionDenied,
        "the rule " + name + " comes from " + it->second->origin.substr(5) + "; remove it there");
  }
  rules.erase(it);
  publish(std::move(rules));
  return {};
}

std::shared_ptr<const RuleSnapshot> RuleSet::snapshot() const {
  std::lock_guard lock(mu_);
  return current_;
}

}  // namespace homeostat::bus
