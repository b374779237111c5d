// The stream parsers and decoders, fed bytes directly: SSE and NDJSON framing edge cases, the
// wire fixtures (tests/fixtures/wire) in random-sized pieces, and the request bodies.
#include <random>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ipw/backends/anthropic_messages.h"
#include "ipw/backends/gemini_generate.h"
#include "ipw/backends/ndjson.h"
#include "ipw/backends/ollama_chat.h"
#include "ipw/backends/openai_chat.h"
#include "ipw/backends/sse.h"
#include "ipw/core/error.h"
#include "ipw/core/strings.h"

namespace ipw::backends {
namespace {

using ::testing::HasSubstr;

std::string wire(const std::string& name) {
  return read_file(std::string(IPW_FIXTURES_DIR) + "/wire/" + name);
}

std::vector<SseEvent> sse_all(std::string_view text) {
  SseParser p;
  std::vector<SseEvent> out;
  p.feed(text, out);
  p.finish(out);
  return out;
}

// Splits text into pieces of 1..max_piece bytes chosen by a seeded generator.
std::vector<std::string_view> random_pieces(std::string_view text, unsigned seed, size_t max_piece) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<size_t> len(1, max_piece);
  std::vector<std::string_view> out;
  for (size_t i = 0; i < text.size();) {
    size_t n = std::min(len(rng), text.size() - i);
    out.push_back(text.substr(i, n));
    i += n;
  }
  return out;
}

TEST(Sse, EmitsOneEventPerBlankLine) {
  auto ev = sse_all("data: a\n\ndata: b\n\n");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].data, "a");
  EXPECT_EQ(ev[1].data, "b");
}

TEST(Sse, JoinsMultipleDataLinesWithNewline) {
  auto ev = sse_all("data: first\ndata: second\ndata:third\n\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "first\nsecond\nthird");
}

TEST(Sse, AcceptsCrLfAndLoneCrLineEndings) {
  auto ev = sse_all("data: a\r\n\r\ndata: b\r\rdata: c\n\n");
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].data, "a");
  EXPECT_EQ(ev[1].data, "b");
  EXPECT_EQ(ev[2].data, "c");
}

TEST(Sse, CrLfSplitAcrossChunksIsOneLineEnd) {
  SseParser p;
  std::vector<SseEvent> out;
  p.feed("data: a\r", out);
  p.feed("\n\r", out);
  p.feed("\ndata: b\r\n\r\n", out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].data, "a");
  EXPECT_EQ(out[1].data, "b");
}

TEST(Sse, IgnoresCommentsAndUnknownFields) {
  auto ev = sse_all(": ping\nretry: 100\nfoo: bar\ndata: x\n\n: another ping\n\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "x");
}

TEST(Sse, ReadsEventAndIdFields) {
  auto ev = sse_all("event: message_delta\nid: 7\ndata: {}\n\ndata: next\n\n");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].event, "message_delta");
  EXPECT_EQ(ev[0].id, "7");
  EXPECT_EQ(ev[1].event, "");  // the event type applies to one event only
}

TEST(Sse, DropsOnlyOneLeadingSpaceOfAValue) {
  auto ev = sse_all("data:  two spaces\n\n");
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, " two spaces");
}

TEST(Sse, EventWithoutDataIsNotEmitted) {
  EXPECT_TRUE(sse_all("event: ping\n\n").empty());
}

TEST(Sse, FinishEmitsAnEventLackingItsBlankLine) {
  auto ev = sse_all("data: a\n\ndata: [DONE]");
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[1].data, "[DONE]");
}

TEST(Sse, SplitsAtEveryByteGiveTheSameEvents) {
  std::string text = "data: {\"a\": 1}\r\n\r\n: c\ndata: x\ndata: y\n\nevent: e\ndata: z\r\r";
  auto whole = sse_all(text);
  SseParser p;
  std::vector<SseEvent> out;
  for (char c : text) p.feed(std::string_view(&c, 1), out);
  p.finish(out);
  ASSERT_EQ(out.size(), whole.size());
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].data, whole[i].data);
    EXPECT_EQ(out[i].event, whole[i].event);
  }
}

