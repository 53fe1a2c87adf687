// `homeostat pattern test` and `homeostat pattern match`: the pattern language offline, with
// no daemon. `test` checks one pattern against events; `match` runs a whole rule set over a
// file of events, which is also how the compiled matcher is benchmarked as a process.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <set>
#include <sstream>

#include <boost/json.hpp>

#include "cli/commands.hpp"
#include "patterns/matcher.hpp"
#include "patterns/pattern.hpp"

namespace homeostat::cli {
namespace {

// The non-blank lines of `text` with their 1-based line numbers. Views into `text`.
std::vector<std::pair<size_t, std::string_view>> lines_of(const std::string& text) {
  std::vector<std::pair<size_t, std::string_view>> out;
  size_t number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    end = end == std::string::npos ? text.size() : end;
    std::string_view line(text.data() + start, end - start);
    ++number;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    if (line.find_first_not_of(" \t") != std::string_view::npos) {
      out.emplace_back(number, line);
    }
    start = end + 1;
  }
  return out;
}

size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0;
  size_t resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

int fail_usage(const std::string& message) {
  std::cerr << "homeostat: " << message << "\n";
  return kExitUsage;
}

struct TestOptions {
  std::string pattern;
  std::string event;
  std::string events;
};

int run_test(const TestOptions& options) {
  auto text = inline_or_file(options.pattern);
  if (!text) {
    return fail_usage("--pattern: " + text.error().message());
  }
  auto pattern = patterns::parse_pattern(*text);
  if (!pattern) {
    return fail_usage("invalid pattern: " + pattern.error().message());
  }
  auto matcher = patterns::Matcher::compile(std::span(&*pattern, 1));

  // One event inline or from a file, or one event per line.
  std::string events_text;
  std::string source;
  std::vector<std::pair<size_t, std::string_view>> events;
  if (!options.event.empty()) {
    auto event = inline_or_file(options.event);
    if (!event) {
      return fail_usage("--event: " + event.error().message());
    }
    events_text = std::move(*event);
    source = "--event";
    events.emplace_back(1, events_text);
  } else {
    auto file = read_file(options.events);
    if (!file) {
      return fail_usage("--events: " + file.error().message());
    }
    events_text = std::move(*file);
    source = options.events;
    events = lines_of(events_text);
  }

  patterns::MatchScratch scratch;
  std::vector<uint32_t> out;
  bool all = true;
  for (const auto& [number, event] : events) {
    if (auto status = matcher->match(event, scratch, out); !status.ok()) {
      std::cout.flush();
      return fail_usage(source + " line " + std::to_string(number) + ": " +
                        status.error().message());
    }
    std::cout << (out.empty() ? "false" : "true") << "\n";
    all = all && !out.empty();
  }
  return all ? kExitOk : kExitFailed;
}

struct MatchOptions {
  std::string patterns;
  std::string events;
  bool stats = false;
};

int run_match(const MatchOptions& options) {
  using Clock = std::chrono::steady_clock;

  // The rule set: one {"id", "pattern"} per line, ids unique.
  auto patterns_text = read_file(options.patterns);
  if (!patterns_text) {
    return fail_usage("--patterns: " + patterns_text.error().message());
  }
  std::vector<std::string> ids;
  std::vector<patterns::Pattern> rules;
  std::set<std::string> seen;
  for (const auto& [number, line] : lines_of(*patterns_text)) {
    std::string where = options.patterns + " line " + std::to_string(number);
    boost::system::error_code ec;
    auto doc = boost::json::parse(line, ec);
    const boost::json::object* obj = ec ? nullptr : doc.if_object();
    const boost::json::value* id = obj ? obj->if_contains("id") : nullptr;
    const boost::json::value* pattern = obj ? obj->if_contains("pattern") : nullptr;
    if (!id || !id->is_string() || !pattern || obj->size() != 2) {
      return fail_usage(where + ": expected {\"id\": \"...\", \"pattern\": {...}}");
    }
    std::string name(id->get_string());
    if (!seen.insert(name).second) {
      return fail_usage(where + ": the id " + name + " is given twice");
    }
    auto parsed = patterns::parse_pattern_value(*pattern);
    if (!parsed) {
      return fail_usage(where + " (" + name + "): " + parsed.error().message());
    }
    ids.push_back(std::move(name));
    rules.push_back(std::move(*parsed));
  }

  size_t rss_before = resident_bytes();
  auto compile_start = Clock::now();
  auto matcher = patterns::Matcher::compile(rules);
  double compile_s = std::chrono::duration<double>(Clock::now() - compile_start).count();
  size_t rss_after = resident_bytes();

  auto events_text = read_file(options.events);
  if (!events_text) {
    return fail_usage("--events: " + events_text.error().message());
  }
  auto events = lines_of(*events_text);

  // Match, writing through one buffer: the figure is for matching, not for the terminal.
  patterns::MatchScratch scratch;
  std::vector<uint32_t> out;
  std::string buffer;
  auto start = Clock::now();
  for (const auto& [number, event] : events) {
    if (auto status = matcher->match(event, scratch, out); !status.ok()) {
      std::fwrite(buffer.data(), 1, buffer.size(), stdout);
      std::fflush(stdout);
      return fail_usage(options.events + " line " + std::to_string(number) + ": " +
                        status.error().message());
    }
    for (size_t i = 0; i < out.size(); ++i) {
      if (i > 0) {
        buffer.push_back(',');
      }
      buffer += ids[out[i]];
    }
    buffer.push_back('\n');
    if (buffer.size() > (1 << 16)) {
      std::fwrite(buffer.data(), 1, buffer.size(), stdout);
      buffer.clear();
    }
  }
  std::fwrite(buffer.data(), 1, buffer.size(), stdout);
  std::fflush(stdout);
  double match_s = std::chrono::duration<double>(Clock::now() - start).count();

  if (options.stats) {
    auto s = matcher->stats();
    std::fprintf(stderr,
                 "rules: %zu (%zu alternatives)\nstates: %zu, transitions: %zu, paths: %zu\n"
                 "compiled: %.1f MiB (estimated), resident growth %.1f MiB, in %.3f s\n"
                 "events: %zu in %.3f s: %.0f events/s\n",
                 s.rules, s.alternatives, s.states, s.transitions, s.paths,
                 static_cast<double>(s.approximate_bytes) / (1 << 20),
                 static_cast<double>(rss_after - std::min(rss_before, rss_after)) / (1 << 20),
                 compile_s, events.size(), match_s,
                 match_s > 0 ? static_cast<double>(events.size()) / match_s : 0.0);
  }
  return kExitOk;
}

}  // namespace

