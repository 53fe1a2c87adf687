#include "patterns/reference.hpp"

#include <utility>
#include <vector>

namespace homeostat::patterns {
namespace json = boost::json;

namespace {

// Where a value came from: for each array of objects on its path, which array and element.
using Trail = std::vector<std::pair<const json::array*, size_t>>;

struct Found {
  Scalar value;
  Trail trail;
};

Scalar to_scalar(const json::value& v) {
  Scalar s;
  switch (v.kind()) {
    case json::kind::string:
      s.kind = Scalar::Kind::kString;
      s.text = std::string(v.get_string());
      break;
    case json::kind::int64:
      s.kind = Scalar::Kind::kNumber;
      s.number = static_cast<double>(v.get_int64());
      break;
    case json::kind::uint64:
      s.kind = Scalar::Kind::kNumber;
      s.number = static_cast<double>(v.get_uint64());
      break;
    case json::kind::double_:
      s.kind = Scalar::Kind::kNumber;
      s.number = v.get_double();
      break;
    case json::kind::bool_:
      s.kind = Scalar::Kind::kBool;
      s.boolean = v.get_bool();
      break;
    default:
      s.kind = Scalar::Kind::kNull;
      break;
  }
  s.number = s.number == 0.0 ? 0.0 : s.number;
  return s;
}

ScalarView view(const Scalar& s) {
  return ScalarView{s.kind, s.text, s.number, s.boolean};
}

// The scalars at the end of a path; arrays there are flattened without a trail.
void collect_leaf(const json::value& v, const Trail& trail, std::vector<Found>& out) {
  if (v.is_array()) {
    for (const auto& e : v.get_array()) {
      collect_leaf(e, trail, out);
    }
  } else if (!v.is_object()) {
    out.push_back(Found{to_scalar(v), trail});
  }
}

void collect(const json::value& v, const std::vector<std::string>& path, size_t depth, Trail& trail,
             std::vector<Found>& out) {
  if (depth == path.size()) {
    collect_leaf(v, trail, out);
    return;
  }
  if (v.is_object()) {
    if (const auto* child = v.get_object().if_contains(path[depth])) {
      collect(*child, path, depth + 1, trail, out);
    }
    return;
  }
  if (v.is_array()) {
    const auto& array = v.get_array();
    for (size_t i = 0; i < array.size(); ++i) {
      trail.emplace_back(&array, i);
      collect(array[i], path, depth, trail, out);
      trail.pop_back();
    }
  }
}

bool compatible(const Trail& chosen, const Trail& next) {
  for (const auto& [array, index] : next) {
    for (const auto& [other, other_index] : chosen) {
      if (array == other && index != other_index) {
        return false;
      }
    }
  }
  return true;
}

bool holds_from(const std::vector<const Field*>& fields,
                const std::vector<std::vector<Found>>& values, size_t i, Trail& chosen) {
  if (i == fields.size()) {
    return true;
  }
  const Field& field = *fields[i];

  // {"exists": false} holds with nothing found and constrains nothing.
  bool wants_absent = false;
  for (const auto& c : field.conditions) {
    wants_absent |= c.op == Condition::Op::kExists && !c.exists;
  }
  if (wants_absent && values[i].empty() && holds_from(fields, values, i + 1, chosen)) {
    return true;
  }

  for (const auto& found : values[i]) {
    if (!compatible(chosen, found.trail)) {
      continue;
    }
    bool any = false;
    for (const auto& c : field.conditions) {
      any |= c.op == Condition::Op::kExists ? c.exists : c.matches(view(found.value));
    }
    if (!any) {
      continue;
    }
    size_t mark = chosen.size();
    chosen.insert(chosen.end(), found.trail.begin(), found.trail.end());
    bool rest = holds_from(fields, values, i + 1, chosen);
    chosen.resize(mark);
    if (rest) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool reference_match(const Pattern& pattern, const json::value& event) {
  for (const auto& alt : pattern.alternatives) {
    std::vector<const Field*> fields;
    std::vector<std::vector<Found>> values;
    for (const auto& f : alt.fields) {
      fields.push_back(&f);
      values.emplace_back();
      Trail trail;
      collect(event, f.path, 0, trail, values.back());
    }
    Trail chosen;
    if (holds_from(fields, values, 0, chosen)) {
      return true;
    }
  }
  return false;
}

}  // namespace homeostat::patterns
