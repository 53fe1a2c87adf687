// http_load: a closed-loop load generator for POST /v1/events.
//
// Design: the events of an NDJSON file are read once and kept as text, each with a fixed-width
// slot where its top-level "id" value goes. Every client is one thread with one libcurl easy
// handle, so that its connection is kept alive from one request to the next. A client builds a
// body from the next `batch` events (one object when batch is 1, an array otherwise), writes a
// fresh id into every slot so that the daemon stores each event rather than skipping it as a
// duplicate, posts it, and waits for the answer before it sends again: the load offered is the
// load the daemon acknowledges. A request counts as a success only when the answer is 200 and
// says that every event of the body was accepted, which the daemon says only once the events'
// transaction has committed. Latency is taken per request around the whole exchange.
//
// Limitation: the clients run on the same machine as the daemon, so the CPU they use is CPU the
// daemon does not get; the figures are a floor for what the daemon does on its own. The cores
// the clients kept busy in the window (CPU seconds per second), and the daemon's when its pid is
// given, are printed so the shares can be seen.
#include <curl/curl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// A written id has a UUID's length, so events keep the size they have in the file.
constexpr size_t kIdWidth = 36;

struct Options {
  std::string url;
  std::string token;
  std::string token_file;
  std::string events_file;
  int clients = 1;
  int batch = 1;
  double duration_s = 0;
  int64_t requests = 0;
  double warmup_s = 0;
  std::string ids = "unique";
  int server_pid = 0;
  bool json = false;
  bool allow_remote = false;
};

// One event's text and where its id slot starts (npos when the event keeps the id it has).
struct EventText {
  std::string text;
  size_t id_offset = std::string::npos;
};

// What one client saw in the measured window.
struct ClientResult {
  int64_t requests = 0;               // successful requests
  int64_t events = 0;                 // events acknowledged by successful requests
  int64_t failures = 0;               // transport errors, non-200 answers, or accepted != batch
  std::vector<int64_t> latencies_ns;  // successful requests only
  Clock::time_point last_done{};
  std::string first_error;
};

// Settings and data every client reads; the only thing written is `budget`.
struct Shared {
  const Options& options;
  const std::vector<EventText>& events;
  std::string endpoint;
  std::string authorization;
  uint64_t salt = 0;
  Clock::time_point measure_from{};
  Clock::time_point deadline{};    // used when options.requests == 0
  std::atomic<int64_t> budget{0};  // requests left to send, when options.requests > 0
};

// Where the top-level "id" member of an event's text is: its key's opening quote, and the
// characters of its string value, [value_begin, value_end).
struct IdSpan {
  size_t key_begin = 0;
  size_t value_begin = 0;
  size_t value_end = 0;
};

// Finds the top-level "id" string member, or nullopt when the object has none. Assumes `json`
// is one JSON object; tracks only strings and nesting, which is all it takes to tell a top-level
// key from one inside "detail".
std::optional<IdSpan> find_top_level_id(std::string_view json) {
  const auto string_end = [&](size_t open) {
    size_t i = open + 1;
    while (i < json.size() && json[i] != '"') {
      i += json[i] == '\\' ? 2 : 1;
    }
    return std::min(i, json.size());
  };
  const auto skip_space = [&](size_t i) {
    while (i < json.size() && (json[i] == ' ' || json[i] == '\t' || json[i] == '\r')) {
      ++i;
    }
    return i;
  };

  int depth = 0;
  bool expect_key = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '"') {
      const size_t end = string_end(i);
      const bool is_id_key = depth == 1 && expect_key && json.substr(i + 1, end - i - 1) == "id";
      expect_key = false;
      if (is_id_key) {
        size_t j = skip_space(end + 1);
        if (j >= json.size() || json[j] != ':') {
          return std::nullopt;
        }
        j = skip_space(j + 1);
        if (j >= json.size() || json[j] != '"') {
          return std::nullopt;  // a non-string id; the daemon will refuse it
        }
        return IdSpan{i, j + 1, string_end(j)};
      }
      i = end;
    } else if (c == '{' || c == '[') {
      ++depth;
      expect_key = c == '{' && depth == 1;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == ',' && depth == 1) {
      expect_key = true;
    }
  }
  return std::nullopt;
}

