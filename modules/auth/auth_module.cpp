// The auth actor: owns the authorization server, registers it as the node's
// auth service and its endpoints, and keeps every slow step off its own
// thread: the registry's listing and the node's address come by request,
// calls to an upstream provider run on a worker actor.

#include "modules/auth/auth_module.hpp"

#include <cctype>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/ascii.hpp"
#include "actors/atoms.hpp"
#include "actors/error.hpp"
#include "actors/log.hpp"
#include "actors/messages.hpp"
#include "modules/auth/auth_server.hpp"
#include "modules/auth/oauth_reply.hpp"
#include "modules/common/json_reply.hpp"

namespace sb::modules::auth {

namespace {

constexpr auto maintenance_interval = std::chrono::hours{1};
constexpr auto address_poll_interval = std::chrono::milliseconds{250};
constexpr auto ask_timeout = std::chrono::seconds{5};
/// Three calls to the provider of 10 seconds each, and some slack.
constexpr auto login_timeout = std::chrono::seconds{40};

struct auth_state {
  static inline const char* name = "sb.auth";

  module_context ctx;
  auth_options opts;
  std::unique_ptr<auth_server> srv;

  int64_t now() const { return opts.now(); }
};

using auth_actor = caf::stateful_actor<auth_state>;

std::vector<endpoint> endpoints(const std::string& module) {
  return {
    make_endpoint("GET", "/.well-known/oauth-authorization-server",
                  "as_metadata", module),
    make_endpoint("GET", "/.well-known/oauth-protected-resource", "pr_metadata",
                  module),
    make_endpoint("GET", "/.well-known/oauth-protected-resource/*rest",
                  "pr_metadata", module),
    make_endpoint("GET", "/oauth/jwks", "jwks", module),
    make_endpoint("POST", "/oauth/register", "register", module),
    make_endpoint("GET", "/oauth/authorize", "authorize", module),
    make_endpoint("GET", "/oauth/callback", "callback", module),
    make_endpoint("GET", "/oauth/local", "local", module),
    make_endpoint("POST", "/oauth/approve", "approve", module),
    make_endpoint("POST", "/oauth/token", "token", module),
    make_endpoint("POST", "/oauth/revoke", "revoke", module),
  };
}

/// What the registry's listing says is protected.
scope_catalog to_catalog(const std::vector<endpoint>& xs) {
  scope_catalog result;
  auto add = [](std::vector<std::string>& out, const std::string& x) {
    if (!x.empty() && std::find(out.begin(), out.end(), x) == out.end())
      out.push_back(x);
  };
  for (auto& x : xs) {
    if (x.protocol == "mcp")
      add(result.contexts, x.pattern.substr(0, x.pattern.find('/')));
    else if (x.auth == auth_requirement::required)
      for (auto& scope : x.scopes)
        add(result.route_scopes, scope);
  }
  return result;
}

/// Logs in at the provider: one job, then the worker quits.
caf::behavior login_worker(caf::event_based_actor* self, upstream_settings up,
                           std::string redirect_uri, fetch_function fetch) {
  return {
    [=](std::string& code, std::string& verifier) {
      upstream_identity who;
      try {
        who = fetch_identity(up, redirect_uri, code, verifier, fetch);
      } catch (const std::exception& ex) {
        who.error = ex.what();
      }
      self->quit();
      return caf::make_message(std::move(who.error), std::move(who.login),
                               std::move(who.verified_emails));
    },
  };
}

/// Takes the node's public URL from its address once it serves.
void learn_address(auth_actor* self, const std::string& address) {
  auto first = address.substr(0, address.find(','));
  if (!first.empty())
    self->state.srv->set_public_url("http://" + first, self->state.now());
}

/// Runs `f` once the public URL is known, asking the node if need be.
template <class F>
void with_public_url(auth_actor* self, F f) {
  auto& st = self->state;
  if (!st.srv->public_url().empty() || !st.ctx.node) {
    f();
    return;
  }
  self->request(st.ctx.node, ask_timeout, status_atom::value)
    .then(
      [self, f](node_status& status) mutable {
        learn_address(self, status.address);
        f();
      },
      [f](caf::error&) mutable { f(); });
}

/// Runs `f` with what the registry lists as protected.
template <class F>
void with_catalog(auth_actor* self, F f) {
  self->request(self->state.ctx.registry, ask_timeout, list_atom::value)
    .then([f](std::vector<endpoint>& xs) mutable { f(to_catalog(xs)); },
          [f](caf::error&) mutable { f(scope_catalog{}); });
}

/// Delivers what `f` answers; an exception becomes a 500.
template <class F>
void answer(caf::response_promise& rp, F f) {
  try {
    rp.deliver(f());
  } catch (const std::exception& ex) {
    rp.deliver(internal_error_reply("auth", ex));
  }
}

void run_login(auth_actor* self, caf::response_promise rp, callback_job job) {
  auto& st = self->state;
  auto redirect_uri = st.srv->public_url() + "/oauth/callback";
  auto fetch = st.opts.fetch;
  auto& up = *st.srv->upstream();
  auto worker =
    st.opts.fetch_detached
      ? self->spawn<caf::detached>(login_worker, up, redirect_uri, fetch)
      : self->spawn(login_worker, up, redirect_uri, fetch);
  auto code = job.code;
  auto verifier = job.request.upstream_verifier;
  self->request(worker, login_timeout, std::move(code), std::move(verifier))
    .then(
      [self, rp, job](std::string& error, std::string& login,
                      std::vector<std::string>& emails) mutable {
        upstream_identity who{std::move(error), std::move(login),
                              std::move(emails)};
        answer(rp, [&] {
          return self->state.srv->finish_callback(job, who, self->state.now());
        });
      },
      [self, rp, job](caf::error& err) mutable {
        upstream_identity who;
        who.error = "login worker failed: " + self->system().render(err);
        answer(rp, [&] {
          return self->state.srv->finish_callback(job, who, self->state.now());
        });
      });
}

/// Whether the `Host` of `req` names the node as its public URL does (a
/// loopback URL also under the other loopback names): a page that points a
/// name of its own at the node (DNS rebinding) must not register clients,
/// redeem codes or read metadata as if it were the node.
bool host_matches(const http_request& req, const std::string& public_url) {
  auto host = find_field(req.headers, "host");
  if (host == nullptr)
    return true; // HTTP/1.0 without Host: no browser sends such requests
  auto scheme_end = public_url.find("://");
  auto authority = public_url.substr(scheme_end + 3);
  authority = ascii_lowered(authority.substr(0, authority.find('/')));
  auto given = ascii_lowered(*host);
  if (given == authority)
    return true;
  // Without a port in the public URL, the scheme's default may be named.
  auto https = public_url.compare(0, 8, "https://") == 0;
  if (authority.find(':') == std::string::npos || authority.back() == ']')
    if (given == authority + (https ? ":443" : ":80"))
      return true;
  // A loopback public URL answers to every loopback name with its port.
  auto port = authority.substr(authority.rfind(':') + 1);
  auto host_part = authority.substr(0, authority.rfind(':'));
  auto loopback = [](const std::string& name) {
    return name == "localhost" || name == "[::1]" ||
           name.compare(0, 4, "127.") == 0;
  };
  if (loopback(host_part)) {
    auto colon = given.rfind(':');
    if (colon != std::string::npos && given.substr(colon + 1) == port &&
        loopback(given.substr(0, colon)))
      return true;
  }
  return false;
}

void handle(auth_actor* self, caf::response_promise rp, http_request& req) {
  auto& srv = *self->state.srv;
  if (srv.public_url().empty()) {
    rp.deliver(error_reply(503, "unavailable",
                           "the node's public URL is not known yet"));
    return;
  }
  if (!host_matches(req, srv.public_url())) {
    rp.deliver(error_reply(403, "forbidden_host",
                           "the Host header does not name this node as its "
                           "public URL " +
                             srv.public_url() + " does"));
    return;
  }
  auto now = self->state.now();
  auto& h = req.handler;
  if (h == "as_metadata" || h == "pr_metadata" || h == "authorize") {
    with_catalog(self, [self, rp, req](scope_catalog cat) mutable {
      answer(rp, [&] {
        auto& srv = *self->state.srv;
        auto now = self->state.now();
        if (req.handler == "as_metadata")
          return srv.authorization_server_metadata(cat);
        if (req.handler == "pr_metadata")
          return srv.protected_resource_metadata(req, cat);
        return srv.authorize(req, cat, now);
      });
    });
  } else if (h == "callback") {
    std::variant<http_response, callback_job> next;
    try {
      next = srv.begin_callback(req, now);
    } catch (const std::exception& ex) {
      rp.deliver(internal_error_reply("auth", ex));
      return;
    }
    if (auto res = std::get_if<http_response>(&next))
      rp.deliver(std::move(*res));
    else
      run_login(self, rp, std::move(std::get<callback_job>(next)));
  } else {
    answer(rp, [&] {
      if (h == "jwks")
        return srv.jwks();
      if (h == "register")
        return srv.register_client(req, now);
      if (h == "local")
        return srv.local_login(req, now);
      if (h == "approve")
        return srv.approve(req, now);
      if (h == "token")
        return srv.token(req, now);
      if (h == "revoke")
        return srv.revoke(req, now);
      return error_reply(404, "no_route", "unknown handler");
    });
  }
}

caf::behavior auth_actor_fun(auth_actor* self, module_context ctx,
                             auth_options opts) {
  drop_stray_errors(self, "auth");
  auto& st = self->state;
  if (!opts.now)
    opts.now = [] {
      return static_cast<int64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
    };
  if (!opts.fetch)
    opts.fetch = [](const fetch_request& req, const fetch_options& fo) {
      return http_fetch(req, fo);
    };
  if (!opts.print)
    opts.print = [](const std::string& line) {
      std::cerr << line << std::endl;
    };
  if (!opts.env)
    opts.env = [](const char* name) -> const char* {
      return std::getenv(name);
    };
  auth_settings cfg;
  auto settings_error = parse_settings(ctx.settings, cfg, opts.env);
  st.srv = std::make_unique<auth_server>(std::move(cfg), opts.print, opts.env);
  st.ctx = std::move(ctx);
  st.opts = std::move(opts);
  return {
    [self, settings_error](start_atom) {
      auto& st = self->state;
      auto rp = self->make_response_promise();
      if (!settings_error.empty()) {
        rp.deliver(
          make_error(errc::internal, "settings.auth." + settings_error));
        return rp;
      }
      if (auto err = st.srv->open(st.now()); !err.empty()) {
        rp.deliver(make_error(errc::internal, err));
        return rp;
      }
      if (!st.ctx.public_url.empty())
        st.srv->set_public_url(st.ctx.public_url, st.now());
      else if (st.ctx.node)
        self->send(self, tick_atom::value, std::string{"address"});
      self->delayed_send(self, maintenance_interval, tick_atom::value,
                         std::string{"maintain"});

      // The auth service first: a second one fails the start.
      auto me = caf::actor_cast<caf::actor>(self);
      self->request(st.ctx.registry, ask_timeout, auth_service_atom::value, me)
        .then(
          [self, rp, me](caf::ok_atom) mutable {
            auto& ctx = self->state.ctx;
            self
              ->request(ctx.registry, ask_timeout, register_atom::value, me,
                        endpoints(ctx.name))
              .then(
                [rp](caf::ok_atom) mutable { rp.deliver(caf::ok_atom::value); },
                [rp](caf::error& err) mutable { rp.deliver(err); });
          },
          [rp](caf::error& err) mutable { rp.deliver(err); });
      return rp;
    },
    [self](tick_atom, const std::string& what) {
      auto& st = self->state;
      if (what == "maintain") {
        st.srv->maintain(st.now());
        self->delayed_send(self, maintenance_interval, tick_atom::value,
                           std::string{"maintain"});
        return;
      }
      // Polls the node until it serves and its address is known.
      if (!st.srv->public_url().empty())
        return;
      with_public_url(self, [self] {
        if (self->state.srv->public_url().empty())
          self->delayed_send(self, address_poll_interval, tick_atom::value,
                             std::string{"address"});
      });
    },
    [self](http_request& req) {
      auto rp = self->make_response_promise();
      with_public_url(self, [self, rp, req = std::move(req)]() mutable {
        handle(self, rp, req);
      });
      return rp;
    },
    [self](auth_check& req) {
      auto rp = self->make_response_promise();
      with_public_url(self, [self, rp, req = std::move(req)]() mutable {
        try {
          rp.deliver(self->state.srv->check(req, self->state.now()));
        } catch (const std::exception& ex) {
          logger("auth")->error("token check failed error={}", ex.what());
          auth_verdict verdict;
          verdict.message = "the token check failed";
          rp.deliver(std::move(verdict));
        }
      });
      return rp;
    },
  };
}

} // namespace

caf::actor spawn(caf::actor_system& sys, const module_context& ctx,
                 auth_options opts) {
  return sys.spawn(auth_actor_fun, ctx, std::move(opts));
}

module_factory make_factory() {
  module_factory result;
  result.name = "auth";
  result.summary = "OAuth 2.1 authorization server and the node's auth "
                   "service";
  result.check = [](const std::string& text) {
    auth_settings tmp;
    return parse_settings(text, tmp, [](const char* name) -> const char* {
      return std::getenv(name);
    });
  };
  result.spawn = [](caf::actor_system& sys, const module_context& ctx) {
    return spawn(sys, ctx);
  };
  return result;
}

} // namespace sb::modules::auth
