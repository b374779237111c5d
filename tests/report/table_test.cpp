#include "ipw/report/table.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ipw/core/error.h"

namespace ipw::report {
namespace {

// Text, an integer, a rounded number with a suffix, a missing value, and text that needs quoting.
Table sample_table() {
  Table t;
  t.columns = {"model", "n", "J/query", "W", "note"};
  t.keys = {"model", "n", "energy_j_per_query", "mean_power_w", "note"};
  t.rows.push_back({Cell::text("ollama/qwen3:8b"), Cell::integer(12), Cell::num(1.23456, 2, "~"),
                    Cell::num(45.5, 1), Cell::text("a, \"b\"")});
  t.rows.push_back({Cell::text("vllm/Q|x"), Cell::integer(3), Cell::missing(), Cell::num(100.04, 1),
                    Cell::text("")});
  t.rows.push_back({Cell::text("x"), Cell::integer(100), Cell::num(20, 2), Cell::missing(), Cell::text("|")});
  t.footnotes = {"~ estimated energy", "* counted by ipw"};
  return t;
}

TEST(Cell, NumOfNanOrInfinityIsMissing) {
  EXPECT_TRUE(std::holds_alternative<std::monostate>(Cell::num(std::nan("")).value));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(Cell::num(std::numeric_limits<double>::infinity()).value));
  EXPECT_TRUE(std::holds_alternative<double>(Cell::num(0.5).value));
}

// Numbers are right-aligned with their digits lined up whether or not a value carries a mark.
TEST(RenderTable, AlignsColumnsAndRightAlignsNumbers) {
  EXPECT_EQ(render(sample_table(), Format::table),
            "model              n  J/query      W  note\n"
            "---------------  ---  -------  -----  ------\n"
            "ollama/qwen3:8b   12    1.23~   45.5  a, \"b\"\n"
            "vllm/Q|x           3       -   100.0\n"
            "x                100   20.00       -  |\n"
            "\n"
            "~ estimated energy\n"
            "* counted by ipw\n");
}

TEST(RenderTable, NoRowsGivesHeaderAndRuleOnly) {
  Table t;
  t.columns = {"a", "bb"};
  t.keys = {"a", "b"};
  EXPECT_EQ(render(t, Format::table), "a  bb\n-  --\n");
}

TEST(RenderTable, LineBreaksInTextBecomeSpaces) {
  Table t;
  t.columns = {"x"};
  t.keys = {"x"};
  t.rows.push_back({Cell::text("one\ntwo")});
  EXPECT_EQ(render(t, Format::table), "x\n-------\none two\n");
}

TEST(RenderMarkdown, PipeTableWithRightAlignedNumbersAndEscapedPipes) {
  EXPECT_EQ(render(sample_table(), Format::md),
            "| model           |   n | J/query |     W | note   |\n"
            "| --------------- | --: | ------: | ----: | ------ |\n"
            "| ollama/qwen3:8b |  12 |   1.23~ |  45.5 | a, \"b\" |\n"
            "| vllm/Q\\|x       |   3 |      -  | 100.0 |        |\n"
            "| x               | 100 |  20.00  |     - | \\|     |\n"
            "\n"
            "~ estimated energy\n"
            "\n"
            "\\* counted by ipw\n");
}

TEST(RenderCsv, KeysAsHeaderQuotingFullPrecisionAndEmptyMissing) {
  EXPECT_EQ(render(sample_table(), Format::csv),
            "model,n,energy_j_per_query,mean_power_w,note\n"
            "ollama/qwen3:8b,12,1.23456,45.5,\"a, \"\"b\"\"\"\n"
            "vllm/Q|x,3,,100.04,\n"
            "x,100,20,,|\n");
}

TEST(RenderCsv, QuotesNewlines) {
  Table t;
  t.columns = {"x"};
  t.keys = {"x"};
  t.rows.push_back({Cell::text("one\ntwo")});
  EXPECT_EQ(render(t, Format::csv), "x\n\"one\ntwo\"\n");
}

TEST(RenderCsv, NumbersRoundTrip) {
  Table t;
  t.columns = {"x"};
  t.keys = {"x"};
  t.rows.push_back({Cell::num(0.1 + 0.2, 2)});
  std::string out = render(t, Format::csv);
  double back = std::stod(out.substr(out.find('\n') + 1));
  EXPECT_EQ(back, 0.1 + 0.2);
}

TEST(RenderJson, ArrayOfObjectsWithNumbersNullsAndNoSuffix) {
  auto j = nlohmann::json::parse(render(sample_table(), Format::json));
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 3u);
  EXPECT_EQ(j[0]["model"], "ollama/qwen3:8b");
  EXPECT_EQ(j[0]["n"], 12);
  EXPECT_TRUE(j[0]["n"].is_number_integer());
  EXPECT_EQ(j[0]["energy_j_per_query"].get<double>(), 1.23456);
  EXPECT_EQ(j[0]["note"], "a, \"b\"");
  EXPECT_TRUE(j[1]["energy_j_per_query"].is_null());
  EXPECT_EQ(j[1]["mean_power_w"].get<double>(), 100.04);
}

TEST(RenderJson, KeepsColumnOrder) {
  std::string out = render(sample_table(), Format::json);
  EXPECT_LT(out.find("\"model\""), out.find("\"n\""));
  EXPECT_LT(out.find("\"n\""), out.find("\"energy_j_per_query\""));
  EXPECT_EQ(out.find("estimated"), std::string::npos);  // footnotes are not data
}

TEST(RenderJson, NoRowsIsEmptyArray) {
  Table t;
  t.columns = {"a"};
  t.keys = {"a"};
  EXPECT_EQ(nlohmann::json::parse(render(t, Format::json)), nlohmann::json::array());
  EXPECT_EQ(render(t, Format::csv), "a\n");
}

TEST(Render, RowWithWrongCellCountIsAnInternalError) {
  Table t;
  t.columns = {"a", "b"};
  t.keys = {"a", "b"};
  t.rows.push_back({Cell::text("x")});
  try {
    render(t, Format::table);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::internal);
    EXPECT_NE(std::string(e.what()).find("1 cells for 2 columns"), std::string::npos);
  }
}

TEST(ParseFormat, AcceptsTheFourFormats) {
  EXPECT_EQ(parse_format("table"), Format::table);
  EXPECT_EQ(parse_format("md"), Format::md);
  EXPECT_EQ(parse_format("csv"), Format::csv);
  EXPECT_EQ(parse_format("json"), Format::json);
}

TEST(ParseFormat, RejectsOthersNamingValueAndChoices) {
  try {
    parse_format("xml");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::usage);
    std::string msg = e.what();
    EXPECT_NE(msg.find("'xml'"), std::string::npos);
    EXPECT_NE(msg.find("table, md, csv, json"), std::string::npos);
  }
}

}  // namespace
}  // namespace ipw::report