// Removes the top-level "id" member, with the comma that joined it to its neighbour.
std::string without_id(const std::string& line, const IdSpan& span) {
  size_t begin = span.key_begin;
  size_t end = span.value_end + 1;
  const size_t after = line.find_first_not_of(" \t\r", end);
  if (after != std::string::npos && line[after] == ',') {
    end = after + 1;
  } else {
    const size_t before = line.find_last_not_of(" \t\r", begin - 1);
    if (before != std::string::npos && line[before] == ',') {
      begin = before;
    }
  }
  return line.substr(0, begin) + line.substr(end);
}

// How the events' ids are sent.
enum class IdMode {
  kUnique,  // a fresh id in every event sent, so that every event is stored
  kFile,    // the ids as read; once the file wraps round, the daemon skips them as duplicates
  kNone,    // no id; the daemon gives each event one of its own
};

// Reads the events, one JSON object per non-blank line, and prepares their ids.
std::optional<std::vector<EventText>> load_events(const std::string& path, IdMode ids) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "http_load: cannot read " << path << "\n";
    return std::nullopt;
  }
  std::vector<EventText> events;
  std::string line;
  for (size_t number = 1; std::getline(in, line); ++number) {
    const size_t first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) {
      continue;
    }
    if (line[first] != '{') {
      std::cerr << "http_load: " << path << ":" << number << ": not a JSON object\n";
      return std::nullopt;
    }
    EventText e;
    const auto span = find_top_level_id(line);
    if (ids == IdMode::kFile) {
      e.text = std::move(line);
    } else if (ids == IdMode::kNone) {
      e.text = span ? without_id(line, *span) : std::move(line);
    } else if (span) {
      e.text = line.substr(0, span->value_begin) + std::string(kIdWidth, '0') +
               line.substr(span->value_end);
      e.id_offset = span->value_begin;
    } else {
      // No id of its own: add one as the first member.
      e.text = line.substr(0, first + 1) + "\"id\":\"" + std::string(kIdWidth, '0') + "\"," +
               line.substr(first + 1);
      e.id_offset = first + 7;
    }
    events.push_back(std::move(e));
  }
  if (events.empty()) {
    std::cerr << "http_load: " << path << " holds no event\n";
    return std::nullopt;
  }
  return events;
}

// A bijection on 64-bit integers that scatters its input (the splitmix64 finaliser), so that
// distinct keys give distinct, random-looking ids, as real event ids are.
uint64_t scatter(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Writes a UUID-shaped id for `key` at `out` (kIdWidth characters). The first 64 bits are a
// bijection of key ^ salt, so ids never repeat within a run.
void write_id(char* out, uint64_t key, uint64_t salt) {
  static constexpr char kHex[] = "0123456789abcdef";
  const uint64_t halves[2] = {scatter(key ^ salt), scatter(key + ~salt)};
  int nibble = 0;
  for (size_t i = 0; i < kIdWidth; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      out[i] = '-';
      continue;
    }
    const uint64_t half = halves[nibble / 16];
    out[i] = kHex[(half >> (60 - 4 * (nibble % 16))) & 0xf];
    ++nibble;
  }
}

// Returns the "accepted" count of a batch answer, or -1 when there is none.
int64_t accepted_count(std::string_view body) {
  constexpr std::string_view kKey = "\"accepted\":";
  const size_t at = body.find(kKey);
  if (at == std::string_view::npos) {
    return -1;
  }
  int64_t n = -1;
  const char* begin = body.data() + at + kKey.size();
  std::from_chars(begin, body.data() + body.size(), n);
  return n;
}

