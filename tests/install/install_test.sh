#!/usr/bin/env bash
# `cmake --install` gives a usable package: a test library built outside this tree with
# find_package(loads) + loads_add_test_library is listed and run by the installed master.
#   install_test.sh <build dir> <source dir>
set -euo pipefail
build=$1; src=$2
work="$build/test-output/install"
rm -rf "$work"; mkdir -p "$work/project"
cmake --install "$build" --prefix "$work/prefix" >/dev/null
cp "$src/examples/blog/blog.cpp" "$work/project/"
cat > "$work/project/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(blogtests CXX)
set(CMAKE_CXX_STANDARD 20)
find_package(loads REQUIRED)
loads_add_test_library(blog blog.cpp)
CMAKE
cmake -S "$work/project" -B "$work/project/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/project/build" >/dev/null
export LD_LIBRARY_PATH="$work/prefix/lib"
listed=$("$work/prefix/bin/loads-master" "$work/project/build/libblog.so" --list)
echo "$listed"
[ "$listed" = $'Blog.test_home\nBlog.test_post' ]
