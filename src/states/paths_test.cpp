#include "states/paths.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <string>
#include <vector>

namespace homeostat::states {
namespace {

namespace json = boost::json;

// gtest prints a failing case by its behaviour name rather than as raw bytes.
template <typename Case>
void print_case(const Case& c, std::ostream* out) {
  *out << c.name;
}

template <typename Case>
std::string case_name(const testing::TestParamInfo<Case>& info) {
  return info.param.name;
}

// Parses an optional path; nullptr stands for a JSON null in the definition.
std::optional<Path> optional_path(const char* text, bool reference = false) {
  if (text == nullptr) return std::nullopt;
  auto path = reference ? Path::parse_reference(text) : Path::parse(text);
  EXPECT_TRUE(path.ok()) << text;
  return std::move(path).value();
}

// Checks a step's outcome against either an expected JSON text or an error name and a piece
// of its cause.
void expect_step(const StepResult& got, const char* want_json, const char* want_error,
                 const char* want_cause) {
  if (want_error != nullptr) {
    ASSERT_TRUE(std::holds_alternative<StatesError>(got))
        << "got value " << json::serialize(std::get<json::value>(got));
    EXPECT_EQ(std::get<StatesError>(got).error, want_error);
    EXPECT_NE(std::get<StatesError>(got).cause.find(want_cause), std::string::npos)
        << std::get<StatesError>(got).cause;
    return;
  }
  ASSERT_TRUE(std::holds_alternative<json::value>(got)) << std::get<StatesError>(got).cause;
  EXPECT_EQ(std::get<json::value>(got), json::parse(want_json))
      << json::serialize(std::get<json::value>(got));
}

// ---------------------------------------------------------------------------------------------
// Parsing.

struct ParseCase {
  std::string name;
  const char* text;
  bool reference;
  const char* error;  // nullptr when the path parses; else a piece of the message
};

void PrintTo(const ParseCase& c, std::ostream* out) {  // NOLINT(readability-identifier-naming)
  print_case(c, out);
}

class PathParse : public testing::TestWithParam<ParseCase> {};

TEST_P(PathParse, AcceptsOrRejectsWithWhatAndWhere) {
  const auto& c = GetParam();
  auto path = c.reference ? Path::parse_reference(c.text) : Path::parse(c.text);
  if (c.error == nullptr) {
    ASSERT_TRUE(path.ok()) << path.error().message();
    EXPECT_EQ(path->text(), c.text);
    return;
  }
  ASSERT_FALSE(path.ok());
  EXPECT_EQ(path.error().code(), core::ErrorCode::kInvalidArgument);
  EXPECT_NE(path.error().message().find(c.error), std::string::npos) << path.error().message();
}

INSTANTIATE_TEST_SUITE_P(
    Paths, PathParse,
    testing::Values(
        ParseCase{"root", "$", false, nullptr}, ParseCase{"context_root", "$$", false, nullptr},
        ParseCase{"dot_children", "$.a.b", false, nullptr},
        ParseCase{"bracket_name_with_space", "$['a b']", false, nullptr},
        ParseCase{"double_quoted_bracket_name", "$[\"a b\"]", false, nullptr},
        ParseCase{"dot_then_bracket", "$.abc.['def ghi']", false, nullptr},
        ParseCase{"index_and_negative_index", "$.a[0][-1]", false, nullptr},
        ParseCase{"wildcard_then_name", "$.a[*].b", false, nullptr},
        ParseCase{"descendants", "$..b", false, nullptr},
        ParseCase{"slice_and_union", "$.a[1:3]['x','y'][0,2]", false, nullptr},
        ParseCase{"escaped_dot_in_name", "$.store\\.book", false, nullptr},
        ParseCase{"context_member", "$$.Execution.Id", false, nullptr},
        ParseCase{"empty_text", "", false, "must begin with '$' at offset 0"},
        ParseCase{"missing_dollar", "a.b", false, "must begin with '$' at offset 0"},
        ParseCase{"trailing_dot", "$.", false, "expected a name at offset 2"},
        ParseCase{"unterminated_bracket", "$.a[", false, "unterminated '[' at offset 3"},
        ParseCase{"unterminated_quote", "$['ab", false, "unterminated quoted name at offset 2"},
        ParseCase{"space_needs_brackets", "$.a b", false, "' ' needs bracket notation at offset 3"},
        ParseCase{"name_glued_to_dollar", "$a", false, "expected '.' or '[' at offset 1"},
        ParseCase{"zero_slice_step", "$.a[0:3:0]", false, "slice step must not be 0"},
        ParseCase{"bare_word_in_brackets", "$.a[x]", false, "expected a quoted name or an index"},
        ParseCase{"trailing_backslash", "$.a\\", false, "a backslash ends the path at offset 3"},
        ParseCase{"reference_names_and_indices", "$['a b'][0].c", true, nullptr},
        ParseCase{"reference_into_context", "$$.Task.Token", true, nullptr},
        ParseCase{"reference_rejects_descendants", "$..a", true, "'..' can select more than one"},
        ParseCase{"reference_rejects_wildcard", "$.a[*]", true, "a wildcard can select more than"},
        ParseCase{"reference_rejects_dot_wildcard", "$.a.*", true, "at offset 3"},
        ParseCase{"reference_rejects_slice", "$.a[1:2]", true, "a slice can select"},
        ParseCase{"reference_rejects_union", "$.a[0,1]", true, "a union can select"},
        ParseCase{"reference_still_checks_syntax", "$.a[", true, "unterminated '['"},
        ParseCase{"reference_rejects_filter", "$.a[?(@.x)]", true,
                  "a filter can select more than one node, at offset 3"}),
    case_name<ParseCase>);

// Filters: what parses, and where the parser stops on what does not.
constexpr const char* kDeepFilter =
    "$.a[?(((((((((((((((((((((((((((((((((((((((((("
    "@.x"
    "))))))))))))))))))))))))))))))))))))))))))]";

INSTANTIATE_TEST_SUITE_P(
    Filters, PathParse,
    testing::Values(
        ParseCase{"comparison", "$.a[?(@.x > 1)]", false, nullptr},
        ParseCase{"no_spaces", "$.a[?(@.x<=1)]", false, nullptr},
        ParseCase{"after_descendants", "$..book[?(@.price < 10)].title", false, nullptr},
        ParseCase{"descendant_filter", "$..[?(@.price)]", false, nullptr},
        ParseCase{"bracket_and_index_operand", "$.a[?(@['x y'][0] == \"q\")]", false, nullptr},
        ParseCase{"literal_kinds", "$.a[?(@.n >= -1.5e2 || @.b == true || @.z != null)]", false,
                  nullptr},
        ParseCase{"literal_on_the_left", "$.a[?('on' == @.state)]", false, nullptr},
        ParseCase{"grouping", "$.a[?(@.x && (@.y == false || (@.z != 'q')))]", false, nullptr},
        ParseCase{"in_context_path", "$$.Execution.Input.a[?(@.x)]", false, nullptr},
        ParseCase{"missing_open_paren", "$.a[?@.x]", false, "expected '(' after '?' at offset 5"},
        ParseCase{"unterminated_expression", "$.a[?(@.x > 1", false,
                  "unterminated filter at offset 3"},
        ParseCase{"missing_operand_at_end", "$.a[?(@.x >", false,
                  "unterminated filter at offset 3"},
        ParseCase{"missing_close_bracket", "$.a[?(@.x > 1)", false, "unterminated '[' at offset 3"},
        ParseCase{"bare_at_sign", "$.a[?(@ > 1)]", false,
                  "'@' must be followed by a name or an index at offset 6"},
        ParseCase{"refers_to_root", "$.a[?(@.x == $.y)]", false,
                  "a filter can refer only to '@', not to '$' at offset 13"},
        ParseCase{"single_equals", "$.a[?(@.x = 1)]", false,
                  "'=' is not an operator; use '==' at offset 10"},
        ParseCase{"regular_expression", "$.a[?(@.x =~ /a/)]", false,
                  "regular expressions are not supported at offset 10"},
        ParseCase{"literal_alone", "$.a[?(1)]", false, "a literal alone is not a test at offset 6"},
        ParseCase{"bare_word_operand", "$.a[?(@.x > abc)]", false,
                  "expected '@' or a literal at offset 12"},
        ParseCase{"empty_expression", "$.a[?()]", false, "expected '@' or a literal at offset 6"},
        ParseCase{"dangling_and", "$.a[?(@.x &&)]", false,
                  "expected '@' or a literal at offset 12"},
        ParseCase{"bad_number", "$.a[?(@.x == 1.2.3)]", false, "expected a number at offset 13"},
        ParseCase{"unterminated_string", "$.a[?(@.x == 'abc)]", false,
                  "unterminated quoted name at offset 13"},
        ParseCase{"two_operands_without_operator", "$.a[?(@.x == 1 @.y)]", false,
                  "expected ')', '&&' or '||' at offset 15"},
        ParseCase{"unclosed_group", "$.a[?((@.x == 1)]", false,
                  "expected ')', '&&' or '||' at offset 16"},
        ParseCase{"wildcard_after_at_sign", "$.a[?(@.b[*] == 1)]", false,
                  "only names and indices may follow '@' at offset 9"},
        ParseCase{"descendants_after_at_sign", "$.a[?(@..b)]", false,
                  "only names and indices may follow '@' at offset 7"},
        ParseCase{"filter_inside_filter", "$.a[?(@.b[?(@.c)])]", false,
                  "a filter cannot hold another filter at offset 10"},
        ParseCase{"parentheses_too_deep", kDeepFilter, false,
                  "parentheses nested too deeply at offset 38"}),
    case_name<ParseCase>);

// ---------------------------------------------------------------------------------------------
// Selecting.

struct SelectCase {
  std::string name;
  const char* document;
  const char* path;
  const char* expected;  // nullptr when nothing is selected
};

void PrintTo(const SelectCase& c, std::ostream* out) {  // NOLINT(readability-identifier-naming)
  print_case(c, out);
}

class PathSelect : public testing::TestWithParam<SelectCase> {};

TEST_P(PathSelect, SelectsTheDocumentedNodes) {
  const auto& c = GetParam();
  auto path = Path::parse(c.path);
  ASSERT_TRUE(path.ok()) << path.error().message();
  auto got = path->select(json::parse(c.document));
  if (c.expected == nullptr) {
    EXPECT_FALSE(got.has_value()) << json::serialize(*got);
    return;
  }
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, json::parse(c.expected)) << json::serialize(*got);
}

constexpr const char* kShelf = R"({"num": 7, "list": ["x", "y", "z"], "deep": {"flag": false}})";

INSTANTIATE_TEST_SUITE_P(
    Paths, PathSelect,
    testing::Values(
        SelectCase{"root_is_whole_document", kShelf, "$", kShelf},
        SelectCase{"scalar_member", kShelf, "$.num", "7"},
        SelectCase{"array_member", kShelf, "$.list", R"(["x", "y", "z"])"},
        SelectCase{"nested_member", kShelf, "$.deep.flag", "false"},
        SelectCase{"missing_key", kShelf, "$.nope", nullptr},
        SelectCase{"missing_key_below_missing_key", kShelf, "$.nope.deeper", nullptr},
        SelectCase{"name_on_an_array", kShelf, "$.list.first", nullptr},
        SelectCase{"index_on_an_object", kShelf, "$.deep[0]", nullptr},
        SelectCase{"index_past_the_end", kShelf, "$.list[3]", nullptr},
        SelectCase{"negative_index_from_end", kShelf, "$.list[-1]", R"("z")"},
        SelectCase{"present_null_is_a_value", R"({"a": null})", "$.a", "null"},
        SelectCase{"step_through_null", R"({"a": null})", "$.a.b", nullptr},
        SelectCase{"bracket_key_with_space", R"({"a b": 1})", "$['a b']", "1"},
        SelectCase{"bracket_key_with_dot", R"({"a.b": 2, "a": {"b": 3}})", "$['a.b']", "2"},
        SelectCase{"escaped_dot_key", R"({"a.b": 2, "a": {"b": 3}})", "$.a\\.b", "2"},
        SelectCase{"unicode_key", R"({"名前": "x"})", "$.名前", R"("x")"},
        SelectCase{"wildcard_then_name_skips_misses", R"({"a": [{"b": 1}, {"c": 2}, {"b": 3}]})",
                   "$.a[*].b", "[1, 3]"},
        SelectCase{"wildcard_over_object_values", R"({"a": {"x": 1, "y": 2}})", "$.a.*", "[1, 2]"},
        SelectCase{"wildcard_matching_nothing_is_empty_array", R"({"a": 5})", "$.a[*]", "[]"},
        SelectCase{"descendants_in_document_order", R"({"b": 1, "c": {"b": 2, "d": [{"b": 3}]}})",
                   "$..b", "[1, 2, 3]"},
        SelectCase{"union_of_indices", R"({"a": [1, 2, 3, 4]})", "$.a[0,1]", "[1, 2]"},
        SelectCase{"union_of_names_skips_missing", R"({"x": 1, "z": 3})", "$['x','y','z']",
                   "[1, 3]"},
        SelectCase{"slice_from_end", R"({"vals": [0, 10, 20, 30, 40, 50]})", "$.vals[-3:]",
                   "[30, 40, 50]"},
        SelectCase{"slice_between", R"({"vals": [0, 10, 20, 30]})", "$.vals[1:3]", "[10, 20]"},
        SelectCase{"slice_reversed", R"({"vals": [1, 2, 3]})", "$.vals[::-1]", "[3, 2, 1]"},
        SelectCase{"slice_bounds_clamped", R"({"vals": [1, 2]})", "$.vals[-9:9]", "[1, 2]"},
        SelectCase{"index_into_string", R"({"s": "abc"})", "$.s[0]", nullptr}),
    case_name<SelectCase>);

constexpr const char* kStore = R"({
  "store": {
    "book": [
      {"title": "A", "price": 8.95, "tags": ["x"], "meta": {"lang": "en"}},
      {"title": "B", "price": 12, "isbn": "1-2", "meta": {"lang": "fr"}},
      {"title": "C", "price": "9", "isbn": null},
      {"title": "D", "price": 22.99, "isbn": "3-4", "meta": {"lang": "en"}}
    ],
    "bicycle": {"color": "red", "price": 19.95}
  },
  "shelves": {"top": {"n": 1}, "mid": {"n": 5}, "low": 3}
})";

