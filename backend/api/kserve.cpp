#include "backend/api/kserve.hpp"

#include <boost/json.hpp>
#include <fmt/format.h>

#include <cmath>
#include <limits>

namespace modelgate::backend::kserve {
namespace {

namespace json = boost::json;

api_error bad(std::string message) { return api_error{400, std::move(message)}; }

// Appends the numbers of a flat or nested array; false on a non-number or one beyond FP32 range
// (which would reach the model as infinity; a JSON 1e999 parses as an infinite double).
bool flatten(const json::value& v, std::vector<float>& out) {
  if (const auto* a = v.if_array()) {
    for (const auto& e : *a)
      if (!flatten(e, out)) return false;
    return true;
  }
  if (!v.is_number()) return false;
  const double x = v.to_number<double>();
  if (!(std::fabs(x) <= std::numeric_limits<float>::max())) return false;
  out.push_back(static_cast<float>(x));
  return true;
}

json::array shape_json(const tensor_spec& t) {
  json::array a;
  for (auto d : t.shape) a.push_back(d);
  return a;
}

}  // namespace

std::variant<infer_request, api_error> parse_infer(std::string_view body,
                                                   const tensor_spec& input) {
  boost::system::error_code ec;
  auto doc = json::parse(body, ec);
  if (ec) return bad("malformed JSON: " + ec.message());
  const auto* obj = doc.if_object();
  if (!obj) return bad("the request body must be a JSON object");
  infer_request r;
  if (const auto* id = obj->if_contains("id"); id && id->is_string())
    r.id = std::string(id->get_string());
  const auto* inputs = obj->if_contains("inputs");
  if (!inputs || !inputs->is_array() || inputs->get_array().size() != 1)
    return bad("'inputs' must be an array with one tensor named '" + input.name + "'");
  const auto* t = inputs->get_array()[0].if_object();
  if (!t) return bad("inputs[0] must be an object with name, shape, datatype and data");
  const auto* name = t->if_contains("name");
  if (!name || !name->is_string() || name->get_string() != input.name)
    return bad("inputs[0].name must be '" + input.name + "'");
  const auto* dtype = t->if_contains("datatype");
  if (!dtype || !dtype->is_string() || dtype->get_string() != "FP32")
    return bad("inputs[0].datatype must be FP32");
  const auto* shape = t->if_contains("shape");
  if (!shape || !shape->is_array()) return bad("inputs[0].shape must be an array");
  auto expected = [&] {
    std::string s = "[N";
    for (std::size_t i = 1; i < input.shape.size(); ++i) s += fmt::format(",{}", input.shape[i]);
    return s + "]";
  };
  std::vector<std::int64_t> dims;
  for (const auto& d : shape->get_array()) {
    if (!d.is_int64() && !d.is_uint64()) return bad("inputs[0].shape must hold integers");
    // Above INT64_MAX (parsed as uint64): no model has that dimension; to_number would throw.
    if (!d.is_int64()) return bad("inputs[0].shape must be " + expected() + " with N >= 1");
    dims.push_back(d.get_int64());
  }
  if (dims.size() != input.shape.size() || dims[0] < 1 ||
      !std::equal(dims.begin() + 1, dims.end(), input.shape.begin() + 1))
    return bad(fmt::format("inputs[0].shape must be {} with N >= 1", expected()));
  if (static_cast<std::size_t>(dims[0]) > max_request_rows)
    return bad(fmt::format("at most {} rows per request", max_request_rows));
  r.rows = static_cast<std::size_t>(dims[0]);
  const auto* data = t->if_contains("data");
  const std::size_t want = r.rows * static_cast<std::size_t>(input.row_size());
  r.data.reserve(want);
  if (!data || !flatten(*data, r.data))
    return bad("inputs[0].data must be an array of numbers within FP32 range");
  if (r.data.size() != want)
    return bad(fmt::format("inputs[0].data has {} values; shape {} needs {}", r.data.size(),
                           json::serialize(shape->get_array()), want));
  return r;
}

std::string infer_response(const std::string& model, const std::string& id,
                           const tensor_spec& output, std::size_t rows,
                           const std::vector<float>& data) {
  std::vector<std::int64_t> shape = output.shape;
  shape[0] = static_cast<std::int64_t>(rows);
  fmt::memory_buffer out;
  fmt::format_to(std::back_inserter(out), R"({{"model_name":{},"id":{},"outputs":[{{"name":{},)",
                 json::serialize(json::string(model)), json::serialize(json::string(id)),
                 json::serialize(json::string(output.name)));
  fmt::format_to(std::back_inserter(out), R"("shape":[{}],"datatype":"FP32","data":[)",
                 fmt::join(shape, ","));
  // Shortest round-trip text for each float; non-finite values are not JSON, so they become 0.
  for (std::size_t i = 0; i < data.size(); ++i)
    fmt::format_to(std::back_inserter(out), "{}{}", i ? "," : "",
                   std::isfinite(data[i]) ? data[i] : 0.0f);
  fmt::format_to(std::back_inserter(out), "]}}]}}");
  return fmt::to_string(out);
}

std::string model_metadata(const std::string& name, const tensor_spec& input,
                           const tensor_spec& output) {
  json::object o;
  o["name"] = name;
  o["versions"] = json::array{"1"};
  o["platform"] = "pytorch_torchscript";
  o["inputs"] = json::array{
      json::object{{"name", input.name}, {"datatype", "FP32"}, {"shape", shape_json(input)}}};
  o["outputs"] = json::array{
      json::object{{"name", output.name}, {"datatype", "FP32"}, {"shape", shape_json(output)}}};
  return json::serialize(o);
}

std::string error_body(std::string_view message) {
  return json::serialize(json::object{{"error", message}});
}

}  // namespace modelgate::backend::kserve
