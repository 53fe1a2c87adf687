// matcher_bench: what matching one event costs, beside what parsing it costs.
//
// Usage: matcher_bench --events=FILE --patterns=FILE [--rules=1,100,10000,100000]
//                      [Google Benchmark flags, e.g. --benchmark_repetitions=3]
//   --events    one event per line (gen_eb.py writes them)
//   --patterns  one {"id": ..., "pattern": ...} per line (gen_patterns.py writes them)
//   --rules     the rule counts N to measure, each with the first N patterns of the file; a
//               count larger than the file is skipped with a note on stderr
// bench/run_patterns.sh builds and runs it.
//
// The benchmarks, all on one thread, one event per iteration, taking the events in file order
// and starting again at the first after the last:
//   dom_parse            simdjson's DOM parser builds the whole event: what a matcher that
//                        parses every event in full pays before it looks at a value.
//   ondemand_two_fields  simdjson On-Demand reads source and detail-type and stops: about the
//                        least any matcher that reads the event's fields can pay.
//   match/rules:N        Matcher::match with the first N patterns, compiled before timing.
// Each copies the event into a reused padded buffer before parsing (the DOM parser does it
// itself), as Matcher::match does, so the three pay for the same copy. items_per_second is
// events per second.
//
// Counters of match/rules:N: the compiled matcher's rules, states and approximate bytes
// (MatcherStats), and matches, the rules an event matched on average: a check that the
// matcher does the work it is measured for.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <boost/json.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "patterns/matcher.hpp"
#include "patterns/pattern.hpp"

namespace {

namespace patterns = homeostat::patterns;
namespace ondemand = simdjson::ondemand;

struct Options {
  std::string events_file;
  std::string patterns_file;
  std::vector<size_t> rules = {1, 100, 10000, 100000};
};

// The non-blank lines of a file, without their line ends; nullopt when it cannot be read.
std::optional<std::vector<std::string>> read_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return std::nullopt;
  }
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    if (line.find_first_not_of(" \t") != std::string::npos) {
      lines.push_back(std::move(line));
    }
  }
  return lines;
}

// Parses the "pattern" member of up to `limit` lines. Prints what is wrong and returns nullopt
// at the first line that is not a valid {"id", "pattern"}.
std::optional<std::vector<patterns::Pattern>> parse_patterns(const std::vector<std::string>& lines,
                                                             size_t limit,
                                                             const std::string& path) {
  std::vector<patterns::Pattern> out;
  for (size_t i = 0; i < lines.size() && i < limit; ++i) {
    boost::system::error_code ec;
    auto doc = boost::json::parse(lines[i], ec);
    const boost::json::object* obj = ec ? nullptr : doc.if_object();
    const boost::json::value* pattern = obj ? obj->if_contains("pattern") : nullptr;
    if (pattern == nullptr) {
      std::fprintf(stderr, "matcher_bench: %s line %zu: no \"pattern\"\n", path.c_str(), i + 1);
      return std::nullopt;
    }
    auto parsed = patterns::parse_pattern_value(*pattern);
    if (!parsed) {
      std::fprintf(stderr, "matcher_bench: %s line %zu: %s\n", path.c_str(), i + 1,
                   parsed.error().message().c_str());
      return std::nullopt;
    }
    out.push_back(std::move(*parsed));
  }
  return out;
}

// Takes our flags out of argv (Google Benchmark has already taken its own). Returns false, after
// saying why, when one is missing or not understood.
bool parse_options(int* argc, char** argv, Options* options) {
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--events=")) {
      options->events_file = arg.substr(9);
    } else if (arg.starts_with("--patterns=")) {
      options->patterns_file = arg.substr(11);
    } else if (arg.starts_with("--rules=")) {
      options->rules.clear();
      std::string_view list = arg.substr(8);
      for (size_t at = 0; at <= list.size();) {
        size_t comma = std::min(list.find(',', at), list.size());
        size_t n = 0;
        auto [end, ec] = std::from_chars(list.data() + at, list.data() + comma, n);
        if (ec != std::errc() || end != list.data() + comma) {
          std::fprintf(stderr, "matcher_bench: --rules takes counts joined by commas\n");
          return false;
        }
        options->rules.push_back(n);
        at = comma + 1;
      }
    } else {
      argv[kept++] = argv[i];
    }
  }
  *argc = kept;
  if (options->events_file.empty() || options->patterns_file.empty()) {
    std::fprintf(stderr,
                 "usage: matcher_bench --events=FILE --patterns=FILE [--rules=N,N,...] "
                 "[--benchmark_...]\n");
    return false;
  }
  return true;
}

// Cycles through the events: the next one on every call.
class EventCycle {
 public:
  explicit EventCycle(const std::vector<std::string>& events) : events_(events) {}

  const std::string& next() {
    const std::string& event = events_[at_];
    at_ = at_ + 1 == events_.size() ? 0 : at_ + 1;
    return event;
  }

 private:
  const std::vector<std::string>& events_;
  size_t at_ = 0;
};