INSTANTIATE_TEST_SUITE_P(
    Filters, PathSelect,
    testing::Values(
        SelectCase{"number_below", kStore, "$.store.book[?(@.price < 10)].title", R"(["A"])"},
        SelectCase{"string_never_compares_with_number", kStore,
                   "$.store.book[?(@.price == '9')].title", R"(["C"])"},
        SelectCase{"integer_and_double_compare_by_value", kStore,
                   "$.store.book[?(@.price >= 12)].title", R"(["B", "D"])"},
        SelectCase{"integer_equals_double", kStore, "$.store.book[?(@.price == 12.0)].title",
                   R"(["B"])"},
        SelectCase{"large_integers_compare_exactly",
                   R"({"v": [{"n": 9007199254740993}, {"n": 9007199254740992}]})",
                   "$.v[?(@.n == 9007199254740993)]", R"([{"n": 9007199254740993}])"},
        SelectCase{"not_equal_skips_missing_and_other_types", kStore,
                   "$.store.book[?(@.isbn != '1-2')].title", R"(["D"])"},
        SelectCase{"existence_counts_present_null", kStore, "$.store.book[?(@.isbn)].title",
                   R"(["B", "C", "D"])"},
        SelectCase{"equals_null", kStore, "$.store.book[?(@.isbn == null)].title", R"(["C"])"},
        SelectCase{"nested_member", kStore, "$.store.book[?(@.meta.lang == 'en')].title",
                   R"(["A", "D"])"},
        SelectCase{"bracket_name_and_index", kStore, "$.store.book[?(@['tags'][0] == \"x\")].title",
                   R"(["A"])"},
        SelectCase{"literal_on_the_left", kStore, "$.store.book[?(10 > @.price)].title",
                   R"(["A"])"},
        SelectCase{"and_binds_tighter_than_or", kStore,
                   "$.store.book[?(@.price > 20 || @.price < 10 && @.meta)].title",
                   R"(["A", "D"])"},
        SelectCase{"parentheses_group", kStore,
                   "$.store.book[?((@.price > 20 || @.price < 10) && @.isbn)].title", R"(["D"])"},
        SelectCase{"after_descendants", kStore, "$..book[?(@.price < 10)].title", R"(["A"])"},
        SelectCase{"descendant_filter_tests_every_container", kStore, "$..[?(@.price > 15)].price",
                   "[19.95, 22.99]"},
        SelectCase{"object_member_values", kStore, "$.shelves[?(@.n > 2)]", R"([{"n": 5}])"},
        SelectCase{"only_objects_are_tested", R"({"v": [1, [0], {"x": 0}, "x"]})", "$.v[?(@.x)]",
                   R"([{"x": 0}])"},
        SelectCase{"index_operand_on_arrays_never_matches", R"({"v": [[1], {"0": 1}]})",
                   "$.v[?(@[0] == 1)]", "[]"},
        SelectCase{"no_match_is_empty_array", kStore, "$.store.book[?(@.price > 100)]", "[]"},
        SelectCase{"filter_on_a_scalar_is_empty_array", kStore, "$.store.bicycle.color[?(@.a)]",
                   "[]"},
        SelectCase{"boolean_equality", R"({"v": [{"ok": true}, {"ok": false}, {"ok": "true"}]})",
                   "$.v[?(@.ok == true)]", R"([{"ok": true}])"},
        SelectCase{"booleans_have_no_order", R"({"v": [{"ok": true}, {"ok": false}]})",
                   "$.v[?(@.ok > false)]", "[]"},
        SelectCase{"strings_order_by_code_point", R"({"v": [{"s": "apple"}, {"s": "Banana"}]})",
                   "$.v[?(@.s > 'B')]", R"([{"s": "apple"}, {"s": "Banana"}])"},
        SelectCase{"string_below", R"({"v": [{"s": "apple"}, {"s": "banana"}]})",
                   "$.v[?(@.s < \"b\")]", R"([{"s": "apple"}])"},
        SelectCase{"two_members_of_the_element", R"({"v": [{"a": 1, "b": 1}, {"a": 1, "b": 2}]})",
                   "$.v[?(@.a == @.b)]", R"([{"a": 1, "b": 1}])"},
        SelectCase{"objects_compare_by_equality",
                   R"({"v": [{"m": {"k": 1}, "w": {"k": 1}}, {"m": {"k": 1}, "w": {"k": 2}}]})",
                   "$.v[?(@.m != @.w)].w", R"([{"k": 2}])"},
        SelectCase{"name_ending_at_operator", R"({"v": [{"a": 2}, {"a": 0}]})", "$.v[?(@.a>1)]",
                   R"([{"a": 2}])"}),
    case_name<SelectCase>);