void add_pattern_command(CLI::App& app, int* exit_code) {
  auto* cmd = app.add_subcommand("pattern", "Check event patterns against events, offline");
  cmd->require_subcommand(1);

  auto test_options = std::make_shared<TestOptions>();
  auto* test = cmd->add_subcommand(
      "test", "Print true or false for each event; exit 0 when every event matched");
  test->add_option("--pattern", test_options->pattern, "The pattern: JSON, or @FILE")->required();
  auto* event = test->add_option("--event", test_options->event, "One event: JSON, or @FILE");
  auto* events = test->add_option("--events", test_options->events,
                                  "A file with one event per line (- for stdin)");
  event->excludes(events);
  events->excludes(event);
  test->callback([test_options, exit_code] {
    if (test_options->event.empty() && test_options->events.empty()) {
      *exit_code = fail_usage("pattern test: give --event or --events");
      return;
    }
    *exit_code = run_test(*test_options);
  });

  auto match_options = std::make_shared<MatchOptions>();
  auto* match =
      cmd->add_subcommand("match", "Print, for each event, the ids of the patterns it matches");
  match
      ->add_option("--patterns", match_options->patterns,
                   "A file with one {\"id\": ..., \"pattern\": ...} per line")
      ->required();
  match
      ->add_option("--events", match_options->events,
                   "A file with one event per line (- for stdin)")
      ->required();
  match->add_flag("--stats", match_options->stats,
                  "Print events/s and the compiled size on stderr");
  match->callback([match_options, exit_code] { *exit_code = run_match(*match_options); });
}

}  // namespace homeostat::cli
