// For the crash test: registers procedures with their reminders (email and webhook) in a database and prints, as
// JSON, the event ids the receivers must end up with and an instant by which all of them are due.
//   notify_seed DATABASE-URL COUNT
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "aftercare/notify.h"

int main(int argc, char** argv) {
  using namespace aftercare;
  if (argc != 3) {
    std::cerr << "usage: notify_seed DATABASE-URL COUNT\n";
    return 2;
  }
  auto opened = Store::Open(argv[1]);
  if (!opened) {
    std::cerr << opened.error().message << "\n";
    return 1;
  }
  auto store = std::move(opened).value();
  const Protocol& protocol = BuiltinProtocol();
  auto clinic = store->CreateClinic("Crash Test Clinic", Instant(std::chrono::seconds(1000)));
  auto staff = *store->AuthenticateApiToken(clinic->api_token);
  ReminderSettings settings;
  settings.public_url = "https://clinic.example";
  settings.webhook = true;
  const char* zones[] = {"America/New_York", "Europe/London", "Asia/Kathmandu", "Australia/Lord_Howe"};
  nlohmann::json expected = nlohmann::json::array();
  Instant latest;
  int count = std::stoi(argv[2]);
  for (int i = 0; i < count; ++i) {
    Zone zone = *FindZone(zones[i % 4]);
    Instant end = *ParseTime("2026-03-0" + std::to_string(1 + i % 9) + "T1" + std::to_string(i % 10) + ":15", zone);
    Plan plan = std::move(Plan::Compile(protocol, Procedure{end, zone, {"face"}})).value();
    NewProcedure p;
    p.reference = "crash-" + std::to_string(i);
    p.display_name = "Patient " + std::to_string(i);
    p.contact = "patient" + std::to_string(i) + "@example.org";
    p.end = end;
    p.zone = zone->name();
    p.areas = {"face"};
    p.protocol_id = protocol.id;
    p.protocol_version = protocol.version;
    p.active_until = end;
    auto registered = store->RegisterProcedure(clinic->clinic_id, staff.staff_id, p, end,
                                               RemindersOnRegistration(plan, settings, end));
    if (!registered) {
      std::cerr << registered.error().message << "\n";
      return 1;
    }
    for (const auto& r : PlanReminders(plan, BuiltinReminderDefinitions(), end)) {
      expected.push_back("rem-" + std::to_string(registered->procedure.id) + "-" + r.key);
      latest = std::max(latest, r.due);
    }
  }
  std::cout << nlohmann::json{{"clinic_id", clinic->clinic_id}, {"expected", expected}, {"all_due_by", FormatInstant(latest, *FindZone("UTC"))}}.dump()
            << "\n";
  return 0;
}
