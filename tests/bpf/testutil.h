#pragma once
// Helpers for the BPF tests: waiting for a state instead of sleeping for it,
// and asserting on a pgstall::Result with its error in the failure message.
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "util/result.h"

namespace pgstall::test {

// Polls `pred` until it holds or `timeout` passes; returns its last answer.
// For a test that needs the kernel to have seen something, not a fixed wait.
template <typename Pred>
bool wait_until(Pred pred, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace pgstall::test

// ASSERT_TRUE on a Result, printing its error.
#define ASSERT_OK(expr)                                     \
  do {                                                      \
    const auto& result_ = (expr);                           \
    ASSERT_TRUE(result_.ok()) << result_.error().message;   \
  } while (0)