TEST(Sse, OverlongLineIsAnHttpError) {
  SseParser p(16);
  std::vector<SseEvent> out;
  try {
    p.feed("data: 0123456789abcdefghij", out);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::http);
  }
}

TEST(Ndjson, SplitsLinesAcrossChunksAndSkipsBlankOnes) {
  NdjsonSplitter s;
  std::vector<std::string> out;
  s.feed("{\"a\":1}\n\n{\"b\"", out);
  s.feed(":2}\r\n   \n{\"c\":3}", out);
  s.finish(out);
  EXPECT_THAT(out, ::testing::ElementsAre("{\"a\":1}", "{\"b\":2}", "{\"c\":3}"));
}

TEST(Ndjson, FinishWithoutPartialLineEmitsNothing) {
  NdjsonSplitter s;
  std::vector<std::string> out;
  s.feed("{}\n", out);
  s.finish(out);
  EXPECT_EQ(out.size(), 1u);
}

// The decoded result of a whole wire file fed in the given pieces, all at time 1.0.
template <typename Decoder>
Completion decode(const std::vector<std::string_view>& pieces, const std::string& content_type) {
  Decoder d("http://127.0.0.1:9/v1/chat/completions", 40);
  d.on_start(200, content_type);
  for (auto p : pieces) d.on_data(p, 1.0);
  return d.finish(2.0);
}

void expect_same(const Completion& a, const Completion& b) {
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.reasoning, b.reasoning);
  EXPECT_EQ(a.finish_reason, b.finish_reason);
  EXPECT_EQ(a.prompt_tokens, b.prompt_tokens);
  EXPECT_EQ(a.completion_tokens, b.completion_tokens);
  EXPECT_EQ(a.reasoning_tokens, b.reasoning_tokens);
  EXPECT_EQ(a.tokens_estimated, b.tokens_estimated);
  EXPECT_EQ(a.token_times_s.size(), b.token_times_s.size());
  EXPECT_EQ(a.server_eval_s, b.server_eval_s);
}

template <typename Decoder>
void expect_chunking_invariant(const std::string& file, const std::string& content_type) {
  std::string text = wire(file);
  Completion whole = decode<Decoder>({text}, content_type);
  for (unsigned seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE(seed);
    expect_same(decode<Decoder>(random_pieces(text, seed, seed % 2 ? 7 : 300), content_type), whole);
  }
}

TEST(WireOpenAI, StreamGivesContentUsageAndOneTimePerContentChunk) {
  Completion c = decode<OpenAIChatDecoder>({wire("openai_stream.sse")}, "text/event-stream");
  EXPECT_EQ(c.text, "Water boils at 100 °C at sea level.");
  EXPECT_EQ(c.reasoning, "");
  EXPECT_EQ(c.finish_reason, "stop");
  EXPECT_EQ(c.prompt_tokens, 19);
  EXPECT_EQ(c.completion_tokens, 9);
  EXPECT_FALSE(c.tokens_estimated);
  EXPECT_EQ(c.token_times_s.size(), 6u);  // the role-only first chunk does not count
}

TEST(WireOpenAI, StreamDecodesTheSameInRandomPieces) {
  expect_chunking_invariant<OpenAIChatDecoder>("openai_stream.sse", "text/event-stream");
}

TEST(WireOpenAI, StreamWithCrLfLineEndsDecodesTheSame) {
  std::string text = wire("openai_stream.sse"), crlf;
  for (char ch : text) crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
  expect_same(decode<OpenAIChatDecoder>({crlf}, "text/event-stream"),
              decode<OpenAIChatDecoder>({text}, "text/event-stream"));
}

TEST(WireLlamaCpp, NullFirstContentAndReasoningContentAreSeparated) {
  Completion c = decode<OpenAIChatDecoder>({wire("llamacpp_stream.sse")}, "text/event-stream");
  EXPECT_EQ(c.reasoning, "The user wants 12 × 12.\nThat is 144.");
  EXPECT_EQ(c.text, "144.");
  EXPECT_EQ(c.completion_tokens, 12);
  EXPECT_EQ(c.prompt_tokens, 16);
  EXPECT_EQ(c.token_times_s.size(), 7u);
}