size_t append_response(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

bool may_send(Shared& shared) {
  if (shared.options.requests > 0) {
    return shared.budget.fetch_sub(1, std::memory_order_relaxed) > 0;
  }
  return Clock::now() < shared.deadline;
}

void run_client(Shared& shared, int index, ClientResult& out) {
  const Options& o = shared.options;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    out.first_error = "curl_easy_init failed";
    ++out.failures;
    return;
  }
  curl_slist* headers = nullptr;
  headers = curl_slist_append(headers, shared.authorization.c_str());
  headers = curl_slist_append(headers, "Content-Type: application/json");
  // Without this, libcurl holds back bodies over 1 KiB for a "100 Continue" first: one more
  // round trip per request that a real client would not make.
  headers = curl_slist_append(headers, "Expect:");
  std::string response;
  curl_easy_setopt(curl, CURLOPT_URL, shared.endpoint.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 60'000L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_response);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);

  // Each client starts at its own place in the file, and keys its ids by its index.
  const std::vector<EventText>& events = shared.events;
  size_t next = (events.size() / static_cast<size_t>(o.clients)) * static_cast<size_t>(index);
  const uint64_t key_base = static_cast<uint64_t>(index) << 40;
  uint64_t seq = 0;
  std::string body;

  while (may_send(shared)) {
    // Build the body.
    body.clear();
    if (o.batch > 1) body.push_back('[');
    for (int i = 0; i < o.batch; ++i) {
      if (i > 0) body.push_back(',');
      const EventText& e = events[next];
      next = next + 1 == events.size() ? 0 : next + 1;
      const size_t at = body.size();
      body += e.text;
      if (e.id_offset != std::string::npos) {
        write_id(&body[at + e.id_offset], key_base | seq++, shared.salt);
      }
    }
    if (o.batch > 1) body.push_back(']');

    // Send it and wait for the answer.
    response.clear();
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    const auto started = Clock::now();
    const CURLcode rc = curl_easy_perform(curl);
    const auto done = Clock::now();
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);

    // Count it, unless it began during the warm-up.
    if (started < shared.measure_from) {
      continue;
    }
    out.last_done = done;
    const bool ok = rc == CURLE_OK && status == 200 && accepted_count(response) == o.batch;
    if (!ok) {
      ++out.failures;
      if (out.first_error.empty()) {
        out.first_error = rc != CURLE_OK
                              ? curl_easy_strerror(rc)
                              : "status " + std::to_string(status) + ": " + response.substr(0, 300);
      }
      continue;
    }
    ++out.requests;
    out.events += o.batch;
    out.latencies_ns.push_back(std::chrono::nanoseconds(done - started).count());
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
}

// The nearest-rank percentile of sorted values, in milliseconds.
double percentile_ms(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) {
    return 0;
  }
  const auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return static_cast<double>(sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1]) / 1e6;
}

// The CPU seconds (user + system) this process has used so far.
double own_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

// The CPU seconds another process on this machine has used so far, from /proc; -1 when unknown.
double process_cpu_seconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (pid <= 0 || !std::getline(in, stat)) {
    return -1;
  }
  // The command name may hold spaces, so fields are counted from the ')' that closes it:
  // state is field 3, utime field 14 and stime field 15.
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string skip;
  for (int field = 3; field < 14; ++field) {
    fields >> skip;
  }
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  return fields ? (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK)) : -1;
}

struct CpuSample {
  double client = 0;
  double server = -1;
};

CpuSample sample_cpu(int server_pid) {
  return {own_cpu_seconds(), process_cpu_seconds(server_pid)};
}

