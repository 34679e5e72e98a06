// The aftercare side of the rules-engine comparison (bench/peers/rules_engine.js).
//   engine_verdicts rules PROCEDURE_END ZONE      the protocol's rules for that procedure, windows as epoch seconds
//   engine_verdicts verdicts PROCEDURE_END ZONE FILE
//       one verdict per (instant in FILE, activity) on stdout, and the time spent answering on stderr (JSON)
#include <chrono>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "aftercare/engine.h"

using namespace aftercare;

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: engine_verdicts rules|verdicts PROCEDURE_END ZONE [INSTANTS_FILE]\n";
    return 2;
  }
  std::string mode = argv[1];
  auto zone = FindZone(argv[3]);
  if (!zone) {
    std::cerr << zone.error().message << "\n";
    return 2;
  }
  auto end = ParseTime(argv[2], *zone);
  if (!end) {
    std::cerr << end.error().message << "\n";
    return 2;
  }
  Procedure procedure{*end, *zone, {"face"}};
  Plan plan = Plan::Compile(BuiltinProtocol(), procedure).value();
  auto epoch = [](Instant t) { return static_cast<long long>(t.time_since_epoch().count()); };

  if (mode == "rules") {
    nlohmann::json out = {{"end", epoch(plan.procedure().end)}, {"activities", nlohmann::json::array()},
                          {"rules", nlohmann::json::array()}};
    for (const auto& a : plan.protocol().activities) out["activities"].push_back(a.id);
    for (const auto& r : plan.protocol().rules) {
      if (!r.context.empty() || !plan.AppliesToAreas(r.areas)) continue;
      out["rules"].push_back({{"id", r.id},
                              {"activity", r.activity},
                              {"verdict", VerdictName(r.verdict)},
                              {"rank", Restrictiveness(r.verdict)},
                              {"from", epoch(plan.At(r.from))},
                              {"until", r.until ? nlohmann::json(epoch(plan.At(*r.until))) : nlohmann::json()}});
    }
    std::cout << out.dump() << "\n";
    return 0;
  }
  if (mode != "verdicts" || argc < 5) {
    std::cerr << "usage: engine_verdicts verdicts PROCEDURE_END ZONE INSTANTS_FILE\n";
    return 2;
  }
  std::ifstream in(argv[4]);
  std::vector<Instant> instants;
  long long seconds = 0;
  while (in >> seconds) instants.push_back(Instant(std::chrono::seconds(seconds)));

  std::vector<Answer> answers;
  answers.reserve(plan.Timelines().size());
  std::vector<Verdict> verdicts;
  verdicts.reserve(instants.size() * plan.Timelines().size());
  auto start = std::chrono::steady_clock::now();
  for (Instant t : instants) {
    plan.StatusInto(t, &answers);
    for (const auto& a : answers) verdicts.push_back(a.verdict());
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  std::size_t i = 0;
  for (Instant t : instants) {
    for (const auto& timeline : plan.Timelines()) {
      std::cout << epoch(t) << ' ' << timeline.activity->id << ' ' << VerdictName(verdicts[i++]) << '\n';
    }
  }
  std::cerr << nlohmann::json({{"evaluations", verdicts.size()},
                               {"ns", std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()}})
                   .dump()
            << "\n";
  return 0;
}
