// Result<T>: a value, or an Error whose one-line message tells a patient or a clinic what was wrong and what would
// be right. Every call a user's input can make fail returns one; library exceptions never cross the public API.
#ifndef AFTERCARE_RESULT_H_
#define AFTERCARE_RESULT_H_

#include <string>
#include <utility>
#include <variant>

namespace aftercare {

struct Error {
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Error error) : state_(std::move(error)) {}    // NOLINT(google-explicit-constructor)

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Precondition: ok().
  const T& value() const& { return std::get<0>(state_); }
  T& value() & { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const T& operator*() const& { return value(); }
  const T* operator->() const { return &value(); }

  // Precondition: !ok().
  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

inline Error MakeError(std::string message) { return Error{std::move(message)}; }

}  // namespace aftercare

#endif  // AFTERCARE_RESULT_H_
