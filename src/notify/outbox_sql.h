// Shared by the outbox and the dispatcher: reading outbox rows through SOCI. Private to src/notify.
#ifndef AFTERCARE_SRC_NOTIFY_OUTBOX_SQL_H_
#define AFTERCARE_SRC_NOTIFY_OUTBOX_SQL_H_

#include <functional>
#include <string>
#include <vector>

#include <soci/soci.h>

#include "aftercare/notify.h"

namespace aftercare::notify_internal {

long long Seconds(Instant t);
Instant FromSeconds(long long s);
// A random positive id below 2^53, like the store's.
long long NewRowId();

// The columns SelectEntries reads, in its order: "SELECT " + kEntryColumns + " FROM notify_outbox WHERE ...".
extern const char* const kEntryColumns;
// Runs `query`; `bind` adds the soci::use() of its parameters in order.
std::vector<OutboxEntry> SelectEntries(soci::session& sql, const std::string& query,
                                       const std::function<void(soci::statement&)>& bind);

}  // namespace aftercare::notify_internal

#endif  // AFTERCARE_SRC_NOTIFY_OUTBOX_SQL_H_
