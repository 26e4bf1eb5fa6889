#include "modules/users/users_module.hpp"

#include <map>
#include <optional>
#include <random>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "actors/atoms.hpp"
#include "actors/messages.hpp"
#include "actors/module.hpp"
#include "actors/settings_reader.hpp"
#include "modules/common/auth_setting.hpp"
#include "modules/common/json_reply.hpp"
#include "modules/common/json_text.hpp"

namespace sb::modules::users {

namespace {

constexpr size_t default_page = 20;
constexpr size_t max_page = 100;
constexpr size_t max_name_chars = 100;

struct user {
  std::string id;
  std::string name;
  std::optional<std::string> email;
  uint64_t seq = 0;
};

json to_json(const user& x) {
  return {{"id", x.id},
          {"name", x.name},
          {"email", x.email ? json(*x.email) : json(nullptr)}};
}

// -- responses ----------------------------------------------------------------

http_response reply(uint16_t status, const json& body) {
  return json_reply(status, body);
}

http_response field_error(const std::string& field,
                          const std::string& message) {
  return error_reply(400, "invalid_field", field + ": " + message, field);
}

// -- validation ---------------------------------------------------------------

/// Number of code points in valid UTF-8 `str` (nlohmann validated it).
size_t count_chars(const std::string& str) {
  size_t n = 0;
  for (auto c : str)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80)
      ++n;
  return n;
}

/// What is wrong with `str` as a name, or an empty string.
std::string name_problem(const std::string& str) {
  auto n = count_chars(str);
  if (n == 0 || n > max_name_chars)
    return "must be 1 to 100 characters long, not " + std::to_string(n);
  bool visible = false;
  for (size_t i = 0; i < str.size(); ++i) {
    auto u = static_cast<unsigned char>(str[i]);
    // C0 controls, DEL, and C1 controls (U+0080 to U+009F: 0xC2 0x80-0x9F),
    // which some terminals take as escape sequences.
    if (u < 0x20 || u == 0x7F ||
        (u == 0xC2 && i + 1 < str.size() &&
         static_cast<unsigned char>(str[i + 1]) <= 0x9F))
      return "must not contain control characters";
    if (u != ' ')
      visible = true;
  }
  return visible ? std::string{} : "must not be only spaces";
}

bool valid_email(const std::string& str) {
  if (str.size() > 254)
    return false;
  auto at = str.find('@');
  if (at == std::string::npos || at == 0 || at > 64 ||
      str.find('@', at + 1) != std::string::npos)
    return false;
  auto local = str.substr(0, at);
  auto domain = str.substr(at + 1);
  static constexpr std::string_view local_extra = ".!#$%&'*+/=?^_`{|}~-";
  for (auto c : local)
    if (!std::isalnum(static_cast<unsigned char>(c)) &&
        local_extra.find(c) == std::string_view::npos)
      return false;
  if (local.front() == '.' || local.back() == '.' ||
      local.find("..") != std::string::npos)
    return false;
  // Domain: two or more labels of letters, digits and inner hyphens.
  size_t labels = 0;
  size_t pos = 0;
  std::string last;
  for (;;) {
    auto dot = domain.find('.', pos);
    auto label = domain.substr(pos, dot == std::string::npos ? dot : dot - pos);
    if (label.empty() || label.size() > 63 || label.front() == '-' ||
        label.back() == '-')
      return false;
    for (auto c : label)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-')
        return false;
    ++labels;
    last = label;
    if (dot == std::string::npos)
      break;
    pos = dot + 1;
  }
  return labels >= 2 && last.size() >= 2 &&
         std::all_of(last.begin(), last.end(), [](char c) {
           return std::isalpha(static_cast<unsigned char>(c));
         });
}

/// Whether a Content-Type value names JSON: `application/json`, any case,
/// with or without parameters such as a charset.
bool is_json_media_type(const std::string& value) {
  auto end = value.find(';');
  auto type = value.substr(0, end);
  auto first = type.find_first_not_of(" \t");
  auto last = type.find_last_not_of(" \t");
  if (first == std::string::npos)
    return false;
  type = type.substr(first, last - first + 1);
  for (auto& c : type)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return type == "application/json";
}

std::string lower(std::string str) {
  for (auto& c : str)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return str;
}

// -- the store ----------------------------------------------------------------

class users_state {
public:
  static inline const char* name = "sb.users";

