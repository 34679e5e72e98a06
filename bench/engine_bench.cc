// Engine benchmarks. Flags are Google Benchmark's (--benchmark_filter, --benchmark_repetitions ...).
// Build with `make bench` (Release); numbers from a build with assertions on are not worth recording.
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "aftercare/calendar.h"
#include "aftercare/checks.h"
#include "aftercare/engine.h"

namespace aftercare {
namespace {

Plan CitPlan() {
  Procedure procedure;
  procedure.zone = FindZone("America/New_York").value();
  procedure.end = ParseTime("2026-11-28T14:00", procedure.zone).value();
  procedure.areas = {"face", "periorbital"};
  return Plan::Compile(BuiltinProtocol(), procedure).value();
}

// Random instants over the first 30 days, drawn once so every run asks the same questions.
std::vector<Instant> Instants(const Plan& plan, std::size_t n) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<long> seconds(0, 30L * 24 * 3600);
  std::vector<Instant> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back(plan.procedure().end + std::chrono::seconds(seconds(rng)));
  return out;
}

// Status of all 14 activities at a random instant.
void BM_StatusAllActivities(benchmark::State& state) {
  Plan plan = CitPlan();
  auto instants = Instants(plan, 4096);
  std::vector<Answer> answers;
  answers.reserve(plan.Timelines().size());
  std::size_t i = 0;
  for (auto _ : state) {
    plan.StatusInto(instants[i++ & 4095], &answers);
    benchmark::DoNotOptimize(answers.data());
  }
}
BENCHMARK(BM_StatusAllActivities);

// One `can` by activity id.
void BM_CanOneActivity(benchmark::State& state) {
  Plan plan = CitPlan();
  auto instants = Instants(plan, 4096);
  std::size_t i = 0;
  for (auto _ : state) {
    auto answer = plan.Can("makeup", instants[i++ & 4095]);
    benchmark::DoNotOptimize(answer);
  }
}
BENCHMARK(BM_CanOneActivity);

// Compiling a procedure into its timelines (what a server does per patient, once).
void BM_CompilePlan(benchmark::State& state) {
  Procedure procedure;
  procedure.zone = FindZone("America/New_York").value();
  procedure.end = ParseTime("2026-11-28T14:00", procedure.zone).value();
  procedure.areas = {"face"};
  for (auto _ : state) {
    auto plan = Plan::Compile(BuiltinProtocol(), procedure);
    benchmark::DoNotOptimize(plan);
  }
}
BENCHMARK(BM_CompilePlan);

// The plain-words resolver (GET /p/{token}/can?q=...): a patient's question, a misspelled one (the "did you mean"
// path), and random-ish words of the given length (what the fuzzer feeds it; the API takes at most 200 characters).
void ResolveLoop(benchmark::State& state, const std::string& question) {
  const auto& phrases = PhraseLexicon::Builtin();
  const auto& medicines = MedicineLexicon::Builtin();
  for (auto _ : state) {
    auto understood = ResolvePlainWords(phrases, medicines, BuiltinProtocol(), question);
    benchmark::DoNotOptimize(understood);
  }
}

void BM_ResolvePlainWordsQuestion(benchmark::State& state) { ResolveLoop(state, "Can I go to the gym tonight?"); }
BENCHMARK(BM_ResolvePlainWordsQuestion);

void BM_ResolvePlainWordsMisspelled(benchmark::State& state) { ResolveLoop(state, "go to the gim"); }
BENCHMARK(BM_ResolvePlainWordsMisspelled);

void BM_ResolvePlainWordsRandom(benchmark::State& state) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> letter('a', 'z');
  std::uniform_int_distribution<int> word_length(1, 9);
  std::string question;
  while (question.size() < static_cast<std::size_t>(state.range(0))) {
    for (int n = word_length(rng); n > 0; --n) question += static_cast<char>(letter(rng));
    question += (rng() % 8 == 0) ? ", " : " ";
  }
  question.resize(static_cast<std::size_t>(state.range(0)));
  ResolveLoop(state, question);
}
BENCHMARK(BM_ResolvePlainWordsRandom)->Arg(200)->Arg(8192);

// One medicine by brand name, through ingredients and class to the verdict at an instant.
void BM_CheckMedicineBrand(benchmark::State& state) {
  Plan plan = CitPlan();
  auto instants = Instants(plan, 4096);
  std::size_t i = 0;
  for (auto _ : state) {
    auto answer = CheckMedicine(MedicineLexicon::Builtin(), plan, "Advil", instants[i++ & 4095]);
    benchmark::DoNotOptimize(answer);
  }
}
BENCHMARK(BM_CheckMedicineBrand);

// A serum's full INCI list (24 ingredients, one exfoliant) scanned at an instant.
void BM_CheckIngredientList(benchmark::State& state) {
  Plan plan = CitPlan();
  auto instants = Instants(plan, 4096);
  const std::string inci =
      "Aqua (Water), Glycerin, Niacinamide, Butylene Glycol, Propanediol, Sodium Hyaluronate, Panthenol, "
      "Salicylic Acid, Allantoin, Ceramide NP, Ceramide AP, Ceramide EOP, Phytosphingosine, Cholesterol, "
      "Sodium Lauroyl Lactylate, Carbomer, Xanthan Gum, Tocopherol, Centella Asiatica Extract, Madecassoside, "
      "Phenoxyethanol, Ethylhexylglycerin, Sodium Hydroxide, Disodium EDTA";
  std::size_t i = 0;
  for (auto _ : state) {
    auto answer = CheckIngredients(IngredientLexicon::Builtin(), plan, inci, instants[i++ & 4095]);
    benchmark::DoNotOptimize(answer);
  }
}
BENCHMARK(BM_CheckIngredientList);

// What `aftercare ics` and GET .../plan.ics do for one procedure: compile its plan, then write the calendar.
void BM_PlanAndIcs(benchmark::State& state) {
  Procedure procedure;
  procedure.zone = FindZone("America/New_York").value();
  procedure.end = ParseTime("2026-11-28T14:00", procedure.zone).value();
  procedure.areas = {"face", "periorbital"};
  CalendarOptions options;
  options.procedure_id = DeriveProcedureId(procedure);
  options.now = procedure.end;
  for (auto _ : state) {
    auto plan = Plan::Compile(BuiltinProtocol(), procedure);
    auto ics = CalendarIcs(*plan, options);
    if (!ics) state.SkipWithError(ics.error().message.c_str());
    benchmark::DoNotOptimize(ics);
  }
}
BENCHMARK(BM_PlanAndIcs);

}  // namespace
}  // namespace aftercare
