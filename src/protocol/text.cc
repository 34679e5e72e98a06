#include "aftercare/text.h"

#include <algorithm>
#include <cctype>
#include <numeric>

namespace aftercare {

std::string NormalizeWords(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c >= 0x80) {
      if (pending_space && !out.empty()) out.push_back(' ');
      pending_space = false;
      out.push_back(static_cast<char>(std::tolower(c)));
    } else if (c == '\'') {
      // "don't" -> "dont"
    } else {
      pending_space = true;
    }
  }
  return out;
}

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      std::size_t cost = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                                 std::tolower(static_cast<unsigned char>(b[j - 1]))
                             ? 0
                             : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::vector<std::string> ClosestNames(std::string_view query, const std::vector<std::string>& candidates,
                                      std::size_t max) {
  std::string q = NormalizeWords(query);
  std::vector<std::pair<std::size_t, const std::string*>> scored;
  for (const auto& candidate : candidates) {
    std::string c = NormalizeWords(candidate);
    std::size_t distance = EditDistance(q, c);
    // A candidate that contains the query (or the reverse, four letters or more) is close whatever its length.
    bool q_in_c = q.size() >= 4 && c.find(q) != std::string::npos;
    bool c_in_q = c.size() >= 4 && q.find(c) != std::string::npos;
    if (q_in_c || c_in_q) {
      distance = std::min<std::size_t>(distance, 1);
    }
    std::size_t limit = std::max<std::size_t>(2, std::max(q.size(), c.size()) / 3);
    if (distance <= limit) scored.emplace_back(distance, &candidate);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<std::string> out;
  for (const auto& [distance, name] : scored) {
    if (out.size() == max) break;
    if (std::find(out.begin(), out.end(), *name) == out.end()) out.push_back(*name);
  }
  return out;
}

std::string JoinOr(const std::vector<std::string>& items, bool quoted) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += (i + 1 == items.size()) ? " or " : ", ";
    out += quoted ? "'" + items[i] + "'" : items[i];
  }
  return out;
}

std::vector<std::string> SplitList(std::string_view text, char separator) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(separator, start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view item = text.substr(start, end - start);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.remove_prefix(1);
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back()))) item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    start = end + 1;
  }
  return out;
}

}  // namespace aftercare