TEST(WireLlamaCpp, DecodesTheSameInRandomPieces) {
  expect_chunking_invariant<OpenAIChatDecoder>("llamacpp_stream.sse", "text/event-stream");
}

TEST(WireVllm, ReasoningThenAnswerWithUsageChunk) {
  Completion c = decode<OpenAIChatDecoder>({wire("vllm_reasoning.sse")}, "text/event-stream");
  EXPECT_EQ(c.reasoning, "\nPrimes below 10: 2, 3, 5, 7.\n");
  EXPECT_EQ(c.text, "\n\nThere are **4** primes below 10.");
  EXPECT_EQ(c.completion_tokens, 30);
  EXPECT_EQ(c.prompt_tokens, 14);
  EXPECT_EQ(c.reasoning_tokens, 0);  // vLLM does not report it
  EXPECT_FALSE(c.tokens_estimated);
}

TEST(WireVllm, DecodesTheSameInRandomPieces) {
  expect_chunking_invariant<OpenAIChatDecoder>("vllm_reasoning.sse", "text/event-stream");
}

TEST(WireOpenAI, ErrorObjectInStreamIsAnHttpErrorWithItsMessage) {
  std::string text = wire("openai_error_stream.sse");
  for (unsigned seed : {0u, 3u}) {
    try {
      decode<OpenAIChatDecoder>(seed ? random_pieces(text, seed, 5) : std::vector<std::string_view>{text},
                                "text/event-stream");
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), Errc::http);
      EXPECT_THAT(e.what(), HasSubstr("inference worker serving this request stopped unexpectedly"));
    }
  }
}

TEST(WireOpenAI, NonStreamedJsonAnswerIsParsedWithUsage) {
  Completion c = decode<OpenAIChatDecoder>({wire("openai_nonstream.json")}, "application/json");
  EXPECT_EQ(c.text, "The answer is (C).");
  EXPECT_EQ(c.prompt_tokens, 58);
  EXPECT_EQ(c.completion_tokens, 203);
  EXPECT_EQ(c.reasoning_tokens, 192);
  EXPECT_EQ(c.first_token_s, 1.0);
  EXPECT_EQ(c.token_times_s.size(), 1u);
}

TEST(WireOpenAI, NonStreamedJsonDecodesTheSameInRandomPieces) {
  expect_chunking_invariant<OpenAIChatDecoder>("openai_nonstream.json", "application/json");
}

TEST(WireOllama, ThinkingContentCountsAndServerDurations) {
  Completion c = decode<OllamaChatDecoder>({wire("ollama_chat.ndjson")}, "application/x-ndjson");
  EXPECT_EQ(c.reasoning, "Okay, the capital is Canberra.");
  EXPECT_EQ(c.text, "Canberra is the capital of Australia.");
  EXPECT_EQ(c.finish_reason, "stop");
  EXPECT_EQ(c.prompt_tokens, 17);
  EXPECT_EQ(c.completion_tokens, 15);
  EXPECT_EQ(c.reasoning_tokens, 6);
  EXPECT_FALSE(c.tokens_estimated);
  EXPECT_DOUBLE_EQ(c.server_prompt_eval_s, 0.088410272);
  EXPECT_DOUBLE_EQ(c.server_eval_s, 0.296947205);
  EXPECT_EQ(c.token_times_s.size(), 13u);
}

TEST(WireOllama, DecodesTheSameInRandomPieces) {
  expect_chunking_invariant<OllamaChatDecoder>("ollama_chat.ndjson", "application/x-ndjson");
}

TEST(WireOllama, ErrorLineIsAnHttpErrorWithItsMessage) {
  try {
    decode<OllamaChatDecoder>({wire("ollama_error.ndjson")}, "application/x-ndjson");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::http);
    EXPECT_THAT(e.what(), HasSubstr("out of memory allocating the KV cache"));
  }
}