// ---------------------------------------------------------------------------------------------
// InputPath and OutputPath.

constexpr const char* kContext =
    R"({"Execution": {"Id": "exec-1", "Input": {"k": "v"}},
        "State": {"Name": "Fetch", "EnteredTime": "2026-01-02T03:04:05Z", "RetryCount": 0},
        "Task": {"Token": "tok-9"}, "Map": {"Item": {"Index": 2, "Value": {"id": "i2"}}},
        "DayOfWeek": "TUESDAY"})";

struct SelectStepCase {
  std::string name;
  bool output_path;  // false: InputPath, true: OutputPath
  const char* document;
  const char* path;  // nullptr: the field is null
  const char* expected;
  const char* error = nullptr;
  const char* cause = nullptr;
};

void PrintTo(const SelectStepCase& c, std::ostream* out) {  // NOLINT(readability-identifier-naming)
  print_case(c, out);
}

class SelectStep : public testing::TestWithParam<SelectStepCase> {};

TEST_P(SelectStep, FiltersTheDocument) {
  const auto& c = GetParam();
  const Context context{json::parse(kContext)};
  const auto path = optional_path(c.path);
  const auto document = json::parse(c.document);
  auto got = c.output_path ? apply_output_path(document, path, context)
                           : apply_input_path(document, path, context);
  expect_step(got, c.expected, c.error, c.cause);
}

