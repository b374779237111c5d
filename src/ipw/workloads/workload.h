// Workloads: a JSONL file, one query per line (format in README "Workload format").
// load_workload validates every line and reports *all* problems at once, each as
// "<file>:<line>: field '<name>': <what is wrong>", in one Error(input).
#pragma once

#include <string>
#include <vector>

#include "ipw/core/types.h"

namespace ipw::workloads {

struct Workload {
  std::string path;
  std::string sha256;          // of the file's bytes: identifies the workload in the store
  std::vector<Query> queries;  // in file order; ids unique
};

Workload load_workload(const std::string& path);
// Parses JSONL text (`where` names it in messages).
Workload parse_workload(const std::string& text, const std::string& where);

// The user-message text sent for a query: for multiple choice, the question followed by the
// options labelled "A) ...", "B) ..." and an instruction to answer with the letter.
std::vector<Message> render_messages(const Query& q);

}  // namespace ipw::workloads