TEST(WireOllama, StreamWithoutDoneLineIsTruncated) {
  std::string text = wire("ollama_chat.ndjson");
  text.resize(text.rfind("{\"model\""));  // drop the final done line
  try {
    decode<OllamaChatDecoder>({text}, "application/x-ndjson");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::http);
    EXPECT_THAT(e.what(), HasSubstr("stream truncated"));
  }
}

TEST(OpenAIDecoder, StreamWithoutDoneOrFinishReasonIsTruncated) {
  std::string text = wire("openai_stream.sse");
  text.resize(text.find("data: {", text.find("100")));  // cut after the " 100" chunk
  try {
    decode<OpenAIChatDecoder>({text}, "text/event-stream");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::http);
    EXPECT_THAT(e.what(), HasSubstr("stream truncated"));
    EXPECT_THAT(e.what(), HasSubstr("http://127.0.0.1:9/v1/chat/completions"));
  }
}

TEST(OpenAIDecoder, FinishReasonWithoutDoneIsAccepted) {
  std::string text = wire("openai_stream.sse");
  text.resize(text.find("data: [DONE]"));
  EXPECT_EQ(decode<OpenAIChatDecoder>({text}, "text/event-stream").finish_reason, "stop");
}

TEST(OpenAIDecoder, MalformedChunkQuotesItsStart) {
  try {
    decode<OpenAIChatDecoder>({"data: {\"choices\": [\n\n"}, "text/event-stream");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::http);
    EXPECT_THAT(e.what(), HasSubstr("'{\"choices\": ['"));
  }
}

TEST(OpenAIDecoder, ReasoningFieldIsReadAsReasoning) {
  Completion c = decode<OpenAIChatDecoder>(
      {"data: {\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\"hmm\"}}]}\n\n"
       "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}\n\n"
       "data: [DONE]\n\n"},
      "text/event-stream");
  EXPECT_EQ(c.reasoning, "hmm");
  EXPECT_EQ(c.text, "ok");
}

TEST(OpenAIDecoder, WithoutUsageCountsChunksAndEstimatesThePrompt) {
  Completion c = decode<OpenAIChatDecoder>(
      {"data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n"
       "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
       "data: {\"choices\":[{\"delta\":{\"content\":\"b\"}}]}\n\n"
       "data: {\"choices\":[{\"delta\":{\"reasoning_content\":\"r\"}}]}\n\n"
       "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"length\"}]}\n\ndata: [DONE]\n\n"},
      "text/event-stream");
  EXPECT_TRUE(c.tokens_estimated);
  EXPECT_EQ(c.completion_tokens, 3);
  EXPECT_EQ(c.reasoning_tokens, 1);
  EXPECT_EQ(c.prompt_tokens, 10);  // 40 prompt characters / 4
  EXPECT_EQ(c.finish_reason, "length");
}

TEST(OpenAIDecoder, HtmlPageIsRejectedWithAHintAboutBaseUrl) {
  OpenAIChatDecoder d("http://127.0.0.1:9/chat/completions", 0);
  try {
    d.on_start(200, "text/html; charset=utf-8");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::http);
    EXPECT_THAT(e.what(), HasSubstr("--base-url"));
  }
}

TEST(OpenAIBody, StreamsWithUsageAndSamplingSettings) {
  ChatRequest req;
  req.messages = {{"system", "Be brief."}, {"user", "Hi"}};
  req.params = {0.0, 7, 64};
  Json b = Json::parse(openai_chat_body("Qwen/Qwen3-8B", req));
  EXPECT_EQ(b["model"], "Qwen/Qwen3-8B");
  EXPECT_EQ(b["stream"], true);
  EXPECT_EQ(b["stream_options"]["include_usage"], true);
  EXPECT_EQ(b["messages"][1]["content"], "Hi");
  EXPECT_EQ(b["temperature"], 0.0);
  EXPECT_EQ(b["seed"], 7);
  EXPECT_EQ(b["max_tokens"], 64);
  EXPECT_FALSE(b.contains("max_completion_tokens"));
}

