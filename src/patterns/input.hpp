// Target input: what a target of a rule receives for an event that matched the rule. As in
// Amazon EventBridge, a target has one of three forms of input:
//   - no option: the whole event, as JSON;
//   - an InputPath: the part of the event a JsonPath selects;
//   - an input transformer: variables read from the event by JsonPaths (EventBridge's
//     InputPathsMap), substituted into a template (its InputTemplate).
//
// The semantics are EventBridge's, from its user guide ("Amazon EventBridge input
// transformation") and API reference (InputTransformer, Target). Where those pages are silent
// the comments below say what we chose, and the two places where we depart from them on purpose
// are marked "Departure". Everything here is immutable once created and safe to use from any
// number of threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

#include "core/result.hpp"

namespace homeostat::patterns {

// A JSONPath of the subset EventBridge accepts:
//   $            the whole event
//   .name        a member; a name is letters, digits, '_', '-' and '/'
//   [n]          an array element, n a decimal index from 0
//   .* or [*]    every member of an object (in the event's order) or element of an array
// Bracket-quoted names (['a b']), negative indexes, slices, filters and recursive descent (..)
// are refused. A path is at most 256 bytes, EventBridge's limit for InputPath and for the paths
// of an InputPathsMap.
class JsonPath {
 public:
  static constexpr size_t kMaxBytes = 256;

  // Parses `text`. The error (kInvalidArgument) quotes the path and names the 1-based character
  // at fault: `path "$.a..b" at character 4: recursive descent (..) is not supported`.
  static core::Result<JsonPath> parse(std::string_view text);

  // The value at this path in `root`, or nullopt when a step finds nothing: a missing member, an
  // index past the end, a name applied to a non-object or an index to a non-array. A path with a
  // wildcard yields an array of every value it reaches, flattened across wildcards and in
  // document order; when it reaches none the result is nullopt, never an empty array.
  std::optional<boost::json::value> select(const boost::json::value& root) const;

  // True when the path has a wildcard, so that select() builds an array.
  bool has_wildcard() const { return has_wildcard_; }

  // The path as it was given.
  const std::string& text() const { return text_; }

 private:
  struct Step {
    enum class Kind : uint8_t { kName, kIndex, kWildcard };
    Kind kind = Kind::kName;
    std::string name;  // kName
    size_t index = 0;  // kIndex
  };

  void collect(const boost::json::value& node, size_t step,
               std::vector<const boost::json::value*>& found) const;

  std::string text_;
  std::vector<Step> steps_;
  bool has_wildcard_ = false;
};

// What the predefined variables of a template resolve to.
struct InputContext {
  std::string rule_name;       // <aws.events.rule-name>
  std::string rule_arn;        // <aws.events.rule-arn>, e.g. "homeostat:rule/default/NAME"
  std::string ingestion_time;  // <aws.events.event.ingestion-time>, RFC 3339 UTC
};

// An input transformer: named variables, each a JsonPath into the event, and a template that
// uses them as <name>. The predefined variables need no path:
//   <aws.events.rule-name>, <aws.events.rule-arn>, <aws.events.event.ingestion-time>  strings
//     from the InputContext;
//   <aws.events.event>       the event without its "detail" member;
//   <aws.events.event.json>  the whole event.
// The last two are JSON values, so a template can use them only outside quotes in a JSON
// template (EventBridge's guide: their contents are not escaped, so they are only fit to be the
// value of a JSON field). Difference: EventBridge's own <aws.events.event>, as LocalStack
// recorded it from AWS, also renames "detail-type" to "detailType" and sets "time" to the
// ingestion time; ours is the event's members as they are, minus "detail".
//
// Placeholders. `<` followed by one or more of [A-Za-z0-9_.-] and then `>` is a placeholder,
// wherever it stands; any other `<` is literal text ("a < b", "</b>"). EventBridge gives no way
// to escape < and >, so "<b>" in a template always names a variable.
//
// JSON or plain text. A template is a JSON template when it is valid JSON once each placeholder
// outside quotes is read as null and each one inside quotes as nothing: `{"host": <host>}`,
// `"<host> is down"` (a JSON string) and `<detail>` are JSON templates; `<host> is down` is plain
// text. Which one a template is decides how values are written (see render()).
class InputTransformer {
 public:
  static constexpr size_t kMaxVariables = 100;       // EventBridge's limit
  static constexpr size_t kMaxNameBytes = 256;       // EventBridge's limit for a variable name
  static constexpr size_t kMaxTemplateBytes = 8192;  // EventBridge's limit for InputTemplate
  static constexpr std::string_view kReservedPrefix = "aws.";

