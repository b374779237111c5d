// Descriptive statistics over plain vectors. Percentiles use linear interpolation between
// closest ranks (numpy's default), p in [0, 100]. Empty input gives NaN.
#pragma once

#include <vector>

namespace ipw {

double mean(const std::vector<double>& v);
double stddev(const std::vector<double>& v);  // sample standard deviation (n-1)
double percentile(std::vector<double> v, double p);

}  // namespace ipw