  users_settings cfg;

  http_response handle(http_request& req) {
    if (req.handler == "list")
      return list(req);
    if (req.handler == "create")
      return create(req);
    auto id = find_field(req.params, "id");
    auto i = id ? users_.find(*id) : users_.end();
    if (i == users_.end())
      return error_reply(404, "not_found", "no user with this id");
    if (req.handler == "get")
      return reply(200, to_json(i->second));
    if (req.handler == "update")
      return update(req, i->second);
    if (req.handler == "delete")
      return erase(i);
    return error_reply(404, "no_route", "unknown handler");
  }

private:
  // Parses the body as a JSON object, or explains why it is not one.
  std::optional<http_response> parse_body(const http_request& req, json& out) {
    if (auto ct = find_field(req.headers, "content-type");
        ct && !is_json_media_type(*ct))
      return error_reply(415, "unsupported_media_type",
                         "send the body as application/json");
    if (auto problem = read_json(req.body, out, 32); !problem.empty())
      return error_reply(400, "bad_request", problem);
    if (!out.is_object())
      return error_reply(400, "bad_request", "the body must be a JSON object");
    return std::nullopt;
  }

  // Checks the fields of a create or update body; fills what changes.
  std::optional<http_response>
  read_fields(const json& body, std::optional<std::string>& name,
              std::optional<std::optional<std::string>>& email,
              const std::string* self_id) {
    for (auto& [key, val] : body.items()) {
      if (key == "name") {
        if (!val.is_string())
          return field_error("name", "must be a string");
        if (auto problem = name_problem(val.get<std::string>());
            !problem.empty())
          return field_error("name", problem);
        name = val.get<std::string>();
      } else if (key == "email") {
        if (val.is_null()) {
          email = std::optional<std::string>{};
          continue;
        }
        if (!val.is_string() || !valid_email(val.get<std::string>()))
          return field_error("email", "must be an email address such as "
                                      "ada@example.org, or null");
        auto addr = val.get<std::string>();
        auto j = by_email_.find(lower(addr));
        if (j != by_email_.end() && (!self_id || j->second != *self_id))
          return error_reply(409, "conflict",
                             "another user has this email address", "email");
        email = std::optional<std::string>{addr};
      } else if (key == "id") {
        return field_error("id", "is assigned by the server");
      } else {
        return field_error(key, "unknown field");
      }
    }
    return std::nullopt;
  }

  http_response create(const http_request& req) {
    json body;
    if (auto err = parse_body(req, body))
      return *err;
    std::optional<std::string> name;
    std::optional<std::optional<std::string>> email;
    if (auto err = read_fields(body, name, email, nullptr))
      return *err;
    if (!name)
      return field_error("name", "is required");
    if (users_.size() >= cfg.max_users)
      return error_reply(507, "store_full",
                         "the user store is full (" +
                           std::to_string(cfg.max_users) + " users)");
    user x;
    x.id = fresh_id();
    x.name = std::move(*name);
    if (email)
      x.email = *email;
    x.seq = next_seq_++;
    if (x.email)
      by_email_.emplace(lower(*x.email), x.id);
    order_.emplace(x.seq, x.id);
    auto res = reply(201, to_json(x));
    res.headers.emplace_back("Location", "/api/users/" + x.id);
    users_.emplace(x.id, std::move(x));
    return res;
  }

  http_response update(const http_request& req, user& x) {
    json body;
    if (auto err = parse_body(req, body))
      return *err;
    std::optional<std::string> name;
    std::optional<std::optional<std::string>> email;
    if (auto err = read_fields(body, name, email, &x.id))
      return *err;
    if (name)
      x.name = std::move(*name);
    if (email) {
      if (x.email)
        by_email_.erase(lower(*x.email));
      x.email = *email;
      if (x.email)
        by_email_.emplace(lower(*x.email), x.id);
    }
    return reply(200, to_json(x));
  }

  http_response erase(std::unordered_map<std::string, user>::iterator i) {
    auto& x = i->second;
    if (x.email)
      by_email_.erase(lower(*x.email));
    order_.erase(x.seq);
    users_.erase(i);
    http_response res;
    res.status = 204;
    res.content_type.clear();
    return res;
  }

