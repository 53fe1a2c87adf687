#include "api/router.hpp"

#include <chrono>

#include "core/log.hpp"

namespace homeostat::api {
namespace {

const core::Logger kLog("api");

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < path.size()) {
    if (path[pos] == '/') {
      ++pos;
      continue;
    }
    const size_t end = std::min(path.find('/', pos), path.size());
    out.push_back(path.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool parse_query(std::string_view text, std::map<std::string, std::string>& out) {
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t end = std::min(text.find('&', pos), text.size());
    const std::string_view pair = text.substr(pos, end - pos);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      auto key = percent_decode(pair.substr(0, eq), true);
      auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
      if (!key || !value) {
        return false;
      }
      out[*key] = *value;
    }
    pos = end + 1;
  }
  return true;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) {
        return std::nullopt;
      }
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) {
        return std::nullopt;
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void Router::add(http::verb method, const std::string& pattern, std::optional<Role> min_role,
                 Route route) {
  Entry e{method, {}, min_role, std::move(route)};
  for (const std::string_view s : split_path(pattern)) {
    e.segments.emplace_back(s);
  }
  entries_.push_back(std::move(e));
}

void Router::handle(Request request, std::string request_id, Respond respond) {
  const auto started = std::chrono::steady_clock::now();
  const std::string target(request.target());
  const std::string method(request.method_string());
  const size_t question = target.find('?');
  const std::string path = target.substr(0, question);

  // Every answer goes through here, so every request leaves one access-log line.
  auto principal_name = std::make_shared<std::string>();
  Respond logged = [respond = std::move(respond), started, method, path, request_id,
                    principal_name](Response response) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
    if (core::log_enabled(core::LogLevel::kInfo)) {
      kLog.info("request", {{"request_id", request_id},
                            {"method", method},
                            {"path", path},
                            {"status", response.status},
                            {"duration_us", micros},
                            {"token_name", *principal_name}});
    }
    respond(std::move(response));
  };

  // Find the route: first by path, then by method, so a wrong method gets 405, not 404.
  const std::vector<std::string_view> segments = split_path(path);
  std::string allowed;
  for (const Entry& e : entries_) {
    if (e.segments.size() != segments.size()) {
      continue;
    }
    std::vector<std::string> params;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      const std::string& want = e.segments[i];
      if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
        auto decoded = percent_decode(segments[i], false);
        match = decoded.has_value();
        if (match) {
          params.push_back(std::move(*decoded));
        }
      } else {
        match = want == segments[i];
      }
    }
    if (!match) {
      continue;
    }
    if (e.method != request.method()) {
      allowed += (allowed.empty() ? "" : ", ") + std::string(http::to_string(e.method));
      continue;
    }

    // Authenticate, then check the role.
    RouteRequest rr{std::move(request), std::move(request_id), std::move(params), {}, {}};
    if (e.min_role) {
      const auto header = rr.http.find(http::field::authorization);
      const std::string_view value =
          header == rr.http.end()
              ? std::string_view()
              : std::string_view(header->value().data(), header->value().size());
      auto principal = auth_.authenticate(value);
      if (!principal) {
        Response r = error_response(401, "Unauthorized", principal.error().message());
        r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"homeostat\"");
        logged(std::move(r));
        return;
      }
      *principal_name = principal->name;
      if (principal->role < *e.min_role) {
        logged(error_response(403, "Forbidden",
                              std::string("this needs the ") + role_name(*e.min_role) +
                                  " role; the token \"" + principal->name + "\" has " +
                                  role_name(principal->role)));
        return;
      }
      rr.principal = std::move(*principal);
    }
    if (question != std::string::npos &&
        !parse_query(std::string_view(target).substr(question + 1), rr.query)) {
      logged(error_response(400, "BadRequest", "malformed query string"));
      return;
    }
    e.route(rr, std::move(logged));
    return;
  }

  if (!allowed.empty()) {
    Response r = error_response(405, "MethodNotAllowed",
                                method + " is not allowed on " + path + "; allowed: " + allowed);
    r.headers.emplace_back("Allow", allowed);
    logged(std::move(r));
    return;
  }
  logged(error_response(404, "NotFound", "no such resource: " + path));
}

}  // namespace homeostat::api
