#include "events/envelope.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace homeostat::events {
namespace {

constexpr int64_t kNowMs = 1796315555000;  // 2026-12-03T16:32:35Z
constexpr const char* kNowText = "2026-12-03T16:32:35Z";

// The three required fields, valid, for entries that add or break one more.
const std::string kRequired = R"("source":"my.app","detail-type":"Thing Happened","detail":{})";

std::string with(const std::string& extra) {
  return "{" + kRequired + "," + extra + "}";
}

// Says what an entry holds, for failure messages.
std::string describe(const Entry& entry) {
  if (const auto* e = std::get_if<Event>(&entry)) {
    return "event " + e->json;
  }
  const auto& err = std::get<EntryError>(entry);
  return std::string(entry_error_name(err.code)) + ": " + err.message;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A parser on a clock that stands still, with the default limits unless a test gives others.
class Envelope : public ::testing::Test {
 protected:
  EnvelopeParser parser(Limits limits = {}, Defaults defaults = {}) {
    return EnvelopeParser(limits, std::move(defaults), ids_, clock_);
  }

  core::ManualClock clock_{kNowMs};
  core::IdGenerator ids_{clock_};
};

struct BadEntry {
  std::string json;
  EntryErrorCode code;
  std::string name;  // the code's API name
  std::string why;   // a part of the message that names the fault
};

TEST_F(Envelope, RefusesEachKindOfBadEntryWithItsCodeAndAMessageNamingTheFault) {
  const std::vector<BadEntry> cases = {
      // Not JSON at all.
      {"", EntryErrorCode::kInvalidJson, "InvalidJson", "not JSON"},
      {R"({"source":"my.app",)", EntryErrorCode::kInvalidJson, "InvalidJson", "not JSON"},
      {R"({source: "my.app"})", EntryErrorCode::kInvalidJson, "InvalidJson", "not JSON"},
      {"{" + kRequired + "} {}", EntryErrorCode::kInvalidJson, "InvalidJson", "not JSON"},
      // JSON, but not an object.
      {"[]", EntryErrorCode::kNotAnObject, "NotAnObject", "got an array"},
      {"42", EntryErrorCode::kNotAnObject, "NotAnObject", "got a number"},
      {R"("event")", EntryErrorCode::kNotAnObject, "NotAnObject", "got a string"},
      {"null", EntryErrorCode::kNotAnObject, "NotAnObject", "got null"},
      {"true", EntryErrorCode::kNotAnObject, "NotAnObject", "got a boolean"},
      // A required field is absent.
      {R"({"detail-type":"T","detail":{}})", EntryErrorCode::kMissingField, "MissingField",
       R"(missing required field "source")"},
      {R"({"source":"s","detail":{}})", EntryErrorCode::kMissingField, "MissingField",
       R"(missing required field "detail-type")"},
      {R"({"source":"s","detail-type":"T"})", EntryErrorCode::kMissingField, "MissingField",
       R"(missing required field "detail")"},
      // A required string is empty.
      {R"({"source":"","detail-type":"T","detail":{}})", EntryErrorCode::kEmptyField, "EmptyField",
       R"("source" must not be empty)"},
      {R"({"source":"s","detail-type":"","detail":{}})", EntryErrorCode::kEmptyField, "EmptyField",
       R"("detail-type" must not be empty)"},
      // Each field with a type it must not have.
      {R"({"source":1,"detail-type":"T","detail":{}})", EntryErrorCode::kWrongType, "WrongType",
       R"("source" must be a string, got a number)"},
      {R"({"source":"s","detail-type":true,"detail":{}})", EntryErrorCode::kWrongType, "WrongType",
       R"("detail-type" must be a string, got a boolean)"},
      {R"({"source":"s","detail-type":"T","detail":"x"})", EntryErrorCode::kWrongType, "WrongType",
       R"("detail" must be an object, got a string)"},
      {R"({"source":"s","detail-type":"T","detail":[]})", EntryErrorCode::kWrongType, "WrongType",
       R"("detail" must be an object, got an array)"},
      {R"({"source":"s","detail-type":"T","detail":null})", EntryErrorCode::kWrongType, "WrongType",
       R"("detail" must be an object, got null)"},
      {with(R"("version":0)"), EntryErrorCode::kWrongType, "WrongType",
       R"("version" must be a string, got a number)"},
      {with(R"("id":5)"), EntryErrorCode::kWrongType, "WrongType",
       R"("id" must be a string, got a number)"},
      {with(R"("account":null)"), EntryErrorCode::kWrongType, "WrongType",
       R"("account" must be a string, got null)"},
      {with(R"("region":{})"), EntryErrorCode::kWrongType, "WrongType",
       R"("region" must be a string, got an object)"},
      {with(R"("time":1796315555)"), EntryErrorCode::kWrongType, "WrongType",
       R"("time" must be a string, got a number)"},
      {with(R"("resources":"arn:a")"), EntryErrorCode::kWrongType, "WrongType",
       R"("resources" must be an array of strings, got a string)"},
      {with(R"("resources":[1])"), EntryErrorCode::kWrongType, "WrongType",
       R"("resources[0]" must be a string, got a number)"},
      {with(R"("resources":["arn:a",null])"), EntryErrorCode::kWrongType, "WrongType",
       R"("resources[1]" must be a string, got null)"},
      // A time that is not RFC 3339.
      {with(R"("time":"yesterday")"), EntryErrorCode::kInvalidTime, "InvalidTime",
       R"("time": not an RFC 3339 date-time)"},
      {with(R"("time":"2026-02-30T00:00:00Z")"), EntryErrorCode::kInvalidTime, "InvalidTime",
       "no such date"},
      {with(R"("time":"2026-12-03T16:32:35")"), EntryErrorCode::kInvalidTime, "InvalidTime",
       "missing the zone"},
      // An id that does not fit in a URL path unescaped, or is too long.
      {with(R"("id":"")"), EntryErrorCode::kInvalidId, "InvalidId", "1 to 128 characters"},
      {with(R"("id":"has space")"), EntryErrorCode::kInvalidId, "InvalidId", R"("id" must be)"},
      {with(R"("id":"a/b")"), EntryErrorCode::kInvalidId, "InvalidId", R"("id" must be)"},
      {with(R"("id":"caf\u00e9")"), EntryErrorCode::kInvalidId, "InvalidId", R"("id" must be)"},
      {with(R"("id":")" + std::string(129, 'a') + "\""), EntryErrorCode::kInvalidId, "InvalidId",
       R"("id" must be)"},
      // A field the envelope does not have, or one given twice.
      {with(R"("extra":1)"), EntryErrorCode::kUnknownField, "UnknownField",
       R"(unknown field "extra")"},
      {with(R"("Source":"my.app")"), EntryErrorCode::kUnknownField, "UnknownField",
       R"(unknown field "Source")"},
      {with(R"("source":"other.app")"), EntryErrorCode::kUnknownField, "UnknownField",
       R"(field "source" appears twice)"},
      {with(R"("detail":{"again":true})"), EntryErrorCode::kUnknownField, "UnknownField",
       R"(field "detail" appears twice)"},
  };
  const EnvelopeParser p = parser();
  for (const BadEntry& c : cases) {
    SCOPED_TRACE(c.json);
    const Entry entry = p.parse_entry(c.json);
    const auto* err = std::get_if<EntryError>(&entry);
    ASSERT_NE(err, nullptr) << describe(entry);
    EXPECT_EQ(err->code, c.code) << describe(entry);
    EXPECT_EQ(entry_error_name(err->code), c.name);
    EXPECT_TRUE(contains(err->message, c.why)) << err->message;
  }
}

TEST_F(Envelope, AcceptsACanonicalEventAtTheEntrySizeLimitAndRefusesOneByteMore) {
  const std::string json = with(R"("id":"evt-1","time":"2026-12-03T16:32:35Z")");
  const Entry sized = parser().parse_entry(json);
  ASSERT_TRUE(std::holds_alternative<Event>(sized)) << describe(sized);
  const size_t size = std::get<Event>(sized).json.size();

  Limits limits;
  limits.max_entry_bytes = size;
  const Entry at_limit = parser(limits).parse_entry(json);
  EXPECT_TRUE(std::holds_alternative<Event>(at_limit)) << describe(at_limit);

  limits.max_entry_bytes = size - 1;
  const Entry over = parser(limits).parse_entry(json);
  const auto* err = std::get_if<EntryError>(&over);
  ASSERT_NE(err, nullptr) << describe(over);
  EXPECT_EQ(err->code, EntryErrorCode::kEntryTooLarge);
  EXPECT_EQ(entry_error_name(err->code), std::string("EntryTooLarge"));
  EXPECT_TRUE(contains(err->message, std::to_string(size) + " bytes")) << err->message;
  EXPECT_TRUE(contains(err->message, "limit of " + std::to_string(size - 1))) << err->message;
}

TEST_F(Envelope, MeasuresTheEntrySizeLimitOnTheMinifiedText) {
  // Whitespace in the request does not count against the limit; the stored text is what does.
  const std::string compact = with(R"("id":"evt-1","time":"2026-12-03T16:32:35Z")");
  const size_t size = std::get<Event>(parser().parse_entry(compact)).json.size();
  const std::string padded =
      R"({ "source" : "my.app" ,  "detail-type" : "Thing Happened" , "detail" : {  } ,)"
      "\n  " +
      std::string(200, ' ') + R"("id" : "evt-1" , "time" : "2026-12-03T16:32:35Z" })";

  Limits limits;
  limits.max_entry_bytes = size;
  const Entry entry = parser(limits).parse_entry(padded);
  EXPECT_TRUE(std::holds_alternative<Event>(entry)) << describe(entry);
}

TEST_F(Envelope, WritesCanonicalJsonInEnvelopeOrderWhateverTheInputOrder) {
  const std::string json = R"({ "detail": { "b": 1, "a": [ 1, 2 ], "c": { "d": "e" } },
      "resources": ["arn:aws:ec2:eu-west-1:123456789012:instance/i-1", "arn:x"],
      "region": "eu-west-1", "time": "2026-12-03T16:32:35.250+01:00",
      "account": "123456789012", "source": "my.app", "detail-type": "Thing Happened",
      "id": "evt-1", "version": "1" })";
  const Entry entry = parser().parse_entry(json);
  const auto* event = std::get_if<Event>(&entry);
  ASSERT_NE(event, nullptr) << describe(entry);
  EXPECT_EQ(event->json,
            R"({"version":"1","id":"evt-1","detail-type":"Thing Happened","source":"my.app",)"
            R"("account":"123456789012","time":"2026-12-03T16:32:35.250+01:00",)"
            R"("region":"eu-west-1","resources":["arn:aws:ec2:eu-west-1:123456789012:)"
            R"(instance/i-1","arn:x"],"detail":{"b":1,"a":[1,2],"c":{"d":"e"}}})");
  EXPECT_EQ(event->id, "evt-1");
  EXPECT_EQ(event->source, "my.app");
  EXPECT_EQ(event->detail_type, "Thing Happened");
  EXPECT_EQ(event->time_ms, 1796311955250);
}