  http_response list(const http_request& req) {
    size_t limit = default_page;
    if (auto str = find_field(req.query, "limit")) {
      if (str->empty() || str->size() > 3 ||
          str->find_first_not_of("0123456789") != std::string::npos ||
          std::stoul(*str) < 1 || std::stoul(*str) > max_page)
        return field_error("limit", "must be a whole number from 1 to " +
                                      std::to_string(max_page));
      limit = std::stoul(*str);
    }
    auto from = order_.begin();
    if (auto str = find_field(req.query, "cursor")) {
      auto seq = decode_cursor(*str);
      if (!seq || *seq >= next_seq_)
        return field_error("cursor", "is not a cursor this server issued");
      from = order_.upper_bound(*seq);
    }
    auto items = json::array();
    uint64_t last = 0;
    for (; from != order_.end() && items.size() < limit; ++from) {
      items.push_back(to_json(users_.at(from->second)));
      last = from->first;
    }
    json next = nullptr;
    if (from != order_.end())
      next = encode_cursor(last);
    return reply(200, {{"items", std::move(items)}, {"next_cursor", next}});
  }

  // Cursors are opaque to clients: "c" plus the hex position of the last
  // user of the previous page.
  static std::string encode_cursor(uint64_t seq) {
    char buf[24];
    snprintf(buf, sizeof(buf), "c%llx", static_cast<unsigned long long>(seq));
    return buf;
  }

  static std::optional<uint64_t> decode_cursor(const std::string& str) {
    if (str.size() < 2 || str.size() > 17 || str[0] != 'c' ||
        str.find_first_not_of("0123456789abcdef", 1) != std::string::npos)
      return std::nullopt;
    return std::stoull(str.substr(1), nullptr, 16);
  }

  std::string fresh_id() {
    static constexpr char hex[] = "0123456789abcdef";
    for (;;) {
      auto bits = rng_();
      std::string id(16, '0');
      for (auto& c : id) {
        c = hex[bits & 0xF];
        bits >>= 4;
      }
      if (users_.count(id) == 0)
        return id;
    }
  }

  std::unordered_map<std::string, user> users_;
  std::map<uint64_t, std::string> order_;
  std::unordered_map<std::string, std::string> by_email_;
  uint64_t next_seq_ = 1;
  std::mt19937_64 rng_{std::random_device{}()};
};

std::vector<endpoint> endpoints(const std::string& module,
                                auth_requirement auth) {
  std::vector<endpoint> xs{
    make_endpoint("POST", "/api/users", "create", module),
    make_endpoint("GET", "/api/users", "list", module),
    make_endpoint("GET", "/api/users/:id", "get", module),
    make_endpoint("PATCH", "/api/users/:id", "update", module),
    make_endpoint("DELETE", "/api/users/:id", "delete", module)};
  require_auth(xs, auth);
  return xs;
}

caf::behavior users_actor(caf::stateful_actor<users_state>* self,
                          module_context ctx) {
  parse_settings(ctx.settings, self->state.cfg);
  return {
    [self, ctx](start_atom) {
      return register_endpoints(self, ctx,
                                endpoints(ctx.name, self->state.cfg.auth));
    },
    [self](http_request& req) {
      try {
        return self->state.handle(req);
      } catch (const std::exception& ex) {
        return internal_error_reply("users", ex);
      }
    },
  };
}

} // namespace

std::string parse_settings(const std::string& text, users_settings& out) {
  // `auth` is read here, the numbers by the shared reader.
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_object())
    if (auto i = doc.find("auth"); i != doc.end()) {
      std::string err;
      read_auth_setting("auth", *i, out.auth, err);
      if (!err.empty())
        return err;
      doc.erase(i);
      return read_uint_section(
        doc.dump(), {uint_field("max_users", 1, 100'000'000, out.max_users)});
    }
  return read_uint_section(
    text, {uint_field("max_users", 1, 100'000'000, out.max_users)});
}

caf::actor spawn(caf::actor_system& sys, const module_context& ctx) {
  return sys.spawn(users_actor, ctx);
}

module_factory make_factory() {
  module_factory result;
  result.name = "users";
  result.summary = "example module: an in-memory user store";
  result.check = [](const std::string& text) {
    users_settings tmp;
    return parse_settings(text, tmp);
  };
  result.spawn = spawn;
  return result;
}

} // namespace sb::modules::users