constexpr const char* kDatasets =
    R"({"note": "two sets", "left": {"v1": 1, "v2": 2}, "right": {"v1": "p", "v2": "q"}})";

INSTANTIATE_TEST_SUITE_P(
    Steps, SelectStep,
    testing::Values(
        SelectStepCase{"input_null_path_yields_empty_object", false, kDatasets, nullptr, "{}"},
        SelectStepCase{"input_root_keeps_everything", false, kDatasets, "$", kDatasets},
        SelectStepCase{"input_picks_one_dataset", false, kDatasets, "$.right",
                       R"({"v1": "p", "v2": "q"})"},
        SelectStepCase{"input_gathers_many_matches_into_array", false, R"({"a": [1, 2, 3, 4]})",
                       "$.a[0,1]", "[1, 2]"},
        SelectStepCase{"input_from_context", false, kDatasets, "$$.Execution.Input",
                       R"({"k": "v"})"},
        SelectStepCase{"input_missing_path_is_runtime_error", false, kDatasets, "$.middle", nullptr,
                       "States.Runtime", "InputPath '$.middle' selects nothing"},
        SelectStepCase{"input_on_scalar_input_is_runtime_error", false, R"("just text")", "$.a",
                       nullptr, "States.Runtime", "in the state's data"},
        SelectStepCase{"input_missing_context_path", false, kDatasets, "$$.Nope", nullptr,
                       "States.Runtime", "in the context object"},
        SelectStepCase{"output_null_path_yields_empty_object", true, kDatasets, nullptr, "{}"},
        SelectStepCase{"output_picks_member", true, R"({"kept": {"x": 1}, "dropped": 2})", "$.kept",
                       R"({"x": 1})"},
        SelectStepCase{"output_missing_path_is_runtime_error", true, kDatasets, "$.gone", nullptr,
                       "States.Runtime", "OutputPath '$.gone' selects nothing"},
        SelectStepCase{"input_filter_selects_matching_elements", false,
                       R"({"jar": [{"a": 1}, {"a": 5}, {"a": 2}, {"a": 7}, {"a": 3}]})",
                       "$.jar[?(@.a >= 5)]", R"([{"a": 5}, {"a": 7}])"},
        SelectStepCase{"output_filter_matching_nothing_is_empty_array", true,
                       R"({"jar": [{"a": 1}]})", "$.jar[?(@.a > 5)]", "[]"}),
    case_name<SelectStepCase>);

