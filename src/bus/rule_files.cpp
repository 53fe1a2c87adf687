#include "bus/rule_files.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>
#include <boost/json.hpp>

namespace homeostat::bus {
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

json::value scalar_to_json(const YAML::Node& node) {
  const std::string& text = node.Scalar();
  // A quoted scalar has the non-specific tag "!": it is a string whatever it looks like.
  if (node.Tag() == "!") {
    return json::value(text);
  }
  if (text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL") {
    return nullptr;
  }
  if (text == "true" || text == "True" || text == "TRUE") {
    return true;
  }
  if (text == "false" || text == "False" || text == "FALSE") {
    return false;
  }
  int64_t i = 0;
  auto [ip, iec] = std::from_chars(text.data(), text.data() + text.size(), i);
  if (iec == std::errc() && ip == text.data() + text.size()) {
    return i;
  }
  double d = 0;
  auto [dp, dec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (dec == std::errc() && dp == text.data() + text.size() && std::isfinite(d)) {
    return d;
  }
  return json::value(text);
}

json::value node_to_json(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json::object obj;
      for (const auto& kv : node) {
        obj[kv.first.Scalar()] = node_to_json(kv.second);
      }
      return obj;
    }
    case YAML::NodeType::Sequence: {
      json::array arr;
      for (const auto& item : node) {
        arr.push_back(node_to_json(item));
      }
      return arr;
    }
    case YAML::NodeType::Scalar:
      return scalar_to_json(node);
    default:
      return nullptr;
  }
}

}  // namespace

core::Result<json::value> yaml_to_json(const std::string& text) {
  try {
    return node_to_json(YAML::Load(text));
  } catch (const YAML::Exception& e) {
    return core::Error(core::ErrorCode::kInvalidArgument,
                       "not valid YAML at line " + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

core::Result<std::vector<Rule>> load_rule_files(const std::string& config_dir) {
  std::vector<Rule> rules;
  fs::path dir = fs::path(config_dir) / "rules";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return rules;
  }
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    auto ext = entry.path().extension().string();
    if (entry.is_regular_file() && (ext == ".yaml" || ext == ".yml" || ext == ".json")) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());

  std::set<std::string> names;
  for (const auto& file : files) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    auto doc = yaml_to_json(text.str());  // YAML is a superset of JSON
    if (!doc) {
      return doc.error().with_context(file.string());
    }
    std::vector<json::value> items;
    if (doc->is_array()) {
      items.assign(doc->get_array().begin(), doc->get_array().end());
    } else {
      items.push_back(*doc);
    }
    for (size_t i = 0; i < items.size(); ++i) {
      std::string where = file.string() + (doc->is_array() ? " [" + std::to_string(i) + "]" : "");
      auto rule = parse_rule(items[i], "file:" + file.string());
      if (!rule) {
        return rule.error().with_context(where);
      }
      if (!names.insert(rule->name).second) {
        return core::Error(
            core::ErrorCode::kInvalidArgument,
            where + ": name: another rule file already has a rule named " + rule->name);
      }
      rules.push_back(std::move(*rule));
    }
  }
  return rules;
}

}  // namespace homeostat::bus
