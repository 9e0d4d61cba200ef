// TestLibrary: a loaded test library (tests.so) and the test cases it registered.
//
// Loading runs the library's static initialisers, which register their TestCase classes
// with libloads (LOADS_TEST_CASE). The library stays loaded for the life of the process:
// unloading would run destructors of code that may still be referenced.
// Not thread-safe; load before starting a run.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "loads/test_case.hpp"

namespace loads {

// A user error while loading or selecting tests; what() is one sentence for the user.
class LoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct TestClass {
  std::string name;                         // "Blog"
  detail::Factory factory;                  // constructs one instance per user
  std::vector<detail::TestMethod> methods;  // in registration order
};

// One selected test: a class and one of its methods.
struct SelectedTest {
  const TestClass* testClass;
  const detail::TestMethod* method;
  std::string fullName;      // "Blog.test_home"
  std::uint32_t weight = 1;  // its share of the users: the registration's, or --test's :W
};

class TestLibrary {
 public:
  // Throws LoadError when the file is missing, not a shared library, not a loads test
  // library, built for another ABI, or registers no test.
  static TestLibrary load(const std::string& path);

  const std::string& path() const { return path_; }
  const std::vector<TestClass>& classes() const { return classes_; }
  // Every "Class.method" in registration order.
  std::vector<std::string> testNames() const;
  // names: "Class.method" or "Class" (all its methods), either with ":W" to weigh it W
  // (1 to kMaxWeightSum; default the registration's weight); empty = every test. Throws
  // LoadError naming the unknown test and listing the known ones, or the bad weight.
  std::vector<SelectedTest> select(const std::vector<std::string>& names) const;

 private:
  std::string path_;
  std::vector<TestClass> classes_;
};

}  // namespace loads
