#include "actors/log.hpp"

#include <mutex>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace sb {

namespace {

std::mutex& log_mutex() {
  static std::mutex mtx;
  return mtx;
}

spdlog::level::level_enum& current_level() {
  static auto level = spdlog::level::info;
  return level;
}

spdlog::sink_ptr shared_sink() {
  static auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  return sink;
}

} // namespace

logger_ptr logger(const char* component) {
  std::lock_guard<std::mutex> guard{log_mutex()};
  if (auto ptr = spdlog::get(component))
    return ptr;
  auto ptr = std::make_shared<spdlog::logger>(component, shared_sink());
  ptr->set_level(current_level());
  ptr->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %n: %v");
  spdlog::register_logger(ptr);
  return ptr;
}

bool set_log_level(const std::string& level) {
  auto x = spdlog::level::from_str(level);
  if (x == spdlog::level::off && level != "off")
    return false;
  std::lock_guard<std::mutex> guard{log_mutex()};
  current_level() = x;
  spdlog::apply_all([x](const logger_ptr& ptr) { ptr->set_level(x); });
  return true;
}

} // namespace sb