TEST_F(Envelope, FillsVersionAccountRegionAndResourcesFromTheDefaults) {
  Defaults defaults;
  defaults.account = "111122223333";
  defaults.region = "eu-central-1";
  const Entry entry = parser({}, defaults).parse_entry(with(R"("id":"evt-1")"));
  const auto* event = std::get_if<Event>(&entry);
  ASSERT_NE(event, nullptr) << describe(entry);
  EXPECT_EQ(event->json,
            R"({"version":"0","id":"evt-1","detail-type":"Thing Happened","source":"my.app",)"
            R"("account":"111122223333","time":"2026-12-03T16:32:35Z",)"
            R"("region":"eu-central-1","resources":[],"detail":{}})");
}

TEST_F(Envelope, KeepsAccountAndRegionTheEventCarries) {
  const Entry entry =
      parser().parse_entry(with(R"("id":"evt-1","account":"999","region":"ap-south-1")"));
  const auto* event = std::get_if<Event>(&entry);
  ASSERT_NE(event, nullptr) << describe(entry);
  EXPECT_TRUE(contains(event->json, R"("account":"999")")) << event->json;
  EXPECT_TRUE(contains(event->json, R"("region":"ap-south-1")")) << event->json;
}

TEST_F(Envelope, FillsAnAbsentIdAndTimeFromTheGeneratorAndTheClock) {
  const Entry entry = parser().parse_entry("{" + kRequired + "}");
  const auto* event = std::get_if<Event>(&entry);
  ASSERT_NE(event, nullptr) << describe(entry);
  EXPECT_EQ(core::uuid7_time_ms(event->id), kNowMs) << event->id;
  EXPECT_EQ(event->time_ms, kNowMs);
  EXPECT_TRUE(contains(event->json, R"("id":")" + event->id + "\"")) << event->json;
  EXPECT_TRUE(contains(event->json, R"("time":")" + std::string(kNowText) + "\"")) << event->json;
}