TEST(OpenAIBody, ReasoningModelsGetMaxCompletionTokensAndNoTemperature) {
  ChatRequest req;
  req.messages = {{"user", "Hi"}};
  for (const char* m : {"o3-mini", "o1", "o4-mini", "gpt-5-mini"}) {
    Json b = Json::parse(openai_chat_body(m, req));
    EXPECT_EQ(b["max_completion_tokens"], 512) << m;
    EXPECT_FALSE(b.contains("max_tokens")) << m;
    EXPECT_FALSE(b.contains("temperature")) << m;
  }
}

TEST(OllamaBody, UsesNativeOptions) {
  ChatRequest req;
  req.messages = {{"user", "Hi"}};
  req.params = {0.5, 3, 100};
  Json b = Json::parse(ollama_chat_body("qwen3:8b", req));
  EXPECT_EQ(b["stream"], true);
  EXPECT_EQ(b["options"]["temperature"], 0.5);
  EXPECT_EQ(b["options"]["seed"], 3);
  EXPECT_EQ(b["options"]["num_predict"], 100);
}

// The decoded result of an event stream cut at the given offsets: piece i arrives at i + 1 s,
// the stream ends a second after the last piece.
template <typename Decoder>
Completion decode_timed(std::string_view text, const std::vector<size_t>& cuts) {
  Decoder d("http://127.0.0.1:9/v1", 40);
  d.on_start(200, "text/event-stream");
  size_t from = 0;
  double t = 1.0;
  for (size_t cut : cuts) {
    d.on_data(text.substr(from, cut - from), t++);
    from = cut;
  }
  d.on_data(text.substr(from), t);
  return d.finish(t + 1);
}

// The error a decoder throws for the given pieces (fails the test when it decodes).
template <typename Decoder>
Error decode_error(const std::vector<std::string_view>& pieces) {
  try {
    decode<Decoder>(pieces, "text/event-stream");
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "decoded without an error";
  return Error(Errc::internal, "");
}

TEST(WireAnthropic, ThinkingAndTextBlocksAreSeparatedWithUsageAndCacheTokens) {
  Completion c = decode<AnthropicMessagesDecoder>({wire("anthropic_stream.sse")}, "text/event-stream");
  EXPECT_EQ(c.reasoning, "The user asks for 17 × 3.\n10 × 3 = 30 and 7 × 3 = 21, so 51.");
  EXPECT_EQ(c.text, "17 × 3 = **51**.");
  EXPECT_EQ(c.finish_reason, "end_turn");
  EXPECT_EQ(c.prompt_tokens, 43);  // 31 input + 12 read from the prompt cache
  EXPECT_EQ(c.completion_tokens, 58);
  EXPECT_EQ(c.reasoning_tokens, 0);  // the API does not count thinking apart
  EXPECT_FALSE(c.tokens_estimated);
  EXPECT_EQ(c.token_times_s.size(), 4u);  // block starts, the signature and ping are no tokens
}

TEST(WireAnthropic, DecodesTheSameInRandomPieces) {
  expect_chunking_invariant<AnthropicMessagesDecoder>("anthropic_stream.sse", "text/event-stream");
}

TEST(WireAnthropic, ErrorEventIsAnHttpErrorWithItsTypeAndMessage) {
  std::string text = wire("anthropic_error.sse");
  for (unsigned seed : {0u, 5u}) {
    Error e = decode_error<AnthropicMessagesDecoder>(
        seed ? random_pieces(text, seed, 9) : std::vector<std::string_view>{text});
    EXPECT_EQ(e.code(), Errc::http);
    EXPECT_THAT(e.what(), HasSubstr("overloaded_error: Overloaded"));
  }
}

TEST(AnthropicDecoder, FirstTokenIsTheFirstTextDeltaAndFirstReasoningTheFirstThinkingDelta) {
  std::string text = wire("anthropic_stream.sse");
  size_t thinking = text.find("event: content_block_delta");
  size_t answer = text.find("event: content_block_delta", text.find("\"index\":1"));
  // Message and block starts and the ping at 1 s, the thinking deltas at 2 s, the answer at 3 s.
  Completion c = decode_timed<AnthropicMessagesDecoder>(text, {thinking, answer});
  EXPECT_EQ(c.first_reasoning_s, 2.0);
  EXPECT_EQ(c.first_token_s, 3.0);
  EXPECT_EQ(c.end_s, 4.0);
}

TEST(AnthropicDecoder, StreamWithoutMessageStopIsTruncated) {
  std::string text = wire("anthropic_stream.sse");
  text.resize(text.find("event: message_stop"));
  Error e = decode_error<AnthropicMessagesDecoder>({text});
  EXPECT_EQ(e.code(), Errc::http);
  EXPECT_THAT(e.what(), HasSubstr("stream truncated"));
  EXPECT_THAT(e.what(), HasSubstr("message_stop"));
}

TEST(AnthropicDecoder, MalformedEventQuotesItsStart) {
  Error e = decode_error<AnthropicMessagesDecoder>({"event: content_block_delta\ndata: {\"type\": \"content_\n\n"});
  EXPECT_EQ(e.code(), Errc::http);
  EXPECT_THAT(e.what(), HasSubstr("'{\"type\": \"content_'"));
}

TEST(AnthropicDecoder, WithoutUsageCountsDeltasAndEstimatesThePrompt) {
  Completion c = decode<AnthropicMessagesDecoder>(
      {"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"role\":\"assistant\"}}\n\n"
       "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"r\"}}\n\n"
       "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"a\"}}\n\n"
       "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"}}\n\n"
       "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"},
      "text/event-stream");
  EXPECT_TRUE(c.tokens_estimated);
  EXPECT_EQ(c.completion_tokens, 2);
  EXPECT_EQ(c.reasoning_tokens, 1);
  EXPECT_EQ(c.prompt_tokens, 10);  // 40 prompt characters / 4
  EXPECT_EQ(c.finish_reason, "max_tokens");
}

