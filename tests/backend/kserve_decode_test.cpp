// Unit tests for the KServe v2 infer decoding (backend/api/kserve.cpp), no model or server: the
// bodies kserve_fuzz starts from, and the inputs it made fail (tests/fuzz/corpus/kserve/).

#include "backend/api/kserve.hpp"

#include <gtest/gtest.h>

#include <string>
#include <variant>

namespace kserve = modelgate::backend::kserve;

namespace {

const modelgate::backend::tensor_spec small{"input", {-1, 2, 3}};

std::string body(const std::string& shape, const std::string& data) {
  return R"({"id":"t1","inputs":[{"name":"input","datatype":"FP32","shape":)" + shape +
         R"(,"data":)" + data + "}]}";
}

// The 400 message, or "" when the body decoded.
std::string refusal(const std::string& b) {
  auto r = kserve::parse_infer(b, small);
  if (auto* e = std::get_if<kserve::api_error>(&r)) {
    EXPECT_EQ(e->status, 400u);
    return e->message.empty() ? "(no message)" : e->message;
  }
  return "";
}

}  // namespace

TEST(KServeDecode, FlatAndNestedDataDecodeRowMajor) {
  for (auto data : {"[1,2,3,4,5,6]", "[[[1,2,3],[4,5,6]]]"}) {
    auto r = kserve::parse_infer(body("[1,2,3]", data), small);
    ASSERT_TRUE(std::holds_alternative<kserve::infer_request>(r)) << data;
    const auto& in = std::get<kserve::infer_request>(r);
    EXPECT_EQ(in.id, "t1");
    EXPECT_EQ(in.rows, 1u);
    EXPECT_EQ(in.data, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  }
}

TEST(KServeDecode, BadBodiesAre400s) {
  EXPECT_NE(refusal(R"({"inputs": [)"), "");
  EXPECT_NE(refusal("[1,2,3]"), "");
  EXPECT_NE(refusal(R"({"outputs":[]})"), "");
  EXPECT_NE(refusal(body("[1,3,2]", "[1,2,3,4,5,6]")), "");  // wrong shape
  EXPECT_NE(refusal(body("[1,6]", "[1,2,3,4,5,6]")), "");    // rank
  EXPECT_NE(refusal(body("[2,2,3]", "[1,2,3,4,5,6]")), "");  // data length
  EXPECT_NE(refusal(body("[0,2,3]", "[]")), "");
  EXPECT_NE(refusal(body("[1025,2,3]", "[]")), "");
  EXPECT_NE(refusal(body("[1,2,3]", R"(["x",2,3,4,5,6])")), "");
}

// kserve_fuzz: a dimension above INT64_MAX made to_number() throw, which ended the connection
// without an answer (corpus seed regression-shape-above-int64).
TEST(KServeDecode, ShapeAboveInt64IsA400) {
  EXPECT_NE(refusal(body("[18446744073709551615,2,3]", "[1,2,3,4,5,6]")), "");
  EXPECT_NE(refusal(body("[1,9223372036854775808,3]", "[1,2,3,4,5,6]")), "");
}

// kserve_fuzz: values beyond FP32 range reached the model as infinity (corpus seed
// regression-data-beyond-fp32).
TEST(KServeDecode, DataBeyondFp32RangeIsA400) {
  EXPECT_NE(refusal(body("[1,2,3]", "[1e39,2,3,4,5,6]")), "");
  EXPECT_NE(refusal(body("[1,2,3]", "[1,2,3,4,5,-1e300]")), "");
  EXPECT_NE(refusal(body("[1,2,3]", "[1e999,2,3,4,5,6]")), "");
  EXPECT_EQ(refusal(body("[1,2,3]", "[3.4e38,-3.4e38,1e-45,0,5,6]")), "");
}