TEST_F(Envelope, AFilledTimeReadsTheSameInTheTextAsInTheIndex) {
  // Lookups by time use time_ms; whoever reads the event sees the text. Both must agree, also
  // when the clock stands between two seconds.
  clock_.set_ms(kNowMs + 750);
  const Entry entry = parser().parse_entry("{" + kRequired + "}");
  const auto* event = std::get_if<Event>(&entry);
  ASSERT_NE(event, nullptr) << describe(entry);
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(event->json, ec);
  ASSERT_FALSE(ec) << ec.message();
  const auto text_ms = core::parse_rfc3339(std::string(parsed.at("time").as_string()));
  ASSERT_TRUE(text_ms.ok()) << event->json;
  EXPECT_EQ(*text_ms, event->time_ms) << event->json;
}

TEST_F(Envelope, EscapesStringsAgainInTheCanonicalText) {
  const Entry entry = parser().parse_entry(
      R"({"source":"a\"b\\c","detail-type":"line\nbreak","detail":{},"id":"evt-1"})");
  const auto* event = std::get_if<Event>(&entry);
  ASSERT_NE(event, nullptr) << describe(entry);
  EXPECT_EQ(event->source, "a\"b\\c");
  EXPECT_EQ(event->detail_type, "line\nbreak");
  EXPECT_TRUE(contains(event->json, R"("source":"a\"b\\c")")) << event->json;
  EXPECT_TRUE(contains(event->json, R"("detail-type":"line\nbreak")")) << event->json;
  boost::system::error_code ec;
  const boost::json::value parsed = boost::json::parse(event->json, ec);
  ASSERT_FALSE(ec) << ec.message() << ": " << event->json;
  EXPECT_EQ(parsed.at("source").as_string(), "a\"b\\c");
}