// ---------------------------------------------------------------------------------------------
// Parameters and ResultSelector.

struct TemplateCase {
  std::string name;
  bool result_selector;  // false: Parameters, true: ResultSelector
  const char* templ;
  const char* input;
  const char* expected;
  const char* error = nullptr;
  const char* cause = nullptr;
};

void PrintTo(const TemplateCase& c, std::ostream* out) {  // NOLINT(readability-identifier-naming)
  print_case(c, out);
}

class PayloadTemplate : public testing::TestWithParam<TemplateCase> {};

TEST_P(PayloadTemplate, ExpandsFieldsEndingInDollar) {
  const auto& c = GetParam();
  const Context context{json::parse(kContext)};
  const auto templ = json::parse(c.templ);
  const auto input = json::parse(c.input);
  auto got = c.result_selector ? apply_result_selector(templ, input, context)
                               : apply_parameters(templ, input, context);
  expect_step(got, c.expected, c.error, c.cause);
}

constexpr const char* kReadings = R"({"flag": 7, "vals": [0, 10, 20, 30, 40, 50], "who": "ops"})";

INSTANTIATE_TEST_SUITE_P(
    Steps, PayloadTemplate,
    testing::Values(
        TemplateCase{"static_fields_copied", false, R"({"first": 88, "second": [true, null]})",
                     kReadings, R"({"first": 88, "second": [true, null]})"},
        TemplateCase{"nested_paths_and_context", false,
                     R"({"flag": true, "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[-3:]"},
                         "weekday.$": "$$.DayOfWeek"})",
                     kReadings,
                     R"({"flag": true, "parts": {"first": 0, "last3": [30, 40, 50]},
                         "weekday": "TUESDAY"})"},
        TemplateCase{"whole_input_with_dollar", false, R"({"all.$": "$"})", R"({"a": 1})",
                     R"({"all": {"a": 1}})"},
        TemplateCase{"filter_in_dollar_field", false,
                     R"({"open.$": "$.items[?(@.state == 'open')].id"})",
                     R"({"items": [{"id": 1, "state": "open"}, {"id": 2, "state": "done"}]})",
                     R"({"open": [1]})"},
        TemplateCase{
            "filter_in_intrinsic_argument", false,
            R"j({"n.$": "States.ArrayLength($.v[?(@.on == true && @.w > 1)])"})j",
            R"({"v": [{"on": true, "w": 2}, {"on": false, "w": 5}, {"on": true, "w": 3}]})",
            R"({"n": 2})"},
        TemplateCase{"whole_context_with_double_dollar", false, R"({"ctx.$": "$$.State.Name"})",
                     "{}", R"({"ctx": "Fetch"})"},
        TemplateCase{"task_token_and_map_item", false,
                     R"({"token.$": "$$.Task.Token", "item.$": "$$.Map.Item.Value",
                         "index.$": "$$.Map.Item.Index"})",
                     "{}", R"({"token": "tok-9", "item": {"id": "i2"}, "index": 2})"},
        TemplateCase{"objects_inside_arrays_expanded", false,
                     R"({"list": [{"who.$": "$.who"}, "$.who", 3]})", kReadings,
                     R"({"list": [{"who": "ops"}, "$.who", 3]})"},
        TemplateCase{"plain_dollar_string_is_literal", false, R"({"who": "$.who"})", kReadings,
                     R"({"who": "$.who"})"},
        TemplateCase{"selected_null_is_kept", false, R"({"n.$": "$.n"})", R"({"n": null})",
                     R"({"n": null})"},
        TemplateCase{"intrinsic_function_evaluated", false,
                     R"j({"text.$": "States.Format('Today is {}', $$.DayOfWeek)"})j", "{}",
                     R"({"text": "Today is TUESDAY"})"},
        TemplateCase{"intrinsic_reads_input_paths", false,
                     R"j({"text.$": "States.Format('{} has {}', $.who, $.flag)"})j", kReadings,
                     R"({"text": "ops has 7"})"},
        TemplateCase{"intrinsic_failure_passed_through", false,
                     R"j({"x.$": "States.NoSuchFunction()"})j", "{}", nullptr,
                     "States.IntrinsicFailure", ""},
        TemplateCase{"missing_input_path_fails", false, R"({"p.$": "$.missing"})", kReadings,
                     nullptr, "States.ParameterPathFailure",
                     "Parameters field 'p.$': the path '$.missing' selects nothing in the input"},
        TemplateCase{"missing_path_deep_in_template_fails", false,
                     R"({"a": [{"b": {"c.$": "$.vals[9]"}}]})", kReadings, nullptr,
                     "States.ParameterPathFailure", "'c.$'"},
        TemplateCase{"missing_context_path_fails", false, R"({"p.$": "$$.Execution.Nope"})", "{}",
                     nullptr, "States.ParameterPathFailure", "in the context object"},
        TemplateCase{"non_string_dynamic_value_rejected", false, R"({"p.$": 5})", "{}", nullptr,
                     "States.Runtime", "must hold a path or an intrinsic function, not a number"},
        TemplateCase{"neither_path_nor_intrinsic_rejected", false, R"({"p.$": "hello"})", "{}",
                     nullptr, "States.Runtime", "neither a path nor an intrinsic function"},
        TemplateCase{"malformed_path_rejected", false, R"({"p.$": "$.a["})", "{}", nullptr,
                     "States.Runtime", "unterminated '['"},
        TemplateCase{"duplicate_after_strip_rejected", false, R"({"a": 1, "a.$": "$.who"})",
                     kReadings, nullptr, "States.Runtime", "'a' twice"},
        TemplateCase{"template_must_be_object", false, "[1, 2]", "{}", nullptr, "States.Runtime",
                     "Parameters must be a JSON object, not an array"},
        TemplateCase{"selector_reshapes_result", true,
                     R"({"ClusterId.$": "$.output.ClusterId", "Kind.$": "$.kind", "fixed": 1})",
                     R"({"kind": "cluster", "output": {"ClusterId": "c-42", "Noise": [1, 2]}})",
                     R"({"ClusterId": "c-42", "Kind": "cluster", "fixed": 1})"},
        TemplateCase{"selector_missing_path_names_field", true, R"({"id.$": "$.id"})", "{}",
                     nullptr, "States.ParameterPathFailure", "ResultSelector field 'id.$'"},
        TemplateCase{"selector_over_scalar_result", true, R"({"value.$": "$"})", "42",
                     R"({"value": 42})"}),
    case_name<TemplateCase>);

