#include <boost/json.hpp>
#include <iostream>

#include "cli/commands.hpp"

namespace homeostat::cli {
namespace {

struct TokenArgs {
  ClientOptions client;
  std::string name;
  std::string role = "viewer";
};

}  // namespace

void add_tokens_command(CLI::App& app, int* exit_code) {
  auto* tokens = app.add_subcommand("tokens", "Create, list and revoke API tokens (admin)");
  tokens->require_subcommand(1);
  auto args = std::make_shared<TokenArgs>();

  auto* create = tokens->add_subcommand("create", "Create a token and print it (shown only once)");
  add_client_options(*create, args->client);
  create->add_option("--name", args->name, "Token name")->required();
  create->add_option("--role", args->role, "viewer, operator or admin")
      ->check(CLI::IsMember({"viewer", "operator", "admin"}));
  create->callback([args, exit_code] {
    *exit_code = with_client(args->client, [&](Client& c) {
      const std::string body =
          boost::json::serialize(boost::json::object{{"name", args->name}, {"role", args->role}});
      auto r = c.send("POST", "/v1/tokens", body);
      const int code = exit_code_for(r);
      if (code == kExitOk) {
        const auto v = boost::json::parse(r->body);
        std::cout << std::string_view(v.at("token").as_string()) << "\n";
      }
      return code;
    });
  });

  auto* list = tokens->add_subcommand("list", "List token names and roles");
  add_client_options(*list, args->client);
  list->callback([args, exit_code] {
    *exit_code = with_client(args->client, [&](Client& c) {
      auto r = c.send("GET", "/v1/tokens");
      const int code = exit_code_for(r);
      if (code == kExitOk) {
        const boost::json::value listing = boost::json::parse(r->body);
        for (const auto& t : listing.at("tokens").as_array()) {
          std::cout << std::string_view(t.at("name").as_string()) << "\t"
                    << std::string_view(t.at("role").as_string()) << "\t"
                    << std::string_view(t.at("created").as_string()) << "\n";
        }
      }
      return code;
    });
  });

  auto* revoke = tokens->add_subcommand("revoke", "Revoke a token by name");
  add_client_options(*revoke, args->client);
  revoke->add_option("name", args->name, "Token name")->required();
  revoke->callback([args, exit_code] {
    *exit_code = with_client(args->client, [&](Client& c) {
      return exit_code_for(c.send("DELETE", "/v1/tokens/" + c.escape(args->name)));
    });
  });
}

}  // namespace homeostat::cli
