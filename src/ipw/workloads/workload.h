// Workloads: a JSONL file, one query per line. load_workload validates every line and reports
// *all* problems at once (the first 20, then "... and N more"), each as
// "<file>:<line>: field '<name>': <what is wrong>", in one Error(input). A file with no query is
// an error too. The workload is identified by the SHA-256 of the file's bytes.
//
// Workload format
// ---------------
// One JSON object per line (UTF-8). Blank lines and lines whose first non-blank character is '#'
// are skipped. Fields:
//   id          string (non-empty) or integer; required; unique in the file. An integer id is
//               stored as its decimal string (7 -> "7").
//   prompt      string: the user message.                           \ exactly one of the two
//   messages    array of {"role": "system"|"user"|"assistant",        |
//               "content": string}; non-empty; the last is "user".   /
//   answer      the reference: a string, a number, or an array of acceptable answers.
//               "reference" is accepted as a synonym (give one of them, not both).
//               Required unless the scorer is "none".
//   choices     multiple-choice options: an array of 2..26 distinct non-empty strings, or an
//               object {"A": "...", "B": "...", ...} whose keys are consecutive letters from A.
//               The answer may then be the letter ("C"), the 0-based index (2) or the exact text
//               of a choice; it is stored as the letter.
//   scorer      "exact" | "mcq" | "numeric" | "none". Default: "mcq" if choices are given,
//               "numeric" if the answer is a JSON number (or an array of numbers), "exact" if an
//               answer is given, else "none". "mcq" needs choices; choices are allowed only with
//               "mcq" or "none". A "numeric" answer is a JSON number or a string holding a plain
//               decimal number ("42", "-3.5", "1e-3").
//   category    non-empty string; default "general".
//   weight      number > 0; default 1.
//   max_tokens  integer 1..1000000; default: the run's setting.
//   tolerance   number >= 0, numeric scorer only: absolute tolerance; default
//               1e-6 x max(1, |answer|).
// Any other field is an error (a typo such as "anwser" must not pass silently), except fields
// whose names start with "meta" or "_", which are ignored. Example lines:
//   {"id": 1, "prompt": "What is 6 x 7?", "answer": 42, "category": "math"}
//   {"id": "q2", "prompt": "Largest planet?", "choices": ["Mars", "Jupiter"], "answer": "B"}
//   {"id": "q3", "messages": [{"role": "system", "content": "Be brief."},
//                             {"role": "user", "content": "Capital of Peru?"}], "answer": "Lima"}
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

// Reads and validates the file. Throws Error(io) if it cannot be read, Error(input) listing
// every problem if it is not a valid workload.
Workload load_workload(const std::string& path);
// Parses JSONL text (`where` names it in messages and becomes Workload::path).
Workload parse_workload(const std::string& text, const std::string& where);

// The messages sent for a query. With choices, the last user message becomes
//   "<question>\n\nA) ...\nB) ...\n\nAnswer with the letter of the correct option."
// Without choices the messages are returned unchanged.
std::vector<Message> render_messages(const Query& q);

}  // namespace ipw::workloads
