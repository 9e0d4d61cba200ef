// A library that claims to be built for another loads ABI: the loader must refuse it.
#define LOADS_BUILDING_LIBLOADS  // suppress the header's stamp; we write our own
#include <loads/loads.hpp>

extern "C" __attribute__((visibility("default")))
const loads::detail::LibraryStamp loads_library_stamp{loads::kAbiVersion + 41, "0.0.1"};

class Old : public loads::TestCase {
 public:
  void test_x() {}
};
LOADS_TEST_CASE(Old, test_x);
