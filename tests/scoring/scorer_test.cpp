// Scorers on realistic model answers: each case gives the response, the answer the scorer must
// extract and the score it must give.
#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ipw/core/error.h"
#include "ipw/scoring/scorer.h"

using namespace ipw;
using namespace ipw::scoring;

namespace {

struct Case {
  const char* name;
  std::vector<std::string> references;
  const char* response;
  const char* extracted;
  double score;
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name << ": " << c.response; }

std::string case_name(const ::testing::TestParamInfo<Case>& info) { return info.param.name; }

// ---- mcq: choices A) Paris B) London C) Rome D) Berlin ----

const std::vector<std::string> kCities = {"Paris", "London", "Rome", "Berlin"};

class Mcq : public ::testing::TestWithParam<Case> {};

TEST_P(Mcq, ExtractsTheLetterAndScoresIt) {
  const Case& c = GetParam();
  Query q;
  q.scorer = "mcq";
  q.choices = kCities;
  q.references = c.references;
  auto s = score(q, c.response);
  EXPECT_EQ(s.extracted, c.extracted);
  EXPECT_EQ(s.value, c.score);
}

INSTANTIATE_TEST_SUITE_P(
    Answers, Mcq,
    ::testing::Values(
        Case{"AnswerIsParenthesised", {"B"}, "The answer is (B).", "B", 1},
        Case{"AnswerColon", {"C"}, "Answer: C", "C", 1},
        Case{"AnswerColonBold", {"C"}, "answer: **C**", "C", 1},
        Case{"BoldAnswerLabel", {"D"}, "**Answer:** D", "D", 1},
        Case{"AnswerColonParenthesised", {"B"}, "Answer: (B)", "B", 1},
        Case{"CorrectOptionIs", {"C"}, "Looking at each city, the correct option is C.", "C", 1},
        Case{"FinalAnswer", {"A"}, "France's capital has been Paris since 987.\n\nFinal answer: A", "A", 1},
        Case{"IllGoWith", {"B"}, "Both B and D are large cities, but I'll go with B.", "B", 1},
        Case{"Boxed", {"C"}, "Rome is the capital of Italy, so $\\boxed{C}$", "C", 1},
        Case{"BoxedText", {"D"}, "\\boxed{\\text{D}}", "D", 1},
        Case{"BoxedAfterFinalAnswerHeading", {"B"}, "**Final Answer**\n\n\\[\n\\boxed{B}\n\\]", "B", 1},
        Case{"AnswerIsOptionWithText", {"B"}, "The correct answer is: **B) London**", "B", 1},
        Case{"ChangedMindLastStatementWins", {"C"}, "The answer is A. Wait, actually the answer is C.", "C", 1},
        Case{"NegatedStatementIsSkipped", {"D"}, "The answer is not A. The answer is D.", "D", 1},
        Case{"LetterIsCorrect", {"B"}, "B is correct, because London is the capital of the UK.", "B", 1},
        Case{"ParenthesisedLetterIsTheCorrectAnswer", {"D"}, "Option (D) is the correct answer.", "D", 1},
        Case{"ThinkBlockBeforeTheAnswer", {"B"},
             "<think>The answer is probably A... no, the question asks about the UK.</think>\nThe answer is B", "B", 1},
        Case{"ThinkBlockThenBoldLetter", {"D"}, "<think>The answer is A at first glance.</think>\n\n**D**", "D", 1},
        Case{"UppercaseThinkingTags", {"A"}, "<THINKING>The answer is C?</THINKING>**A**", "A", 1},
        Case{"ClosingTagOnlyFromTheTemplate", {"C"}, "Rome is in Italy, so the answer is B? No.\n</think>\n\nC", "C", 1},
        Case{"UnclosedThinkKeepsTheStatement", {"C"}, "<think>Rome is the capital of Italy. The answer is C", "C", 1},
        Case{"LowercaseAnswerIs", {"B"}, "the answer is b", "B", 1},
        Case{"LowercaseAfterAnswerColon", {"D"}, "answer: d.", "D", 1},
        Case{"LetterWithParenthesisThenReason", {"A"}, "A) because Paris is the capital of France.", "A", 1},
        Case{"LoneLetter", {"C"}, "C", "C", 1},
        Case{"LetterWithPeriod", {"C"}, "C.", "C", 1},
        Case{"ParenthesisedLetterFirst", {"C"}, "(C)", "C", 1},
        Case{"BoldLetterFirst", {"C"}, "**C** because Rome fits", "C", 1},
        Case{"LetterWithColon", {"C"}, "C: because Rome is the capital of Italy.", "C", 1},
        Case{"EnglishArticleAIsNotALetter", {"C"}, "A good answer is hard to find, but I think it is Rome.", "C", 1},
        Case{"LowercaseArticleAfterAnswerIsIsNotALetter", {"C"}, "The answer is a city in Italy: Rome.", "C", 1},
        Case{"LastBracketedLetterInProse", {"C"},
             "A good starting point is the climate. Most likely the best fit is (C).", "C", 1},
        Case{"LetterAloneOnTheLastLine", {"D"}, "Berlin is in Germany.\nTherefore:\nD", "D", 1},
        Case{"OptionTextOnly", {"A"}, "Paris", "A", 1},
        Case{"SentenceContainingOneOptionText", {"A"}, "The capital of France is Paris.", "A", 1},
        Case{"BestChoiceColon", {"B"}, "Best choice: B", "B", 1},
        Case{"WalkThroughOptionsIsNotAStatement", {"A"},
             "Option A: the capital of France.\nOption D: a city in Germany.", "", 0},
        Case{"AnswerFollowedByExplanationOfOtherOptions", {"C"},
             "Answer: C\n\nExplanation: Option A is wrong because Paris is in France.", "C", 1},
        Case{"WrongLetterScoresZero", {"D"}, "The answer is A", "A", 0},
        Case{"TwoOptionTextsAreAmbiguous", {"A"}, "Either Paris or Rome.", "", 0},
        Case{"LetterBeyondTheChoicesIsIgnored", {"B"}, "The answer is E.", "", 0},
        Case{"NoAnswer", {"A"}, "I don't know.", "", 0},
        Case{"EmptyResponse", {"A"}, "", "", 0},
        // hedged and terse statements
        Case{"HedgedItIs", {"D"}, "I believe it's D, although B is tempting.", "D", 1},
        Case{"ProbablyLetter", {"C"}, "Probably C, but I'm not 100% sure.", "C", 1},
        Case{"AnswerIsProbablyLetter", {"A"}, "I think the answer is probably A, but the wording is odd.", "A", 1},
        Case{"SoLetter", {"C"}, "Rome is in Italy. So C.", "C", 1},
        Case{"HedgeWordBeforeALetterThatDoesNotCloseItsClauseIsNotAStatement", {"C"},
             "London is in the UK, so B is wrong too.\n\n**C**", "C", 1},
        Case{"FirmStatementBeatsALaterHedge", {"B"}, "The answer is B. If it's C, the map is wrong.", "B", 1},
        Case{"HedgeAfterAFirstGuessIsAChangeOfMind", {"D"}, "B. No wait, it's D.", "D", 1},
        Case{"LeavesLetter", {"C"}, "Paris and Berlin are not in Italy and London is in the UK, which leaves C.", "C", 1},
        Case{"OnlyLetter", {"C"}, "Between B and C, only C is in Italy.", "C", 1},
        Case{"WhichIsOptionLetter", {"C"}, "Of the four, the one in Italy is the third, which is option C.", "C", 1},
        Case{"LeanTowards", {"D"}, "Between B and D, I lean towards D.", "D", 1},
        Case{"LetterSeemsRight", {"C"}, "Hard to say without the map, but C seems most consistent.", "C", 1},
        Case{"LetterIsTheBetterAnswer", {"B"}, "Both have merit, but I think B is the better answer.", "B", 1},
        Case{"LoneLetterSentenceEndingTheResponse", {"C"},
             "At first I was going to choose D, but only the third city is in Italy. C.", "C", 1},
        Case{"BestOptionWithWordsBeforeIs", {"A"}, "The best option here is A.", "A", 1},
        Case{"ThatsAnswerChoice", {"D"}, "That's answer choice D.", "D", 1},
        // lowercase letters and named options
        Case{"LowercaseBareLetter", {"B"}, "b", "B", 1},
        Case{"LowercaseLetterWithParenthesis", {"C"}, "c) because it is in Italy", "C", 1},
        Case{"LowercaseParenthesisedLetterFirst", {"A"}, "(a) the French capital", "A", 1},
        Case{"LowercaseOptionIsCorrect", {"C"}, "option c is correct because it is in Italy.", "C", 1},
        Case{"OptionLetterAlone", {"B"}, "Option B", "B", 1},
        Case{"ChoiceLetterWithPeriod", {"C"}, "Choice C.", "C", 1},
        Case{"LetterThenDash", {"B"}, "B \xE2\x80\x94 the capital of the UK", "B", 1},
        // other shapes of the answer statement
        Case{"AnswerDash", {"C"}, "Answer \xE2\x80\x94 C", "C", 1},
        Case{"JsonAnswerKey", {"B"}, "{\"answer\": \"B\", \"confidence\": 0.8}", "B", 1},
        Case{"JsonChoiceKey", {"D"}, "{\"choice\": \"D\", \"explanation\": \"It is in Germany.\"}", "D", 1},
        Case{"AnswerTag", {"A"}, "<answer>A</answer>", "A", 1},
        Case{"CorrectColon", {"B"}, "Correct: B", "B", 1},
        Case{"AnswerHeadingThenTheOptionOnTheNextLine", {"C"}, "## Final Answer\n**C) the Italian capital**", "C", 1},
        Case{"CheckMarkedRowOfATable", {"B"},
             "| Option | UK capital? |\n|---|---|\n| A | \xE2\x9C\x97 |\n| B | \xE2\x9C\x93 |\n| C | \xE2\x9C\x97 |", "B", 1},
        Case{"CorrectRowOfAWalkThrough", {"C"},
             "Option A: incorrect, France.\nOption B: incorrect, the UK.\nOption C: correct, Italy.", "C", 1},
        Case{"LettersOfferedAsAlternativesAreNotAnAnswer", {"A"},
             "I can't tell whether (A) or (B) is correct without the map.", "", 0},
        // choice texts
        Case{"StatementNamesAChoiceText", {"C"}, "I'd go with Rome; Paris is in France.", "C", 1},
        Case{"NegatedChoiceTextIsAFoil", {"C"}, "Rome, not Paris, is the capital of Italy.", "C", 1},
        Case{"ComparedChoiceTextIsAFoil", {"D"}, "Berlin has more people than London.", "D", 1}),
    case_name);

// ---- numeric ----

class Numeric : public ::testing::TestWithParam<Case> {};

TEST_P(Numeric, ExtractsTheNumberAndScoresIt) {
  const Case& c = GetParam();
  Query q;
  q.scorer = "numeric";
  q.references = c.references;
  auto s = score(q, c.response);
  EXPECT_EQ(s.extracted, c.extracted);
  EXPECT_EQ(s.value, c.score);
}

INSTANTIATE_TEST_SUITE_P(
    Answers, Numeric,
    ::testing::Values(
        Case{"ThousandsSeparators", {"1234567"}, "The population is 1,234,567.", "1,234,567", 1},
        Case{"NegativeDecimal", {"-3.5"}, "-3.5", "-3.5", 1},
        Case{"ExplicitPlusSign", {"2"}, "The temperature rose by +2 degrees.", "+2", 1},
        Case{"LeadingDecimalPoint", {"0.5"}, "It is .5 of the whole", ".5", 1},
        Case{"Fraction", {"0.75"}, "3/4", "3/4", 1},
        Case{"PercentIsTheValueAsWritten", {"50"}, "About 50% of them.", "50%", 1},
        Case{"Scientific", {"0.001"}, "The step size is 1e-3", "1e-3", 1},
        Case{"CurrencyWithCents", {"1200.5"}, "It costs $1,200.50 in total.", "$1,200.50", 1},
        Case{"UnicodeMinus", {"-7"}, "The answer is \xE2\x88\x92" "7.", "\xE2\x88\x92" "7", 1},
        Case{"Gsm8kHashes", {"18"},
             "Janet sells 16 - 3 - 4 = 9 eggs.\nShe makes 9 * 2 = $18 every day.\n#### 18", "18", 1},
        Case{"BoxedBeatsALaterNumber", {"42"}, "So the result is \\boxed{42}. Check: 40 + 2 = 42, and 7 more.", "42", 1},
        Case{"BoxedFraction", {"0.75"}, "$\\boxed{\\frac{3}{4}}$", "\\frac{3}{4}", 1},
        Case{"StatementBeatsTheLastNumber", {"18"}, "The answer is 18. That is 3 more than 15.", "18", 1},
        Case{"StatementWithEquation", {"8"}, "The answer is 5 + 3 = 8.", "8", 1},
        Case{"BoldAnswerLabel", {"1000"}, "**Answer:** 1,000", "1,000", 1},
        Case{"ChangedMind", {"14"}, "The answer is 12. Wait, I misread: the answer is 14.", "14", 1},
        Case{"LastNumberOfAWorking", {"42"}, "6 x 7 = 42", "42", 1},
        Case{"ReasoningBlockIsIgnored", {"42"}, "<think>The answer is 40? No.</think>\n6 x 7 = 42", "42", 1},
        Case{"DigitsInsideWordsAreNotNumbers", {"5"}, "Qwen3 thinks the result is 5", "5", 1},
        Case{"RangeHyphenIsNotAMinus", {"20"}, "Between 10-20", "20", 1},
        Case{"WithinDefaultRelativeTolerance", {"0.333333333"}, "0.3333333", "0.3333333", 1},
        Case{"LatexFractionInAStatement", {"0.75"}, "So 3 of 4 parts. The answer is \\frac{3}{4}.", "\\frac{3}{4}", 1},
        Case{"NegatedBoxedLatexFraction", {"-0.625"}, "$\\boxed{-\\frac{5}{8}}$", "-\\frac{5}{8}", 1},
        Case{"DollarBeforeLatexIsMathNotCurrency", {"0.25"}, "So $\\dfrac{1}{4}$ of it.", "\\dfrac{1}{4}", 1},
        Case{"TimesTenPower", {"3e22"}, "The answer is 3.0 \xC3\x97 10^22 molecules.", "3.0 \xC3\x97 10^22", 1},
        Case{"LatexTimesTenPower", {"3.313e-19"}, "$\\boxed{3.313 \\times 10^{-19}}$", "3.313 \\times 10^{-19}", 1},
        Case{"SuperscriptTimesTenPower", {"6.022e23"}, "About 6.022 \xC3\x97 10\xC2\xB2\xC2\xB3 per mole.",
             "6.022 \xC3\x97 10\xC2\xB2\xC2\xB3", 1},
        Case{"LetterXTimesTenPower", {"1.5e11"}, "The distance is about 1.5 x 10^11 meters.", "1.5 x 10^11", 1},
        Case{"AnswerTag", {"42"}, "<answer>42</answer> I checked it twice: 40 + 2.", "42", 1},
        Case{"AnswerHeadingThenTheNumberOnTheNextLine", {"18"}, "### Final Answer\n18\n\n(3 more than 15)", "18", 1},
        Case{"WrongNumberScoresZero", {"42"}, "I get 41.", "41", 0},
        Case{"NoNumberScoresZero", {"42"}, "I am not sure.", "", 0}),
    case_name);

// ---- exact ----

class Exact : public ::testing::TestWithParam<Case> {};

TEST_P(Exact, ExtractsTheFinalAnswerAndScoresIt) {
  const Case& c = GetParam();
  Query q;
  q.scorer = "exact";
  q.references = c.references;
  auto s = score(q, c.response);
  EXPECT_EQ(s.extracted, c.extracted);
  EXPECT_EQ(s.value, c.score);
}

INSTANTIATE_TEST_SUITE_P(
    Answers, Exact,
    ::testing::Values(
        Case{"AnswerIsSentence", {"Paris"}, "The answer is Paris.", "Paris", 1},
        Case{"BareAnswer", {"Paris"}, "Paris", "Paris", 1},
        Case{"CaseAndPeriod", {"Paris"}, "paris.", "paris", 1},
        Case{"PredicateOfTheLastSentence", {"Paris"}, "The capital of France is Paris.", "Paris", 1},
        Case{"ArticleIsIgnored", {"Pacific Ocean"}, "Answer: The Pacific Ocean", "The Pacific Ocean", 1},
        Case{"BoldSpan", {"Jane Austen"}, "It was written by **Jane Austen** in 1813.", "Jane Austen", 1},
        Case{"FinalAnswerAfterExplanation", {"Jane Austen"},
             "Pride and Prejudice appeared in 1813.\n\nFinal answer: Jane Austen", "Jane Austen", 1},
        Case{"QuotedAnswer", {"Mars"}, "The answer is: \"Mars\"", "Mars", 1},
        Case{"ReasoningBlockIsIgnored", {"Canberra"}, "<think>Sydney? No, Canberra.</think>Canberra", "Canberra", 1},
        Case{"AnyReferenceMayMatch", {"Hydrogen", "H"}, "H", "H", 1},
        Case{"PunctuationInsideIsIgnored", {"Washington, D.C."}, "The answer is Washington DC", "Washington DC", 1},
        Case{"WrongAnswerScoresZero", {"Canberra"}, "I believe the capital is Sydney.", "Sydney", 0},
        Case{"LongerNameIsNotEqual", {"New York"}, "New York City", "New York City", 0},
        Case{"LatexTextWrapperIsDropped", {"carbon"}, "The element is carbon.\n\n\\boxed{\\text{Carbon}}", "Carbon", 1},
        Case{"PredicateAfterAContraction", {"Tokyo"}, "It's Tokyo.", "Tokyo", 1},
        Case{"NameThatStartsTheSentence", {"Marie Curie"}, "Marie Curie won Nobel Prizes in physics and chemistry.",
             "Marie Curie", 1},
        Case{"NameWithAParticle", {"Leonardo da Vinci"}, "Leonardo da Vinci painted the Mona Lisa.", "Leonardo da Vinci", 1},
        Case{"OpeningClause", {"no"}, "No, a tomato is botanically a fruit.", "No", 1},
        Case{"EmptyResponse", {"Paris"}, "", "", 0}),
    case_name);

// ---- behaviours outside the tables ----

TEST(Score, NoneScorerIsUnscored) {
  Query q;
  q.scorer = "none";
  auto s = score(q, "Any text at all. The answer is 4.");
  EXPECT_TRUE(std::isnan(s.value));
  EXPECT_EQ(s.extracted, "");
}

TEST(Score, ScoredQueryWithoutReferencesIsUnscoredButStillExtracts) {
  Query q;
  q.scorer = "numeric";
  auto s = score(q, "It is 12.");
  EXPECT_TRUE(std::isnan(s.value));
  EXPECT_EQ(s.extracted, "12");
}

TEST(Score, NumericToleranceOfTheQueryIsUsed) {
  Query q;
  q.scorer = "numeric";
  q.references = {"1.414"};
  q.tolerance = 0.0005;
  EXPECT_EQ(score(q, "About 1.4142").value, 1);
  EXPECT_EQ(score(q, "About 1.41").value, 0);
}

TEST(Score, NumericDefaultToleranceIsRelativeForLargeReferences) {
  Query q;
  q.scorer = "numeric";
  q.references = {"1000000"};
  EXPECT_EQ(score(q, "1,000,000.5").value, 1);  // within 1e-6 x 1e6 = 1
  EXPECT_EQ(score(q, "1,000,002").value, 0);
}

TEST(Score, McqWithoutChoiceTextsStillReadsLetters) {
  Query q;
  q.scorer = "mcq";
  q.references = {"F"};
  EXPECT_EQ(score(q, "The answer is F").value, 1);
}

TEST(Score, UnknownScorerIsAnInputError) {
  Query q;
  q.id = "q9";
  q.line = 9;
  q.scorer = "fuzzy";
  try {
    score(q, "x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::input);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("unknown scorer 'fuzzy'"));
  }
}

}  // namespace