TEST_F(Envelope, KeepsEachEntrysResultInOrderInAnArray) {
  const std::string body = "[" + with(R"("id":"first")") + ", 42, {" + kRequired + "}, " +
                           R"({"source":"","detail-type":"T","detail":{}}, {)" + kRequired + "}]";
  const auto entries = parser().parse_batch(body, BodyFormat::kAuto);
  ASSERT_TRUE(entries.ok()) << entries.error().message();
  ASSERT_EQ(entries->size(), 5u);

  const auto* first = std::get_if<Event>(&(*entries)[0]);
  ASSERT_NE(first, nullptr) << describe((*entries)[0]);
  EXPECT_EQ(first->id, "first");
  ASSERT_TRUE(std::holds_alternative<EntryError>((*entries)[1]));
  EXPECT_EQ(std::get<EntryError>((*entries)[1]).code, EntryErrorCode::kNotAnObject);
  const auto* third = std::get_if<Event>(&(*entries)[2]);
  ASSERT_NE(third, nullptr) << describe((*entries)[2]);
  ASSERT_TRUE(std::holds_alternative<EntryError>((*entries)[3]));
  EXPECT_EQ(std::get<EntryError>((*entries)[3]).code, EntryErrorCode::kEmptyField);
  const auto* fifth = std::get_if<Event>(&(*entries)[4]);
  ASSERT_NE(fifth, nullptr) << describe((*entries)[4]);
  EXPECT_LT(third->id, fifth->id) << "filled ids increase in the order of the entries";
}

TEST_F(Envelope, KeepsEachEntrysResultInOrderInNdjsonAndSkipsBlankLines) {
  const std::string body = with(R"("id":"first")") + "\n" +     // 0
                           "\n" +                               // skipped
                           "{\"source\": \n" +                  // 1: broken JSON
                           "   \t\r\n" +                        // skipped
                           "{" + kRequired + "}\r\n" +          // 2
                           "[" + with(R"("id":"x")") + "]\n" +  // 3: an array, not an object
                           "{" + kRequired + "}";               // 4, without a final newline
  for (const BodyFormat format : {BodyFormat::kAuto, BodyFormat::kNdjson}) {
    SCOPED_TRACE(format == BodyFormat::kAuto ? "auto" : "ndjson");
    const auto entries = parser().parse_batch(body, format);
    ASSERT_TRUE(entries.ok()) << entries.error().message();
    ASSERT_EQ(entries->size(), 5u);
    ASSERT_TRUE(std::holds_alternative<Event>((*entries)[0])) << describe((*entries)[0]);
    EXPECT_EQ(std::get<Event>((*entries)[0]).id, "first");
    ASSERT_TRUE(std::holds_alternative<EntryError>((*entries)[1]));
    EXPECT_EQ(std::get<EntryError>((*entries)[1]).code, EntryErrorCode::kInvalidJson);
    ASSERT_TRUE(std::holds_alternative<Event>((*entries)[2])) << describe((*entries)[2]);
    ASSERT_TRUE(std::holds_alternative<EntryError>((*entries)[3]));
    EXPECT_EQ(std::get<EntryError>((*entries)[3]).code, EntryErrorCode::kNotAnObject);
    ASSERT_TRUE(std::holds_alternative<Event>((*entries)[4])) << describe((*entries)[4]);
    EXPECT_LT(std::get<Event>((*entries)[2]).id, std::get<Event>((*entries)[4]).id);
  }
}