TEST(WireGemini, ThoughtPartIsReasoningAndTheLastChunkGivesTheUsage) {
  Completion c = decode<GeminiGenerateDecoder>({wire("gemini_stream.sse")}, "text/event-stream");
  EXPECT_EQ(c.reasoning, "**Adding the numbers**\n\nThe user wants 19 + 23. 19 + 20 is 39, plus 3 is 42.\n");
  EXPECT_EQ(c.text, "19 + 23 = 42");
  EXPECT_EQ(c.finish_reason, "STOP");
  EXPECT_EQ(c.prompt_tokens, 14);
  EXPECT_EQ(c.completion_tokens, 47);  // 8 answer + 39 thought tokens
  EXPECT_EQ(c.reasoning_tokens, 39);
  EXPECT_FALSE(c.tokens_estimated);
  EXPECT_EQ(c.token_times_s.size(), 3u);
}

TEST(WireGemini, DecodesTheSameInRandomPieces) {
  expect_chunking_invariant<GeminiGenerateDecoder>("gemini_stream.sse", "text/event-stream");
}

TEST(GeminiDecoder, FirstTokenIsTheFirstAnswerPartAndFirstReasoningTheFirstThought) {
  std::string text = wire("gemini_stream.sse");
  // The thought chunk at 1 s, the two answer chunks at 2 s.
  Completion c = decode_timed<GeminiGenerateDecoder>(text, {text.find("data: ", 1)});
  EXPECT_EQ(c.first_reasoning_s, 1.0);
  EXPECT_EQ(c.first_token_s, 2.0);
}

TEST(GeminiDecoder, StreamWithoutFinishReasonIsTruncated) {
  std::string text = wire("gemini_stream.sse");
  text.resize(text.rfind("data: "));
  Error e = decode_error<GeminiGenerateDecoder>({text});
  EXPECT_EQ(e.code(), Errc::http);
  EXPECT_THAT(e.what(), HasSubstr("stream truncated"));
  EXPECT_THAT(e.what(), HasSubstr("finishReason"));
}

