// Typed reads of TOML tables that record a Finding instead of throwing: the one reader of every data file the
// project has (protocols, lexicons), so each reports a wrong type, a missing key or a typo the same way.
#ifndef AFTERCARE_TOML_FIELDS_H_
#define AFTERCARE_TOML_FIELDS_H_

#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "aftercare/duration.h"
#include "aftercare/protocol.h"

namespace aftercare {

class TomlFields {
 public:
  TomlFields(const toml::table& table, std::string where, std::vector<Finding>* findings)
      : table_(table), where_(std::move(where)), findings_(findings) {}

  // Records an error for every key not in `known`.
  void CheckKeys(std::initializer_list<std::string_view> known);
  // A string; when `required`, a missing or empty value is an error.
  std::string String(std::string_view key, bool required);
  std::vector<std::string> Strings(std::string_view key);
  bool Bool(std::string_view key, bool fallback);
  std::optional<std::int64_t> Integer(std::string_view key, bool required);
  std::optional<Offset> Duration(std::string_view key, bool required);
  void Error(std::string message) { findings_->push_back({where_, std::move(message)}); }
  const std::string& where() const { return where_; }

 private:
  const toml::table& table_;
  std::string where_;
  std::vector<Finding>* findings_;
};

// "line 12": where a node sits in its file.
std::string LineOf(const toml::node& node);

// Calls `visit(table, "key[i]")` for each table of the array of tables `key`; records a Finding if `key` is not one.
void ForEachTomlTable(const toml::table& root, std::string_view key, std::vector<Finding>* findings,
                      const std::function<void(const toml::table&, const std::string&)>& visit);

}  // namespace aftercare

#endif  // AFTERCARE_TOML_FIELDS_H_