// Returns an error message when the options cannot make a run.
std::optional<std::string> check_options(Options& o) {
  if (o.clients < 1 || o.batch < 1) {
    return "--clients and --batch must be at least 1";
  }
  if ((o.duration_s > 0) == (o.requests > 0)) {
    return "give exactly one of --duration and --requests";
  }
  if (o.warmup_s > 0 && o.requests > 0) {
    return "--warmup goes with --duration only";
  }
  if (o.token.empty() == o.token_file.empty()) {
    return "give exactly one of --token and --token-file";
  }
  if (!o.token_file.empty()) {
    std::ifstream in(o.token_file);
    if (!in || !std::getline(in, o.token) || o.token.empty()) {
      return "cannot read a token from " + o.token_file;
    }
  }
  // A load generator pointed at the wrong server is an outage; stay on this machine by default.
  while (!o.url.empty() && o.url.back() == '/')
    o.url.pop_back();
  const bool local = o.url.starts_with("http://127.0.0.1:") ||
                     o.url.starts_with("http://localhost:") || o.url.starts_with("http://[::1]:");
  if (!local && !o.allow_remote) {
    return "--url must be http://127.0.0.1:PORT (or localhost, [::1]) without --allow-remote";
  }
  return std::nullopt;
}

// What a run measured, summed over its clients.
struct Figures {
  int64_t requests = 0;
  int64_t events = 0;
  int64_t failures = 0;
  double seconds = 0;
  double events_per_s = 0;
  double requests_per_s = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
  double client_cores = 0;  // CPU seconds per second of the window
  double server_cores = -1;
};

Figures summarise(const std::vector<ClientResult>& results, double seconds, CpuSample from,
                  CpuSample to) {
  Figures f;
  std::vector<int64_t> latencies;
  for (const ClientResult& r : results) {
    f.requests += r.requests;
    f.events += r.events;
    f.failures += r.failures;
    latencies.insert(latencies.end(), r.latencies_ns.begin(), r.latencies_ns.end());
  }
  std::sort(latencies.begin(), latencies.end());
  f.seconds = seconds;
  if (seconds > 0) {
    f.events_per_s = static_cast<double>(f.events) / seconds;
    f.requests_per_s = static_cast<double>(f.requests) / seconds;
    f.client_cores = (to.client - from.client) / seconds;
    if (from.server >= 0 && to.server >= 0) {
      f.server_cores = (to.server - from.server) / seconds;
    }
  }
  f.p50_ms = percentile_ms(latencies, 0.50);
  f.p99_ms = percentile_ms(latencies, 0.99);
  f.max_ms = latencies.empty() ? 0 : static_cast<double>(latencies.back()) / 1e6;
  return f;
}