TEST_F(Envelope, FilledIdsIncreaseThroughABatchWhileTheClockStandsStill) {
  std::string body;
  for (int i = 0; i < 50; ++i) {
    body += "{" + kRequired + "}\n";
  }
  const auto entries = parser().parse_batch(body, BodyFormat::kNdjson);
  ASSERT_TRUE(entries.ok()) << entries.error().message();
  ASSERT_EQ(entries->size(), 50u);
  std::string previous;
  for (const Entry& entry : *entries) {
    const auto* event = std::get_if<Event>(&entry);
    ASSERT_NE(event, nullptr) << describe(entry);
    EXPECT_LT(previous, event->id);
    EXPECT_EQ(event->time_ms, kNowMs);
    previous = event->id;
  }
}

TEST_F(Envelope, TakesOnePrettyPrintedObjectOverManyLinesAsOneEvent) {
  const std::string body = R"({
  "source": "my.app",
  "detail-type": "Thing Happened",
  "detail": {
    "state": "ALARM"
  }
}
)";
  for (const BodyFormat format : {BodyFormat::kAuto, BodyFormat::kJson}) {
    const auto entries = parser().parse_batch(body, format);
    ASSERT_TRUE(entries.ok()) << entries.error().message();
    ASSERT_EQ(entries->size(), 1u);
    const auto* event = std::get_if<Event>(&(*entries)[0]);
    ASSERT_NE(event, nullptr) << describe((*entries)[0]);
    EXPECT_TRUE(contains(event->json, R"("detail":{"state":"ALARM"})")) << event->json;
  }

  // Read as NDJSON, the same text is lines of broken JSON.
  const auto lines = parser().parse_batch(body, BodyFormat::kNdjson);
  ASSERT_TRUE(lines.ok());
  EXPECT_EQ(lines->size(), 7u);
}

TEST_F(Envelope, ReadsSeveralObjectsAsOneBadEntryWhenTheBodyMustBeOneJsonValue) {
  const std::string body = "{" + kRequired + "}\n{" + kRequired + "}\n";
  const auto entries = parser().parse_batch(body, BodyFormat::kJson);
  ASSERT_TRUE(entries.ok()) << entries.error().message();
  ASSERT_EQ(entries->size(), 1u);
  ASSERT_TRUE(std::holds_alternative<EntryError>((*entries)[0]));
  EXPECT_EQ(std::get<EntryError>((*entries)[0]).code, EntryErrorCode::kInvalidJson);
}

struct BadBody {
  std::string body;
  BodyFormat format;
  std::string why;
};

TEST_F(Envelope, RefusesABodyWithNoEventsOrABrokenArrayAsAWhole) {
  const std::vector<BadBody> cases = {
      {"", BodyFormat::kAuto, "holds no event"},
      {"", BodyFormat::kJson, "holds no event"},
      {"", BodyFormat::kNdjson, "holds no event"},
      {" \n\t\r\n ", BodyFormat::kAuto, "holds no event"},
      {"\n\n", BodyFormat::kNdjson, "holds no event"},
      {"[]", BodyFormat::kAuto, "holds no event"},
      {" [ ] ", BodyFormat::kJson, "holds no event"},
      {"[{" + kRequired + "},", BodyFormat::kAuto, "not a valid JSON array"},
      {"[{" + kRequired + "}] {}", BodyFormat::kJson, "not a valid JSON array"},
  };
  for (const BadBody& c : cases) {
    SCOPED_TRACE("body: " + c.body);
    const auto entries = parser().parse_batch(c.body, c.format);
    ASSERT_FALSE(entries.ok()) << entries->size() << " entries";
    EXPECT_EQ(entries.error().code(), core::ErrorCode::kInvalidArgument);
    EXPECT_TRUE(contains(entries.error().message(), c.why)) << entries.error().message();
  }
}

