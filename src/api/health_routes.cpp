#include "api/routes.hpp"

namespace homeostat::api {

void add_health_routes(Router& router, store::EventStore& events) {
  router.add(http::verb::get, "/healthz", std::nullopt, [](RouteRequest&, const Respond& respond) {
    respond(Response{200, "application/json", R"({"status":"ok"})", {}});
  });

  // Ready means a write commits now: the disk is there, writable, and not locked by another
  // process.
  router.add(http::verb::get, "/readyz", std::nullopt,
             [&events](RouteRequest&, const Respond& respond) {
               const core::Status s = events.check_writable();
               if (!s.ok()) {
                 respond(error_response(503, "NotReady", s.error().message()));
                 return;
               }
               respond(Response{200, "application/json", R"({"status":"ready"})", {}});
             });
}

}  // namespace homeostat::api
