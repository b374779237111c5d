// The building blocks of the scorers: reasoning removal, normalisation and the extractors.
#include <gtest/gtest.h>

#include "ipw/scoring/scorer.h"

using namespace ipw::scoring;

namespace {

TEST(StripReasoning, RemovesClosedBlocksOfEveryTagCaseInsensitively) {
  EXPECT_EQ(strip_reasoning("<think>a</think>x <Thinking>b</Thinking>y <REASONING>c</REASONING>z"), "x y z");
}

TEST(StripReasoning, ClosingTagWithoutOpeningDropsEverythingBeforeIt) {
  EXPECT_EQ(strip_reasoning("reasoning that the template opened\n</think>\n\nParis"), "Paris");
}

TEST(StripReasoning, UnclosedOpeningTagIsRemovedButItsTextKept) {
  EXPECT_EQ(strip_reasoning("<think>step one, step two, the answer is 4"), "step one, step two, the answer is 4");
}

TEST(StripReasoning, TextWithoutTagsIsOnlyTrimmed) { EXPECT_EQ(strip_reasoning("  Paris \n"), "Paris"); }

TEST(NormalizeAnswer, LowercasesDropsPunctuationArticlesAndExtraSpace) {
  EXPECT_EQ(normalize_answer("  The  Eiffel Tower!  "), "eiffel tower");
  EXPECT_EQ(normalize_answer("An apple, a pear."), "apple pear");
}

TEST(NormalizeAnswer, HyphensSlashesAndDashesSeparateWords) {
  EXPECT_EQ(normalize_answer("well-known"), normalize_answer("well known"));
  EXPECT_EQ(normalize_answer("and/or"), "and or");
  EXPECT_EQ(normalize_answer("1914\xE2\x80\x93" "1918"), "1914 1918");
}

TEST(NormalizeAnswer, CurlyQuotesAreDropped) {
  EXPECT_EQ(normalize_answer("\xE2\x80\x9CMars\xE2\x80\x9D"), "mars");
}

TEST(ExtractChoice, OnlyLettersWithinTheChoicesCount) {
  EXPECT_EQ(extract_choice("The answer is C", 2), "");
  EXPECT_EQ(extract_choice("The answer is C", 3), "C");
}

TEST(ExtractChoice, ChoiceTextsAreOnlyUsedWhenGiven) {
  EXPECT_EQ(extract_choice("Rome", 4), "");
  EXPECT_EQ(extract_choice("Rome", std::vector<std::string>{"Paris", "Rome"}), "B");
}

TEST(ExtractNumber, ReportsNoNumber) {
  double v = 1;
  std::string t = "x";
  EXPECT_FALSE(extract_number("no digits here", &v, &t));
}

TEST(ExtractNumber, GivesValueAndTextAsWritten) {
  double v = 0;
  std::string t;
  ASSERT_TRUE(extract_number("Total: -$1,200.50", &v, &t));
  EXPECT_DOUBLE_EQ(v, -1200.5);
  EXPECT_EQ(t, "-$1,200.50");
}

TEST(ExtractNumber, DatesAreNotNumbers) {
  double v = 0;
  std::string t;
  ASSERT_TRUE(extract_number("On 1/2/2020 we sold 7.", &v, &t));
  EXPECT_EQ(t, "7");
  ASSERT_TRUE(extract_number("We sold 7 on 1/2/2020.", &v, &t));
  EXPECT_EQ(t, "7");
}

TEST(ExtractNumber, LatexFractionOfNonNumbersIsNotOneNumber) {
  double v = 0;
  std::string t;
  ASSERT_TRUE(extract_number("\\frac{x}{2} = 5", &v, &t));
  EXPECT_EQ(t, "5");
  ASSERT_TRUE(extract_number("\\frac{3}{4", &v, &t));  // unclosed: the numbers stand alone
  EXPECT_EQ(t, "4");
}

TEST(ExtractNumber, TimesWithoutAPowerOfTenIsNotScientificNotation) {
  double v = 0;
  std::string t;
  ASSERT_TRUE(extract_number("It is 3 x 10 in size.", &v, &t));
  EXPECT_EQ(t, "10");
  ASSERT_TRUE(extract_number("Final answer: 2 \xC3\x97 10^3", &v, &t));
  EXPECT_DOUBLE_EQ(v, 2000);
}

}  // namespace
