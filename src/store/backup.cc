// The SQLite online backup: a consistent copy of a live database, page by page, while the server keeps writing.
#include <sqlite3.h>

#include <filesystem>

#include "aftercare/store.h"

namespace aftercare {
namespace {

std::string Message(sqlite3* db) { return db ? sqlite3_errmsg(db) : "out of memory"; }

}  // namespace

Result<std::string> BackupSqlite(const std::string& url, const std::string& destination) {
  std::string path = url;
  for (const char* prefix : {"sqlite3:", "sqlite:"}) {
    if (path.rfind(prefix, 0) == 0) {
      path = path.substr(std::string_view(prefix).size());
      if (path.rfind("//", 0) == 0) path = path.substr(2);
      break;
    }
  }
  if (path.rfind("postgres", 0) == 0) {
    return MakeError("backup copies SQLite databases only; back up PostgreSQL with pg_dump (docs/operations.md)");
  }
  if (destination.empty()) return MakeError("the backup file name is empty");
  if (!std::filesystem::exists(path)) return MakeError("no SQLite database at '" + path + "'");
  std::error_code ec;
  if (std::filesystem::exists(destination, ec)) {
    return MakeError("'" + destination + "' already exists; choose a new file name");
  }

  sqlite3* source = nullptr;
  sqlite3* target = nullptr;
  auto close = [&] {
    sqlite3_close(source);
    sqlite3_close(target);
  };
  if (sqlite3_open_v2(path.c_str(), &source, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string m = "cannot open '" + path + "': " + Message(source);
    close();
    return MakeError(m);
  }
  sqlite3_busy_timeout(source, 10000);
  if (sqlite3_open_v2(destination.c_str(), &target, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    std::string m = "cannot create '" + destination + "': " + Message(target);
    close();
    return MakeError(m);
  }
  sqlite3_backup* backup = sqlite3_backup_init(target, "main", source, "main");
  if (!backup) {
    std::string m = "cannot back up to '" + destination + "': " + Message(target);
    close();
    return MakeError(m);
  }
  int rc = SQLITE_OK;
  do {
    rc = sqlite3_backup_step(backup, 256);
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) sqlite3_sleep(50);
  } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    std::string m = "backup to '" + destination + "' failed: " + sqlite3_errstr(rc);
    close();
    std::filesystem::remove(destination, ec);
    return MakeError(m);
  }
  close();
  return destination;
}

}  // namespace aftercare
