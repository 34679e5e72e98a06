// FHIR R4 export: the protocol as a PlanDefinition and one patient's compiled plan as a CarePlan, as JSON that
// validates against the official R4 JSON schema. Pure: `now` is a parameter. docs/fhir.md describes the mapping.
#ifndef AFTERCARE_FHIR_H_
#define AFTERCARE_FHIR_H_

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "aftercare/engine.h"
#include "aftercare/protocol.h"
#include "aftercare/result.h"

namespace aftercare {

// Code systems and the extension this export defines (URNs: they name things, nothing is fetched from them).
inline constexpr const char* kFhirActivitySystem = "urn:aftercare:activity";
inline constexpr const char* kFhirProcedureSystem = "urn:aftercare:procedure";
inline constexpr const char* kFhirVerdictExtension = "urn:aftercare:fhir:StructureDefinition:verdict";

// The canonical URL of a protocol's PlanDefinition ("urn:aftercare:plandefinition:cit").
std::string PlanDefinitionUrl(const Protocol& protocol);

// The protocol as a PlanDefinition: one action for the end of the procedure, one per rule (timed by relatedAction
// offsets from that action, described by the sheet's sentences) and one for the earliest next treatment.
nlohmann::json PlanDefinitionJson(const Protocol& protocol);

struct CarePlanOptions {
  std::string procedure_id;       // CarePlan.id and identifier; same rules as CalendarOptions::procedure_id
  std::string patient_reference;  // "Patient/123"; empty: a subject known only by display text
  Instant now;                    // CarePlan.created and each activity's status (not-started, in-progress, ...)
};

// One patient's plan as a CarePlan: an activity per segment of each activity's timeline, with its period as
// instants, and the earliest next treatment. Error: a bad procedure id.
Result<nlohmann::json> CarePlanJson(const Plan& plan, const CarePlanOptions& options);

// An instant in FHIR form, to the second, with the zone's offset: "2026-11-28T14:00:00-05:00".
std::string FhirInstant(Instant instant, Zone zone);

}  // namespace aftercare

#endif  // AFTERCARE_FHIR_H_
