// raise_open_file_limit lifts the soft RLIMIT_NOFILE to the hard one, and leaves a limit that
// already is the hard one as it is.

#include "trident/core/open_file_limit.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

namespace {

struct saved_limit {
  rlimit before{};
  saved_limit() { ::getrlimit(RLIMIT_NOFILE, &before); }
  ~saved_limit() { ::setrlimit(RLIMIT_NOFILE, &before); }
};

TEST(open_file_limit, raises_the_soft_limit_to_the_hard_one) {
  saved_limit saved;
  if (saved.before.rlim_max < 65) GTEST_SKIP() << "the hard limit leaves no room to lower the soft one";
  rlimit low = saved.before;
  low.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);

  const rlim_t now = trident::raise_open_file_limit();

  rlimit after{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, saved.before.rlim_max);
  EXPECT_EQ(after.rlim_max, saved.before.rlim_max);
  EXPECT_EQ(now, after.rlim_cur);
}

TEST(open_file_limit, a_soft_limit_at_the_hard_one_stays) {
  saved_limit saved;
  rlimit same = saved.before;
  same.rlim_cur = same.rlim_max;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &same), 0);
  EXPECT_EQ(trident::raise_open_file_limit(), same.rlim_max);
  rlimit after{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &after), 0);
  EXPECT_EQ(after.rlim_cur, same.rlim_max);
}

}  // namespace
