#pragma once
// A move-only type-erased callable (C++23's std::move_only_function is not in C++20), so
// waiters may own move-only state such as a flight_lease or an Asio completion handler.

#include <concepts>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace modelgate::cache {

template <class Signature>
class unique_function;

template <class R, class... Args>
class unique_function<R(Args...)> {
 public:
  unique_function() = default;

  template <class F>
    requires(!std::same_as<std::remove_cvref_t<F>, unique_function> &&
             std::is_invocable_r_v<R, std::decay_t<F>&, Args...>)
  unique_function(F&& f)  // NOLINT(google-explicit-constructor): lambdas convert implicitly
      : impl_(std::make_unique<model<std::decay_t<F>>>(std::forward<F>(f))) {}

  unique_function(unique_function&&) noexcept = default;
  unique_function& operator=(unique_function&&) noexcept = default;

  explicit operator bool() const { return impl_ != nullptr; }

  /// Precondition: not empty.
  R operator()(Args... args) { return impl_->call(std::forward<Args>(args)...); }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual R call(Args&&... args) = 0;
  };
  template <class F>
  struct model final : concept_t {
    explicit model(F&& f) : fn(std::move(f)) {}
    explicit model(const F& f) : fn(f) {}
    R call(Args&&... args) override { return std::invoke(fn, std::forward<Args>(args)...); }
    F fn;
  };

  std::unique_ptr<concept_t> impl_;
};

}  // namespace modelgate::cache