TEST(GeminiDecoder, ErrorChunkIsAnHttpErrorWithItsStatusAndMessage) {
  Error e = decode_error<GeminiGenerateDecoder>(
      {"data: {\"error\": {\"code\": 503, \"message\": \"The model is overloaded. Please try again later.\", "
       "\"status\": \"UNAVAILABLE\"}}\r\n\r\n"});
  EXPECT_EQ(e.code(), Errc::http);
  EXPECT_THAT(e.what(), HasSubstr("UNAVAILABLE: The model is overloaded"));
}

TEST(GeminiDecoder, MalformedChunkQuotesItsStart) {
  Error e = decode_error<GeminiGenerateDecoder>({"data: {\"candidates\": [\r\n\r\n"});
  EXPECT_EQ(e.code(), Errc::http);
  EXPECT_THAT(e.what(), HasSubstr("'{\"candidates\": ['"));
}

TEST(GeminiDecoder, BlockedPromptEndsWithItsBlockReason) {
  Completion c = decode<GeminiGenerateDecoder>(
      {"data: {\"promptFeedback\": {\"blockReason\": \"SAFETY\"},\"usageMetadata\": {\"promptTokenCount\": 9,"
       "\"totalTokenCount\": 9}}\r\n\r\n"},
      "text/event-stream");
  EXPECT_EQ(c.finish_reason, "SAFETY");
  EXPECT_EQ(c.text, "");
  EXPECT_EQ(c.prompt_tokens, 9);
}

TEST(AnthropicBody, SystemMessagesGoToTheTopLevelSystemField) {
  ChatRequest req;
  req.messages = {{"system", "Be brief."}, {"system", "Use SI units."}, {"user", "Hi"}, {"assistant", "Hello"}, {"user", "g?"}};
  req.params = {0.2, 7, 64};
  Json b = Json::parse(anthropic_messages_body("claude-sonnet-4-5", req));
  EXPECT_EQ(b["model"], "claude-sonnet-4-5");
  EXPECT_EQ(b["system"], "Be brief.\n\nUse SI units.");
  ASSERT_EQ(b["messages"].size(), 3u);
  EXPECT_EQ(b["messages"][0], Json({{"role", "user"}, {"content", "Hi"}}));
  EXPECT_EQ(b["messages"][1]["role"], "assistant");
  EXPECT_EQ(b["stream"], true);
  EXPECT_EQ(b["temperature"], 0.2);
  EXPECT_EQ(b["max_tokens"], 64);
  EXPECT_FALSE(b.contains("seed"));  // the API has none
}

TEST(AnthropicBody, MaxTokensIsSentEvenWhenTheRequestSetsNone) {
  ChatRequest req;
  req.messages = {{"user", "Hi"}};
  req.params.max_tokens = 0;
  Json b = Json::parse(anthropic_messages_body("m", req));
  EXPECT_EQ(b["max_tokens"], 4096);
  EXPECT_FALSE(b.contains("system"));
}

TEST(GeminiBody, AssistantIsModelAndSystemIsSystemInstruction) {
  ChatRequest req;
  req.messages = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello"}, {"user", "g?"}};
  req.params = {0.5, 3, 100};
  Json b = Json::parse(gemini_generate_body("gemini-2.5-flash", req));
  EXPECT_FALSE(b.contains("model"));  // it is in the URL
  EXPECT_EQ(b["systemInstruction"], Json::parse(R"({"parts": [{"text": "Be brief."}]})"));
  ASSERT_EQ(b["contents"].size(), 3u);
  EXPECT_EQ(b["contents"][0], Json::parse(R"({"role": "user", "parts": [{"text": "Hi"}]})"));
  EXPECT_EQ(b["contents"][1]["role"], "model");
  EXPECT_EQ(b["generationConfig"], Json::parse(R"({"temperature": 0.5, "seed": 3, "maxOutputTokens": 100})"));
}

}  // namespace
}  // namespace ipw::backends
