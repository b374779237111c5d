#include <gtest/gtest.h>

#include "ipw/core/error.h"
#include "ipw/energy/attribution.h"

using namespace ipw::energy;

// Cumulative energy of a constant 100 W machine at time t (seconds).
static double at(double t) { return 100 * t; }

TEST(Attributor, SequentialQueriesGetExactlyTheirIntervals) {
  Attributor a;
  a.begin(1, 0, at(0));
  Attribution q1 = a.end(1, 2, at(2));
  a.begin(2, 2, at(2));
  Attribution q2 = a.end(2, 5, at(5));
  EXPECT_DOUBLE_EQ(q1.energy_j, 200);
  EXPECT_DOUBLE_EQ(q1.attributed_s, 2);
  EXPECT_DOUBLE_EQ(q2.energy_j, 300);
  EXPECT_DOUBLE_EQ(q2.attributed_s, 3);
  EXPECT_DOUBLE_EQ(q2.gap_energy_j, 0);
}

TEST(Attributor, OverlappingQueriesSplitSharedIntervalsEqually) {
  // q1 [0, 4], q2 [1, 3], q3 [2, 6] on a trace with varying power.
  auto e = [](double t) { return t * t * 10; };
  Attributor a;
  a.begin(1, 0, e(0));
  a.begin(2, 1, e(1));
  a.begin(3, 2, e(2));
  Attribution q2 = a.end(2, 3, e(3));
  Attribution q1 = a.end(1, 4, e(4));
  Attribution q3 = a.end(3, 6, e(6));
  double i01 = e(1) - e(0), i12 = e(2) - e(1), i23 = e(3) - e(2), i34 = e(4) - e(3), i46 = e(6) - e(4);
  EXPECT_DOUBLE_EQ(q1.energy_j, i01 + i12 / 2 + i23 / 3 + i34 / 2);
  EXPECT_DOUBLE_EQ(q2.energy_j, i12 / 2 + i23 / 3);
  EXPECT_DOUBLE_EQ(q3.energy_j, i23 / 3 + i34 / 2 + i46);
  EXPECT_NEAR(q1.energy_j + q2.energy_j + q3.energy_j, e(6) - e(0), 1e-9);
}

TEST(Attributor, GapBetweenQueriesIsChargedToTheNextQuery) {
  Attributor a;
  a.begin(1, 0, at(0));
  Attribution q1 = a.end(1, 1, at(1));
  a.begin(2, 3, at(3));  // 2 s idle gap
  Attribution q2 = a.end(2, 4, at(4));
  EXPECT_DOUBLE_EQ(q1.energy_j, 100);
  EXPECT_DOUBLE_EQ(q2.gap_energy_j, 200);
  EXPECT_DOUBLE_EQ(q2.energy_j, 300);
  EXPECT_DOUBLE_EQ(q2.attributed_s, 3);
}

TEST(Attributor, AttributedSecondsSumToWallTimeAtAnyConcurrency) {
  Attributor a;
  a.begin(1, 10, 0);
  a.begin(2, 10.5, 0);
  a.begin(3, 11, 0);
  double sum = a.end(2, 12, 0).attributed_s;
  sum += a.end(1, 12.25, 0).attributed_s;
  a.begin(4, 13, 0);  // gap-free: q3 still in flight
  sum += a.end(3, 14, 0).attributed_s;
  sum += a.end(4, 15.5, 0).attributed_s;
  EXPECT_NEAR(sum, 15.5 - 10, 1e-12);
  EXPECT_EQ(a.in_flight(), 0u);
}

TEST(Attributor, EndingAnUnknownQueryIsAnInternalError) {
  Attributor a;
  try {
    a.end(7, 1, 1);
    FAIL();
  } catch (const ipw::Error& e) {
    EXPECT_EQ(e.code(), ipw::Errc::internal);
  }
}

TEST(Attributor, BeginningTwiceIsAnInternalError) {
  Attributor a;
  a.begin(7, 0, 0);
  EXPECT_THROW(a.begin(7, 1, 1), ipw::Error);
}