void print_figures(const Options& o, const Figures& f) {
  const auto n = [](int64_t v) { return static_cast<long long>(v); };
  char line[640];
  if (o.json) {
    int len = std::snprintf(
        line, sizeof line,
        "{\"clients\":%d,\"batch\":%d,\"requests\":%lld,\"events\":%lld,\"failures\":%lld,"
        "\"seconds\":%.3f,\"events_per_s\":%.0f,\"requests_per_s\":%.0f,\"p50_ms\":%.3f,"
        "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"client_cores\":%.2f",
        o.clients, o.batch, n(f.requests), n(f.events), n(f.failures), f.seconds, f.events_per_s,
        f.requests_per_s, f.p50_ms, f.p99_ms, f.max_ms, f.client_cores);
    if (f.server_cores >= 0) {
      len += std::snprintf(line + len, sizeof line - static_cast<size_t>(len),
                           ",\"server_cores\":%.2f", f.server_cores);
    }
    std::snprintf(line + len, sizeof line - static_cast<size_t>(len), "}");
  } else {
    int len =
        std::snprintf(line, sizeof line,
                      "clients=%d batch=%d requests=%lld events=%lld failures=%lld seconds=%.2f "
                      "events/s=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f client_cores=%.2f",
                      o.clients, o.batch, n(f.requests), n(f.events), n(f.failures), f.seconds,
                      f.events_per_s, f.p50_ms, f.p99_ms, f.max_ms, f.client_cores);
    if (f.server_cores >= 0) {
      std::snprintf(line + len, sizeof line - static_cast<size_t>(len), " server_cores=%.2f",
                    f.server_cores);
    }
  }
  std::cout << line << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app("Posts events to a Homeostat daemon and reports committed events/s and latency");
  app.add_option("--url", o.url, "Daemon base URL, e.g. http://127.0.0.1:9470")->required();
  app.add_option("--token", o.token, "Bearer token with the operator role or above");
  app.add_option("--token-file", o.token_file, "File whose first line is the token");
  app.add_option("--events", o.events_file, "NDJSON file of events, one per line")->required();
  app.add_option("--clients", o.clients, "Concurrent clients, one connection each");
  app.add_option("--batch", o.batch, "Events per request; 1 sends an object, more an array");
  app.add_option("--duration", o.duration_s, "Seconds to measure for");
  app.add_option("--requests", o.requests, "Requests to send in all, instead of --duration");
  app.add_option("--warmup", o.warmup_s, "Seconds to run before measuring (with --duration)");
  app.add_option("--ids", o.ids,
                 "unique (default): a fresh id in every event sent; file: the ids as read; "
                 "none: no id, the daemon assigns one")
      ->check(CLI::IsMember({"unique", "file", "none"}));
  app.add_option("--server-pid", o.server_pid,
                 "The daemon's process id, to report the cores it used in the window");
  app.add_flag("--json", o.json, "Print the figures as one JSON object");
  app.add_flag("--allow-remote", o.allow_remote, "Permit a URL off this machine");
  CLI11_PARSE(app, argc, argv);
  if (auto bad = check_options(o)) {
    std::cerr << "http_load: " << *bad << "\n";
    return 2;
  }

  const IdMode ids = o.ids == "file"   ? IdMode::kFile
                     : o.ids == "none" ? IdMode::kNone
                                       : IdMode::kUnique;
  auto events = load_events(o.events_file, ids);
  if (!events) {
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);

  Shared shared{o, *events, o.url + "/v1/events", "Authorization: Bearer " + o.token};
  shared.salt = (static_cast<uint64_t>(std::random_device{}()) << 32) | std::random_device{}();
  const auto start = Clock::now();
  const auto warmup = std::chrono::duration<double>(o.warmup_s);
  const auto duration = std::chrono::duration<double>(o.duration_s);
  shared.measure_from = start + std::chrono::duration_cast<Clock::duration>(warmup);
  shared.deadline = shared.measure_from + std::chrono::duration_cast<Clock::duration>(duration);
  shared.budget = o.requests;

  // Run the clients. The window opens after the warm-up and closes when the last answer of the
  // last client arrives; CPU is sampled at both ends.
  std::vector<ClientResult> results(static_cast<size_t>(o.clients));
  std::vector<std::thread> threads;
  for (int i = 0; i < o.clients; ++i) {
    threads.emplace_back(run_client, std::ref(shared), i,
                         std::ref(results[static_cast<size_t>(i)]));
  }
  std::this_thread::sleep_until(shared.measure_from);
  const CpuSample cpu_from = sample_cpu(o.server_pid);
  for (std::thread& t : threads) {
    t.join();
  }
  const CpuSample cpu_to = sample_cpu(o.server_pid);
  Clock::time_point end = shared.measure_from;
  for (const ClientResult& r : results) {
    end = std::max(end, r.last_done);
  }
  const double seconds = std::chrono::duration<double>(end - shared.measure_from).count();
  const Figures figures = summarise(results, seconds, cpu_from, cpu_to);
  print_figures(o, figures);
  for (size_t i = 0; i < results.size(); ++i) {
    if (!results[i].first_error.empty()) {
      std::cerr << "http_load: client " << i << ": first failure: " << results[i].first_error
                << "\n";
    }
  }
  curl_global_cleanup();
  return figures.failures > 0 ? 1 : 0;
}
