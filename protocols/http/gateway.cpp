#include "protocols/http/gateway.hpp"

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/atoms.hpp"
#include "actors/error.hpp"
#include "actors/log.hpp"
#include "actors/registry.hpp"
#include "protocols/http/settings.hpp"

namespace sb::http {

namespace {

/// Sends each request to the registry; the registry answers through the
/// request's sink. One message per request, no blocking.
class registry_dispatcher : public request_dispatcher {
public:
  explicit registry_dispatcher(caf::actor registry)
      : registry_(std::move(registry)) {
    // nop
  }

  void dispatch(http_request req, reply_sink_ptr sink) override {
    caf::anon_send(registry_, http_dispatch{std::move(req), std::move(sink)});
  }

private:
  caf::actor registry_;
};

struct gateway_state {
  static inline const char* name = "sb.http";

  std::unique_ptr<server> srv;
  settings cfg;
};

caf::behavior gateway_actor(caf::stateful_actor<gateway_state>* self,
                            protocol_context ctx) {
  auto log = logger("http");
  return {
    [self, ctx, log](start_atom) -> caf::result<std::string> {
      auto& st = self->state;
      if (st.srv)
        return make_error(errc::unavailable, "the HTTP server runs already");
      if (auto err = parse_settings(ctx.settings, st.cfg); !err.empty())
        return make_error(errc::bad_request, "settings.http." + err);
      st.cfg.server.bind = ctx.bind;
      st.cfg.server.port = ctx.port;
      st.cfg.server.threads = ctx.io_threads;
      auto dispatcher = std::make_shared<registry_dispatcher>(ctx.registry);
      st.srv = std::make_unique<server>(st.cfg.server, dispatcher);
      if (auto err = st.srv->start(); !err.empty()) {
        st.srv.reset();
        return make_error(errc::unavailable, err);
      }
      log->info("listening address={} io_threads={}", st.srv->address(),
                st.cfg.server.threads);
      return st.srv->address();
    },
    [self, log](stop_atom) {
      // This actor runs on its own thread, so blocking here while the
      // server drains keeps the scheduler free for the requests in flight.
      auto& st = self->state;
      if (st.srv) {
        st.srv->stop(st.cfg.drain_timeout_ms);
        st.srv.reset();
        log->info("stopped");
      }
      return caf::ok_atom::value;
    },
  };
}

} // namespace

protocol_factory make_factory() {
  protocol_factory result;
  result.name = "http";
  result.summary = "HTTP/1.1 protocol handler";
  result.check = [](const std::string& text) {
    settings tmp;
    return parse_settings(text, tmp);
  };
  result.spawn = [](caf::actor_system& sys, const protocol_context& ctx) {
    return sys.spawn<caf::detached>(gateway_actor, ctx);
  };
  return result;
}

} // namespace sb::http
