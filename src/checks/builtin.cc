// The lexicons compiled into the binary. An invalid built-in lexicon is a defect of the build (the tests load each
// one), so it aborts with the reason rather than returning an error no caller could act on.
#include <cstdio>
#include <cstdlib>

#include "aftercare/checks.h"

namespace aftercare {

namespace checks_internal {
extern const std::string_view kMedicinesToml;
extern const std::string_view kIngredientsToml;
extern const std::string_view kSymptomsToml;
extern const std::string_view kPhrasesToml;
}  // namespace checks_internal

namespace {
template <typename T>
T Required(Result<T> result) {
  if (!result) {
    std::fprintf(stderr, "aftercare: a built-in lexicon is invalid: %s\n", result.error().message.c_str());
    std::abort();
  }
  return std::move(result).value();
}
}  // namespace

const MedicineLexicon& MedicineLexicon::Builtin() {
  static const MedicineLexicon lexicon =
      Required(Parse(checks_internal::kMedicinesToml, "built-in lexicons/medicines.toml"));
  return lexicon;
}

const IngredientLexicon& IngredientLexicon::Builtin() {
  static const IngredientLexicon lexicon =
      Required(Parse(checks_internal::kIngredientsToml, "built-in lexicons/ingredients.toml"));
  return lexicon;
}

const SymptomLexicon& SymptomLexicon::Builtin() {
  static const SymptomLexicon lexicon =
      Required(Parse(checks_internal::kSymptomsToml, "built-in lexicons/symptoms.toml"));
  return lexicon;
}

const PhraseLexicon& PhraseLexicon::Builtin() {
  static const PhraseLexicon lexicon = Required(Parse(checks_internal::kPhrasesToml, "built-in lexicons/phrases.toml"));
  return lexicon;
}

}  // namespace aftercare
