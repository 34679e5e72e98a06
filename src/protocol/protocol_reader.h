// The one reader behind ParseProtocol and lint: parses and validates, recording every problem. Private.
#ifndef AFTERCARE_SRC_PROTOCOL_PROTOCOL_READER_H_
#define AFTERCARE_SRC_PROTOCOL_PROTOCOL_READER_H_

#include <optional>
#include <string_view>
#include <vector>

#include "aftercare/protocol.h"

namespace aftercare {

// Returns the protocol when the TOML parsed (even with findings); nullopt on a syntax error.
std::optional<Protocol> ReadProtocol(std::string_view toml_text, std::string_view origin,
                                     std::vector<Finding>* errors);

}  // namespace aftercare

#endif  // AFTERCARE_SRC_PROTOCOL_PROTOCOL_READER_H_
