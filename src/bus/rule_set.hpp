// The rules in force: those from files and those made through the API, compiled per bus.
//
// Readers take a snapshot (an immutable, shared view with one compiled matcher per bus) and use
// it for as long as they like; a change builds a new snapshot and swaps it in, so matching never
// waits for a change and never sees half of one. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bus/rule.hpp"
#include "core/result.hpp"
#include "patterns/matcher.hpp"

namespace homeostat::bus {

class RuleSnapshot {
 public:
  struct Bus {
    std::vector<std::shared_ptr<const Rule>> rules;  // rule id i in the matcher is rules[i]
    std::shared_ptr<const patterns::Matcher> matcher;
  };

  // The enabled rules of `bus` that `event_json` matches, in name order. Fails as
  // Matcher::match does: kInvalidArgument when the event is not a JSON object, kTooLarge past
  // the matcher's step budget.
  core::Status match(const std::string& bus, std::string_view event_json,
                     patterns::MatchScratch& scratch,
                     std::vector<std::shared_ptr<const Rule>>& out) const;

  std::shared_ptr<const Rule> find(const std::string& name) const;
  std::vector<std::shared_ptr<const Rule>> all() const;  // in name order

 private:
  friend class RuleSet;
  std::map<std::string, std::shared_ptr<const Rule>> by_name_;
  std::map<std::string, Bus> buses_;
};

class RuleSet {
 public:
  RuleSet();

  // Every change below is refused, with the rules in force kept, when bus targets would then
  // form a loop (kInvalidArgument, naming it: "a -> b -> a").

  // Replaces every rule: the file rules and the API rules. Names must not repeat.
  core::Status reset(std::vector<Rule> file_rules, std::vector<Rule> api_rules);
  // Adds or replaces an API rule. A rule of the same name from a file cannot be replaced
  // (kAlreadyExists).
  core::Status put(Rule rule);
  // Replaces the file rules with `file_rules`, keeping the API rules. Nothing changes when a
  // new file rule has the name of an API rule (kAlreadyExists) or two share a name.
  core::Status reload_files(std::vector<Rule> file_rules);
  // Removes an API rule (kNotFound when there is none; kPermissionDenied for a file rule).
  core::Status remove(const std::string& name);

  std::shared_ptr<const RuleSnapshot> snapshot() const;

 private:
  void publish(std::map<std::string, std::shared_ptr<const Rule>> rules);

  mutable std::mutex mu_;
  std::shared_ptr<const RuleSnapshot> current_;  // GUARDED_BY(mu_)
};

}  // namespace homeostat::bus