TEST_F(Envelope, RefusesABodyOverTheBatchByteLimitAsTooLarge) {
  const std::string body = "[{" + kRequired + "},{" + kRequired + "}]";
  Limits limits;
  limits.max_batch_bytes = body.size();
  EXPECT_TRUE(parser(limits).parse_batch(body, BodyFormat::kAuto).ok());

  limits.max_batch_bytes = body.size() - 1;
  for (const BodyFormat format : {BodyFormat::kAuto, BodyFormat::kJson, BodyFormat::kNdjson}) {
    const auto entries = parser(limits).parse_batch(body, format);
    ASSERT_FALSE(entries.ok());
    EXPECT_EQ(entries.error().code(), core::ErrorCode::kTooLarge);
    EXPECT_TRUE(contains(entries.error().message(), std::to_string(body.size()) + " bytes"))
        << entries.error().message();
  }
}

TEST_F(Envelope, RefusesABodyOverTheBatchEntryLimitInEitherFormat) {
  Limits limits;
  limits.max_batch_entries = 3;
  const std::string event = "{" + kRequired + "}";
  const std::string array3 = "[" + event + "," + event + "," + event + "]";
  const std::string array4 = "[" + event + "," + event + "," + event + "," + event + "]";
  // Blank lines are not entries and do not count.
  const std::string lines3 = event + "\n\n" + event + "\n \n" + event + "\n";
  const std::string lines4 = lines3 + event + "\n";

  const auto ok_array = parser(limits).parse_batch(array3, BodyFormat::kAuto);
  ASSERT_TRUE(ok_array.ok()) << ok_array.error().message();
  EXPECT_EQ(ok_array->size(), 3u);
  const auto ok_lines = parser(limits).parse_batch(lines3, BodyFormat::kNdjson);
  ASSERT_TRUE(ok_lines.ok()) << ok_lines.error().message();
  EXPECT_EQ(ok_lines->size(), 3u);

  for (const auto& [body, format] :
       {std::pair{array4, BodyFormat::kAuto}, std::pair{lines4, BodyFormat::kNdjson},
        std::pair{lines4, BodyFormat::kAuto}}) {
    const auto entries = parser(limits).parse_batch(body, format);
    ASSERT_FALSE(entries.ok()) << body;
    EXPECT_EQ(entries.error().code(), core::ErrorCode::kInvalidArgument);
    EXPECT_TRUE(contains(entries.error().message(), "more than 3 entries"))
        << entries.error().message();
  }
}

TEST_F(Envelope, ParsesOnSeveralThreadsAtOnceWithOneParser) {
  const EnvelopeParser p = parser();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 200;
  std::vector<std::vector<std::string>> ids(kThreads);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string body = "[{" + kRequired + R"(,"resources":["r)" + std::to_string(t) +
                               R"("]},{)" + kRequired + "}]";
      for (int i = 0; i < kPerThread / 2; ++i) {
        auto entries = p.parse_batch(body, BodyFormat::kAuto);
        if (!entries.ok()) {
          return;
        }
        for (const Entry& e : *entries) {
          if (const auto* event = std::get_if<Event>(&e)) {
            ids[t].push_back(event->id);
          }
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  std::set<std::string> unique;
  for (const auto& list : ids) {
    EXPECT_EQ(list.size(), static_cast<size_t>(kPerThread));
    unique.insert(list.begin(), list.end());
  }
  EXPECT_EQ(unique.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(IsValidEventId, AcceptsUrlSafeCharactersUpTo128) {
  for (const std::string& id :
       {std::string("a"), std::string("evt-1"), std::string("A.b_c:d-9"),
        std::string("01946f5a-1c2b-7abc-8def-0123456789ab"), std::string(128, 'z')}) {
    EXPECT_TRUE(is_valid_event_id(id)) << id;
  }
  for (const std::string& id :
       {std::string(""), std::string(129, 'z'), std::string("a b"), std::string("a/b"),
        std::string("a?b"), std::string("a%20b"), std::string("caf\xc3\xa9")}) {
    EXPECT_FALSE(is_valid_event_id(id)) << id;
  }
}

}  // namespace
}  // namespace homeostat::events
