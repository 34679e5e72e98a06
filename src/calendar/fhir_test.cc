#include "aftercare/fhir.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace aftercare {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

Plan MustPlan(const char* end, const char* zone_name) {
  Zone zone = *FindZone(zone_name);
  auto plan = Plan::Compile(BuiltinProtocol(), Procedure{*ParseTime(end, zone), zone, {}});
  EXPECT_TRUE(plan.ok());
  return std::move(plan).value();
}

const json* FindAction(const json& definition, const std::string& id) {
  for (const auto& a : definition["action"]) {
    if (a["id"] == id) return &a;
  }
  return nullptr;
}

TEST(Fhir, InstantsToTheSecondWithTheZoneOffset) {
  Zone ny = *FindZone("America/New_York");
  EXPECT_EQ(FhirInstant(*ParseTime("2026-11-28T14:00", ny), ny), "2026-11-28T14:00:00-05:00");
  EXPECT_EQ(FhirInstant(*ParseTime("2026-07-01T09:05:07", ny), ny), "2026-07-01T09:05:07-04:00");
  Zone ktm = *FindZone("Asia/Kathmandu");
  EXPECT_EQ(FhirInstant(*ParseTime("2026-11-28T14:00", ktm), ktm), "2026-11-28T14:00:00+05:45");
}

TEST(Fhir, PlanDefinitionActionsAreRulesTimedFromTheProcedureEnd) {
  json pd = PlanDefinitionJson(BuiltinProtocol());
  EXPECT_EQ(pd["resourceType"], "PlanDefinition");
  EXPECT_EQ(pd["url"], PlanDefinitionUrl(BuiltinProtocol()));
  EXPECT_EQ(pd["action"].size(), BuiltinProtocol().rules.size() + 2);
  std::set<std::string> ids;
  for (const auto& a : pd["action"]) {
    EXPECT_TRUE(ids.insert(a["id"].get<std::string>()).second) << a["id"];
    for (char c : a["id"].get<std::string>()) EXPECT_TRUE(std::isalnum(c) || c == '-' || c == '.') << a["id"];
  }
  const json* sunscreen = FindAction(pd, "rule.sunscreen.not-first-12h");
  ASSERT_NE(sunscreen, nullptr);
  EXPECT_EQ((*sunscreen)["relatedAction"][0]["actionId"], "procedure-end");
  EXPECT_EQ((*sunscreen)["relatedAction"][0]["relationship"], "after-end");
  EXPECT_EQ((*sunscreen)["relatedAction"][0]["offsetDuration"]["value"], 0);
  EXPECT_EQ((*sunscreen)["timingDuration"]["value"], 12);
  EXPECT_EQ((*sunscreen)["timingDuration"]["code"], "h");
  EXPECT_EQ((*sunscreen)["description"], "(Do not apply for the 1st 12 hours after procedure.)");
  EXPECT_EQ((*sunscreen)["extension"][0]["valueCode"], "avoid");

  const json* sun = FindAction(pd, "rule.sun-exposure.none-14d");
  ASSERT_NE(sun, nullptr);
  EXPECT_EQ((*sun)["timingDuration"]["value"], 14);
  EXPECT_EQ((*sun)["timingDuration"]["code"], "d");

  const json* next = FindAction(pd, "next-treatment");
  ASSERT_NE(next, nullptr);
  EXPECT_EQ((*next)["relatedAction"][0]["offsetDuration"]["value"], 4);
  EXPECT_EQ((*next)["relatedAction"][0]["offsetDuration"]["code"], "wk");

  const json* outdoors = FindAction(pd, "rule.sunscreen.reapply-outdoors");
  ASSERT_NE(outdoors, nullptr);
  EXPECT_EQ((*outdoors)["condition"][0]["expression"]["expression"], "%context = 'outdoors'");
  EXPECT_EQ((*outdoors)["timingTiming"]["repeat"]["period"], 2);
}

TEST(Fhir, CarePlanActivitiesAreTheEngineSegmentsAsInstants) {
  Plan plan = MustPlan("2026-10-31T14:00", "America/New_York");  // crosses the fall-back
  CarePlanOptions options{"p-test", "Patient/7", plan.procedure().end + 30h};
  auto result = CarePlanJson(plan, options);
  ASSERT_TRUE(result.ok());
  const json& cp = *result;
  EXPECT_EQ(cp["resourceType"], "CarePlan");
  EXPECT_EQ(cp["id"], "p-test");
  EXPECT_EQ(cp["subject"]["reference"], "Patient/7");
  EXPECT_EQ(cp["status"], "active");
  EXPECT_EQ(cp["period"]["start"], "2026-10-31T14:00:00-04:00");
  bool found_makeup_avoid = false, found_sunscreen = false;
  for (const auto& a : cp["activity"]) {
    const json& d = a["detail"];
    if (!d.contains("code") || !d["code"].contains("coding")) continue;
    std::string activity = d["code"]["coding"][0]["code"];
    if (activity == "makeup" && d["doNotPerform"] == true) {
      found_makeup_avoid = true;
      EXPECT_EQ(d["scheduledPeriod"]["start"], "2026-10-31T14:00:00-04:00");
      EXPECT_EQ(d["scheduledPeriod"]["end"], "2026-11-01T13:00:00-05:00");  // 24 elapsed hours
      EXPECT_EQ(d["status"], "completed");  // now is 30 h after the end
    }
    if (activity == "sunscreen" && d.contains("scheduledPeriod") && d["extension"][0]["valueCode"] == "avoid") {
      found_sunscreen = true;
      EXPECT_EQ(d["scheduledPeriod"]["end"], "2026-11-01T01:00:00-05:00");  // the second 01:00
    }
  }
  EXPECT_TRUE(found_makeup_avoid);
  EXPECT_TRUE(found_sunscreen);
}

TEST(Fhir, CarePlanRejectsABadProcedureId) {
  Plan plan = MustPlan("2026-11-28T14:00", "America/New_York");
  EXPECT_FALSE(CarePlanJson(plan, CarePlanOptions{"bad id!", "", plan.procedure().end}).ok());
}

}  // namespace
}  // namespace aftercare