// ---------------------------------------------------------------------------------------------
// ResultPath.

struct ResultPathCase {
  std::string name;
  const char* input;
  const char* result;
  const char* path;  // nullptr: the field is null
  const char* expected;
  const char* error = nullptr;
  const char* cause = nullptr;
};

void PrintTo(const ResultPathCase& c, std::ostream* out) {  // NOLINT(readability-identifier-naming)
  print_case(c, out);
}

class ResultPathStep : public testing::TestWithParam<ResultPathCase> {};

TEST_P(ResultPathStep, CombinesInputAndResult) {
  const auto& c = GetParam();
  const auto path = optional_path(c.path, /*reference=*/true);
  auto got = apply_result_path(json::parse(c.input), json::parse(c.result), path);
  expect_step(got, c.expected, c.error, c.cause);
}

constexpr const char* kGreeting = R"({"note": "a test", "who": "Homeostat"})";

INSTANTIATE_TEST_SUITE_P(
    Steps, ResultPathStep,
    testing::Values(
        ResultPathCase{"root_replaces_input", kGreeting, R"("Hello, Homeostat!")", "$",
                       R"("Hello, Homeostat!")"},
        ResultPathCase{"null_keeps_input_and_drops_result", kGreeting, R"("Hello")", nullptr,
                       kGreeting},
        ResultPathCase{"adds_field_beside_input", kGreeting, R"("Hello")", "$.taskresult",
                       R"({"note": "a test", "who": "Homeostat", "taskresult": "Hello"})"},
        ResultPathCase{"overwrites_existing_field", R"({"master": {"detail": [1, 2, 3]}})", "6",
                       "$.master.detail", R"({"master": {"detail": 6}})"},
        ResultPathCase{"creates_intervening_objects", R"({"master": {"detail": [1, 2, 3]}})", "6",
                       "$.master.result.sum",
                       R"({"master": {"detail": [1, 2, 3], "result": {"sum": 6}}})"},
        ResultPathCase{"creates_chain_from_top", R"({"a": 1})", R"("Hi!")", "$.b.greeting",
                       R"({"a": 1, "b": {"greeting": "Hi!"}})"},
        ResultPathCase{"bracket_name_with_space", "{}", "1", "$['a b'].c", R"({"a b": {"c": 1}})"},
        ResultPathCase{"replaces_array_element", R"({"list": [1, 2, 3]})", R"({"x": 0})",
                       "$.list[1]", R"({"list": [1, {"x": 0}, 3]})"},
        ResultPathCase{"writes_below_array_element", R"({"list": [{"a": 1}]})", "2", "$.list[-1].b",
                       R"({"list": [{"a": 1, "b": 2}]})"},
        ResultPathCase{"writes_null_result", R"({"a": 1})", "null", "$.r",
                       R"({"a": 1, "r": null})"},
        ResultPathCase{"string_input_cannot_take_field", R"("foo")", "1", "$.x", nullptr,
                       "States.ResultPathMatchFailure", "$ is a string, not an object"},
        ResultPathCase{"number_on_the_way", R"({"a": 5})", "1", "$.a.b", nullptr,
                       "States.ResultPathMatchFailure", "$.a is a number, not an object"},
        ResultPathCase{"null_on_the_way", R"({"a": null})", "1", "$.a.b", nullptr,
                       "States.ResultPathMatchFailure", "$.a is null, not an object"},
        ResultPathCase{"array_root_cannot_take_field", "[1, 2]", "1", "$.x", nullptr,
                       "States.ResultPathMatchFailure", "$ is an array, not an object"},
        ResultPathCase{"index_past_end", R"({"list": [1]})", "1", "$.list[3]", nullptr,
                       "States.ResultPathMatchFailure", "$.list has no element 3"},
        ResultPathCase{"index_on_object", R"({"obj": {}})", "1", "$.obj[0]", nullptr,
                       "States.ResultPathMatchFailure", "$.obj is an object, not an array"},
        ResultPathCase{"index_on_missing_field", "{}", "1", "$.list[0]", nullptr,
                       "States.ResultPathMatchFailure", "not an array"},
        ResultPathCase{"context_is_read_only", "{}", "1", "$$.Execution.Id", nullptr,
                       "States.Runtime", "may not write into the context object"}),
    case_name<ResultPathCase>);

