#include "ipw/store/store.h"

#include <cstdlib>

#include "ipw/core/error.h"
#include "ipw/core/strings.h"
#include "ipw/store/sqlite_store.h"

namespace ipw::store {

std::unique_ptr<Store> open_store(const std::string& url) {
  if (url.empty()) fail(Errc::usage, "no database given; pass --db PATH or set IPW_DB");
  // The URL is not echoed: it may carry a password.
  if (starts_with(url, "postgresql://") || starts_with(url, "postgres://"))
    fail(Errc::usage, "PostgreSQL support is not built in yet; use a SQLite file path for --db or IPW_DB");
  return open_sqlite_store(url);
}

std::string resolve_db_url(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("IPW_DB");
  if (env && *env) return env;
  return "ipw.db";
}

}  // namespace ipw::store
