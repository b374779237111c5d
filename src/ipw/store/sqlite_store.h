// The SQLite implementation of Store. One connection per Store, guarded by a mutex; WAL journal,
// busy timeout of 10 s and BEGIN IMMEDIATE for every write, so several processes can write
// different runs to one file at once. The schema is versioned with PRAGMA user_version and
// brought up to date by ordered migrations when the file is opened; a file written by a newer
// ipw is refused rather than touched. open_store() is the usual entry point; this header adds
// options that tests and tools need.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "ipw/store/store.h"

namespace ipw::store {

struct SqliteOptions {
  // When > 0, caps the database at this many pages (PRAGMA max_page_count, a per-connection
  // setting) so that "disk full" can be reproduced without filling a disk.
  int64_t max_page_count = 0;
};

// Schema version this build writes (the number of migrations it knows).
int sqlite_schema_version();

// Opens or creates the SQLite database at `path` (its directory must exist) and migrates it.
// Throws Error(store) naming the path and the cause.
std::unique_ptr<Store> open_sqlite_store(const std::string& path, const SqliteOptions& options = {});

}  // namespace ipw::store
