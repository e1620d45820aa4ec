// SPDX-License-Identifier: Apache-2.0
// Comparing two version strings must not allocate: the matcher does it millions of times.
// This binary replaces the global operator new to count allocations.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "patchflow/core/versions.hpp"

namespace {
std::atomic<long> g_allocations{0};
}

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
// The nothrow form too (std::stable_sort uses it): every form that reaches the replaced
// operator delete must come from malloc, or the address sanitizer reports a mismatch.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace v = pf::versions;

namespace {

TEST(NoAlloc, ComparingValidVersionsAllocatesNothing) {
  const char* deb[] = {"1:2.36-9+deb12u4", "2.36-9+deb12u13", "1.0~rc1", "1.0", "0:1.0-0",
                       "123456789012345678901234567890", " 1.2 ", "<end-of-life>"};
  const char* rpm[] = {"1:4.18.0-477.10.1.el8_8", "4.18.0-477.10.1.el8_8", "1.0^git1",
                       "1.0~rc1-1", "2.0", ":1.0-1"};
  long sum = 0;
  const long before = g_allocations.load();
  for (int round = 0; round < 1000; ++round) {
    for (const char* a : deb) {
      for (const char* b : deb) sum += *v::compare_deb(a, b);
    }
    for (const char* a : rpm) {
      for (const char* b : rpm) {
        sum += *v::compare_rpm_evr(a, b);
        sum += v::rpmvercmp(a, b);
      }
    }
  }
  const long after = g_allocations.load();
  EXPECT_EQ(after - before, 0) << "allocations during comparisons";
  EXPECT_EQ(sum, 0) << "a comparison set is antisymmetric, so the sum over all pairs is 0";
}

TEST(NoAlloc, CounterSeesAllocations) {
  // Guards the test above against a counter that never counts.
  const long before = g_allocations.load();
  auto r = v::compare_deb("1.0-", "1.0");  // an error carries a message
  ASSERT_FALSE(r);
  EXPECT_GT(g_allocations.load(), before);
}

}  // namespace
