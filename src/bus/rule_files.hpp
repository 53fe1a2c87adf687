// Rules kept as files in the config directory: <config>/rules/*.yaml, *.yml and *.json. A file
// holds one rule (a mapping) or several (a list of mappings).
#pragma once

#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "bus/rule.hpp"
#include "core/result.hpp"

namespace homeostat::bus {

// Reads every rule file, in file-name order. A missing rules/ directory means no rules. The
// error names the file (and the rule's place in it) and the field at fault.
core::Result<std::vector<Rule>> load_rule_files(const std::string& config_dir);

// Converts YAML text to JSON: plain scalars become null, booleans and numbers where they read
// as such; quoted scalars stay strings.
core::Result<boost::json::value> yaml_to_json(const std::string& text);

}  // namespace homeostat::bus
