// What the checks' tests share: the built-in protocol compiled for one procedure, and times written as people do.
#ifndef AFTERCARE_SRC_CHECKS_CHECK_TEST_SUPPORT_H_
#define AFTERCARE_SRC_CHECKS_CHECK_TEST_SUPPORT_H_

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "aftercare/checks.h"

namespace aftercare::testing {

inline constexpr const char* kZone = "America/New_York";
// The procedure every test uses ends here, local time in kZone.
inline constexpr const char* kProcedureEnd = "2026-03-02T10:00";

inline Zone TestZone() { return *FindZone(kZone); }
inline Instant Local(const std::string& text) {
  auto parsed = ParseTime(text, TestZone());
  EXPECT_TRUE(parsed.ok()) << text;
  return *parsed;
}
inline Plan TestPlan(std::vector<std::string> areas = {"face"}) {
  Procedure procedure;
  procedure.end = Local(kProcedureEnd);
  procedure.zone = TestZone();
  procedure.areas = std::move(areas);
  auto plan = Plan::Compile(BuiltinProtocol(), std::move(procedure));
  EXPECT_TRUE(plan.ok()) << (plan.ok() ? "" : plan.error().message);
  return std::move(plan).value();
}
// `hours` after the procedure end.
inline Instant HoursAfter(int hours) { return Local(kProcedureEnd) + std::chrono::hours(hours); }

}  // namespace aftercare::testing

#endif  // AFTERCARE_SRC_CHECKS_CHECK_TEST_SUPPORT_H_
