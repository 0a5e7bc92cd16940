#pragma once
// Helpers for the BPF tests: asserting on a pgstall::Result with its error
// in the failure message.
#include <gtest/gtest.h>

#include "util/result.h"

// ASSERT_TRUE on a Result, printing its error.
#define ASSERT_OK(expr)                                     \
  do {                                                      \
    const auto& result_ = (expr);                           \
    ASSERT_TRUE(result_.ok()) << result_.error().message;   \
  } while (0)