void dom_parse(benchmark::State& state, const std::vector<std::string>& events) {
  simdjson::dom::parser parser;
  EventCycle cycle(events);
  for (auto _ : state) {
    const std::string& event = cycle.next();
    simdjson::dom::element doc;
    if (parser.parse(event.data(), event.size()).get(doc)) {
      state.SkipWithError("an event is not valid JSON");
      break;
    }
    benchmark::DoNotOptimize(doc);
  }
  state.SetItemsProcessed(state.iterations());
}

// Reads the string values of the top-level "source" and "detail-type", in whichever order the
// event has them, and stops once it has both. Returns false when the event is not valid JSON
// as far as it was read.
bool read_two_fields(ondemand::parser& parser, std::string& buffer, const std::string& event,
                     std::string_view* source, std::string_view* detail_type) {
  buffer.reserve(event.size() + simdjson::SIMDJSON_PADDING);
  buffer.assign(event);
  ondemand::document doc;
  ondemand::object top;
  if (parser.iterate(buffer.data(), buffer.size(), buffer.capacity()).get(doc) ||
      doc.get_object().get(top)) {
    return false;
  }
  int found = 0;
  for (auto member : top) {
    ondemand::field field;
    std::string_view key;
    if (std::move(member).get(field) || field.unescaped_key().get(key)) {
      return false;
    }
    std::string_view* target = key == "source"        ? source
                               : key == "detail-type" ? detail_type
                                                      : nullptr;
    if (target != nullptr) {
      if (field.value().get_string().get(*target)) {
        return false;
      }
      if (++found == 2) {
        break;
      }
    }
  }
  return true;
}

void ondemand_two_fields(benchmark::State& state, const std::vector<std::string>& events) {
  ondemand::parser parser;
  std::string buffer;
  EventCycle cycle(events);
  for (auto _ : state) {
    std::string_view source;
    std::string_view detail_type;
    if (!read_two_fields(parser, buffer, cycle.next(), &source, &detail_type)) {
      state.SkipWithError("an event is not valid JSON");
      break;
    }
    benchmark::DoNotOptimize(source);
    benchmark::DoNotOptimize(detail_type);
  }
  state.SetItemsProcessed(state.iterations());
}

void match(benchmark::State& state, const std::vector<std::string>& events,
           const std::shared_ptr<const patterns::Matcher>& matcher) {
  patterns::MatchScratch scratch;
  std::vector<uint32_t> out;
  EventCycle cycle(events);
  int64_t matches = 0;
  for (auto _ : state) {
    if (!matcher->match(cycle.next(), scratch, out).ok()) {
      state.SkipWithError("an event is not a JSON object");
      break;
    }
    matches += static_cast<int64_t>(out.size());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());

  auto stats = matcher->stats();
  state.counters["rules"] = static_cast<double>(stats.rules);
  state.counters["states"] = static_cast<double>(stats.states);
  state.counters["approximate_bytes"] =
      benchmark::Counter(static_cast<double>(stats.approximate_bytes),
                         benchmark::Counter::kDefaults, benchmark::Counter::OneK::kIs1024);
  state.counters["matches"] =
      benchmark::Counter(static_cast<double>(matches), benchmark::Counter::kAvgIterations);
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  Options options;
  if (!parse_options(&argc, argv, &options) || benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 2;
  }

  // The inputs, read and parsed once; the events stay in memory as text.
  auto events = read_lines(options.events_file);
  auto lines = read_lines(options.patterns_file);
  if (!events || events->empty() || !lines) {
    std::fprintf(stderr, "matcher_bench: cannot read events from %s or patterns from %s\n",
                 options.events_file.c_str(), options.patterns_file.c_str());
    return 2;
  }
  size_t most = 0;
  for (size_t n : options.rules) {
    most = n <= lines->size() ? std::max(most, n) : most;
  }
  auto parsed = parse_patterns(*lines, most, options.patterns_file);
  if (!parsed) {
    return 2;
  }
  const std::vector<std::string>& event_list = *events;
  const std::vector<patterns::Pattern>& pattern_list = *parsed;

  // Lambdas that hold the events by reference: RegisterBenchmark's extra arguments would be
  // copied, the whole event list once per benchmark.
  benchmark::RegisterBenchmark("dom_parse",
                               [&](benchmark::State& state) { dom_parse(state, event_list); });
  benchmark::RegisterBenchmark("ondemand_two_fields", [&](benchmark::State& state) {
    ondemand_two_fields(state, event_list);
  });
  for (size_t n : options.rules) {
    if (n > pattern_list.size()) {
      std::fprintf(stderr, "matcher_bench: %s holds %zu patterns; skipping %zu rules\n",
                   options.patterns_file.c_str(), lines->size(), n);
      continue;
    }
    // Compiled here, once: Google Benchmark calls a benchmark several times while it settles
    // on an iteration count, and a compile of 100,000 rules would add up.
    auto matcher = patterns::Matcher::compile(std::span(pattern_list.data(), n));
    benchmark::RegisterBenchmark(
        ("match/rules:" + std::to_string(n)).c_str(),
        [&event_list, matcher](benchmark::State& state) { match(state, event_list, matcher); });
  }

  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