  // Checks and compiles a transformer. Refuses, with kInvalidArgument and a message saying what
  // and where:
  //   - more than 100 variables, or a name given twice;
  //   - a name that is empty, longer than 256 bytes or not all [A-Za-z0-9_-] (EventBridge's
  //     pattern for InputPathsMap keys), or that starts with "aws." in any case (reserved for
  //     the predefined variables);
  //   - a path that JsonPath::parse refuses;
  //   - a template that is empty or longer than 8192 bytes;
  //   - a placeholder naming neither a variable nor a predefined one (EventBridge refuses these
  //     when a target is put, as an "invalid placeholder"; it does not keep them as text);
  //   - in a JSON template, a placeholder used as an object key, bare ({<k>: 1}) or inside the
  //     key's quotes ({"<k>": 1}), in any object of the template (EventBridge forbids
  //     placeholders as keys in object templates; a key taken from an event could be empty or
  //     collide with another);
  //   - <aws.events.event> or <aws.events.event.json> inside quotes or in a plain-text template.
  // Variables need not be used in the template.
  static core::Result<InputTransformer> create(
      const std::vector<std::pair<std::string, std::string>>& paths_map,
      std::string input_template);

  // Renders the template for one event. Text outside placeholders is copied as it is: a JSON
  // template is not re-formatted, so its whitespace, and a trailing newline that separates
  // records, survive. Numbers are written in their shortest exact form (0.97, 3, 1e+20).
  //
  // In a JSON template, outside quotes: a string is written quoted and escaped; any other value
  // as its JSON text. Inside quotes: a string's characters escaped for a JSON string, without
  // quotes; any other value's JSON text, escaped the same way. The result is always valid JSON.
  // In a plain-text template: a string's characters as they are, any other value as its JSON
  // text, nothing escaped. A plain-text result is delivered as text even when it is not JSON,
  // as EventBridge does with a template that is not JSON.
  //
  // A variable whose path finds nothing in the event has the empty string as its value: `""`
  // outside quotes in a JSON template, nothing inside quotes or in plain text. (The guide says
  // only that such a variable is not created and does not appear in the output; what AWS sends,
  // as LocalStack recorded it, is `"command": ""` for <command> outside quotes and nothing for it
  // inside a string.)
  //
  // Departure: EventBridge documents that it does not escape values it extracts, so a value
  // holding a quote can break its output; we escape them, which is what keeps a JSON template's
  // result valid. Departure: EventBridge documents that an object or array placed inside a
  // string loses its internal quotes; we keep them (escaped), so the JSON text can be read back.
  //
  // Precondition: `event` is a JSON object (the events subsystem guarantees it). Thread-safe.
  std::string render(const boost::json::value& event, const InputContext& context) const;

  // True for a JSON template, whose render() output is JSON; false for plain text.
  bool is_json() const { return is_json_; }

  // The template and the variables as given, for listing and storing a rule.
  const std::string& input_template() const { return template_; }
  const std::vector<std::pair<std::string, JsonPath>>& variables() const { return variables_; }

 private:
  // Where a value lands: outside quotes or inside them in a JSON template, or in plain text.
  enum class Place : uint8_t { kValue, kInString, kText };

  // What a piece of the compiled template writes.
  enum class Source : uint8_t {
    kText,  // template_[begin, begin + size)
    kVariable,
    kRuleName,
    kRuleArn,
    kIngestionTime,
    kEvent,
    kEventJson,
  };

  struct Piece {
    Source source = Source::kText;
    Place place = Place::kText;
    size_t begin = 0;     // kText
    size_t size = 0;      // kText
    size_t variable = 0;  // kVariable: index into variables_
  };

  std::vector<std::pair<std::string, JsonPath>> variables_;
  std::vector<bool> used_;  // by variable: appears in the template
  std::string template_;
  std::vector<Piece> pieces_;
  bool is_json_ = false;
};

// The text a target receives for `event`, from the target's input options, of which at most one
// may be set (EventBridge refuses a target with more than one):
//   - neither: the event's JSON text;
//   - input_path: the JSON text of the value at the path (a string keeps its quotes), or "null"
//     when the event has nothing there (EventBridge does not document this case);
//   - transformer: its render().
// Fails with kInvalidArgument when both are set.
core::Result<std::string> target_input(const boost::json::value& event,
                                       const std::optional<JsonPath>& input_path,
                                       const std::optional<InputTransformer>& transformer,
                                       const InputContext& context);

// Appends `value` to `out` as minified JSON text, numbers in their shortest exact form.
void append_json_text(std::string& out, const boost::json::value& value);

}  // namespace homeostat::patterns
