// Runs the real `aftercare` binary for CLI tests: arguments in, exit code, stdout and stderr out.
#ifndef AFTERCARE_TESTS_SUPPORT_RUN_BINARY_H_
#define AFTERCARE_TESTS_SUPPORT_RUN_BINARY_H_

#include <string>
#include <vector>

namespace aftercare::testing {

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `binary args...` without a shell; `input` goes to its stdin.
RunResult RunBinary(const std::string& binary, const std::vector<std::string>& args, const std::string& input = "");

// Runs the aftercare binary this build made (AFTERCARE_BINARY).
RunResult RunAftercare(const std::vector<std::string>& args, const std::string& input = "");

}  // namespace aftercare::testing

#endif  // AFTERCARE_TESTS_SUPPORT_RUN_BINARY_H_
