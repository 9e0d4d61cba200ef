#include "run/test_library.hpp"

#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>

#include "loads/version.hpp"
#include "run/test_mix.hpp"

namespace loads {
namespace {

// Classes registered by static initialisers, in order; the loader takes those that a
// dlopen added.
std::vector<TestClass>& registry() {
  static std::vector<TestClass> classes;
  return classes;
}

// The method list as LOADS_TEST_CASE stringised it: names, or LOADS_WEIGHTED(name, W),
// separated by commas outside parentheses.
std::vector<std::pair<std::string, std::uint32_t>> splitNames(const char* names) {
  std::vector<std::pair<std::string, std::uint32_t>> out;
  std::string current;
  int depth = 0;
  auto finish = [&] {
    std::uint32_t weight = 1;
    const auto open = current.find('(');
    if (open != std::string::npos && current.back() == ')') {  // LOADS_WEIGHTED(name,W)
      const std::string inner = current.substr(open + 1, current.size() - open - 2);
      const auto comma = inner.find(',');
      weight = static_cast<std::uint32_t>(std::strtoul(inner.c_str() + comma + 1, nullptr, 10));
      current = inner.substr(0, comma);
    }
    out.emplace_back(std::move(current), weight);
    current.clear();
  };
  for (const char* p = names; *p != '\0'; ++p) {
    if (*p == ',' && depth == 0) {
      finish();
      continue;
    }
    if (*p == '(') ++depth;
    if (*p == ')') --depth;
    if (!std::isspace(static_cast<unsigned char>(*p))) current += *p;
  }
  finish();
  return out;
}

// "Blog.test_home:9" → "Blog.test_home" and 9; no ":" → the name and nullopt.
std::pair<std::string, std::optional<std::uint32_t>> splitWeight(const std::string& name) {
  const auto colon = name.rfind(':');
  if (colon == std::string::npos) return {name, std::nullopt};
  const std::string text = name.substr(colon + 1);
  const bool digits =
      !text.empty() && text.size() <= 7 &&
      std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  const unsigned long weight = digits ? std::stoul(text) : 0;
  if (weight == 0 || weight > kMaxWeightSum) {
    throw LoadError("--test " + name + ": the weight after ':' must be a whole number from 1 to " +
                    std::to_string(kMaxWeightSum));
  }
  return {name.substr(0, colon), static_cast<std::uint32_t>(weight)};
}

}  // namespace

namespace detail {
Registration::Registration(const char* className, const char* methodNames, Factory factory,
                           std::vector<Method> methods) {
  TestClass entry{className, factory, {}};
  const auto names = splitNames(methodNames);
  for (std::size_t i = 0; i < methods.size() && i < names.size(); ++i) {
    entry.methods.push_back({names[i].first, methods[i], std::max(1u, names[i].second)});
  }
  registry().push_back(std::move(entry));
}
}  // namespace detail

TestLibrary TestLibrary::load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw LoadError("test library " + path +
                    " does not exist: give the path to a .so built with "
                    "loads_add_test_library");
  }
  // A bare name would make dlopen search the library path; always load this file.
  std::string file = path.find('/') == std::string::npos ? "./" + path : path;
  static std::map<std::string, TestLibrary> loaded;  // dlopen of the same file registers once
  if (auto it = loaded.find(file); it != loaded.end()) return it->second;

  std::size_t before = registry().size();
  void* handle = ::dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = ::dlerror();
    throw LoadError(path + " cannot be loaded as a shared library (" +
                    std::string(why ? why : "unknown error") +
                    "): build it with loads_add_test_library");
  }
  auto* stamp = static_cast<const detail::LibraryStamp*>(::dlsym(handle, "loads_library_stamp"));
  if (stamp == nullptr) {
    registry().resize(before);
    throw LoadError(path +
                    " is not a loads test library (it has no LOADS_TEST_CASE): register "
                    "your test classes with LOADS_TEST_CASE and build it with "
                    "loads_add_test_library");
  }
  if (stamp->abiVersion != kAbiVersion) {
    registry().resize(before);
    throw LoadError(path + " was built against loads " + stamp->loadsVersion + " ABI " +
                    std::to_string(stamp->abiVersion) + ", this is loads " LOADS_VERSION " ABI " +
                    std::to_string(kAbiVersion) + ": rebuild it against this loads");
  }
  TestLibrary lib;
  lib.path_ = path;
  lib.classes_.assign(registry().begin() + static_cast<std::ptrdiff_t>(before), registry().end());
  if (lib.classes_.empty()) {
    throw LoadError(path + " registers no test case: add LOADS_TEST_CASE(YourClass, test_a, ...)");
  }
  loaded.emplace(file, lib);
  return lib;
}

std::vector<std::string> TestLibrary::testNames() const {
  std::vector<std::string> names;
  for (const auto& c : classes_) {
    for (const auto& m : c.methods) names.push_back(c.name + "." + m.name);
  }
  return names;
}

std::vector<SelectedTest> TestLibrary::select(const std::vector<std::string>& names) const {
  std::vector<SelectedTest> selected;
  auto addClass = [&](const TestClass& c, const std::string& method,
                      std::optional<std::uint32_t> weight = std::nullopt) {
    bool found = false;
    for (const auto& m : c.methods) {
      if (method.empty() || m.name == method) {
        selected.push_back({&c, &m, c.name + "." + m.name, weight.value_or(m.weight)});
        found = true;
      }
    }
    return found;
  };
  if (names.empty()) {
    for (const auto& c : classes_) addClass(c, "");
    return selected;
  }
  for (const auto& weighed : names) {
    const auto [name, weight] = splitWeight(weighed);
    std::size_t dot = name.find('.');
    std::string className = name.substr(0, dot);
    std::string method = dot == std::string::npos ? "" : name.substr(dot + 1);
    auto c = std::find_if(classes_.begin(), classes_.end(),
                          [&](const TestClass& tc) { return tc.name == className; });
    if (c == classes_.end() || !addClass(*c, method, weight)) {
      std::string known;
      for (const auto& n : testNames()) known += (known.empty() ? "" : ", ") + n;
      throw LoadError("no test named '" + name + "' in " + path_ + "; it has: " + known +
                      " (see --list)");
    }
  }
  return selected;
}

}  // namespace loads
