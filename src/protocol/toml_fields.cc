#include "aftercare/toml_fields.h"

#include <algorithm>

#include "aftercare/text.h"

namespace aftercare {

std::string LineOf(const toml::node& node) {
  return "line " + std::to_string(node.source().begin.line);
}

void TomlFields::CheckKeys(std::initializer_list<std::string_view> known) {
  std::vector<std::string> names(known.begin(), known.end());
  for (auto&& [key, value] : table_) {
    if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
    std::string message = "unknown key '" + std::string(key.str()) + "' (" + LineOf(value) + ")";
    auto close = ClosestNames(key.str(), names, 1);
    message += close.empty() ? "; known keys: " + JoinOr(names) : "; did you mean '" + close[0] + "'?";
    Error(message);
  }
}

std::string TomlFields::String(std::string_view key, bool required) {
  const toml::node* node = table_.get(key);
  if (node == nullptr) {
    if (required) Error("missing '" + std::string(key) + "'");
    return {};
  }
  if (auto value = node->value<std::string>(); value && node->is_string()) {
    if (required && value->empty()) Error("'" + std::string(key) + "' is empty");
    return *value;
  }
  Error("'" + std::string(key) + "' must be a string (" + LineOf(*node) + ")");
  return {};
}

std::vector<std::string> TomlFields::Strings(std::string_view key) {
  std::vector<std::string> out;
  const toml::node* node = table_.get(key);
  if (node == nullptr) return out;
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    Error("'" + std::string(key) + "' must be a list of strings, e.g. [\"a\", \"b\"] (" + LineOf(*node) + ")");
    return out;
  }
  for (const auto& item : *array) {
    if (auto value = item.value<std::string>(); value && item.is_string()) {
      out.push_back(*value);
    } else {
      Error("'" + std::string(key) + "' must hold only strings (" + LineOf(item) + ")");
    }
  }
  return out;
}

bool TomlFields::Bool(std::string_view key, bool fallback) {
  const toml::node* node = table_.get(key);
  if (node == nullptr) return fallback;
  if (!node->is_boolean()) {
    Error("'" + std::string(key) + "' must be true or false (" + LineOf(*node) + ")");
    return fallback;
  }
  return *node->value<bool>();
}

std::optional<std::int64_t> TomlFields::Integer(std::string_view key, bool required) {
  const toml::node* node = table_.get(key);
  if (node == nullptr) {
    if (required) Error("missing '" + std::string(key) + "'");
    return std::nullopt;
  }
  if (!node->is_integer()) {
    Error("'" + std::string(key) + "' must be a whole number (" + LineOf(*node) + ")");
    return std::nullopt;
  }
  return *node->value<std::int64_t>();
}

std::optional<Offset> TomlFields::Duration(std::string_view key, bool required) {
  const toml::node* node = table_.get(key);
  if (node == nullptr) {
    if (required) Error("missing '" + std::string(key) + "' (a duration such as \"0h\", \"12h\", \"14d\", \"4w\")");
    return std::nullopt;
  }
  if (!node->is_string()) {
    Error("'" + std::string(key) + "' must be a quoted duration such as \"12h\" (" + LineOf(*node) + ")");
    return std::nullopt;
  }
  auto offset = ParseOffset(*node->value<std::string>());
  if (!offset) {
    Error("'" + std::string(key) + "': " + offset.error().message + " (" + LineOf(*node) + ")");
    return std::nullopt;
  }
  return *offset;
}

}  // namespace aftercare

namespace aftercare {

void ForEachTomlTable(const toml::table& root, std::string_view key, std::vector<Finding>* findings,
                      const std::function<void(const toml::table&, const std::string&)>& visit) {
  const toml::node* node = root.get(key);
  if (node == nullptr) return;
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    findings->push_back({std::string(key), "must be written as [[" + std::string(key) + "]] tables"});
    return;
  }
  std::size_t index = 0;
  for (const auto& item : *array) {
    std::string where = std::string(key) + "[" + std::to_string(index++) + "]";
    if (const toml::table* table = item.as_table()) {
      visit(*table, where);
    } else {
      findings->push_back({where, "must be a table (" + LineOf(item) + ")"});
    }
  }
}

}  // namespace aftercare
