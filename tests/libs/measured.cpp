// measure() in every way a call can end, for tests/metrics/measure_test.sh: each hit
// makes one ok call (with bytes), one that calls fail(kTimeout), and on every third hit
// one that throws a RequestError(kRefused) (ending the hit as an error), on every fifth a
// std::runtime_error inside an assertion-free call (also an error).
#include <loads/loads.hpp>
#include <stdexcept>

class Measured : public loads::TestCase {
 public:
  void test_calls() {
    const auto hit = loadsStatus().currentHit;
    measure("ok", [](loads::Measurement& m) { m.setBytes(7); });
    measure("failed", [](loads::Measurement& m) { m.fail(loads::ErrorKind::kTimeout); });
    if (hit % 3 == 0) {
      measure("refused", [] { throw loads::RequestError(loads::ErrorKind::kRefused, "no"); });
    }
    if (hit % 5 == 0) {
      measure("thrown", [] { throw std::runtime_error("boom"); });
    }
  }
};

LOADS_TEST_CASE(Measured, test_calls);
