// modelgate-backend eval: int8 and bf16 keep the classifier's held-out accuracy within one
// point of fp32 (measured by the real binary on the procedurally generated held-out set).
// bench-forward: one JSON report with a figure per batch size (no timing is asserted).

#include "backend_test_util.hpp"

#include <cmath>
#include <map>

namespace modelgate::test_support {
namespace {

TEST(Compression, Int8AndBf16StayWithinOnePointOfFp32) {
  temp_dir dir;
  auto r = run_command({backend_binary(), "eval", "--model",
                        demo_model("classifier", {"--steps", "40"}).string(), "--heldout", "500",
                        "--runs", "3", "--threads", "1"},
                       dir.path(), {}, std::chrono::seconds(120));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto v = parse_json(r.out);
  ASSERT_TRUE(v.is_array()) << r.out;
  std::map<std::string, json::object> by_name;
  for (const auto& e : v.as_array()) by_name[std::string(e.at("variant").as_string())] =
      e.as_object();
  ASSERT_EQ(by_name.size(), 3u) << r.out;
  const double fp32 = by_name.at("fp32").at("accuracy").to_number<double>();
  // Trained briefly, the model still beats chance (10 classes) by far.
  EXPECT_GT(fp32, 25.0) << r.out;
  EXPECT_EQ(by_name.at("fp32").at("agreement").to_number<double>(), 100.0);
  for (const char* q : {"int8", "bf16"}) {
    const auto& o = by_name.at(q);
    EXPECT_LE(std::abs(o.at("accuracy").to_number<double>() - fp32), 1.0) << q << ": " << r.out;
    EXPECT_GE(o.at("agreement").to_number<double>(), 95.0) << q << ": " << r.out;
    EXPECT_GT(o.at("bytes").to_number<double>(), 0) << q;
  }
  // int8 weights take less room than fp32 ones.
  EXPECT_LT(by_name.at("int8").at("bytes").to_number<double>(),
            by_name.at("fp32").at("bytes").to_number<double>());
  EXPECT_LT(by_name.at("bf16").at("bytes").to_number<double>(),
            by_name.at("fp32").at("bytes").to_number<double>());
}

TEST(BenchForward, ReportsEveryBatchSizeForBothKinds) {
  temp_dir dir;
  for (auto [kind, model] : {std::pair{"classifier", demo_model("classifier", {"--steps", "40"})},
                             std::pair{"textgen", demo_model("textgen", {"--steps", "0"})}}) {
    auto r = run_command({backend_binary(), "bench-forward", "--model", model.string(), "--kind",
                          kind, "--batches", "1,3", "--seconds", "0.05", "--threads", "1"},
                         dir.path(), {}, std::chrono::seconds(120));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto v = parse_json(r.out);
    ASSERT_TRUE(v.is_object()) << r.out;
    EXPECT_EQ(v.at("kind").as_string(), kind);
    const auto& results = v.at("results").as_array();
    ASSERT_EQ(results.size(), 2u) << r.out;
    for (std::size_t i = 0; i < 2; ++i) {
      const auto& p = results[i].as_object();
      EXPECT_EQ(p.at("batch").to_number<int>(), i == 0 ? 1 : 3);
      EXPECT_GE(p.at("calls").to_number<int>(), 5) << r.out;  // min_calls
      EXPECT_GT(p.at("rows_per_s").to_number<double>(), 0) << r.out;
      EXPECT_GT(p.at("rows_per_cpu_s").to_number<double>(), 0) << r.out;
    }
    EXPECT_TRUE(v.at("best").is_object()) << r.out;
  }
  // A bad batch size or kind is refused with a reason.
  auto bad = run_command({backend_binary(), "bench-forward", "--model",
                          demo_model("textgen", {"--steps", "0"}).string(), "--kind", "textgen",
                          "--batches", "0"},
                         dir.path(), {}, std::chrono::seconds(60));
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("batch sizes"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace modelgate::test_support