// The processing steps in their documented order, over one state: InputPath narrows the input,
// Parameters reshape it, the result is filtered by ResultSelector, placed by ResultPath and the
// output narrowed by OutputPath.
TEST(DataProcessing, RunsAllStepsInOrder) {
  const Context context{json::parse(kContext)};
  const auto raw = json::parse(R"({"title": "add", "numbers": {"v1": 3, "v2": 4}, "x": 0})");

  auto effective = apply_input_path(raw, optional_path("$.numbers"), context);
  ASSERT_TRUE(std::holds_alternative<json::value>(effective));
  auto params = apply_parameters(json::parse(R"({"a.$": "$.v1", "b.$": "$.v2"})"),
                                 std::get<json::value>(effective), context);
  ASSERT_TRUE(std::holds_alternative<json::value>(params));
  EXPECT_EQ(std::get<json::value>(params), json::parse(R"({"a": 3, "b": 4})"));

  const auto raw_result = json::parse(R"({"sum": 7, "debug": "..."})");
  auto selected =
      apply_result_selector(json::parse(R"({"total.$": "$.sum"})"), raw_result, context);
  ASSERT_TRUE(std::holds_alternative<json::value>(selected));
  auto placed =
      apply_result_path(raw, std::get<json::value>(selected), optional_path("$.out", true));
  ASSERT_TRUE(std::holds_alternative<json::value>(placed));
  auto output = apply_output_path(std::get<json::value>(placed), optional_path("$.out"), context);
  expect_step(output, R"({"total": 7})", nullptr, nullptr);
}

// ResultPath returns a copy: the caller's input is never modified, so a retry can reuse it.
TEST(DataProcessing, ResultPathLeavesTheRawInputUntouched) {
  const auto raw = json::parse(R"({"a": {"b": 1}})");
  auto placed = apply_result_path(raw, json::parse("2"), optional_path("$.a.b", true));
  expect_step(placed, R"({"a": {"b": 2}})", nullptr, nullptr);
  EXPECT_EQ(raw, json::parse(R"({"a": {"b": 1}})"));
}

}  // namespace
}  // namespace homeostat::states
