#include "ipw/core/error.h"

namespace ipw {

const char* errc_name(Errc c) {
  switch (c) {
    case Errc::usage: return "usage";
    case Errc::input: return "input";
    case Errc::io: return "io";
    case Errc::network: return "network";
    case Errc::http: return "http";
    case Errc::timeout: return "timeout";
    case Errc::cancelled: return "cancelled";
    case Errc::sensor: return "sensor";
    case Errc::store: return "store";
    case Errc::internal: return "internal";
  }
  return "unknown";
}

int exit_code_for(Errc c) { return c == Errc::usage ? 2 : 1; }

}  // namespace ipw
